"""Engraved scores: MusicXML that music21 reads back note for note, SVG with a notehead per written note,
spelling in the key, fermatas, pickups, rests, quantising, size limits and the command line."""

from __future__ import annotations

import re

import pytest
from music21 import chord, clef, converter, note

from course_lib import datasets, notation, score
from course_lib.__main__ import main
from course_lib.errors import TooLargeError
from course_lib.midi import read_midi, write_midi
from course_lib.notes import Note, Piece

DEMO_TUNE = datasets.DATA_DIR / "midi" / "demo" / "jigs" / "BannocksOBarleyMealJig.mid"
TWO_STAVES = {0: (0, 0), 1: (0, 1), 2: (1, 0), 3: (1, 1)}  # voice -> (part, voice within the part)
FOUR_STAVES = {0: (0, 0), 1: (1, 0), 2: (2, 0), 3: (3, 0)}


def parse(musicxml: str):
    return converter.parse(musicxml, format="musicxml")


def written_lines(musicxml: str) -> dict[tuple[int, int], list[tuple[int, float, float]]]:
    """Each (part, voice) of a MusicXML score as sorted (MIDI pitch, onset, length), tied notes joined."""
    lines: dict[tuple[int, int], list[tuple[int, float, float]]] = {}
    for part_index, part in enumerate(parse(musicxml).parts):
        for measure in part.getElementsByClass("Measure"):
            for voice_index, container in enumerate(list(measure.voices) or [measure]):
                line = lines.setdefault((part_index, voice_index), [])
                for element in container.notes:
                    onset, length = float(measure.offset + element.offset), float(element.quarterLength)
                    for member in element.notes if isinstance(element, chord.Chord) else [element]:
                        if member.tie is not None and member.tie.type in ("stop", "continue"):
                            held = next(x for x in reversed(line) if x[0] == member.pitch.midi and sum(x[1:]) == onset)
                            line[line.index(held)] = (held[0], held[1], held[2] + length)
                        else:
                            line.append((member.pitch.midi, onset, length))
    return {key: sorted(line) for key, line in lines.items()}


def expected_line(notes) -> list[tuple[int, float, float]]:
    return sorted((n.pitch, n.start, n.end - n.start) for n in notes)


def noteheads(musicxml: str) -> int:
    """Written noteheads in a MusicXML score, as music21 reads it: a chord's pitches, tied continuations too."""
    return sum(len(element.pitches) for element in parse(musicxml).recurse().notes)


@pytest.fixture(scope="module")
def chorales():
    return datasets.load_chorales().test[:3]


@pytest.fixture(scope="module")
def harmonisation():
    """The shipped harmoniser's alto, tenor and bass under a held-out chorale melody."""
    from course_lib import harmonising, pretrained, satb_model, voices

    card = pretrained.card("satb")
    melody = voices.soprano_only(harmonising.load_lines().test[0].head(64))
    return satb_model.harmonise(pretrained.load("satb"), melody, card["temperature"], 0, True, card["cadence_tries"])


@pytest.mark.parametrize("staves", [2, 4])
def test_chorales_come_back_from_musicxml_note_for_note(chorales, staves):
    layout = TWO_STAVES if staves == 2 else FOUR_STAVES
    for chorale in chorales:
        lines = written_lines(score.to_musicxml(chorale, staves=staves))
        for voice, where in layout.items():
            assert lines[where] == expected_line(chorale.voice(voice)), (chorale.name, voice)


def test_a_harmonisation_comes_back_from_musicxml_note_for_note(harmonisation):
    piece = harmonisation.to_piece()
    lines = written_lines(score.to_musicxml(harmonisation))
    for voice, where in TWO_STAVES.items():
        assert lines[where] == expected_line(piece.voice(voice))


