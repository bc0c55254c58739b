"""The GAN's data encoding, its losses and train_step, the monitor's flags and the exercise checks."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import gan, gan_monitor, gan_recipe, metrics
from course_lib.checks import gan_pianoroll as checks_gan
from course_lib.datasets import Chorale
from course_lib.exercises import ExerciseError
from course_lib.notes import Note


def test_excerpts_start_on_a_bar_line_and_keep_each_voices_top_note():
    notes = [Note(0, 1, 72, voice=0)]  # a one-beat pickup in the soprano
    notes += [Note(1 + b, 2 + b, 60 + b % 3, voice=v) for b in range(16) for v in range(4)]
    notes += [Note(1, 2, 55, voice=3)]  # the bass divides on the first full beat: its top note (60) counts
    chorale = Chorale(notes=notes, time_signature=(4, 4), pickup=1.0)
    classes = gan.excerpts([chorale], bars=2)
    assert classes.shape == (3, 16, 4)  # 4 bars after the pickup: three two-bar excerpts, a bar apart
    first_step = classes[0, 0]
    assert (first_step == 60 - gan.LOWEST + 1).all()  # the excerpt starts after the pickup
    assert classes[0, 2, 0] == 61 - gan.LOWEST + 1  # beat 2: pitch 61, two steps per beat
    not_four_four = Chorale(notes=notes, time_signature=(3, 4), pickup=1.0)
    assert gan.excerpts([not_four_four]).shape == (0, gan.STEPS, 4)


def test_classes_to_rolls_and_pieces_round_trip():
    classes = np.zeros((1, gan.STEPS, 4), dtype=int)
    classes[0, :4, 0] = 60 - gan.LOWEST + 1  # a half note C4 in the soprano
    classes[0, 4:6, 0] = 62 - gan.LOWEST + 1  # then a quarter D4
    classes[0, :, 3] = 48 - gan.LOWEST + 1  # the bass holds C3 throughout
    rolls = gan.to_rolls(classes)
    assert rolls.shape == (1, 4, gan.STEPS, 88)
    assert rolls[0, 0, :4, 60 - 21].all() and rolls[0, 0, 4:6, 62 - 21].all() and rolls[0, 1].sum() == 0
    piece = gan_recipe.excerpts_to_piece(classes)
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


def test_gradient_penalty_of_a_linear_critic_is_known():
    weights = np.random.default_rng(0).normal(size=(gan.STEPS, 4, gan.CLASSES)).astype("float32")
    excerpt = keras.Input((gan.STEPS, 4, gan.CLASSES))
    linear = keras.Model(excerpt, keras.ops.sum(excerpt * weights, axis=(1, 2, 3))[:, None])
    model = gan.PianoRollGAN(gan.make_generator(), linear)
    real, fake = (
        tf.constant(np.random.default_rng(s).random((3, gan.STEPS, 4, gan.CLASSES)), tf.float32) for s in (1, 2)
    )
    # the gradient of a linear critic is its weight everywhere, so the penalty is (|w| - 1)^2 for any mix
    expected = (np.linalg.norm(weights) - 1.0) ** 2
    assert float(model.gradient_penalty(real, fake)) == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("loss", ["wgan-gp", "dcgan"])
def test_train_step_updates_both_networks(loss):
    keras.utils.set_random_seed(0)
    model = gan.PianoRollGAN(gan.make_generator(width=32), gan.make_critic(width=32), loss=loss, critic_steps=2)
    model.compile()
    before = [w.copy() for w in model.generator.get_weights()], [w.copy() for w in model.critic.get_weights()]
    data = gan.one_hot(np.random.default_rng(0).integers(0, gan.CLASSES, size=(16, gan.STEPS, 4)))
    history = model.fit(data, batch_size=8, epochs=1, verbose=0).history
    assert all(np.isfinite(v[-1]) for v in history.values())
    for old, network in zip(before, (model.generator, model.critic), strict=True):
        assert any(not np.array_equal(a, b) for a, b in zip(old, network.get_weights(), strict=True))
    assert model.sample(3).shape == (3, gan.STEPS, 4, gan.CLASSES)
    assert np.allclose(model.sample(3).sum(axis=-1), 1.0, atol=1e-5)  # a distribution per voice and step


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
