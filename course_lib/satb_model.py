"""A four-voice harmoniser: given the whole soprano line, it writes alto, tenor and bass.

At each grid step the model reads

- the *whole* soprano line with its bar positions and fermatas, through a bidirectional LSTM
  (so at step ``t`` it knows where the melody goes next and how far the next fermata is);
- what alto, tenor and bass sang at every earlier step, through a forward LSTM;

and predicts the three lower voices *in order*: the alto, then the tenor given the alto, then
the bass given alto and tenor. Each voice is a softmax over the tokens of
:mod:`course_lib.voices` (rest, hold, or a new note), whose logits add a learned score for
the intervals each candidate note would make with the voices above
(:mod:`course_lib.voice_intervals`). Sampling therefore never has to choose four notes
independently, the way a piano roll's keys are chosen, and so it can keep the voices apart and
out of parallel fifths.

Notebook: 09_four_voices
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
import numpy as np
from keras import layers

from course_lib.metrics import log_softmax
from course_lib.rnn_numpy import lstm_step
from course_lib.settings import LEARNING_RATE
from course_lib.training import EpochBatches
from course_lib.voice_intervals import IntervalBias, VoiceLeadingLoss, candidates, interval_bias, parallel_with
from course_lib.voice_leading import cadence_at
from course_lib.voices import FEATURES, LOWEST, POSITIONS, VOCABULARY, VOICE_HOLD, VOICE_PAD, VOICE_REST, Lines

LOWER_VOICES = ("alto", "tenor", "bass")
FERMATA = POSITIONS  # the meter column that is 1 while a fermata sounds
BUCKETS = (64, 128, 192, 256)  # batches are padded to one of these lengths (steps)


def satb_harmoniser(
    units: int = 128,
    embedding: int = 24,
    head: int = 128,
    dropout: float = 0.3,
    parallel_loss: float = 10.0,
    cadence_loss: float = 10.0,
) -> keras.Model:
    """The four-voice model: soprano + meter in, logits for alto, tenor and bass at every step out.

    Inputs: ``soprano`` (batch, steps) tokens; ``meter`` (batch, steps, FEATURES) bar position
    and fermatas; ``previous`` (batch, steps, 3) the alto, tenor and bass tokens one step
    earlier; ``chosen`` (batch, steps, 2) the alto and tenor tokens at this step (while training,
    the true ones: teacher forcing); ``before`` (batch, steps, 4) and ``now`` (batch, steps, 3)
    the same as sounding pitches (-1: silent) for the interval bias, which also reads the
    meter's fermata column. Outputs: ``alto``, ``tenor``,
    ``bass`` logits, each (batch, steps, VOCABULARY). Soprano token 0 is padding and masks the step out.
    While training, each voice adds ``parallel_loss`` times the unlikelihood of a parallel and, while
    a fermata sounds, ``cadence_loss`` times that of a note that rules out a cadence
    (:class:`VoiceLeadingLoss`).

    Notebook: 09_four_voices
    """
    soprano = keras.Input((None,), dtype="int32", name="soprano")
    meter = keras.Input((None, FEATURES), name="meter")
    previous = keras.Input((None, 3), dtype="int32", name="previous")
    chosen = keras.Input((None, 2), dtype="int32", name="chosen")
    before = keras.Input((None, 4), dtype="int32", name="before")
    now = keras.Input((None, 3), dtype="int32", name="now")

    # 1. The melody, read both ways: step t sees the soprano's past and its future.
    soprano_embedding = layers.Embedding(VOCABULARY, embedding, mask_zero=True, name="soprano_embedding")
    melody = layers.Concatenate()([soprano_embedding(soprano), meter])
    melody = layers.Bidirectional(layers.LSTM(units, return_sequences=True), name="melody")(melody)

    # 2. The lower voices so far, read forwards only (the step before is all that enters here).
    voice_embedding = layers.Embedding(VOCABULARY, embedding, name="voice_embedding")
    earlier = layers.Reshape((-1, 3 * embedding))(voice_embedding(previous))
    past = layers.LSTM(units, return_sequences=True, name="past")(layers.Concatenate()([melody, earlier]))
    state = layers.Dropout(dropout)(layers.Concatenate()([melody, past]))

    # 3. One voice after another: alto, then tenor knowing the alto, then bass knowing both,
    #    each with a learned score for the intervals a candidate note makes with the voices above,
    #    and, while training, a penalty on the probability of a parallel or a missed cadence.
    fermata = meter[:, :, FERMATA : FERMATA + 1]
    alto_now = voice_embedding(chosen[:, :, 0])
    tenor_now = voice_embedding(chosen[:, :, 1])
    reads = {"alto": [state], "tenor": [state, alto_now], "bass": [state, alto_now, tenor_now]}
    outputs = {}
    for number, (voice, parts) in enumerate(reads.items(), start=1):
        x = parts[0] if len(parts) == 1 else layers.Concatenate()(parts)
        x = layers.Dense(head, activation="relu", name=f"{voice}_hidden")(x)
        logits = layers.Dense(VOCABULARY, name=f"{voice}_logits")(layers.Dropout(dropout)(x))
        logits = layers.Add()([logits, IntervalBias(number, name=f"{voice}_intervals")([before, now, fermata])])
        penalties = VoiceLeadingLoss(number, parallel_loss, cadence_loss, name=voice)
        outputs[voice] = penalties([logits, before, now, meter[:, :, FERMATA : FERMATA + 2]])
    inputs = {"soprano": soprano, "meter": meter, "previous": previous, "chosen": chosen, "before": before, "now": now}
    return keras.Model(inputs, outputs, name="satb_harmoniser")


def model_inputs(lines: Lines) -> dict[str, np.ndarray]:
    """One piece as the model's inputs (batch of one): soprano, meter, previous and chosen voices.

    Notebook: 09_four_voices
    """
    lower = lines.tokens[:, 1:].astype("int32")
    previous = np.concatenate([np.full((1, 3), VOICE_REST, "int32"), lower[:-1]])
    pitches = lines.pitches().astype("int32")
    return {
        "soprano": lines.tokens[None, :, 0].astype("int32"),
        "meter": lines.features()[None],
        "previous": previous[None],
        "chosen": lower[None, :, :2],
        "before": np.concatenate([np.full((1, 4), -1, "int32"), pitches[:-1]])[None],
        "now": pitches[None, :, :3],
    }


def model_targets(lines: Lines) -> dict[str, np.ndarray]:
    """The tokens the model must predict for one piece: alto, tenor and bass (batch of one).

    Notebook: 09_four_voices
    """
    return {voice: lines.tokens[None, :, i + 1].astype("int32") for i, voice in enumerate(LOWER_VOICES)}


def pad_batch(pieces: Sequence[Lines], length: int) -> tuple[dict, dict]:
    """Inputs and targets of several pieces, cut or padded with VOICE_PAD to ``length`` steps.

    Notebook: 09_four_voices
    """
    inputs = [model_inputs(p) for p in pieces]
    targets = [model_targets(p) for p in pieces]

    def fit(array: np.ndarray) -> np.ndarray:
        array = array[:, :length]
        padding = [(0, 0), (0, length - array.shape[1])] + [(0, 0)] * (array.ndim - 2)
        return np.pad(array, padding)  # zeros: VOICE_PAD tokens and empty features

    x = {key: np.concatenate([fit(i[key]) for i in inputs]) for key in inputs[0]}
    y = {key: np.concatenate([fit(t[key]) for t in targets]) for key in targets[0]}
    return x, y


def bucket_length(steps: int) -> int:
    """The shortest bucket that holds ``steps`` (the longest bucket for longer pieces, which are cut).

    Notebook: 09_four_voices
    """
    return next((b for b in BUCKETS if steps <= b), BUCKETS[-1])


class Batches(EpochBatches):
    """Batches of pieces of similar length, padded to a bucket length, reshuffled every epoch
    (from the seed and the epoch's number alone).

    Notebook: 09_four_voices
    """

    def __init__(self, pieces: Sequence[Lines], batch_size: int = 16, shuffle: bool = True, seed: int = 0) -> None:
        super().__init__(seed)
        self.pieces, self.batch_size, self.shuffle = list(pieces), batch_size, shuffle
        self.groups: dict[int, list[int]] = {}
        for i, piece in enumerate(self.pieces):
            self.groups.setdefault(bucket_length(piece.steps), []).append(i)
        self.count = sum(-(-len(members) // batch_size) for members in self.groups.values())
        self.plan: tuple[int, list[list[int]]] = (-1, [])  # (epoch, its batches)

    def epoch_batches(self) -> list[list[int]]:
        """This epoch's batches: pieces grouped by bucket, shuffled within and across groups."""
        rng = self.epoch_rng()
        batches = []
        for length in sorted(self.groups):
            members = rng.permutation(self.groups[length]).tolist() if self.shuffle else self.groups[length]
            batches += [members[i : i + self.batch_size] for i in range(0, len(members), self.batch_size)]
        return [batches[i] for i in rng.permutation(len(batches))] if self.shuffle else batches

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int):
        if self.plan[0] != self.epoch:
            self.plan = (self.epoch, self.epoch_batches())
        chosen = [self.pieces[i] for i in self.plan[1][index]]
        return pad_batch(chosen, bucket_length(max(p.steps for p in chosen)))


