"""Student notebooks from solutions, the stub fallback, and the hints the checks give."""

from __future__ import annotations

import struct

import nbformat
import numpy as np
import pytest

from course_lib import exercises, midi, pianoroll
from course_lib.checks import hints, midi_bytes, representations
from course_lib.exercises import ExerciseError
from course_lib.tokens import MelodyVocabulary
from course_lib.tools import notebooks

SOLUTION_CELL = """def f(x):
    \"\"\"Doubles.\"\"\"
    ### BEGIN SOLUTION
    y = 2 * x
    return y
    ### END SOLUTION"""


def test_strip_solutions_keeps_indentation_and_drops_hidden_tests():
    source, had = notebooks.strip_solutions(SOLUTION_CELL)
    assert had
    assert source.splitlines()[-2:] == ["    # YOUR CODE HERE", "    raise NotImplementedError()"]
    hidden = "check(f)\n### BEGIN HIDDEN TESTS\nassert f(2) == 4\n### END HIDDEN TESTS\nprint('ok')"
    assert notebooks.strip_solutions(hidden) == ("check(f)\nprint('ok')", False)
    with pytest.raises(ValueError, match="unclosed"):
        notebooks.strip_solutions("### BEGIN SOLUTION\nx = 1")


def test_student_version_tags_clears_and_leaves_the_solution_alone():
    solution = nbformat.v4.new_notebook()
    solution.cells = [
        nbformat.v4.new_markdown_cell("Why?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION"),
        nbformat.v4.new_code_cell(
            SOLUTION_CELL, execution_count=3, outputs=[nbformat.v4.new_output("stream", text="x")]
        ),
        nbformat.v4.new_code_cell("check(f)", metadata={"tags": ["check"]}),
        nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(1)", execution_count=4),
    ]
    student = notebooks.student_version(solution)
    assert student.cells[0].source == "Why?\nYOUR ANSWER HERE"
    assert "2 * x" not in student.cells[1].source and student.cells[1].outputs == []
    assert student.cells[1].execution_count is None
    assert student.cells[1].metadata["tags"] == ["raises-exception"]
    assert student.cells[2].metadata["tags"] == ["check", "raises-exception"]
    assert student.cells[3].source == "print(1)" and "tags" not in student.cells[3].metadata
    assert solution.cells[1].outputs and "2 * x" in solution.cells[1].source  # input untouched


def test_notebooks_folder_is_what_the_build_writes():
    problems = notebooks.out_of_sync()
    assert problems == [], "notebooks/ is stale: run python -m course_lib notebooks build\n" + "\n".join(problems)


def test_every_solution_notebook_is_light_and_has_no_widget_state():
    for path in notebooks.solution_notebooks():
        assert path.stat().st_size < 1_000_000, path.name
        notebook = nbformat.read(path, as_version=4)
        assert "widgets" not in notebook.metadata, path.name


def test_is_stub_and_pick(capsys):
    def stub(x):
        # YOUR CODE HERE
        raise NotImplementedError()

    def written(x):
        return x

    assert exercises.is_stub(stub) and not exercises.is_stub(written)
    assert exercises.pick(written, abs) is written
    assert exercises.pick(stub, abs) is abs
    assert "stub is not written yet" in capsys.readouterr().out


def test_library_versions_pass_their_own_checks(capsys):
    midi_bytes.check_read_varlen(midi.read_variable_length)
    midi_bytes.check_parse_header(lambda data: tuple(vars(midi.parse_header(data)).values()))
    midi_bytes.check_pair_notes(
        lambda events: [(round(n.start * 480), round(n.end * 480), n.pitch) for n in midi.pair_notes(events, 480)]
    )
    representations.check_notes_to_roll(pianoroll.to_pianoroll)
    vocabulary = MelodyVocabulary(55, 79)
    representations.check_encode_melody(vocabulary.encode, vocabulary)
    from course_lib.datasets import transposition_to_c

    representations.check_semitones_to_c(transposition_to_c)
    assert capsys.readouterr().out.count("cases pass") == 6


