"""Python behaviour of the widgets: what they sound and draw, callbacks, busy state, errors, scores.

The front end (playhead, seeking, rendering in a browser) is tested in test_browser.py.
"""

from __future__ import annotations

import io
import re
import wave

import matplotlib.image
import numpy as np
import pytest

from course_lib.midi import read_midi
from course_lib.notes import Note, Piece, TempoMap
from course_lib.pianoroll import to_pianoroll
from course_lib.plot import VOICE_COLOURS
from course_lib.widgets import (
    ABQuiz,
    LatentExplorer,
    Player,
    Sampler,
    interpolate_latent,
    make_control,
    roll_picture,
    time_map,
)

SCALE = [Note(i * 0.5, i * 0.5 + 0.5, 60 + step) for i, step in enumerate([0, 2, 4, 5, 7, 9, 11, 12])]


def wav_seconds(data: bytes) -> float:
    with wave.open(io.BytesIO(data)) as wav:
        return wav.getnframes() / wav.getframerate()


def test_player_sound_length_midi_and_time_map():
    player = Player(SCALE, tempo=60, renderer="numpy")
    assert wav_seconds(player.wav) == pytest.approx(4.3, abs=0.01)  # 4 beats at 60 bpm + 0.3 s tail
    assert player.duration == pytest.approx(wav_seconds(player.wav))
    assert [(n.start, n.end, n.pitch) for n in read_midi(player.midi).notes] == [
        (n.start, n.end, n.pitch) for n in SCALE
    ]
    (start_s, x0), (end_s, x1) = player.time_map
    assert (start_s, end_s) == (0.0, 4.0) and 0 < x0 < x1 < 1
    assert player.roll_png.startswith(b"\x89PNG")


def test_time_map_has_a_knee_at_each_tempo_change():
    tempo = TempoMap(((0.0, 60.0), (4.0, 120.0), (20.0, 30.0)))
    pairs = time_map(tempo, end_beat=8.0, x0=0.1, x1=0.9)
    # 4 beats at 60 bpm = 4 s, then 4 beats at 120 bpm = 2 s; the change at beat 20 lies beyond the end
    assert np.allclose(pairs, [[0.0, 0.1], [4.0, 0.5], [6.0, 0.9]])


def test_roll_picture_draws_a_note_where_the_time_map_puts_it():
    piece = Piece([Note(2.0, 3.0, 60)], time_signature=(4, 4))  # a lone note in beats 2..3 of 3
    png, x0, x1, end_beat = roll_picture(piece)
    image = matplotlib.image.imread(io.BytesIO(png))[..., :3]
    red = np.array(matplotlib.colors.to_rgb(VOICE_COLOURS[0]))
    columns = np.flatnonzero((np.abs(image - red).sum(axis=2) < 0.05).any(axis=0))
    width = image.shape[1]
    assert end_beat == 3.0
    assert columns.min() == pytest.approx(width * (x0 + (x1 - x0) * 2 / 3), abs=2)
    assert columns.max() == pytest.approx(width * x1, abs=2)


def test_player_update_position_and_odd_music():
    player = Player(renderer="numpy")
    assert player.midi == b"" and player.duration == pytest.approx(0.3, abs=0.01)  # silence plays as silence
    roll = to_pianoroll([Note(0.0, 2.0, 60, voice=0), Note(0.0, 1.0, 48, voice=1)], 4, by_voice=True)
    player.update(roll)
    assert sorted(n.voice for n in player.piece.notes) == [0, 1]
    player.position = 99.0
    assert player.position == player.duration  # clamped to the sound
    player.update([Note(0.0, 1.0, 60), Note(0.0, 1.0, 130)])  # a pitch MIDI cannot hold
    assert player.position == 0.0 and [n.pitch for n in read_midi(player.midi).notes] == [60]
    with pytest.raises(TypeError, match="unknown option"):
        player.update(SCALE, speed=2)


def test_player_saves_midi(tmp_path):
    path = Player(SCALE, renderer="numpy").save_midi(tmp_path / "out" / "scale.mid")
    assert [n.pitch for n in read_midi(path).notes] == [n.pitch for n in SCALE]


def test_make_control_picks_the_widget_from_the_spec():
    assert type(make_control("n", (1, 10, 1, 3))).__name__ == "IntSlider"
    assert type(make_control("t", (0.1, 2.0, 0.1, 1.0))).__name__ == "FloatSlider"
    assert make_control("mode", ["major", "minor"]).value == "major"
    assert make_control("loop", True).value is True
    with pytest.raises(TypeError, match="control 'x'"):
        make_control("x", (1, 2))


