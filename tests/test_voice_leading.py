"""The voice-leading evaluator on small, lopsided, hand-written cases."""

import math

import pytest

from course_lib import voice_leading as vl
from course_lib.voices import from_chords

C4, D4, E4, F4, G4, A4, B4, C5, D5 = 60, 62, 64, 65, 67, 69, 71, 72, 74


def test_one_parallel_fifth_between_tenor_and_bass_only():
    # S and A hold; T and B move up a step keeping a fifth (G3/C3 -> A3/D3)
    lines = from_chords([(E4 + 12, C5, 55, 48), (E4 + 12, C5, 57, 50)])
    figures = vl.figures(lines)
    assert vl.find_parallels(lines) == [(2, 2, 3, "fifth")]
    # pairs that move: S-T, S-B, A-T, A-B, T-B = 5 pair moves, one parallel fifth
    assert figures["parallel_fifths"] == pytest.approx(100 / 5)
    assert figures["parallel_octaves"] == 0 and figures["parallel_unisons"] == 0
    assert figures["parallels"] == pytest.approx(20.0)


def test_a_fifth_reached_by_contrary_motion_is_allowed():
    # soprano G4 -> D5 up, bass C3 -> G2 down: a twelfth to a twenty-sixth: fifths, contrary motion
    lines = from_chords([(G4, E4, C4, 48), (D5, D4, B4 - 12, 43)])
    assert vl.parallel_kind((G4, 48), (D5, 43)) is None
    assert all(kind != "fifth" or (u, lo) != (0, 3) for _, u, lo, kind in vl.find_parallels(lines))
    assert vl.figures(lines)["parallel_fifths"] == 0


def test_parallel_octaves_and_unisons_and_compound_fifths():
    assert vl.parallel_kind((C5, C4), (D5, D4)) == "octave"
    assert vl.parallel_kind((C4, C4), (D4, D4)) == "unison"
    assert vl.parallel_kind((G4, C4 - 12), (A4, D4 - 12)) == "fifth"  # a nineteenth is a compound fifth
    assert vl.parallel_kind((G4, C4), (G4, D4)) is None  # one voice holds: oblique motion
    assert vl.parallel_kind((G4, C4), (A4, D4 - 1)) is None  # fifth to a diminished fifth


def test_one_crossing_and_one_overlap():
    # step 2: the alto (E5) sings above the soprano (C5): one crossing out of 3 adjacent pairs x 2 steps
    lines = from_chords([(C5, G4, E4, C4 - 12), (C5, E4 + 12, E4, C4 - 12)], steps_per_chord=1)
    figures = vl.figures(lines)
    assert figures["crossings"] == pytest.approx(100 / 6)
    # the alto moved above the soprano's previous note: an overlap, 1 of the 2 adjacent moves (S-A, A-T)
    assert figures["overlaps"] == pytest.approx(50.0)


def test_ranges_count_notes_not_steps():
    # a bass D2 held through two chords is one note out of range among 5 notes (S sings two)
    lines = from_chords([(C5, G4, E4, 38), (D5, G4, E4, 38)], steps_per_chord=4)
    assert vl.figures(lines)["out_of_range"] == pytest.approx(100 / 5)


def test_ranges_are_judged_at_the_pitch_the_music_was_written():
    from dataclasses import replace

    lines = from_chords([(C5, G4, E4, 38), (D5, G4, E4, 38)], steps_per_chord=4)  # the bass on D2
    moved_down = replace(lines, transposition=-2)  # written a tone higher, on E2: in range
    assert vl.figures(moved_down)["out_of_range"] == 0.0
    assert vl.figures(replace(lines, transposition=2))["out_of_range"] == pytest.approx(100 / 5)


def test_bach_is_rarely_out_of_range_in_his_own_keys():
    from course_lib import harmonising

    held_out = harmonising.load_split("test")
    assert {lines.transposition for lines in held_out} > {0}  # most were moved to C major or A minor
    assert vl.figures(held_out)["out_of_range"] < 1.0
    assert vl.figures([replace_transposition(x) for x in held_out])["out_of_range"] > 2.0  # as moved


def replace_transposition(lines, semitones: int = 0):
    from dataclasses import replace

    return replace(lines, transposition=semitones)


def test_wide_spacing_between_upper_voices_only():
    # S-A a tenth apart (too wide); T-B two octaves apart (allowed)
    lines = from_chords([(E4 + 12, C4, C4 - 12 + 7, C4 - 24)])
    figures = vl.figures(lines)
    assert figures["wide_spacing"] == pytest.approx(50.0)


def test_an_authentic_cadence_counts():
    # G major (V) -> C major (I), bass G2 -> C3, fermata on the last chord
    lines = from_chords([(D5, B4, G4 - 12 + 7, 43), (C5, C4 + 7, E4 - 12 + 12, 48)], fermatas=[1])
    assert vl.cadence_at(lines.pitches(), *lines.fermata_spans()[0])
    figures = vl.figures(lines)
    assert figures["cadences"] == 100.0


def test_non_cadences_do_not_count():
    # ends on a first-inversion chord (E in the bass): not a cadence
    inverted = from_chords([(D5, B4, G4, 43), (C5, G4, C4, 52)], fermatas=[1])
    # ends on root position, but the bass leaps a third onto it (A2 -> C3): not a cadence either
    stepwise = from_chords([(C5, A4, E4, 45), (C5, G4, E4, 48)], fermatas=[1])
    # a chord with a foreign note (the 7th, Bb) over the root
    seventh = from_chords([(G4, D4 + 12, B4 - 12, 43), (70, E4, C4, 48)], fermatas=[1])
    assert vl.figures([inverted, stepwise, seventh])["cadences"] == 0.0