def test_hints_name_the_likely_mistake():
    def varlen_without_continuation(data, offset):
        return data[offset] & 0x7F, offset + 1

    def varlen_eight_bits(data, offset):
        value = 0
        while True:
            byte = data[offset]
            value = (value << 8) | (byte & 0x7F)
            offset += 1
            if byte < 0x80:
                return value, offset

    with pytest.raises(ExerciseError, match="top bit"):
        midi_bytes.check_read_varlen(varlen_without_continuation)
    with pytest.raises(ExerciseError, match="7 bits"):
        midi_bytes.check_read_varlen(varlen_eight_bits)
    with pytest.raises(ExerciseError, match="big-endian"):
        midi_bytes.check_parse_header(lambda data: struct.unpack("<HHH", data[8:14]))
    with pytest.raises(ExerciseError, match="transpose"):
        representations.check_notes_to_roll(lambda *args: pianoroll.to_pianoroll(*args).T)
    with pytest.raises(ExerciseError, match="inclusive"):
        representations.check_notes_to_roll(lambda notes, spb, lo, hi: pianoroll.to_pianoroll(notes, spb, lo, hi - 1))
    vocabulary = MelodyVocabulary(55, 79)
    with pytest.raises(ExerciseError, match="HOLD"):
        representations.check_encode_melody(
            lambda notes, spb: [vocabulary.token(67) if t == 1 else t for t in vocabulary.encode(notes, spb)],
            vocabulary,
        )
    with pytest.raises(ExerciseError, match="A minor"):
        representations.check_semitones_to_c(lambda tonic, mode: (-tonic + 6) % 12 - 6)

    def pair_ignoring_velocity_zero(events):
        sounding, out = {}, []
        for e in events:
            if e.status & 0xF0 == 0x90:
                sounding[e.data[0]] = e.tick
            elif e.data[0] in sounding:
                out.append((sounding.pop(e.data[0]), e.tick, e.data[0]))
        return out

    with pytest.raises(ExerciseError, match="velocity 0"):
        midi_bytes.check_pair_notes(pair_ignoring_velocity_zero)


def test_compare_arrays_reports_first_difference():
    expected = np.zeros((3, 4), bool)
    got = expected.copy()
    got[1, 2] = True
    with pytest.raises(ExerciseError, match=r"index \(1, 2\)"):
        hints.compare_arrays(got, expected, "roll")


def test_rnn_and_lstm_checks_accept_correct_and_name_planted_bugs(capsys):
    import numpy as np

    from course_lib import rnn_numpy as rn
    from course_lib.checks import lstm_equations, rnn_equations

    rnn_equations.check_rnn_step(rn.rnn_step)
    rnn_equations.check_rnn_step_backward(rn.rnn_step_backward)
    rnn_equations.check_softmax_cross_entropy(rn.softmax_cross_entropy)
    lstm_equations.check_lstm_step(lambda *args: rn.lstm_step(*args)[:2])
    lstm_equations.check_lstm_sequence(lambda x, W, U, b: (lambda o, s, _: (o, *s))(*rn.lstm_forward(x, W, U, b)))
    lstm_equations.check_forget_product(rn.forget_product)
    assert capsys.readouterr().out.count("correct") == 6

    with pytest.raises(ExerciseError, match="bias"):
        rnn_equations.check_rnn_step(lambda x, h, W, U, b: np.tanh(x @ W + h @ U))
    with pytest.raises(ExerciseError, match="transposed"):
        rnn_equations.check_rnn_step(lambda x, h, W, U, b: np.tanh(x @ W + h @ U.T + b))

    def swapped(x, h, c, W, U, b):
        n = h.shape[1]
        order = np.r_[n : 2 * n, 0:n, 2 * n : 4 * n]
        return rn.lstm_step(x, h, c, W[:, order], U[:, order], b[order])[:2]

    with pytest.raises(ExerciseError, match="input and forget gates are swapped"):
        lstm_equations.check_lstm_step(swapped)

    def backward_without_tanh(dh, x_t, h_prev, h, W, U):
        return dh @ W.T, dh @ U.T, x_t.T @ dh, h_prev.T @ dh, dh.sum(axis=0)

    with pytest.raises(ExerciseError, match="tanh"):
        rnn_equations.check_rnn_step_backward(backward_without_tanh)

    def summed_loss(logits, targets):
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        return -np.log(p[np.arange(len(targets)), targets]).sum(), p

    with pytest.raises(ExerciseError, match="Average"):
        rnn_equations.check_softmax_cross_entropy(summed_loss)
    with pytest.raises(ExerciseError, match="from the start"):
        lstm_equations.check_forget_product(np.cumprod)


