"""The kinds of recipe (course_lib.recipe_kinds): the operations each model has or says it lacks, and how
generated tokens and frames become a piece at the card's tempo."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import datasets, recipe_kinds, recipes
from course_lib.errors import CourseError
from course_lib.notes import Note
from course_lib.tokens import MelodyVocabulary


@pytest.mark.parametrize("name", recipes.MODELS)
def test_every_model_has_each_operation_or_says_why_not(name):
    chosen = recipes.recipe(name)
    assert set(chosen.lacks) <= set(recipe_kinds.OPERATIONS)
    for operation in recipe_kinds.OPERATIONS:
        has = callable(getattr(chosen, operation))
        assert has != (operation in chosen.lacks), operation
        assert has or len(chosen.lacks[operation]) > 20, operation  # a reason, not a word


def test_the_base_recipe_has_no_operation():
    assert all(getattr(recipe_kinds.Recipe, operation) is None for operation in recipe_kinds.OPERATIONS)


def test_tokens_become_the_notes_they_encode_at_the_cards_tempo():
    notes = [Note(0.0, 1.0, 60, 80), Note(1.5, 2.0, 64, 80), Note(2.0, 4.0, 72, 80)]
    card = {"vocabulary": [60, 72], "steps_per_beat": 4, "tempo_bpm": 90.0}
    tokens = MelodyVocabulary(60, 72).encode(notes, 4)
    piece = recipes.recipe("melody").to_piece(tokens, card)
    assert piece.notes == notes
    assert piece.tempo.bpm_at(0.0) == 90.0
    chorale_tempo = recipes.recipe("melody").to_piece(tokens, {"vocabulary": [60, 72], "steps_per_beat": 4})
    assert chorale_tempo.tempo.bpm_at(0.0) == datasets.CHORALE_TEMPO_BPM  # a card without one: the chorales'


def test_frames_become_one_note_per_run_of_a_key_at_the_chorales_tempo():
    roll = np.zeros((4, 88), dtype=bool)
    roll[0:3, 0] = True  # the lowest key for three steps
    roll[2:4, 87] = True  # the highest for the last two
    card = {"lowest": 21, "steps_per_beat": 2, "data": "chorales"}
    piece = recipes.recipe("chorale").to_piece(roll, card)
    assert [(n.start, n.end, n.pitch) for n in piece.notes] == [(0.0, 1.5, 21), (1.0, 2.0, 108)]
    assert piece.tempo.bpm_at(0.0) == datasets.CHORALE_TEMPO_BPM
    # the JSB split is written an octave above sounding pitch: its rolls sound an octave down
    piece = recipes.recipe("chorale").to_piece(roll, {**card, "data": "jsb"})
    assert [n.pitch for n in piece.notes] == [21 - 12, 108 - 12]


def test_a_primer_out_of_range_names_the_ones_there_are():
    assert recipe_kinds.validation_piece(["a", "b", "c"], 2) == "c"
    with pytest.raises(CourseError, match=r"--primer must be 0\.\.2 \(a validation piece\)"):
        recipe_kinds.validation_piece(["a", "b", "c"], 3)
    with pytest.raises(CourseError):
        recipe_kinds.validation_piece(["a"], -1)


def test_first_pieces_cuts_each_split_and_none_keeps_all():
    splits = datasets.Splits([1, 2, 3], [4, 5], [])
    assert recipe_kinds.first_pieces(splits, 2) == datasets.Splits([1, 2], [4, 5], [])
    assert recipe_kinds.first_pieces(splits, None) == datasets.Splits([1, 2, 3], [4, 5], [])


def test_a_card_reports_what_the_models_music_copies(tiny_harmoniser):
    """The harmoniser's copy check: lower voices of its harmonisations and of held-out Bach against training."""
    from course_lib import harmonising
    from course_lib.memorisation import CopyFinder, copy_scores
    from course_lib.pianoroll import to_pianoroll

    lines = harmonising.load_lines()
    data = datasets.Splits(lines.train[:20], lines.valid[:2], lines.test[:3])
    chosen = recipes.recipe("satb")
    assert chosen.copies(tiny_harmoniser, data, 2, limit=3, temperature=0.5) == {"copies": None}  # a smoke run
    copies = chosen.copies(tiny_harmoniser, data, 2, None, temperature=0.5)["copies"]
    assert copies["grid"] == 2 and copies["generated"]["excerpts"] > 0
    training, held_out, _ = chosen.copy_rolls(tiny_harmoniser, data, 2, temperature=0.5)
    whole = to_pianoroll(data.train[0].to_piece(), steps_per_beat=2)
    assert len(training) == 20 and 0 < training[0].sum() < whole.sum()  # the soprano left out
    assert copies["held_out"] == {k: round(v, 4) for k, v in copy_scores(CopyFinder(training), held_out, 2).items()}
    assert copy_scores(CopyFinder(training), training[:2], 2)["copied_excerpts"] == 1.0  # the data copies itself