def test_pickup_meter_key_and_title_are_written(chorales):
    chorale = next(c for c in datasets.load_chorale_list() if c.time_signature == (3, 4) and c.pickup == 1.0)
    parsed = parse(score.to_musicxml(chorale))
    first = parsed.parts[0].getElementsByClass("Measure")[0]
    assert first.duration.quarterLength == 1.0 and first.paddingLeft == 2.0  # a one-beat pickup in 3/4
    assert first.timeSignature.ratioString == "3/4"
    assert first.keySignature.sharps == 0 and chorale.key in ("C major", "A minor")
    assert parsed.metadata.bestTitle == chorale.name
    text = score.to_musicxml(Piece([Note(0, 1, 60)]))
    assert "Music21" not in text.split("<encoding>")[0]  # neither "Music21 Fragment" nor "Music21" as composer
    assert "<work-title>Untitled</work-title>" in text


def test_two_staves_and_four_staves(chorales):
    two = parse(score.to_musicxml(chorales[0]))
    assert [p.partName for p in two.parts] == ["Soprano, Alto", "Tenor, Bass"]
    assert [type(p.recurse().getElementsByClass(clef.Clef)[0]) for p in two.parts] == [clef.TrebleClef, clef.BassClef]
    for part in two.parts:
        first = part.getElementsByClass("Measure")[1]
        assert [v.notes[0].stemDirection for v in first.voices] == ["up", "down"]
    four = parse(score.to_musicxml(chorales[0], staves=4))
    assert [p.partName for p in four.parts] == ["Soprano", "Alto", "Tenor", "Bass"]
    clefs = [type(p.recurse().getElementsByClass(clef.Clef)[0]) for p in four.parts]
    assert clefs == [clef.TrebleClef, clef.TrebleClef, clef.Treble8vbClef, clef.BassClef]
    melody = parse(score.to_musicxml(Piece([Note(0, 1, 67), Note(1, 2, 69)])))
    assert len(melody.parts) == 1 and melody.parts[0].partName == "Melody"


@pytest.mark.parametrize("staves", [2, 4])
def test_fermatas_are_where_the_chorale_has_them(chorales, staves):
    for chorale in chorales:
        soprano = parse(score.to_musicxml(chorale, staves=staves)).parts[0]
        voice = (lambda m: m.voices[0]) if staves == 2 else (lambda m: m)
        held = {
            float(m.offset + n.offset)
            for m in soprano.getElementsByClass("Measure")
            for n in voice(m).notes
            if any(e.name == "fermata" for e in n.expressions)
        }
        assert held == set(chorale.fermatas), chorale.name


def test_the_harmonisations_fermatas_come_from_its_lines(harmonisation):
    soprano = parse(score.to_musicxml(harmonisation)).parts[0]
    held = {
        float(m.offset + n.offset)
        for m in soprano.getElementsByClass("Measure")
        for n in m.voices[0].notes
        if any(e.name == "fermata" for e in n.expressions)
    }
    assert held == {step / harmonisation.steps_per_beat for step in harmonisation.fermata_starts()} != set()


def test_the_svg_has_a_notehead_per_written_note(chorales, harmonisation):
    chordal = Piece([Note(0, 3, 48), Note(0, 1, 64), Note(0, 2, 67), Note(1, 2, 65), Note(2, 6, 72), Note(3, 6, 43)])
    for music in [chorales[0], harmonisation, chordal, read_midi(DEMO_TUNE)]:
        engraving = score.engrave(music, grid=4)
        assert engraving.svg.count('class="note"') == noteheads(engraving.musicxml)
    # a tied continuation is a notehead of its own: a 3-beat note from beat 3 is a half tied to a quarter
    assert noteheads(score.to_musicxml(Piece([Note(0, 2, 60), Note(2, 5, 62)]))) == 3
    assert noteheads(score.to_musicxml(chordal)) == 6 + 3  # 67 held under 65, 72 and 43 over the barline


