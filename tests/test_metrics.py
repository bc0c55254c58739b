"""Metrics (course_lib.metrics): frame NLL and accuracy against two sanity baselines computed here, and the
piano-roll music metrics on lopsided cases that the known buggy implementations get wrong."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import metrics
from course_lib.datasets import load_jsb
from course_lib.metrics import frame_accuracy, frame_nll, frame_nll_from_logits

C4, CS4, G4, C5 = 60, 61, 67, 72
LOWEST = 21


def roll_with(notes, steps=16, keys=88):
    """``notes``: (pitch, start, end) triples on a 16-step roll of 4 bars of 4 steps."""
    roll = np.zeros((steps, keys), dtype=bool)
    for pitch, start, end in notes:
        roll[start:end, pitch - LOWEST] = True
    return roll


def test_one_of_four_bars_filled_is_three_quarters_empty():
    roll = roll_with([(C4, 4, 6)])  # bar 2 only
    assert metrics.empty_bar_rate(roll, 4) == 0.75  # an inverted rate would say 0.25
    assert metrics.empty_bar_rate(np.zeros((16, 88)), 4) == 1.0
    assert metrics.empty_bar_rate(roll_with([(C4, 0, 16)]), 4) == 0.0


def test_pitch_classes_fold_octaves_and_separate_neighbours():
    assert metrics.used_pitch_classes(roll_with([(C4, 0, 2), (CS4, 2, 4)]), 4) == 2.0  # C + C#
    assert metrics.used_pitch_classes(roll_with([(C4, 0, 2), (C5, 2, 4)]), 4) == 1.0  # C4 + C5
    # bar 1 uses C, C#, G; bar 3 uses C; empty bars are not averaged in
    roll = roll_with([(C4, 0, 1), (CS4, 1, 2), (G4, 2, 3), (C5, 8, 9)])
    assert metrics.used_pitch_classes(roll, 4) == 2.0


def test_a_note_across_a_bar_line_is_one_qualified_note():
    roll = roll_with([(C4, 2, 6), (G4, 8, 10)])  # C4 crosses from bar 1 into bar 2 (4 steps); G4 lasts 2
    assert metrics.qualified_note_rate(roll) == 0.5
    assert metrics.qualified_note_rate(roll, min_steps=2) == 1.0
    assert np.isnan(metrics.qualified_note_rate(np.zeros((4, 88))))


def test_polyphony_counts_keys_over_sounding_steps_and_merges_tracks():
    roll = roll_with([(C4, 0, 4), (G4, 0, 2)])  # 2, 2, 1, 1 notes, then silence
    assert metrics.polyphony(roll) == 1.5
    tracks = np.stack([roll_with([(C4, 0, 4)]), roll_with([(C4, 0, 4), (G4, 0, 4)])])
    assert metrics.polyphony(tracks) == 2.0  # the shared C4 sounds once


def test_in_scale_rate_counts_notes_not_steps():
    roll = roll_with([(C4, 0, 12), (CS4, 12, 13)])  # a long C and a short C#
    assert metrics.in_scale_rate(roll) == 0.5
    assert metrics.in_scale_rate(roll, tonic=1) == 1.0  # in C# major both fit: C is its leading note (B#)
    assert metrics.in_scale_rate(roll_with([(C4, 0, 2), (C5, 4, 6), (G4, 8, 9)])) == 1.0


def test_tonal_distance_is_octave_blind_and_closer_for_a_fifth_than_a_tritone():
    c_major = roll_with([(C4, 0, 4), (64, 0, 4), (G4, 0, 4)])
    c_major_up = roll_with([(C5, 0, 4), (76, 0, 4), (79, 0, 4)])
    assert metrics.tonal_distance(c_major, c_major_up, 4) == pytest.approx(0.0, abs=1e-12)
    g_major = roll_with([(67, 0, 4), (71, 0, 4), (74, 0, 4)])
    f_sharp_major = roll_with([(66, 0, 4), (70, 0, 4), (73, 0, 4)])
    assert metrics.tonal_distance(c_major, g_major, 4) < metrics.tonal_distance(c_major, f_sharp_major, 4)
    assert np.isnan(metrics.tonal_distance(c_major, np.zeros_like(c_major), 4))  # no bar where both sound


def test_histogram_distance_and_diversity_have_known_values():
    assert metrics.histogram_distance([1, 0, 0], [0, 0, 2]) == 1.0
    assert metrics.histogram_distance([1, 1], [3, 3]) == 0.0
    same = np.stack([roll_with([(C4, 0, 4)])] * 5)
    assert metrics.diversity(same) == 0.0
    disjoint = np.stack([roll_with([(C4, 0, 4)]), roll_with([(G4, 0, 4)])])
    assert metrics.diversity(disjoint) == 1.0


def test_no_metric_changes_its_input():
    rng = np.random.default_rng(0)
    tracks = rng.random((4, 16, 88)) < 0.05
    before = tracks.copy()
    metrics.empty_bar_rate(tracks[0], 4)
    metrics.used_pitch_classes(tracks[0], 4)
    metrics.qualified_note_rate(tracks[0])
    metrics.polyphony(tracks)
    metrics.in_scale_rate(tracks)
    metrics.tonal_distance(tracks[0], tracks[1], 4)
    metrics.diversity(tracks)
    metrics.pitch_class_histogram(tracks[0])
    assert (tracks == before).all()


def test_pitch_classes_agree_with_muspy_where_it_is_installed():
    muspy = pytest.importorskip("muspy")
    roll = roll_with([(C4, 0, 2), (CS4, 2, 4), (C5, 4, 6), (G4, 6, 8)])
    music = muspy.from_pianoroll_representation(
        np.pad(roll, ((0, 0), (LOWEST, 128 - 88 - LOWEST))).astype(np.uint8) * 64, resolution=1, encode_velocity=True
    )
    assert muspy.n_pitch_classes_used(music) == 3
    assert metrics.used_pitch_classes(roll, 16) == 3.0
    # 4 beats of 4 steps, the middle two empty; notes end inside their beat (muspy counts a note's end beat)
    gappy = roll_with([(C4, 0, 3), (G4, 12, 15)])
    music = muspy.from_pianoroll_representation(
        np.pad(gappy, ((0, 0), (LOWEST, 128 - 88 - LOWEST))).astype(np.uint8) * 64, resolution=4, encode_velocity=True
    )
    assert muspy.empty_beat_rate(music) == pytest.approx(0.5)
    assert metrics.empty_bar_rate(gappy, 4) == pytest.approx(0.5)


def test_scale_consistency_finds_the_best_key_and_roll_metrics_count_in_beats():
    from course_lib.evaluation import roll_metrics, scale_consistency

    g_major = [67, 69, 71, 72, 74, 76, 78]  # G major's seven notes: F# is out of C major
    roll = roll_with([(p, i, i + 1) for i, p in enumerate(g_major)])
    assert metrics.in_scale_rate(roll) == pytest.approx(6 / 7)
    assert scale_consistency(roll) == 1.0
    # the same half note at 1 and at 4 steps per beat is qualified (a beat or longer) in both
    coarse, fine = roll_with([(C4, 0, 2)], steps=8), roll_with([(C4, 0, 8)], steps=32)
    assert roll_metrics([coarse], 1)["qualified_note_rate"] == roll_metrics([fine], 4)["qualified_note_rate"] == 1.0
    assert roll_metrics([coarse], 1)["empty_bar_rate"] == roll_metrics([fine], 4)["empty_bar_rate"] == 0.5


def test_log_softmax_is_stable_exact_and_keeps_ruled_out_tokens_out():
    logits = np.array([[np.log(0.5), np.log(0.3), np.log(0.2)], [1000.0, 1000.0, -np.inf]], dtype=np.float32)
    log_p = metrics.log_softmax(logits)
    assert log_p.dtype == np.float64 and logits.dtype == np.float32  # its own copy, in float64
    np.testing.assert_allclose(np.exp(log_p[0]), [0.5, 0.3, 0.2], rtol=1e-6)
    np.testing.assert_allclose(log_p[1, :2], [-np.log(2), -np.log(2)])  # no overflow at 1000
    assert log_p[1, 2] == -np.inf
    shifted = metrics.log_softmax(np.array([3.0, 1.0, -2.0]) + 50.0)  # adding a constant changes nothing
    np.testing.assert_allclose(shifted, metrics.log_softmax(np.array([3.0, 1.0, -2.0])), atol=1e-12)


def predicted_test_frames():
    jsb = load_jsb()
    return jsb, np.concatenate([x[1:] for x in jsb.test])  # frames 2..T are the predicted ones


def test_per_key_marginals_score_the_computed_11_09():
    jsb, frames = predicted_test_frames()
    marginals = np.concatenate(jsb.train).mean(axis=0)
    assert frame_nll(np.broadcast_to(marginals, frames.shape), frames) == pytest.approx(11.09, abs=0.01)


def test_a_coin_per_key_scores_88_ln_2():
    _, frames = predicted_test_frames()
    assert frame_nll(np.full(frames.shape, 0.5), frames) == pytest.approx(61.0, abs=0.01)
    assert frame_nll_from_logits(np.zeros(frames.shape), frames) == pytest.approx(88 * np.log(2))


def test_nll_weights_skip_padding_and_logits_stay_finite():
    targets = np.array([[[1, 0], [0, 0]]], dtype=float)
    logits = np.array([[[50.0, -50.0], [1e4, 1e4]]])  # second frame is padding with absurd logits
    assert frame_nll_from_logits(logits, targets, weights=np.array([[1, 0]])) == pytest.approx(0.0, abs=1e-12)
    assert np.isfinite(frame_nll_from_logits(-logits, targets))


def test_frame_accuracy_ignores_shared_silence():
    targets = np.array([[1, 1, 0, 0, 0, 0]], dtype=bool)
    assert frame_accuracy(np.zeros_like(targets), targets) == 0.0  # silence everywhere is not 67% right
    assert frame_accuracy(np.array([[1, 0, 1, 0, 0, 0]], dtype=bool), targets) == pytest.approx(1 / 3)
    assert frame_accuracy(targets, targets) == 1.0


def test_polyphony_and_note_lengths_on_a_lopsided_roll():
    from course_lib.metrics import note_lengths, notes_per_frame

    roll = np.zeros((6, 4), dtype=bool)
    roll[0:3, 0] = True  # a 3-frame note
    roll[5, 0] = True  # the same key again later: a second note, 1 frame
    roll[1:6, 2] = True  # a 5-frame note
    assert notes_per_frame(roll).tolist() == [1, 2, 2, 1, 1, 2]
    assert notes_per_frame(np.zeros((2, 4))).size == 0
    assert sorted(note_lengths(roll).tolist()) == [1, 3, 5]
