"""Step-by-step generation (carrying the LSTM state) against re-feeding the whole sequence each step.

Both make the same 256 steps with the same model, one compiled call per step: the stepper feeds
one token and the state, the naive loop feeds every token so far and keeps the last output.
The course's target is a speed-up of at least 50 times.

Run: python bench/sampling.py
"""

from __future__ import annotations

import time

import numpy as np

import course_lib  # noqa: F401  (first: it quiets TensorFlow before TensorFlow loads)

STEPS = 256
TARGET = 50.0


def time_both(model, melody: bool) -> tuple[float, float]:
    """Seconds for STEPS steps with the stepper, and with re-feeding the sequence so far."""
    import tensorflow as tf

    from course_lib.sampling import Stepper, filter_logits, sample_keys

    rng = np.random.default_rng(0)
    first = 2 if melody else np.zeros(88, dtype=bool)
    dtype = "int32" if melody else "float32"

    def draw(logits):
        return int(rng.choice(len(logits), p=filter_logits(logits))) if melody else sample_keys(logits, rng)

    stepper = Stepper(model)
    stepper.step(first, stepper.initial_state())  # compile outside the timing
    started = time.perf_counter()
    state, value = stepper.initial_state(), first
    for _ in range(STEPS):
        logits, state = stepper.step(value, state)
        value = draw(logits)
    stepped = time.perf_counter() - started

    full = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    sequence = [first]
    full(np.array([sequence], dtype=dtype))
    started = time.perf_counter()
    for _ in range(STEPS):
        sequence.append(draw(full(np.array([sequence], dtype=dtype)).numpy()[0, -1]))
    return stepped, time.perf_counter() - started


def main() -> None:
    import keras

    from course_lib.models import melody_lstm, pianoroll_lstm

    keras.utils.set_random_seed(0)
    print(f"{STEPS} steps                     stepper (s)  re-feeding (s)  speed-up  target")
    for name, model, melody in (
        ("melody LSTM(256), 40 tokens", melody_lstm(40), True),
        ("piano-roll LSTM(256), 88 keys", pianoroll_lstm(), False),
    ):
        stepped, refed = time_both(model, melody)
        print(f"{name:<32} {stepped:10.2f} {refed:14.2f} {refed / stepped:8.0f}x  >= {TARGET:g}x")


if __name__ == "__main__":
    main()