def compile_harmoniser(model: keras.Model, learning_rate: float = LEARNING_RATE) -> keras.Model:
    """Adam and a cross-entropy on each voice's logits (padding is masked out).

    Notebook: 09_four_voices
    """
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0), loss={v: loss for v in LOWER_VOICES})
    return model


def nll_per_voice(model: keras.Model, pieces: Sequence[Lines], batch_size: int = 32) -> dict[str, float]:
    """Mean negative log-likelihood (nats) of each lower voice's token per step, and their mean.

    Every real step counts once (padding does not), however the pieces are batched.

    Notebook: 09_four_voices
    """
    totals, steps = dict.fromkeys(LOWER_VOICES, 0.0), 0
    batches = Batches(pieces, batch_size=batch_size, shuffle=False)
    for index in range(len(batches)):
        x, y = batches[index]
        outputs = model.predict_on_batch(x)  # compiled: an eager LSTM runs step by step in Python
        real = x["soprano"] != VOICE_PAD
        steps += int(real.sum())
        for voice in LOWER_VOICES:
            log_p = log_softmax(keras.ops.convert_to_numpy(outputs[voice]))
            picked = np.take_along_axis(log_p, y[voice][..., None], axis=-1)[..., 0]
            totals[voice] += -picked[real].sum()
    out = {voice: totals[voice] / steps for voice in LOWER_VOICES}
    out["mean"] = sum(out.values()) / 3
    return out


