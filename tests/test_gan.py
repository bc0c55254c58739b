"""The GAN's data encoding, its losses and train_step, the monitor's flags and the exercise checks.

Every test runs under the backend in ``KERAS_BACKEND`` (TensorFlow, JAX or PyTorch): the known
values below are computed with NumPy, so each backend's ``train_step`` meets the same numbers.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from course_lib import autodiff, gan, gan_monitor, metrics, recipes
from course_lib.checks import gan_pianoroll as checks_gan
from course_lib.datasets import Chorale, Splits
from course_lib.errors import CourseError
from course_lib.exercises import ExerciseError
from course_lib.notes import Note
from course_lib.voices import GAN_LOWEST


def test_excerpts_start_on_a_bar_line_and_keep_each_voices_top_note():
    notes = [Note(0, 1, 72, voice=0)]  # a one-beat pickup in the soprano
    notes += [Note(1 + b, 2 + b, 60 + b % 3, voice=v) for b in range(16) for v in range(4)]
    notes += [Note(1, 2, 55, voice=3)]  # the bass divides on the first full beat: its top note (60) counts
    chorale = Chorale(notes=notes, time_signature=(4, 4), pickup=1.0)
    classes = gan.excerpts([chorale], bars=2)
    assert classes.shape == (3, 16, 4)  # 4 bars after the pickup: three two-bar excerpts, a bar apart
    first_step = classes[0, 0]
    assert (first_step == 60 - GAN_LOWEST + 1).all()  # the excerpt starts after the pickup
    assert classes[0, 2, 0] == 61 - GAN_LOWEST + 1  # beat 2: pitch 61, two steps per beat
    not_four_four = Chorale(notes=notes, time_signature=(3, 4), pickup=1.0)
    assert gan.excerpts([not_four_four]).shape == (0, gan.STEPS, 4)


def test_classes_to_rolls_and_pieces_round_trip():
    classes = np.zeros((1, gan.STEPS, 4), dtype=int)
    classes[0, :4, 0] = 60 - GAN_LOWEST + 1  # a half note C4 in the soprano
    classes[0, 4:6, 0] = 62 - GAN_LOWEST + 1  # then a quarter D4
    classes[0, :, 3] = 48 - GAN_LOWEST + 1  # the bass holds C3 throughout
    rolls = gan.to_rolls(classes)
    assert rolls.shape == (1, 4, gan.STEPS, 88)
    assert rolls[0, 0, :4, 60 - 21].all() and rolls[0, 0, 4:6, 62 - 21].all() and rolls[0, 1].sum() == 0
    piece = gan.excerpts_to_piece(classes)
    assert sorted((n.voice, n.pitch, n.start, n.end) for n in piece.notes) == [
        (0, 60, 0, 2),
        (0, 62, 2, 3),
        (3, 48, 0, 8),
    ]


def test_binarize_argmax_and_draws():
    probabilities = np.array([[0.1, 0.7, 0.2]] * 4000)
    assert (gan.binarize(probabilities) == 1).all()
    drawn = gan.binarize(probabilities, "sample", seed=1)
    np.testing.assert_allclose(np.bincount(drawn, minlength=3) / 4000, [0.1, 0.7, 0.2], atol=0.03)
    with pytest.raises(ValueError, match="mode"):
        gan.binarize(probabilities, "threshold")


def tensor(array):
    return keras.ops.convert_to_tensor(np.asarray(array, dtype="float32"))


def as_float(value) -> float:
    return float(keras.ops.convert_to_numpy(keras.ops.stop_gradient(value)))


def linear_critic(weights: np.ndarray, bias: float = 0.0) -> keras.Model:
    """``score = sum(excerpt * weights) + bias``: its gradient with respect to any excerpt is ``weights``."""
    critic = keras.Sequential([keras.Input(weights.shape), keras.layers.Flatten(), keras.layers.Dense(1)])
    critic.set_weights([weights.reshape(-1, 1), np.array([bias], dtype="float32")])
    return critic


def constant_generator(latent: int = 8) -> keras.Model:
    """A generator whose excerpts are all uniform (1 / CLASSES everywhere) whatever ``z``, while its kernel is 0."""
    z = keras.Input((latent,))
    x = keras.layers.Dense(gan.STEPS * 4 * gan.CLASSES, kernel_initializer="zeros")(z)
    x = keras.layers.Reshape((gan.STEPS, 4, gan.CLASSES))(x)
    return keras.Model(z, keras.layers.Softmax(axis=-1)(x))


def test_input_gradient_of_a_linear_critic_is_its_weights():
    weights = np.random.default_rng(0).normal(size=(gan.STEPS, 4, gan.CLASSES)).astype("float32")
    x = tensor(np.random.default_rng(1).random((3, gan.STEPS, 4, gan.CLASSES)))
    gradient = keras.ops.convert_to_numpy(keras.ops.stop_gradient(autodiff.input_gradient(linear_critic(weights), x)))
    np.testing.assert_allclose(gradient, np.broadcast_to(weights, gradient.shape), rtol=1e-6)


def test_gradient_penalty_of_a_linear_critic_is_known():
    weights = np.random.default_rng(0).normal(size=(gan.STEPS, 4, gan.CLASSES)).astype("float32")
    excerpt = keras.Input((gan.STEPS, 4, gan.CLASSES))
    linear = keras.Model(excerpt, keras.ops.sum(excerpt * weights, axis=(1, 2, 3))[:, None])
    model = gan.GAN(gan.make_generator(), linear)
    real, fake = (tensor(np.random.default_rng(s).random((3, gan.STEPS, 4, gan.CLASSES))) for s in (1, 2))
    # the gradient of a linear critic is its weight everywhere, so the penalty is (|w| - 1)^2 for any mix
    expected = (np.linalg.norm(weights) - 1.0) ** 2  # 53.54^2 = 2866.8, the same number on every backend
    assert as_float(model.gradient_penalty(real, fake)) == pytest.approx(expected, rel=1e-5)
    assert expected == pytest.approx(2866.8, abs=0.1)


def test_train_step_moves_a_linear_critic_by_its_known_gradient():
    """Two critic steps with plain SGD: -distance + 10 * penalty has a closed-form gradient for a linear critic
    against a generator that always plays the uniform excerpt (its optimizer has learning rate 0)."""
    rng = np.random.default_rng(4)
    weights = rng.normal(size=(gan.STEPS, 4, gan.CLASSES)).astype("float32")
    weights *= 2.0 / np.linalg.norm(weights)  # |w| = 2: a penalty of 1
    real = gan.one_hot(rng.integers(0, gan.CLASSES, size=(6, gan.STEPS, 4)))
    model = gan.GAN(constant_generator(), linear_critic(weights, bias=0.5), critic_steps=2, gp_weight=10.0)
    rate = 0.01
    model.compile(generator_optimizer=keras.optimizers.SGD(0.0), critic_optimizer=keras.optimizers.SGD(rate))
    logs = model.fit(real, batch_size=len(real), epochs=1, shuffle=False, verbose=0).history

    fake_mean, real_mean = np.full(weights.shape, 1.0 / gan.CLASSES), real.mean(axis=0)
    w, before_step = weights.astype("float64"), []
    for _ in range(2):
        before_step.append(w)
        norm = np.linalg.norm(w)
        w = w - rate * ((fake_mean - real_mean) + 10.0 * 2.0 * (norm - 1.0) * w / norm)
    kernel, bias = model.critic.get_weights()
    np.testing.assert_allclose(kernel.reshape(w.shape), w, rtol=1e-4, atol=1e-6)
    assert bias == pytest.approx([0.5])  # the scores' offset cancels in the distance and the penalty
    second = before_step[-1]  # the losses logged are the second critic step's, before its update
    assert logs["penalty"][-1] == pytest.approx((np.linalg.norm(second) - 1.0) ** 2, rel=1e-4)
    assert logs["distance"][-1] == pytest.approx(np.sum((real_mean - fake_mean) * second), rel=1e-4)
    assert logs["generator_loss"][-1] == pytest.approx(-np.sum(fake_mean * w) - 0.5, rel=1e-4)  # after both
    unchanged = zip(model.generator.get_weights(), constant_generator().get_weights(), strict=True)
    assert all(np.array_equal(a, b) for a, b in unchanged)


@pytest.mark.parametrize("loss", ["wgan-gp", "dcgan"])
def test_train_step_updates_both_networks(loss):
    keras.utils.set_random_seed(0)
    model = gan.GAN(gan.make_generator(width=32), gan.make_critic(width=32), loss=loss, critic_steps=2)
    model.compile()
    before = [w.copy() for w in model.generator.get_weights()], [w.copy() for w in model.critic.get_weights()]
    real = np.random.default_rng(0).integers(0, gan.CLASSES, size=(20, gan.STEPS, 4))
    history = model.fit(gan.excerpt_batches(real, 8), epochs=2, steps_per_epoch=3, shuffle=False, verbose=0).history
    assert set(history) == {"critic_loss", "generator_loss", "distance", "penalty"}
    assert all(np.isfinite(v[-1]) for v in history.values())
    assert int(keras.ops.convert_to_numpy(model.generator_optimizer.iterations)) == 6
    assert int(keras.ops.convert_to_numpy(model.critic_optimizer.iterations)) == 6 * model.critic_steps
    for old, network in zip(before, (model.generator, model.critic), strict=True):
        assert any(not np.array_equal(a, b) for a, b in zip(old, network.get_weights(), strict=True))
    assert model.sample(3).shape == (3, gan.STEPS, 4, gan.CLASSES)
    assert np.allclose(model.sample(3).sum(axis=-1), 1.0, atol=1e-5)  # a distribution per voice and step


def test_the_gan_recipe_takes_exactly_the_steps_asked_for():
    # several steps per compiled call under TensorFlow (8), and 10 steps per epoch: not a multiple of 8
    real = np.random.default_rng(0).integers(0, gan.CLASSES, size=(80, gan.STEPS, 4))
    data = Splits(real, real[:0], real[:0])
    model = recipes.recipe("gan").build(data, {"latent": 8, "width": 8, "loss": "dcgan"})
    history = recipes.fit("gan", model, data, epochs=2, steps_per_epoch=10)
    assert int(keras.ops.convert_to_numpy(model.generator_optimizer.iterations)) == 20
    assert int(keras.ops.convert_to_numpy(model.critic_optimizer.iterations)) == 20
    assert len(history["diversity"]) == 2  # the monitor's scores, recorded per epoch


def test_the_tensorflow_train_step_on_another_backend_says_so():
    model = gan.PianoRollGAN(gan.make_generator(8, 8), gan.make_critic(8))
    model.compile()
    real = gan.one_hot(np.zeros((4, gan.STEPS, 4), int))
    if keras.backend.backend() == "tensorflow":
        model.fit(real, batch_size=4, epochs=1, verbose=0)  # its own backend: it trains
    else:
        with pytest.raises(CourseError, match="train_step is TensorFlow's and Keras runs on"):
            model.fit(real, batch_size=4, epochs=1, verbose=0)


def test_the_gan_class_has_the_running_backends_train_step():
    backend = keras.backend.backend()
    assert issubclass(gan.GAN, gan.PianoRollGAN)
    assert (gan.GAN is gan.PianoRollGAN) == (backend == "tensorflow")
    if backend != "tensorflow":
        assert gan.GAN.train_step is autodiff.TRAIN_STEPS[backend].train_step
        assert gan.GAN.__name__ == {"jax": "JaxPianoRollGAN", "torch": "TorchPianoRollGAN"}[backend]


def test_excerpt_batches_are_seeded_whole_shuffled_passes():
    real = np.arange(10 * gan.STEPS * 4).reshape(10, gan.STEPS, 4) % gan.CLASSES
    batches = gan.excerpt_batches(real, batch_size=3, seed=1)
    assert batches.num_batches is None  # endless: fit reads it with steps_per_epoch
    first = [batches[i] for i in range(6)]
    assert all(b.shape == (3, gan.STEPS, 4, gan.CLASSES) and b.dtype == np.float32 for b in first)
    rows = [int(np.argmax(b[k, 0, 0])) for b in first for k in range(3)]
    ids = {int(real[i, 0, 0]): i for i in range(10)}
    one_pass = sorted(ids[r] for r in rows[:9])
    assert len(set(one_pass)) == 9  # three batches of three: nine different excerpts, one left out of this pass
    again = gan.excerpt_batches(real, batch_size=3, seed=1)
    assert all(np.array_equal(again[i], first[i]) for i in reversed(range(6)))  # batch i depends on i and the seed
    other = gan.excerpt_batches(real, batch_size=3, seed=2)
    assert not all(np.array_equal(other[i], first[i]) for i in range(3))
    with pytest.raises(ValueError, match="fewer than one batch"):
        gan.excerpt_batches(real[:2], batch_size=3)


def test_monitor_flags_collapse_and_silence():
    real = gan.load_excerpts("valid")
    reference = gan_monitor.excerpt_metrics(real)
    collapsed = gan_monitor.excerpt_metrics(np.repeat(real[:1], 64, axis=0))
    assert collapsed["diversity"] == 0.0
    assert any("mode collapse" in flag for flag in gan_monitor.alarms(collapsed, reference))
    silent = gan_monitor.excerpt_metrics(np.zeros((64, gan.STEPS, 4), dtype=int))
    assert silent["empty_bar_rate"] == 1.0
    assert any("silence" in flag for flag in gan_monitor.alarms(silent, reference))
    assert gan_monitor.alarms(reference, reference) == []


def test_close_enough_is_relative_above_0_1_and_absolute_below():
    assert gan_monitor.close_enough(6.0, 6.9) and not gan_monitor.close_enough(5.8, 6.9)
    assert gan_monitor.close_enough(0.06, 0.012) and not gan_monitor.close_enough(0.07, 0.012)


def test_gan_checks_accept_correct_and_name_planted_bugs(capsys):
    checks_gan.check_gradient_penalty(gan.gradient_penalty)
    checks_gan.check_empty_bar_rate(metrics.empty_bar_rate)
    assert "gradient_penalty: correct" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="every axis but the batch"):
        checks_gan.check_gradient_penalty(lambda c, r, f, a: gan.gradient_penalty(c, r, f, a, axes=(3,)))
    with pytest.raises(ExerciseError, match="at the fake excerpts only"):
        checks_gan.check_gradient_penalty(lambda c, r, f, a: gan.gradient_penalty(c, r, f, 1.0))
    with pytest.raises(ExerciseError, match="non-empty"):
        checks_gan.check_empty_bar_rate(lambda roll, n: 1.0 - metrics.empty_bar_rate(roll, n))


def test_within_target_names_the_main_metrics_close_to_the_data_in_order():
    from course_lib import gan_monitor

    real = dict.fromkeys(gan_monitor.MAIN_METRICS, 1.0) | {"empty_bar_rate": 0.02}
    # polyphony 20% off: out; tonal distance 14% off: in; empty bars 0.04 off a value below 0.1: in
    generated = real | {"polyphony": 1.2, "tonal_distance": 0.86, "empty_bar_rate": 0.06}
    assert gan_monitor.within_target(generated, real) == [m for m in gan_monitor.MAIN_METRICS if m != "polyphony"]
    assert gan_monitor.within_target(real | {"empty_bar_rate": 0.08}, real)[0] != "empty_bar_rate"
