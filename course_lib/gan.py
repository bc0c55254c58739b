"""A GAN for four-voice (SATB) chorale excerpts, small enough to train on a laptop CPU.

Representation: each voice plays one pitch or rests at each step, so an excerpt is
``(steps, voices, classes)``: class 0 is a rest, class ``c >= 1`` is MIDI pitch ``LOWEST + c - 1``.
Real excerpts are one-hot; the generator outputs a softmax over the classes for every voice and
step (as in the WGAN-GP paper's character model), and listening or scoring turns it into notes
with :func:`binarize` (the most likely class, or a draw).

:class:`PianoRollGAN` is a ``keras.Model`` with its own ``train_step`` for two losses: the
original (DCGAN-style) cross-entropy game, and the Wasserstein loss with gradient penalty
(WGAN-GP, Gulrajani et al. 2017).

Notebook: 07_gan_pianoroll
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from course_lib import datasets
from course_lib.pianoroll import to_pianoroll
from course_lib.training import TimeLimit

LOWEST, HIGHEST = 36, 81  # C2..A5 covers the four chorale voices
CLASSES = 1 + HIGHEST - LOWEST + 1  # rest + pitches
VOICES = 4
STEPS_PER_BEAT = 2  # eighth notes
BARS = 2
BEATS_PER_BAR = 4
STEPS = BARS * BEATS_PER_BAR * STEPS_PER_BEAT


def excerpts(chorales: list, bars: int = BARS, hop_bars: int = 1) -> np.ndarray:
    """Bar-aligned excerpts of 4/4 chorales as class ids ``(count, steps, voices)``.

    Each voice keeps its highest note where it divides; pitches outside ``LOWEST..HIGHEST``
    count as rests.

    Notebook: 07_gan_pianoroll
    """
    steps_per_bar = BEATS_PER_BAR * STEPS_PER_BEAT
    out = []
    for chorale in chorales:
        if tuple(chorale.time_signature) != (4, 4):
            continue
        rolls = to_pianoroll(chorale, STEPS_PER_BEAT, LOWEST, HIGHEST, by_voice=True, voices=range(VOICES))
        sounding = rolls.any(axis=-1)
        top = rolls.shape[-1] - 1 - np.argmax(rolls[..., ::-1], axis=-1)  # highest key per voice and step
        classes = np.where(sounding, top + 1, 0).T  # (steps, voices)
        first = int(round(chorale.pickup * STEPS_PER_BEAT)) % steps_per_bar  # the first full bar
        length = bars * steps_per_bar
        for start in range(first, len(classes) - length + 1, hop_bars * steps_per_bar):
            out.append(classes[start : start + length])
    return np.array(out, dtype=np.int32).reshape(-1, bars * steps_per_bar, VOICES)


def load_excerpts(split: str = "train") -> np.ndarray:
    """Excerpts from music21's chorales (split by piece), in C major or A minor.

    Notebook: 07_gan_pianoroll
    """
    return excerpts(getattr(datasets.load_chorales(), split))


def one_hot(classes: np.ndarray) -> np.ndarray:
    """Class ids ``(..., steps, voices)`` as float32 one-hot ``(..., steps, voices, CLASSES)``."""
    return np.eye(CLASSES, dtype="float32")[classes]


def binarize(probabilities: np.ndarray, mode: str = "argmax", seed: int = 0) -> np.ndarray:
    """Class ids from the generator's softmax: the most likely class, or a draw (``"sample"``).

    Notebook: 07_gan_pianoroll
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if mode == "argmax":
        return probabilities.argmax(axis=-1)
    if mode == "sample":
        uniform = np.random.default_rng(seed).random(probabilities.shape[:-1] + (1,))
        return (probabilities.cumsum(axis=-1) < uniform).sum(axis=-1).clip(0, probabilities.shape[-1] - 1)
    raise ValueError(f"mode must be 'argmax' or 'sample', not {mode!r}")


def to_rolls(classes: np.ndarray) -> np.ndarray:
    """Class ids ``(count, steps, voices)`` as boolean piano rolls ``(count, voices, steps, 88)`` (MIDI 21..108).

    Notebook: 07_gan_pianoroll
    """
    classes = np.asarray(classes)
    count, steps, voices = classes.shape
    rolls = np.zeros((count, voices, steps, 88), dtype=bool)
    n, t, v = np.nonzero(classes > 0)
    rolls[n, v, t, classes[n, t, v] - 1 + LOWEST - 21] = True
    return rolls