# ---------------------------------------------------------------- harmonising: one step at a time


def sampler_weights(model: keras.Model) -> dict[str, np.ndarray]:
    """The NumPy arrays :func:`sample_step` needs: the voice embedding, the past LSTM, the heads and interval biases.

    Notebook: 09_four_voices
    """
    weights = {"embedding": model.get_layer("voice_embedding").get_weights()[0]}
    weights["kernel"], weights["recurrent"], weights["bias"] = model.get_layer("past").get_weights()
    for voice in LOWER_VOICES:
        weights[f"{voice}_w1"], weights[f"{voice}_b1"] = model.get_layer(f"{voice}_hidden").get_weights()
        weights[f"{voice}_w2"], weights[f"{voice}_b2"] = model.get_layer(f"{voice}_logits").get_weights()
        weights[f"{voice}_intervals"] = model.get_layer(f"{voice}_intervals").get_weights()
    return weights


def melody_encoding(model: keras.Model, lines: Lines) -> np.ndarray:
    """The bidirectional LSTM's reading of the whole soprano line: ``(steps, 2 * units)``.

    Computed in NumPy with :func:`course_lib.rnn_numpy.lstm_step`, step by step, forwards and then
    backwards (the same numbers as the Keras layer, which is slow to call eagerly on one piece).

    Notebook: 09_four_voices
    """
    inputs = model_inputs(lines)
    embedding = model.get_layer("soprano_embedding").get_weights()[0]
    x = np.concatenate([embedding[inputs["soprano"][0]], inputs["meter"][0]], axis=1)
    weights = model.get_layer("melody").get_weights()
    outputs = []
    for (kernel, recurrent, bias), order in ((weights[:3], range(len(x))), (weights[3:], range(len(x) - 1, -1, -1))):
        h = c = np.zeros(recurrent.shape[0])
        out = np.zeros((len(x), len(h)))
        for t in order:
            h, c, _ = lstm_step(x[t], h, c, kernel, recurrent, bias)
            out[t] = h
        outputs.append(out)
    return np.concatenate(outputs, axis=1)


def voice_logits(w, voice, state, chosen):
    """The logits of one voice's head, given the step's state and the voices chosen before it.

    Notebook: 09_four_voices
    """
    x = np.concatenate([state] + [w["embedding"][token] for token in chosen])
    hidden = np.maximum(x @ w[f"{voice}_w1"] + w[f"{voice}_b1"], 0.0)
    return hidden @ w[f"{voice}_w2"] + w[f"{voice}_b2"]


def sample_in_order(logits_for, rng, temperature=1.0):
    """Draw alto, then tenor, then bass: ``logits_for(voice, chosen)`` sees the voices drawn so far.

    Notebook: 09_four_voices
    """
    chosen = []
    for voice in ("alto", "tenor", "bass"):
        logits = logits_for(voice, chosen) / temperature
        p = np.exp(logits - logits.max())
        chosen.append(int(rng.choice(len(p), p=p / p.sum())))
    return chosen