def test_a_suspension_resolving_during_the_fermata_still_ends_on_a_cadence():
    # the tenor holds F over the C chord (a 4-3 suspension) and resolves to E on the fermata's second half
    suspended = from_chords([(D5, B4, F4, 43), (C5, G4, F4, 48), (C5, G4, E4, 48)], fermatas=[1, 2])
    assert suspended.fermata_spans() == [(2, 6)]
    assert vl.figures(suspended)["cadences"] == 100.0
    unresolved = from_chords([(D5, B4, F4, 43), (C5, G4, F4, 48)], fermatas=[1])
    assert vl.figures(unresolved)["cadences"] == 0.0


def test_a_phrygian_close_counts():
    # iv6 -> V in A minor: D minor over F3, then E major over E3 (the bass falls a semitone)
    phrygian = from_chords([(D5, A4, D4, 53), (B4, 68, E4, 52)], fermatas=[1])
    assert vl.figures(phrygian)["cadences"] == 100.0


def test_pooling_counts_and_empty_denominators():
    one = from_chords([(E4 + 12, C5, 55, 48), (E4 + 12, C5, 57, 50)])  # 1 parallel in 5 moves
    held = from_chords([(C5, G4, E4, 48)] * 3)  # no moves at all
    figures = vl.figures([one, held])
    assert figures["parallels"] == pytest.approx(20.0)
    assert math.isnan(vl.figures(held)["parallels"])
    assert math.isnan(vl.figures(held)["cadences"])  # no fermatas


def test_is_root_position_triad():
    assert vl.is_root_position_triad([C5, G4, E4, 48])
    assert vl.is_root_position_triad([A4, E4, C4, 45])  # A minor
    assert not vl.is_root_position_triad([C5, C4, G4 - 12, 48])
    assert not vl.is_root_position_triad([C5, G4, C4, 52])


def test_marks_colour_both_notes_of_a_parallel_and_of_a_crossing():
    # T and B move in parallel fifths into chord 2; in chord 3 the alto crosses above the soprano's held E5
    lines = from_chords([(E4 + 12, C5, 55, 48), (E4 + 12, C5, 57, 50), (E4 + 12, F4 + 12, 57, 50)])
    red, blue = vl.MARK_COLOURS["parallel"], vl.MARK_COLOURS["crossing"]
    found = vl.marks(lines)
    # chords are two eighth-note steps (one beat) long; held notes are marked where they began
    assert {k for k, v in found.items() if v == red} == {(2, 0.0), (3, 0.0), (2, 1.0), (3, 1.0)}
    assert {k for k, v in found.items() if v == blue} == {(0, 0.0), (1, 2.0)}


def test_figure_table_lines_up_and_dashes_what_has_nothing_to_count():
    figures = {"Bach": {"parallels": 0.14, "cadences": 91.3}, "a roll model": {"parallels": 1.5, "cadences": math.nan}}
    assert vl.figure_table(figures, ["parallels", "cadences"]).splitlines() == [
        " " * 14 + " parallels  cadences",
        "Bach          " + "      0.14     91.30",
        "a roll model  " + "      1.50         -",
    ]
    assert vl.figure_table(figures, ["parallels", "cadences"], by_figure=True).splitlines() == [
        " " * 11 + "          Bach  a roll model",
        "parallels  " + "          0.14          1.50",
        "cadences   " + "         91.30             -",
    ]


def test_hidden_fifths_need_similar_motion_into_the_fifth_and_a_leap_in_the_soprano():
    leap = from_chords([(64, 60, 55, 48), (72, 60, 57, 53)])  # S E4-C5 up a sixth, B C3-F3 up: a twelfth
    step = from_chords([(71, 67, 62, 50), (72, 67, 60, 53)])  # S B4-C5 up a step into the same twelfth
    assert vl.figures(leap)["hidden_fifths_octaves"] == pytest.approx(100.0)  # 1 of 1 outer move
    assert vl.figures(step)["hidden_fifths_octaves"] == 0.0
    assert vl.figures(leap)["parallels"] == 0.0  # from a sixth: not a parallel


CADENCE = [(72, 67, 64, 48), (72, 69, 65, 53)]  # I, IV in C major; then V and I with the fermata


def test_a_doubled_leading_tone_is_counted_per_chord():
    doubled = from_chords([*CADENCE, (71, 67, 59, 43), (72, 67, 64, 48)], fermatas=[3])  # V with two Bs
    figures = vl.figures(doubled)
    assert figures["doubled_leading_tones"] == pytest.approx(25.0)  # 1 of 4 chords
    assert figures["cadences_in_key"] == pytest.approx(100.0)


def test_a_leading_tone_in_the_soprano_over_the_dominant_must_rise_to_the_tonic():
    resolved = from_chords([*CADENCE, (71, 67, 62, 43), (72, 64, 60, 48)], fermatas=[3])
    unresolved = from_chords([*CADENCE, (71, 67, 62, 43), (67, 64, 60, 48)], fermatas=[3])
    assert vl.figures(resolved)["unresolved_leading_tones"] == 0.0
    assert vl.figures(unresolved)["unresolved_leading_tones"] == pytest.approx(100.0)
    held = from_chords([*CADENCE, (71, 67, 62, 43)], fermatas=[2])  # held into the fermata: none to count
    assert math.isnan(vl.figures(held)["unresolved_leading_tones"])


def test_bach_meets_the_rules_his_chorales_are_judged_by():
    from course_lib import harmonising

    figures = vl.figures(harmonising.load_split("test"))
    assert figures["cadences_in_key"] > 80 and figures["hidden_fifths_octaves"] < 1.5
    assert figures["doubled_leading_tones"] < 1.5 and figures["unresolved_leading_tones"] < 40