def test_sampling_and_mask_checks_accept_correct_and_name_planted_bugs(capsys):
    from course_lib.checks import lstm_chorales, lstm_melody
    from course_lib.models import masks_from_degrees
    from course_lib.sampling import filter_logits, sample_token

    lstm_melody.check_sample_next(sample_token)
    lstm_chorales.check_masks(masks_from_degrees)
    assert "sample_next: correct" in capsys.readouterr().out

    def argmax(logits, rng, temperature=1.0, top_k=None):
        return int(np.argmax(logits))

    def backwards_temperature(logits, rng, temperature=1.0, top_k=None):
        return sample_token(np.asarray(logits) * temperature * temperature, rng, temperature, top_k)

    def no_renormalising(logits, rng, temperature=1.0, top_k=None):
        p = filter_logits(logits, temperature)
        if top_k is not None:
            p[np.argsort(-p)[top_k:]] = 0.0
            p[np.argmax(p)] += 1.0 - p.sum()  # the lost mass goes to the best token, not spread fairly
        return int(rng.choice(len(p), p=p))

    for bug, hint in ((argmax, "argmax"), (backwards_temperature, "backwards"), (no_renormalising, "renormalise")):
        with pytest.raises(ExerciseError, match=hint):
            lstm_melody.check_sample_next(bug)

    def sees_itself(keys, hidden_degree):
        a, b, c = masks_from_degrees(keys, hidden_degree)
        return a, b, c + np.eye(keys, dtype="float32")

    def less_or_equal(keys, hidden_degree):
        a, _, c = masks_from_degrees(keys, hidden_degree)
        return a, (np.asarray(hidden_degree)[:, None] <= np.arange(1, keys + 1)).astype("float32"), c

    for bug, hint in ((sees_itself, "see itself"), (less_or_equal, "m < d")):
        with pytest.raises(ExerciseError, match=hint):
            lstm_chorales.check_masks(bug)


def test_a_function_that_fails_its_check_is_not_used_until_it_passes(capsys):
    from course_lib.checks.representations import check_semitones_to_c

    def semitones_to_c(tonic, mode):  # the lopsided mistake: minor keys to C, not A
        return (-tonic + 6) % 12 - 6

    with pytest.raises(ExerciseError):
        check_semitones_to_c(semitones_to_c)
    assert exercises.pick(semitones_to_c, abs) is abs
    assert "your semitones_to_c did not pass its check" in capsys.readouterr().out

    def fixed(tonic, mode):
        return ((0 if mode == "major" else 9) - tonic + 6) % 12 - 6

    check_semitones_to_c(fixed)
    assert exercises.pick(fixed, abs) is fixed


def test_an_unwritten_exercise_is_named_in_one_line():
    from course_lib.checks.representations import check_semitones_to_c

    def semitones_to_c(tonic, mode):
        # YOUR CODE HERE
        raise NotImplementedError()

    with pytest.raises(ExerciseError) as caught:
        check_semitones_to_c(semitones_to_c)
    assert caught.value._render_traceback_() == [
        "ExerciseError: semitones_to_c is not written yet: replace `raise NotImplementedError()` in its cell "
        "with your code, run that cell, then this one."
    ]