def sample_step(w, melody_t, previous, before, soprano, fermata, h, c, rng, temperature=1.0, forbid=None):
    """Choose alto, tenor and bass for one step; return ``([alto, tenor, bass], h, c)``.

    ``melody_t`` is the melody encoding at this step, ``previous`` the three tokens of the step
    before and ``before`` its four sounding pitches, ``soprano`` the soprano's pitch now (-1:
    silent), ``fermata`` whether a fermata sounds, ``h, c`` the past LSTM's state.
    ``forbid(voice, chosen)``, if given, returns a boolean mask of tokens that voice may not sing
    (it is ignored if it would forbid them all).

    Notebook: 09_four_voices
    """
    x = np.concatenate([melody_t, w["embedding"][previous].ravel()])
    h, c, _ = lstm_step(x, h, c, w["kernel"], w["recurrent"], w["bias"])  # notebook 04's step
    state = np.concatenate([melody_t, h])

    def logits_for(voice, chosen):
        v = len(chosen) + 1  # 1 alto, 2 tenor, 3 bass
        now = [soprano] + [sounding(token, before[u + 1]) for u, token in enumerate(chosen)]
        now = np.array(now + [-1] * (3 - len(now)))
        bias = interval_bias(w[f"{voice}_intervals"], v, before, now, np.array([float(fermata)]))
        logits = voice_logits(w, voice, state, chosen) + bias
        logits[VOICE_PAD] = -np.inf  # never padding
        if previous[len(chosen)] == VOICE_REST:
            logits[VOICE_HOLD] = -np.inf  # nothing to hold after a rest
        if forbid is not None:
            allowed = np.where(forbid(voice, chosen), -np.inf, logits)
            if np.isfinite(allowed).any():
                logits = allowed
        return logits

    return sample_in_order(logits_for, rng, temperature), h, c


def voice_rules(melody_pitch: int, before: np.ndarray) -> Callable:
    """A ``forbid(voice, chosen)`` for :func:`sample_step`: no parallel fifths, octaves or unisons
    with any voice already chosen at this step (the soprano included), and no crossing above the
    voice just above. ``before`` holds the four sounding pitches of the step before (-1: a rest).

    Notebook: 09_four_voices
    """

    def forbid(voice: str, chosen: list[int]) -> np.ndarray:
        v = LOWER_VOICES.index(voice) + 1
        now = [melody_pitch] + [sounding(t, before[u + 1]) for u, t in enumerate(chosen)]
        now = np.array(now + [-1] * (3 - len(now)))
        banned = np.zeros(VOCABULARY, dtype=bool)
        for upper in range(v):
            banned |= parallel_with(upper, v, before, now)
        if now[v - 1] >= 0:
            banned |= candidates(v, before)[1] > now[v - 1]  # above the voice above: a crossing
        return banned

    return forbid


def sounding(token: int, before: int) -> int:
    """The pitch a voice sounds with this token, given the pitch it sounded before (-1: silent).

    Notebook: 09_four_voices
    """
    return before if token == VOICE_HOLD else -1 if token in (VOICE_PAD, VOICE_REST) else int(token) - 3 + LOWEST


def harmonise(
    model: keras.Model,
    melody: Lines,
    temperature: float = 0.75,
    seed: int = 0,
    rules: bool = True,
    cadence_tries: int = 0,
) -> Lines:
    """Alto, tenor and bass for the soprano of ``melody`` (its other voices are ignored).

    With ``rules``, sampling skips notes that would make parallel fifths, octaves or unisons
    or cross the voice above (:func:`voice_rules`); without, it draws from the model alone.
    With ``cadence_tries`` > 0, a phrase ending that is no cadence (from two beats before a
    fermata to its end; :func:`course_lib.voice_leading.cadence_at`) is drawn again, up to
    that many times: generate, test, and try again.

    Notebook: 09_four_voices
    """
    weights = sampler_weights(model)
    encoding = melody_encoding(model, melody)
    rng = np.random.default_rng(seed)
    units = weights["recurrent"].shape[0]
    soprano = melody.pitches()[:, 0]
    tokens = np.full((melody.steps, 4), VOICE_REST, dtype=np.int32)
    tokens[:, 0] = melody.tokens[:, 0]
    lead_in = 2 * melody.steps_per_beat
    phrase_ends = {end: (max(0, first - lead_in), first) for first, end in melody.fermata_spans()}
    state = (np.zeros(units), np.zeros(units), [VOICE_REST, VOICE_REST, VOICE_REST], np.full(4, -1))
    saved: dict[int, tuple] = {0: state}  # the sampler's state at each step, to go back to
    tries, t = 0, 0
    while t < melody.steps:
        h, c, previous, before = state
        forbid = voice_rules(int(soprano[t]), before) if rules else None
        step = (previous, before, int(soprano[t]), bool(melody.fermata[t]))
        previous, h, c = sample_step(weights, encoding[t], *step, h, c, rng, temperature, forbid)
        tokens[t, 1:] = previous
        before = np.array([soprano[t]] + [sounding(tok, before[i + 1]) for i, tok in enumerate(previous)])
        t += 1
        state = saved[t] = (h, c, previous, before)
        if t in phrase_ends:
            start, first = phrase_ends[t]
            if tries < cadence_tries and not cadence_at(melody.with_voices(tokens[:t]).pitches(), first, t):
                tries, t = tries + 1, start
                state = saved[t]
            else:
                tries = 0
    return melody.with_voices(tokens)