def make_generator(latent: int = 64, width: int = 128) -> keras.Model:
    """Latent vector -> softmax over pitch-or-rest for each step and voice.

    A dense layer makes one vector per beat, transposed convolutions double the time
    resolution, and a 1x1 convolution gives the logits of every voice.

    Notebook: 07_gan_pianoroll
    """
    beats = STEPS // STEPS_PER_BEAT
    z = keras.Input((latent,), name="z")
    x = layers.Dense(beats * width)(z)
    x = layers.Reshape((beats, width))(x)
    x = layers.LeakyReLU(0.2)(layers.BatchNormalization()(x))
    x = layers.Conv1D(width, 3, padding="same")(x)
    x = layers.LeakyReLU(0.2)(layers.BatchNormalization()(x))
    x = layers.Conv1DTranspose(width // 2, 4, strides=STEPS_PER_BEAT, padding="same")(x)
    x = layers.LeakyReLU(0.2)(layers.BatchNormalization()(x))
    x = layers.Conv1D(VOICES * CLASSES, 3, padding="same")(x)
    x = layers.Reshape((STEPS, VOICES, CLASSES))(x)
    return keras.Model(z, layers.Softmax(axis=-1)(x), name="generator")


def make_critic(width: int = 128) -> keras.Model:
    """An excerpt ``(steps, voices, classes)`` -> one score (a logit for the DCGAN loss).

    Notebook: 07_gan_pianoroll
    """
    excerpt = keras.Input((STEPS, VOICES, CLASSES), name="excerpt")
    x = layers.Reshape((STEPS, VOICES * CLASSES))(excerpt)
    x = layers.Conv1D(width // 2, 3, padding="same")(x)  # the widest input: keep this layer narrow
    x = layers.LeakyReLU(0.2)(x)
    x = layers.Conv1D(width, 4, strides=STEPS_PER_BEAT, padding="same")(x)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.Conv1D(width, 3, strides=2, padding="same")(x)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.Flatten()(x)
    return keras.Model(excerpt, layers.Dense(1)(x), name="critic")


def sample(generator: keras.Model, count: int, seed: int = 0) -> np.ndarray:
    """``count`` excerpts from a generator as softmax outputs ``(count, steps, voices, classes)``, seeded.

    Notebook: 07_gan_pianoroll
    """
    z = np.random.default_rng(seed).normal(size=(count, generator.input_shape[-1])).astype("float32")
    return keras.ops.convert_to_numpy(generator(z, training=False))


def gradient_penalty(critic, real, fake, alpha, axes=(1, 2, 3)):
    """Mean over the batch of ``(||grad critic(x)|| - 1)^2`` at ``x = real + alpha (fake - real)``.

    The norm runs over ``axes``: all axes but the batch (WGAN-GP, Gulrajani et al. 2017).

    Notebook: 07_gan_pianoroll
    """
    mixed = real + alpha * (fake - real)
    with tf.GradientTape() as tape:
        tape.watch(mixed)
        scores = critic(mixed)
    gradients = tape.gradient(scores, mixed)
    norms = ops.sqrt(ops.sum(ops.square(gradients), axis=axes) + 1e-12)
    return ops.mean(ops.square(norms - 1.0))


class PianoRollGAN(keras.Model):
    """Generator and critic trained against each other by ``fit`` on batches of real excerpts.

    ``loss="wgan-gp"``: the critic maximises ``E[D(real)] - E[D(fake)]`` minus ``gp_weight``
    times the gradient penalty, taking ``critic_steps`` steps per generator step; the generator
    maximises ``E[D(fake)]``. ``loss="dcgan"``: the critic is a classifier (real = 1) trained
    with binary cross-entropy, and the generator tries to make it answer 1 (one step each).

    Notebook: 07_gan_pianoroll
    """

    def __init__(
        self,
        generator: keras.Model,
        critic: keras.Model,
        loss: str = "wgan-gp",
        critic_steps: int = 5,
        gp_weight: float = 10.0,
        seed: int = 0,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if loss not in ("wgan-gp", "dcgan"):
            raise ValueError(f"loss must be 'wgan-gp' or 'dcgan', not {loss!r}")
        self.generator, self.critic, self.loss_kind = generator, critic, loss
        self.critic_steps = critic_steps if loss == "wgan-gp" else 1
        self.gp_weight = gp_weight
        self.latent = generator.input_shape[-1]
        self.seeds = keras.random.SeedGenerator(seed)

    def compile(self, generator_optimizer=None, critic_optimizer=None, **kwargs) -> None:
        """Adam with the WGAN-GP paper's settings (``1e-4``, betas 0.5 / 0.9) unless given."""
        super().compile(**kwargs)
        self.generator_optimizer = generator_optimizer or keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9)
        self.critic_optimizer = critic_optimizer or keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9)

    def sample(self, count: int, seed: int = 0) -> np.ndarray:
        """``count`` generated excerpts as softmax outputs ``(count, steps, voices, classes)``."""
        return sample(self.generator, count, seed)

    def gradient_penalty(self, real, fake):
        """:func:`gradient_penalty` at points drawn uniformly between real and fake excerpts."""
        alpha = keras.random.uniform((ops.shape(real)[0], 1, 1, 1), seed=self.seeds)
        return gradient_penalty(lambda x: self.critic(x, training=True), real, fake, alpha)

    def _critic_loss(self, real, fake):
        real_scores, fake_scores = self.critic(real, training=True), self.critic(fake, training=True)
        if self.loss_kind == "dcgan":
            bce = keras.losses.binary_crossentropy
            loss = ops.mean(bce(ops.ones_like(real_scores), real_scores, from_logits=True)) + ops.mean(
                bce(ops.zeros_like(fake_scores), fake_scores, from_logits=True)
            )
            return loss, ops.zeros(()), ops.zeros(())
        distance = ops.mean(real_scores) - ops.mean(fake_scores)
        penalty = self.gradient_penalty(real, fake)
        return -distance + self.gp_weight * penalty, distance, penalty

    def train_step(self, real):
        batch = ops.shape(real)[0]
        for _ in range(self.critic_steps):
            z = keras.random.normal((batch, self.latent), seed=self.seeds)
            with tf.GradientTape() as tape:
                fake = self.generator(z, training=True)
                critic_loss, distance, penalty = self._critic_loss(real, fake)
            gradients = tape.gradient(critic_loss, self.critic.trainable_weights)
            self.critic_optimizer.apply(gradients, self.critic.trainable_weights)
        z = keras.random.normal((batch, self.latent), seed=self.seeds)
        with tf.GradientTape() as tape:
            scores = self.critic(self.generator(z, training=True), training=True)
            if self.loss_kind == "dcgan":
                generator_loss = ops.mean(
                    keras.losses.binary_crossentropy(ops.ones_like(scores), scores, from_logits=True)
                )
            else:
                generator_loss = -ops.mean(scores)
        gradients = tape.gradient(generator_loss, self.generator.trainable_weights)
        self.generator_optimizer.apply(gradients, self.generator.trainable_weights)
        return {"critic_loss": critic_loss, "generator_loss": generator_loss, "distance": distance, "penalty": penalty}


def excerpt_batches(real_classes: np.ndarray, batch_size: int = 64, seed: int = 0) -> tf.data.Dataset:
    """Endless shuffled batches of one-hot real excerpts: what ``fit`` trains a GAN on.

    Notebook: 07_gan_pianoroll
    """
    data = tf.data.Dataset.from_tensor_slices(one_hot(real_classes)).shuffle(len(real_classes), seed=seed)
    return data.repeat().batch(batch_size, drop_remainder=True).prefetch(2)


def train_gan(
    real_classes: np.ndarray,
    minutes: float = 10.0,
    loss: str = "wgan-gp",
    steps: int = 100_000,
    steps_per_epoch: int = 200,
    batch_size: int = 64,
    callbacks: list | None = None,
    seed: int = 0,
) -> PianoRollGAN:
    """Build and train a :class:`PianoRollGAN` for at most ``steps`` generator steps or ``minutes``.

    ``callbacks`` (for instance a :class:`~course_lib.gan_monitor.GanMonitor`) run every
    ``steps_per_epoch`` generator steps.
    """
    keras.utils.set_random_seed(seed)
    model = PianoRollGAN(make_generator(), make_critic(), loss=loss, seed=seed)
    model.compile()
    data = excerpt_batches(real_classes, batch_size, seed)
    epochs = max(1, steps // steps_per_epoch)
    limit = TimeLimit(minutes * 60 - 60)  # the last epoch and its monitoring fit in the last minute
    callbacks = [*(callbacks or []), limit]  # last: its clock includes the other callbacks' work
    model.fit(
        data, epochs=epochs, steps_per_epoch=min(steps, steps_per_epoch), callbacks=callbacks, shuffle=False, verbose=0
    )
    return model