def test_notes_cross_barlines_with_ties_and_silence_is_rests():
    piece = Piece([Note(0, 1, 72, voice=0), Note(3, 6, 74, voice=0), Note(0, 8, 60, voice=1)])
    parsed = parse(score.to_musicxml(piece, satb=False))
    top = parsed.parts[0].getElementsByClass("Measure")
    assert [n.tie.type for n in top[0].notes if n.tie] == ["start"] and top[1].notes[0].tie.type == "stop"
    assert [r.quarterLength for r in top[0].getElementsByClass(note.Rest)] == [1.0, 1.0]  # beats 2 and 3 apart
    assert [r.quarterLength for r in top[1].getElementsByClass(note.Rest)] == [2.0]
    assert written_lines(score.to_musicxml(piece, satb=False))[(1, 0)] == [(60, 0.0, 8.0)]


@pytest.mark.parametrize(
    "position, length, meter, rest, values",
    [
        (0, 3, (4, 4), True, [2, 1]),  # rests show the middle of the bar
        (1, 3, (4, 4), True, [1, 2]),
        (0, 3, (4, 4), False, [3]),  # a dotted half note
        (0.5, 1.5, (4, 4), False, [0.5, 1]),  # off the beat: cut at the beat
        (0, 2, (6, 8), False, [1.5, 0.5]),  # compound time: dotted quarters
        (1.5, 4.5, (12, 8), True, [1.5, 3]),
    ],
)
def test_note_values(position, length, meter, rest, values):
    assert notation.note_values(position, length, meter, rest) == values


@pytest.mark.parametrize(
    "pitches, key, spelled, not_spelled, sharps",
    [
        ([65, 67, 69, 70, 72, 70, 69, 67, 65], None, "B-", "A#", -1),  # F major by music21's analysis
        ([65, 67, 69, 70, 72, 70, 69, 67, 65], "F major", "B-", "A#", -1),
        ([64, 66, 68, 69, 71, 73, 75, 76, 71, 64], None, "D#", "E-", 4),  # E major
        ([64, 66, 68, 69, 71, 73, 75, 76], "E major", "D#", "E-", 4),
        ([60, 62, 63, 65, 67, 63, 62, 60], "c minor", "E-", "D#", -3),
    ],
)
def test_pitches_are_spelled_in_the_key(pitches, key, spelled, not_spelled, sharps):
    piece = Piece([Note(i, i + 1, p) for i, p in enumerate(pitches)])
    parsed = parse(score.to_musicxml(piece, key=key))
    names = {p.name for p in parsed.pitches}
    assert spelled in names and not_spelled not in names
    assert parsed.recurse().getElementsByClass("KeySignature")[0].sharps == sharps


def test_accidentals_are_shown_once_a_bar_and_after_a_change():
    bars = [65, 67, 69, 71], [70, 71, 71, 72], [71, 69, 67, 65]  # F major: B natural, B flat, B natural ...
    piece = Piece([Note(i, i + 1, p) for i, p in enumerate(p for bar in bars for p in bar)])
    shown = [
        (n.pitch.name, bool(n.pitch.accidental and n.pitch.accidental.displayStatus))
        for n in parse(score.to_musicxml(piece, key="F major")).recurse().notes
        if n.pitch.step == "B"
    ]
    assert shown == [("B", True), ("B-", True), ("B", True), ("B", False), ("B", True)]


def test_an_accidental_shows_on_both_voices_of_a_staff_that_sing_it():
    from course_lib.voices import from_chords

    lines = from_chords([(71, 71, 55, 43), (72, 69, 53, 41), (71, 67, 50, 43)])  # B natural in S and A, F major
    upper = parse(score.to_musicxml(lines, key="F major")).parts[0]
    bs = [n for n in upper.recurse().notes if n.pitch.step == "B"]
    assert sorted((n.offset, bool(n.pitch.accidental and n.pitch.accidental.displayStatus)) for n in bs) == [
        (0.0, True),  # soprano
        (0.0, True),  # alto
        (2.0, False),  # the soprano again, in the same bar: the natural still holds
    ]