def test_sampler_calls_back_with_the_controls_and_shows_errors():
    calls = []

    def generate(transpose: int, tempo: float):
        calls.append((transpose, tempo))
        if transpose == 7:
            raise RuntimeError("the model refuses G")
        return Piece([n.transposed(transpose) for n in SCALE], TempoMap.constant(tempo))

    sampler = Sampler(generate, {"transpose": (0, 12, 1, 0), "tempo": (60.0, 180.0, 10.0, 120.0)}, renderer="numpy")
    assert calls == [(0, 120.0)] and sampler.error is None
    first_sound = sampler.player.wav
    sampler.controls["tempo"].value = 60.0
    assert calls[-1] == (0, 60.0) and wav_seconds(sampler.player.wav) == pytest.approx(4.3, abs=0.01)
    sampler.controls["transpose"].value = 5
    assert sampler.player.piece.notes[0].pitch == 65
    sampler.button.click()  # draw again: no seed control, so with the same values
    assert calls[-1] == (5, 60.0) and len(calls) == 4
    shown = sampler.player.wav
    sampler.controls["transpose"].value = 7
    assert "RuntimeError: the model refuses G" in sampler.status.value
    assert sampler.error == "RuntimeError: the model refuses G"
    assert sampler.player.wav == shown != first_sound  # the last good music stays
    assert not sampler.busy and not sampler.button.disabled and sampler.button.description == "Generate"


def test_latent_explorer_walks_from_start_to_end():
    seen = []

    def render(z: np.ndarray):
        seen.append(z.copy())
        return [Note(0.0, 1.0, 60 + int(round(z[0])))]

    start, end = np.array([0.0, 3.0]), np.array([3.0, 0.0])
    explorer = LatentExplorer(start, end, render, steps=4, renderer="numpy")
    np.testing.assert_allclose(seen[-1], start)
    explorer.slider.value = 1.0
    np.testing.assert_allclose(seen[-1], end, atol=1e-12)
    assert explorer.player.piece.notes[0].pitch == 63
    explorer.slider.value = 0.5
    assert np.linalg.norm(seen[-1]) == pytest.approx(3.0)  # slerp keeps the norm ...
    assert np.linalg.norm(interpolate_latent(start, end, 0.5, "linear")) == pytest.approx(
        np.sqrt(4.5)
    )  # ... a line does not
    with pytest.raises(ValueError, match="shape"):
        LatentExplorer(start, np.zeros(3), render)


def test_latent_explorer_shows_render_errors():
    def render(z):
        if z[0] > 0.5:
            raise ValueError("no music here")
        return SCALE

    explorer = LatentExplorer(np.zeros(2), np.ones(2), render, renderer="numpy")
    explorer.slider.value = 1.0
    assert "ValueError: no music here" in explorer.status.value and not explorer.busy


def test_ab_quiz_hides_reveals_and_scores():
    real = [Piece([Note(0.0, 1.0, 60 + i)]) for i in range(3)]
    fake = [Piece([Note(0.0, 1.0, 40 + i)]) for i in range(3)]
    quiz = ABQuiz(list(zip(real, fake, strict=True)), seed=1, renderer="numpy")
    assert quiz.real_sides == ABQuiz(list(zip(real, fake, strict=True)), seed=1).real_sides  # seeded
    results = []
    for round_ in range(3):
        side = quiz.real_sides[round_]
        other = "B" if side == "A" else "A"
        assert quiz.players[side].piece.notes[0].pitch == 60 + round_  # the real piece is on its side
        assert not quiz.players["A"].show_roll and not quiz.players["B"].show_roll  # blind
        with pytest.raises(RuntimeError, match="answer this round first"):
            quiz.next_round()
        results.append(quiz.answer(side if round_ != 1 else other))
        assert quiz.players["A"].show_roll and side in quiz.feedback.value
        with pytest.raises(RuntimeError, match="answered already"):
            quiz.answer(side)
        if round_ < 2:
            quiz.next_round()
    assert results == [True, False, True] and (quiz.right, quiz.answered) == (2, 3)
    assert quiz.finished and quiz.next_button.disabled and "2 of 3 right" in quiz.scoreboard.value
    with pytest.raises(RuntimeError, match="over"):
        quiz.next_round()
    with pytest.raises(ValueError, match="at least one"):
        ABQuiz([])


def test_the_player_converts_its_music_once(monkeypatch):
    from course_lib import widgets

    made = []
    init = Piece.__init__
    monkeypatch.setattr(Piece, "__init__", lambda self, *a, **k: made.append(1) or init(self, *a, **k))
    player = widgets.Player(to_pianoroll([Note(0.0, 1.0, 60)], 4))
    made.clear()
    player.update(to_pianoroll([Note(0.0, 1.0, 60), Note(1.0, 2.0, 64)], 4))
    # one Piece from the roll, which the sound and the picture share, and one for the MIDI file
    # (pitches MIDI can hold); copying it for the synthesiser and the plot made four
    assert len(made) == 2


