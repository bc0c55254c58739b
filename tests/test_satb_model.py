"""The four-voice model (course_lib.satb_model): shapes, batches, the NumPy sampling step against Keras,
the sampler's rules, the lesson code of notebook 09 and the shipped model against its card."""

import keras
import numpy as np
import pytest

from course_lib import harmonising, rnn_numpy, satb_model, voice_intervals, voice_leading, voices
from course_lib.voice_intervals import interval_bias
from course_lib.voices import VOICE_HOLD, VOICE_REST, from_chords


@pytest.fixture(scope="module")
def piece():
    chords = [(72, 67, 64, 48), (74, 67, 62, 43), (76, 67, 60, 48), (74, 65, 59, 43), (72, 64, 55, 48)]
    return from_chords(chords, fermatas=[4])


def test_pad_batch_pads_with_zeros_to_the_bucket(piece):
    x, y = satb_model.pad_batch([piece, piece], satb_model.bucket_length(piece.steps))
    assert x["soprano"].shape == (2, 64) and x["meter"].shape == (2, 64, voices.FEATURES)
    assert x["previous"].shape == (2, 64, 3) and x["chosen"].shape == (2, 64, 2)
    assert (x["soprano"][:, piece.steps :] == 0).all() and (y["bass"][:, piece.steps :] == 0).all()
    assert x["previous"][0, 0].tolist() == [VOICE_REST] * 3  # nothing sang before the first step
    assert x["previous"][0, 1].tolist() == piece.tokens[0, 1:].tolist()  # the step before, not this one
    assert x["chosen"][0, 3].tolist() == piece.tokens[3, 1:3].tolist()


def test_batches_group_by_length(piece):
    long = from_chords([(72, 67, 64, 48)] * 50)
    batches = satb_model.Batches([piece, long, piece], batch_size=4, shuffle=False)
    shapes = sorted(batches[i][0]["soprano"].shape for i in range(len(batches)))
    assert shapes == [(1, 128), (2, 64)]


def test_the_numpy_step_gives_the_models_logits(tiny_harmoniser, piece):
    """Teacher-forced, notebook 04's NumPy LSTM step, the heads and interval biases equal the Keras model."""
    outputs = tiny_harmoniser(satb_model.model_inputs(piece), training=False)
    w = satb_model.sampler_weights(tiny_harmoniser)
    encoding = satb_model.melody_encoding(tiny_harmoniser, piece)
    pitches = piece.pitches()
    h = c = np.zeros(8)
    previous, before = [VOICE_REST] * 3, np.full(4, -1)
    for t in range(piece.steps):
        x = np.concatenate([encoding[t], w["embedding"][previous].ravel()])
        h, c, _ = rnn_numpy.lstm_step(x, h, c, w["kernel"], w["recurrent"], w["bias"])
        state = np.concatenate([encoding[t], h])
        truth = piece.tokens[t, 1:].tolist()
        for i, voice in enumerate(satb_model.LOWER_VOICES):
            fermata = np.array([float(piece.fermata[t])])
            bias = interval_bias(w[f"{voice}_intervals"], i + 1, before, pitches[t, :3], fermata)
            mine = satb_model.voice_logits(w, voice, state, truth[:i]) + bias
            theirs = keras.ops.convert_to_numpy(outputs[voice])[0, t]
            np.testing.assert_allclose(mine, theirs, atol=1e-4)
        previous, before = truth, pitches[t]


def test_the_numpy_melody_encoding_equals_the_bidirectional_layer(tiny_harmoniser, piece):
    inputs = satb_model.model_inputs(piece)
    encoder = keras.Model(
        [tiny_harmoniser.input["soprano"], tiny_harmoniser.input["meter"]], tiny_harmoniser.get_layer("melody").output
    )
    keras_encoding = keras.ops.convert_to_numpy(encoder([inputs["soprano"], inputs["meter"]]))[0]
    np.testing.assert_allclose(satb_model.melody_encoding(tiny_harmoniser, piece), keras_encoding, atol=1e-5)


def test_voice_rules_forbid_parallels_and_crossing_but_allow_contrary_motion():
    # before: S G4, A C4 (a fifth); now the soprano moves up to A4
    forbid = satb_model.voice_rules(69, np.array([67, 60, 55, 48]))
    banned = forbid("alto", [])
    assert banned[voices.token_of(62)]  # C4 -> D4 under G4 -> A4: parallel fifths
    assert not banned[voices.token_of(64)]  # C4 -> E4: a fourth, fine
    assert not banned[voices.token_of(57)]  # down to A3: contrary motion, fine
    assert banned[voices.token_of(71)]  # above the soprano: a crossing
    assert not banned[VOICE_HOLD] and not banned[VOICE_REST]
    # the bass must avoid octaves with the tenor chosen at this step (G3 -> A3), C3 -> D3 is fine
    bass_banned = satb_model.voice_rules(69, np.array([67, 64, 55, 43]))(
        "bass", [voices.token_of(64), voices.token_of(57)]
    )
    assert bass_banned[voices.token_of(45)] and not bass_banned[voices.token_of(50)]


def test_the_tenor_depends_on_the_alto_chosen_at_the_same_step(tiny_harmoniser, piece):
    w = satb_model.sampler_weights(tiny_harmoniser)
    state = np.ones(3 * 8)
    assert not np.allclose(
        satb_model.voice_logits(w, "tenor", state, [voices.token_of(67)]),
        satb_model.voice_logits(w, "tenor", state, [voices.token_of(60)]),
    )