def test_music_off_the_grid_is_quantised_and_the_caption_says_so():
    piece = Piece([Note(0.0, 1.0, 60), Note(1.02, 1.3, 62), Note(1.33, 2.0, 64), Note(2.0, 4.1, 65)])
    engraving = score.engrave(piece)
    assert "Quantised to sixteenth notes" in engraving.caption and "3 of 4 notes moved" in engraving.caption
    assert "<time-modification>" not in engraving.musicxml  # no tuplets
    assert parse(engraving.musicxml).metadata.description == engraving.caption  # the MusicXML says so too
    assert written_lines(engraving.musicxml)[(0, 0)] == [(60, 0, 1), (62, 1, 0.25), (64, 1.25, 0.75), (65, 2, 2)]
    on_grid = score.engrave(Piece([Note(0, 1, 60)]), grid=4)
    assert on_grid.caption.startswith("Quantised to sixteenth notes: every note was on that grid already.")


def test_the_timemap_starts_notes_at_their_onsets(chorales):
    engraving = score.engrave(chorales[0])
    onsets = sorted({n.start for n in chorales[0].notes})
    assert [entry["qstamp"] for entry in engraving.timemap if "on" in entry] == onsets


def test_music_too_big_to_engrave_is_refused_at_once():
    long = Piece([Note(i, i + 1, 60) for i in range(score.MAX_BEATS + 1)])
    with pytest.raises(TooLargeError, match=f"lasts {score.MAX_BEATS + 1:,} beats"):
        score.engrave(long)
    crowd = Piece([Note(0, 1, 40 + v, voice=v) for v in range(score.MAX_VOICES + 1)])
    with pytest.raises(TooLargeError, match=f"{score.MAX_VOICES + 1} voices"):
        score.to_musicxml(crowd)
    with pytest.raises(score.ScoreError, match="staves must be 2 or 4"):
        score.to_musicxml(Piece([Note(0, 1, 60)]), staves=3)
    with pytest.raises(score.ScoreError, match="not a key"):
        score.to_musicxml(Piece([Note(0, 1, 60)]), key="H major")