def test_the_players_score_lights_each_note_from_its_onset_in_seconds():
    # eighth notes under a tempo that halves after beat 2: the score's times follow the audio, not the mark
    tempo = TempoMap(((0.0, 120.0), (2.0, 60.0)))
    player = Player(Piece(SCALE, tempo), renderer="numpy", score={"key": "C major"})
    ids = re.findall(r'<g id="([^"]+)" class="note"', player.score_svg)
    assert len(ids) == len(SCALE) and player.score_caption == ""
    onsets = {}
    for seconds, sounding in player.score_map:
        for note_id in sounding:
            onsets.setdefault(note_id, seconds)
        assert len(sounding) <= 1  # one line: one note at a time, none held over
    assert [onsets[i] for i in ids] == pytest.approx([tempo.seconds(n.start) for n in SCALE])
    assert onsets[ids[-1]] == pytest.approx(1.0 + 1.5)  # beat 3.5: 1 s at 120 bpm, then 1.5 beats at 60


def test_the_players_score_says_why_it_is_missing():
    drums = Piece([Note(0, 1, 36, voice=9)], drum_voices=frozenset({9}))
    player = Player(drums, renderer="numpy", score=True)
    assert player.score_svg == "" and player.score_map == []
    assert player.score_caption.startswith("No score: there are no pitched notes")
    assert Player(SCALE, renderer="numpy").score_svg == ""  # off unless asked for


def test_the_player_takes_four_voice_lines_and_engraves_their_fermatas_and_marks():
    from course_lib import voice_leading
    from course_lib.voices import from_chords

    # tenor and bass in parallel fifths; a fermata on the last chord
    lines = from_chords([(76, 72, 55, 48), (74, 71, 57, 50), (72, 67, 52, 48)], fermatas=[2])
    player = Player(lines, renderer="numpy", score={"marks": voice_leading.marks(lines)})
    assert [n.pitch for n in player.piece.notes if n.voice == 3] == [48, 50, 48]
    assert player.score_svg.count('class="fermata"') == 2  # above the soprano, below the bass
    assert player.score_svg.count(f'fill="{voice_leading.MARK_COLOURS["parallel"].upper()}"') >= 4


def test_the_generate_button_draws_with_the_next_seed_and_the_file_is_named_after_the_title():
    seeds = []

    def generate(seed: int):
        seeds.append(seed)
        return Piece([n.transposed(seed) for n in SCALE])

    for auto in (True, False):
        seeds.clear()
        sampler = Sampler(generate, {"seed": (0, 2, 1, 1)}, auto=auto, renderer="numpy", title="My tune, take 2")
        for _ in range(3):
            sampler.button.click()
        assert seeds == [1, 2, 0, 1]  # one draw each time, the seed moving on and wrapping round
    assert sampler.player.filename == "my-tune-take-2.mid"
    assert Player(SCALE, renderer="numpy").filename == "music.mid"
    assert Player(SCALE, renderer="numpy", title="x", filename="scale.mid").filename == "scale.mid"


def test_a_forty_minute_piece_opens_and_sounds_its_first_ten_minutes():
    # a note every two beats for 40 minutes at 120 bpm (4,800 beats), with a note across the cut
    notes = [Note(2.0 * i, 2.0 * i + 1.0, 60 + i % 12) for i in range(2400)] + [Note(1199.5, 1201.5, 72)]
    piece = Piece(notes, TempoMap.constant(120.0))
    player = Player(piece, renderer="numpy")
    assert wav_seconds(player.wav) == pytest.approx(10 * 60 + 0.3, abs=0.05)  # ten minutes and the release tail
    assert player.caption == "Sound: the first 10 of 40 minutes; Save MIDI has all of it."
    assert len(read_midi(player.midi).notes) == len(notes)  # the file keeps the whole piece
    assert player.time_map[-1][0] == pytest.approx(2399.5)  # the roll shows the whole piece: beat 4,799
    assert Player(SCALE, renderer="numpy").caption == ""


def test_opening_cuts_at_the_time_through_tempo_changes():
    from course_lib.audio import opening

    piece = Piece([Note(0, 4, 60), Note(3, 8, 62), Note(9, 10, 64)], TempoMap(((0.0, 60.0), (4.0, 120.0))))
    cut = opening(piece, 5.0)  # 4 beats at 60 bpm, then 2 beats at 120: beat 6
    assert [(n.start, round(n.end, 6), n.pitch) for n in cut.notes] == [(0, 4, 60), (3, 6.0, 62)]
    assert cut.tempo == piece.tempo