def test_sample_in_order_follows_each_softmax_and_passes_the_earlier_voices():
    seen = []

    def logits_for(voice, chosen):
        seen.append((voice, list(chosen)))
        logits = np.full(5, -50.0)
        logits[len(chosen) + 1] = 0.0  # voice k always draws token k + 1
        return logits

    drawn = satb_model.sample_in_order(logits_for, np.random.default_rng(0))
    assert drawn == [1, 2, 3]
    assert seen == [("alto", []), ("tenor", [1]), ("bass", [1, 2])]


def test_harmonise_keeps_the_soprano_and_never_holds_after_a_rest(tiny_harmoniser, piece):
    result = satb_model.harmonise(tiny_harmoniser, piece, temperature=1.5, seed=3)
    assert result.tokens[:, 0].tolist() == piece.tokens[:, 0].tolist()
    assert (result.tokens[:, 1:] != voices.VOICE_PAD).all()
    for voice in range(1, 4):
        line = result.tokens[:, voice]
        assert line[0] != VOICE_HOLD
        assert not ((line[1:] == VOICE_HOLD) & (line[:-1] == VOICE_REST)).any()
    again = satb_model.harmonise(tiny_harmoniser, piece, temperature=1.5, seed=3)
    assert np.array_equal(again.tokens, result.tokens)


def test_rules_remove_parallels_and_second_tries_add_cadences(tiny_harmoniser):
    melody = voices.soprano_only(
        from_chords([(72, 60, 55, 48), (74, 60, 55, 48), (72, 60, 55, 48)] * 4, fermatas=[5, 11])
    )
    free = [satb_model.harmonise(tiny_harmoniser, melody, 2.0, seed, rules=False) for seed in range(6)]
    ruled = [satb_model.harmonise(tiny_harmoniser, melody, 2.0, seed, rules=True) for seed in range(6)]
    tried = [
        satb_model.harmonise(tiny_harmoniser, melody, 2.0, seed, rules=True, cadence_tries=30) for seed in range(6)
    ]
    assert voice_leading.figures(free)["parallels"] > 0  # an untrained model at a high temperature
    assert voice_leading.figures(ruled)["parallels"] == 0
    assert voice_leading.figures(ruled)["crossings"] == 0
    assert voice_leading.figures(tried)["cadences"] > voice_leading.figures(ruled)["cadences"]


def test_nll_per_voice_is_the_mean_cross_entropy(tiny_harmoniser, piece):
    nll = satb_model.nll_per_voice(tiny_harmoniser, [piece])
    assert set(nll) == {"alto", "tenor", "bass", "mean"}
    logits = keras.ops.convert_to_numpy(tiny_harmoniser(satb_model.model_inputs(piece), training=False)["alto"])[0]
    log_p = (
        logits
        - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True))
        - logits.max(-1, keepdims=True)
    )
    expected_alto = -log_p[np.arange(piece.steps), piece.tokens[:, 1]].mean()
    assert nll["alto"] == pytest.approx(expected_alto, rel=1e-4)  # the mean cross-entropy of the model's logits
    assert nll["mean"] == pytest.approx((nll["alto"] + nll["tenor"] + nll["bass"]) / 3)
    # batched with a longer piece (so this one is padded), its steps must count the same
    longer = from_chords([(72, 67, 64, 48), (71, 67, 62, 43)] * 9)
    together = satb_model.nll_per_voice(tiny_harmoniser, [piece, longer])
    alone = [satb_model.nll_per_voice(tiny_harmoniser, [p]) for p in (piece, longer)]
    expected = (alone[0]["bass"] * piece.steps + alone[1]["bass"] * longer.steps) / (piece.steps + longer.steps)
    assert together["bass"] == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(
    "function",
    [
        satb_model.satb_harmoniser,
        satb_model.voice_logits,
        satb_model.sample_in_order,
        satb_model.sample_step,
        voice_leading.parallel_kind,
        voice_intervals.candidates,
        voice_intervals.parallel_with,
        interval_bias,
        voice_intervals.VoiceLeadingLoss,
        voice_intervals.unlikelihood,
    ],
    ids=lambda f: f.__name__,
)
def test_notebook_09_shows_the_librarys_own_code(function):
    """The lesson code a student reads in notebook 09 is the library's one copy, line for line."""
    import inspect
    from pathlib import Path

    import nbformat

    notebook = nbformat.read(Path(__file__).parent.parent / "solutions" / "09_four_voices.ipynb", as_version=4)
    markers = ("### BEGIN SOLUTION", "### END SOLUTION")
    cells = [
        "\n".join(line for line in cell.source.splitlines() if line.strip() not in markers)
        for cell in notebook.cells
        if cell.cell_type == "code"
    ]
    source = inspect.getsource(function).rstrip("\n")
    assert any(source in cell for cell in cells), f"notebook 09 has no exact copy of {function.__name__}"


def test_the_shipped_harmoniser_scores_what_its_card_says():
    from course_lib import datasets, pretrained

    card = pretrained.card("satb")
    assert card["data_sha256"] == datasets.sha256_of(datasets.CHORALES_FILE)
    nll = satb_model.nll_per_voice(pretrained.load("satb"), harmonising.load_lines().valid)
    for key, value in card["valid"].items():
        assert nll[key] == pytest.approx(value, abs=1e-3)