def test_the_score_command_engraves_a_midi_file(tmp_path, capsys):
    assert main(["score", str(DEMO_TUNE), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("wrote") == 2 and "Quantised to sixteenth notes" in out
    musicxml = (tmp_path / "BannocksOBarleyMealJig.musicxml").read_text()
    svg = (tmp_path / "BannocksOBarleyMealJig.svg").read_text()
    assert svg.startswith("<svg") and svg.count('class="note"') == noteheads(musicxml)
    assert parse(musicxml).metadata.bestTitle == "BannocksOBarleyMealJig"


def test_the_score_command_gives_one_line_for_a_file_that_is_not_midi(tmp_path, capsys):
    text = tmp_path / "notes.mid"
    text.write_text("this is not a MIDI file\n")
    assert main(["score", str(text), "--out", str(tmp_path / "out")]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ")


def test_harmonise_writes_a_score_with_the_pitches_of_its_midi_file(tmp_path, capsys):
    melody = tmp_path / "hymn.mid"
    tune = [64, 64, 65, 67, 67, 65, 64, 62, 60, 60, 62, 64, 64, 62, 62]
    write_midi(Piece([Note(i, i + 1, p) for i, p in enumerate(tune)] + [Note(15, 17, 60)]), melody)
    assert main(["harmonise", str(melody), "--out", str(tmp_path)]) == 0
    assert re.findall(r"wrote \S+\.(\w+)", capsys.readouterr().out) == ["mid", "wav", "png", "musicxml", "svg"]
    midi = read_midi(tmp_path / "hymn-satb.mid")
    parsed = parse((tmp_path / "hymn-satb.musicxml").read_text())
    assert [p.partName for p in parsed.parts] == ["Soprano, Alto", "Tenor, Bass"]
    lines = written_lines((tmp_path / "hymn-satb.musicxml").read_text())
    for voice, where in TWO_STAVES.items():
        assert lines[where] == expected_line(midi.voice(voice))
    # four staves: music21 reads four parts, one voice each, with the MIDI file's pitches
    assert main(["harmonise", str(melody), "--out", str(tmp_path / "four"), "--staves", "4"]) == 0
    parsed = parse((tmp_path / "four" / "hymn-satb.musicxml").read_text())
    assert [p.partName for p in parsed.parts] == ["Soprano", "Alto", "Tenor", "Bass"]
    lines = written_lines((tmp_path / "four" / "hymn-satb.musicxml").read_text())
    for voice, where in FOUR_STAVES.items():
        assert lines[where] == expected_line(midi.voice(voice))


def test_a_notebook_shows_the_score_but_does_not_store_it(chorales):
    import nbformat

    from course_lib.tools.runner import is_heavy

    engraved = score.engrave(chorales[0], title="stored?")
    assert len(repr(engraved)) < 500  # the pages and MusicXML stay out of the text form
    html = engraved._repr_html_()
    assert html.count("<svg") >= 1 and engraved.caption in html
    output = nbformat.v4.new_output("display_data", data={"text/html": html, "text/plain": repr(engraved)})
    assert is_heavy(output)
    assert not is_heavy(nbformat.v4.new_output("display_data", data={"text/html": "<svg></svg>"}))


def test_parallels_and_crossings_are_coloured_in_the_musicxml_and_the_svg():
    from course_lib import voice_leading
    from course_lib.voices import from_chords

    # tenor and bass in parallel fifths into chord 2, held; the alto crosses above the soprano's E5 in chord 3
    lines = from_chords([(76, 72, 55, 48), (76, 72, 57, 50), (76, 77, 57, 50)])
    engraving = score.engrave(lines, marks=voice_leading.marks(lines))
    coloured: dict[str, set[int]] = {}
    for element in parse(engraving.musicxml).recurse().notes:
        if element.style.color:
            coloured.setdefault(element.style.color.lower(), set()).add(element.pitch.midi)
    red, blue = voice_leading.MARK_COLOURS["parallel"], voice_leading.MARK_COLOURS["crossing"]
    assert coloured == {red: {55, 57, 48, 50}, blue: {76, 77}}  # the alto's C5 is in neither
    svg_colours = [c.lower() for c in re.findall(r'<g [^>]*class="note"[^>]*fill="(#\w{6})"', engraving.svg)]
    assert set(svg_colours) == {red, blue} and svg_colours.count(red) >= 4  # tied halves count twice


def test_a_long_title_is_shrunk_to_fit_the_page_and_a_short_one_keeps_its_size():
    piece = Piece([Note(i, i + 1, 60 + i % 7) for i in range(8)])
    long_title = "Amazing Grace, harmonised by the four-voice model alone at temperature 0.5, seed 3, without rules"
    for title, shrunk in (("Old Hundredth", False), (long_title, True)):
        page = score.engrave(piece, title=title).pages[0]
        width = float(re.search(r'viewBox="0 0 ([\d.]+) ', page).group(1))
        size = int(re.search(r'<tspan font-size="(\d+)px">' + re.escape(title) + "</tspan>", page).group(1))
        assert (size < 600) == shrunk, (title, size)  # Verovio writes titles at 607
        assert len(title) * score.TITLE_EM_WIDTH * size <= width  # the whole title on the page


def test_a_midi_file_is_engraved_with_its_own_key_signature_meter_and_pickup():
    """The key signature a file carries wins over music21's analysis; only a file without one is analysed."""
    tune = [Note(0, 1, 62), Note(1, 2, 67), Note(2, 3, 71), Note(3, 4, 66), Note(4, 6, 67), Note(6, 7, 74)]
    written = Piece(tune, time_signature=(3, 4), pickup=1.0, key="E minor")  # one sharp, read as G major by ear
    piece = read_midi(write_midi(written))
    engraved = score.to_music21(piece)
    first = engraved.parts[0].getElementsByClass("Measure")[0]
    assert first.duration.quarterLength == 1.0 and first.timeSignature.ratioString == "3/4"
    assert first.keySignature.sharps == 1
    assert "key analysis" not in (engraved.metadata.description or "")
    bare = score.to_music21(Piece(tune, time_signature=(3, 4), pickup=1.0))
    assert "Key signature from music21's key analysis" in bare.metadata.description
