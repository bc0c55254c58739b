"""Step-by-step generation (carrying the LSTM state) against re-feeding the whole sequence each step.

All make 256 steps with the same model. "Compiled loop" is what the course's generators do: one
compiled call runs every step, sampling included, carrying the state. "Stepper" carries the
state too but returns to Python after each step (one compiled call per step). "Re-feeding" calls
the compiled model (``predict_on_batch``, as the library's steps are compiled) on the whole
sequence so far at every step and keeps the last output. The course's target is a speed-up of at
least 50 times over re-feeding. Any Keras backend: ``KERAS_BACKEND=jax python bench/sampling.py``
(under JAX every new sequence length is compiled again, so re-feeding takes minutes there).

Run: python bench/sampling.py
"""

from __future__ import annotations

import time

import numpy as np

import course_lib  # noqa: F401  (first: it quiets TensorFlow before TensorFlow loads)

STEPS = 256
TARGET = 50.0


def time_all(model, melody: bool) -> tuple[float, float, float]:
    """Seconds for STEPS steps: compiled loop, stepper one call per step, re-feeding the sequence."""
    from course_lib.sampling import Stepper, sample_keys, sample_token

    rng = np.random.default_rng(0)
    first = 2 if melody else np.zeros(88, dtype=bool)
    dtype = "int32" if melody else "float32"

    def draw(logits):
        return sample_token(logits, rng) if melody else sample_keys(logits, rng)

    stepper = Stepper(model)
    output, state = stepper.step(first, stepper.initial_state())  # compile outside the timing
    stepper.generate(output, state, STEPS)
    started = time.perf_counter()
    stepper.generate(output, state, STEPS, seed=1)
    looped = time.perf_counter() - started

    started = time.perf_counter()
    state, value = stepper.initial_state(), first
    for _ in range(STEPS):
        logits, state = stepper.step(value, state)
        value = draw(logits)
    stepped = time.perf_counter() - started

    sequence = [first]
    model.predict_on_batch(np.array([sequence], dtype=dtype))  # compile outside the timing
    started = time.perf_counter()
    for _ in range(STEPS):
        sequence.append(draw(model.predict_on_batch(np.array([sequence], dtype=dtype))[0, -1]))
    return looped, stepped, time.perf_counter() - started


def main() -> None:
    import keras

    from course_lib.models import melody_lstm, pianoroll_lstm

    keras.utils.set_random_seed(0)
    print(f"Keras {keras.__version__}, backend {keras.backend.backend()}")
    print(f"{STEPS} steps                    compiled loop (s)  stepper (s)  re-feeding (s)  speed-up  target")
    for name, model, melody in (
        ("melody LSTM(256), 40 tokens", melody_lstm(40), True),
        ("piano-roll LSTM(256), 88 keys", pianoroll_lstm(), False),
    ):
        looped, stepped, refed = time_all(model, melody)
        print(
            f"{name:<30} {looped:17.3f} {stepped:12.2f} {refed:15.2f} {refed / looped:8.0f}x  >= {TARGET:g}x"
            f"  (stepper {refed / stepped:.0f}x)"
        )


if __name__ == "__main__":
    main()
