"""A GAN for four-voice (SATB) chorale excerpts, small enough to train on a laptop CPU.

Representation: each voice plays one pitch or rests at each step, so an excerpt is
``(steps, voices, classes)``: class 0 is a rest, class ``c >= 1`` is MIDI pitch ``GAN_LOWEST + c - 1``
(:data:`course_lib.voices.GAN_LOWEST`: the GAN's window of pitches is narrower than the voices').
Real excerpts are one-hot; the generator outputs a softmax over the classes for every voice and
step (as in the WGAN-GP paper's character model), and listening or scoring turns it into notes
with :func:`binarize` (the most likely class, or a draw).

:class:`PianoRollGAN` is a ``keras.Model`` with its own ``train_step`` for two losses: the
original (DCGAN-style) cross-entropy game, and the Wasserstein loss with gradient penalty
(WGAN-GP, Gulrajani et al. 2017). Its ``train_step`` is written for TensorFlow (``tf.GradientTape``);
under JAX and PyTorch :func:`for_backend` gives the subclass with that backend's ``train_step``
(:class:`~course_lib.autodiff.JaxTrainStep`, :class:`~course_lib.autodiff.TorchTrainStep`), and :data:`GAN` is the
class to use on the running backend.

Notebook: 07_gan_pianoroll
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import keras
import numpy as np
from keras import layers, ops

from course_lib import autodiff, datasets
from course_lib.errors import CourseError
from course_lib.notes import Note, Piece, TempoMap
from course_lib.pianoroll import to_pianoroll
from course_lib.training import EpochBatches
from course_lib.voices import GAN_HIGHEST, GAN_LOWEST

CLASSES = 1 + GAN_HIGHEST - GAN_LOWEST + 1  # rest + pitches
VOICES = 4  # how many: soprano, alto, tenor, bass
STEPS_PER_BEAT = 2  # eighth notes
BARS = 2
BEATS_PER_BAR = 4
STEPS = BARS * BEATS_PER_BAR * STEPS_PER_BEAT

if keras.backend.backend() == "tensorflow":
    import tensorflow as tf


def excerpts(chorales: list, bars: int = BARS, hop_bars: int = 1) -> np.ndarray:
    """Bar-aligned excerpts of 4/4 chorales as class ids ``(count, steps, voices)``.

    Each voice keeps its highest note where it divides; pitches outside ``GAN_LOWEST..GAN_HIGHEST``
    count as rests.

    Notebook: 07_gan_pianoroll
    """
    steps_per_bar = BEATS_PER_BAR * STEPS_PER_BEAT
    out = []
    for chorale in chorales:
        if tuple(chorale.time_signature) != (4, 4):
            continue
        rolls = to_pianoroll(chorale, STEPS_PER_BEAT, GAN_LOWEST, GAN_HIGHEST, by_voice=True, voices=range(VOICES))
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
    return excerpts(datasets.load_chorale_split(split))


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
    rolls[n, v, t, classes[n, t, v] - 1 + GAN_LOWEST - 21] = True
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
    return keras.ops.convert_to_numpy(generator(latent_points(generator, count, seed), training=False))


def latent_points(generator: keras.Model, count: int, seed: int = 0) -> np.ndarray:
    """``count`` seeded draws of the generator's noise input ``z``."""
    return np.random.default_rng(seed).normal(size=(count, generator.input_shape[-1])).astype("float32")


def gradient_penalty(critic, real, fake, alpha, axes=(1, 2, 3)):
    """Mean over the batch of ``(||grad critic(x)|| - 1)^2`` at ``x = real + alpha (fake - real)``.

    The norm runs over ``axes``: all axes but the batch (WGAN-GP, Gulrajani et al. 2017).

    Notebook: 07_gan_pianoroll
    """
    mixed = real + alpha * (fake - real)
    gradients = autodiff.input_gradient(critic, mixed)
    norms = ops.sqrt(ops.sum(ops.square(gradients), axis=axes) + 1e-12)
    return ops.mean(ops.square(norms - 1.0))


class PianoRollGAN(keras.Model):
    """Generator and critic trained against each other by ``fit`` on batches of real excerpts.

    ``loss="wgan-gp"``: the critic maximises ``E[D(real)] - E[D(fake)]`` minus ``gp_weight``
    times the gradient penalty, taking ``critic_steps`` steps per generator step; the generator
    maximises ``E[D(fake)]``. ``loss="dcgan"``: the critic is a classifier (real = 1) trained
    with binary cross-entropy, and the generator tries to make it answer 1 (one step each).
    ``train_step`` is TensorFlow's; ``for_backend(PianoRollGAN)`` swaps in JAX's or PyTorch's.

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
        self.built = True  # the two players are built: nothing for ``fit`` to build

    def compile(self, generator_optimizer=None, critic_optimizer=None, **kwargs) -> None:
        """Adam with the WGAN-GP paper's settings (``1e-4``, betas 0.5 / 0.9) unless given."""
        super().compile(**kwargs)
        self.generator_optimizer = generator_optimizer or keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9)
        self.critic_optimizer = critic_optimizer or keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9)

    def sample(self, count: int, seed: int = 0) -> np.ndarray:
        """``count`` generated excerpts as softmax outputs ``(count, steps, voices, classes)``."""
        return sample(self.generator, count, seed)

    def gradient_penalty(self, real, fake, critic=None):
        """:func:`gradient_penalty` at points drawn uniformly between real and fake excerpts."""
        alpha = keras.random.uniform((ops.shape(real)[0], 1, 1, 1), seed=self.seeds)
        return gradient_penalty(critic or (lambda x: self.critic(x, training=True)), real, fake, alpha)

    def critic_loss(self, real, fake, critic=None):
        """``(loss, distance, penalty)`` of the critic (or of ``critic``, a function excerpts -> scores)."""
        critic = critic or (lambda x: self.critic(x, training=True))
        real_scores, fake_scores = critic(real), critic(fake)
        if self.loss_kind == "dcgan":
            bce = keras.losses.binary_crossentropy
            loss = ops.mean(bce(ops.ones_like(real_scores), real_scores, from_logits=True)) + ops.mean(
                bce(ops.zeros_like(fake_scores), fake_scores, from_logits=True)
            )
            return loss, ops.zeros(()), ops.zeros(())
        distance = ops.mean(real_scores) - ops.mean(fake_scores)
        penalty = self.gradient_penalty(real, fake, critic)
        return -distance + self.gp_weight * penalty, distance, penalty

    def generator_loss(self, scores):
        """The generator's loss from the critic's scores of its excerpts."""
        if self.loss_kind == "dcgan":
            return ops.mean(keras.losses.binary_crossentropy(ops.ones_like(scores), scores, from_logits=True))
        return -ops.mean(scores)

    def train_step(self, data):
        real = keras.utils.unpack_x_y_sample_weight(data)[0]  # a batch of real excerpts, without targets
        batch = ops.shape(real)[0]
        for _ in range(self.critic_steps):
            z = keras.random.normal((batch, self.latent), seed=self.seeds)
            with tf.GradientTape() as tape:
                fake = self.generator(z, training=True)
                critic_loss, distance, penalty = self.critic_loss(real, fake)
            gradients = tape.gradient(critic_loss, self.critic.trainable_weights)
            self.critic_optimizer.apply(gradients, self.critic.trainable_weights)
        z = keras.random.normal((batch, self.latent), seed=self.seeds)
        with tf.GradientTape() as tape:
            generator_loss = self.generator_loss(self.critic(self.generator(z, training=True), training=True))
        gradients = tape.gradient(generator_loss, self.generator.trainable_weights)
        self.generator_optimizer.apply(gradients, self.generator.trainable_weights)
        return {"critic_loss": critic_loss, "generator_loss": generator_loss, "distance": distance, "penalty": penalty}


def tensorflow_only(fit: Callable) -> Callable:
    """``fit`` for :class:`PianoRollGAN`: under another backend, a class whose ``train_step`` is still the
    TensorFlow one says so in one line, instead of failing deep inside that backend's trainer."""

    @functools.wraps(fit)
    def checked(self, *args, **kwargs):
        if autodiff.train_step_class() is not None and type(self).train_step is PianoRollGAN.train_step:
            raise CourseError(
                f"{type(self).__name__}.train_step is TensorFlow's and Keras runs on {autodiff.backend_version()}: "
                "train gan.GAN, or gan.for_backend(YourClass), which has this backend's train_step"
            )
        return fit(self, *args, **kwargs)

    return checked


PianoRollGAN.fit = tensorflow_only(keras.Model.fit)


def for_backend(gan_class: type = PianoRollGAN) -> type:
    """``gan_class`` under TensorFlow; under JAX or PyTorch, its subclass with that backend's ``train_step``.

    Notebook: 07_gan_pianoroll
    """
    train_step = autodiff.train_step_class()
    if train_step is None:
        return gan_class
    return type(train_step.__name__.removesuffix("TrainStep") + gan_class.__name__, (train_step, gan_class), {})


GAN = for_backend(PianoRollGAN)  # the GAN class for the running backend


class ExcerptBatches(EpochBatches):
    """Endless batches of one-hot real excerpts, reshuffled (seeded) every pass: what ``fit`` trains a GAN on.

    Batch ``i`` depends only on ``i`` and the seed, so every backend reads the same batches. ``fit``
    numbers the batches of an endless dataset on from epoch to epoch; a run resumed at epoch ``e``
    (:meth:`set_epoch`) numbers them from ``e * steps_per_epoch``, as the uninterrupted run did.

    Notebook: 07_gan_pianoroll
    """

    def __init__(self, real_classes: np.ndarray, batch_size: int = 64, seed: int = 0, steps_per_epoch: int = 200):
        super().__init__(seed)
        if len(real_classes) < batch_size:
            raise ValueError(f"{len(real_classes)} excerpts are fewer than one batch of {batch_size}")
        self.real_classes, self.batch_size, self.steps_per_epoch = np.asarray(real_classes), batch_size, steps_per_epoch
        self.per_pass = len(real_classes) // batch_size  # whole batches only: every batch has the same shape
        self.order, self.order_pass, self.first_epoch = None, -1, None

    def set_epoch(self, epoch: int) -> None:
        if self.first_epoch is None:
            self.first_epoch = epoch  # the epoch this run's numbering of batches starts at

    @property
    def num_batches(self) -> None:
        return None  # endless: ``fit`` needs ``steps_per_epoch``

    def __getitem__(self, index: int) -> np.ndarray:
        index += (self.first_epoch or 0) * self.steps_per_epoch
        shuffle_pass, position = divmod(index, self.per_pass)
        if shuffle_pass != self.order_pass:
            rng = np.random.default_rng([self.seed, shuffle_pass])
            self.order, self.order_pass = rng.permutation(len(self.real_classes)), shuffle_pass
        rows = self.order[position * self.batch_size : (position + 1) * self.batch_size]
        return one_hot(self.real_classes[rows])


def excerpt_batches(real_classes: np.ndarray, batch_size: int = 64, seed: int = 0) -> ExcerptBatches:
    """Endless shuffled batches of one-hot real excerpts: what ``fit`` trains a GAN on.

    Notebook: 07_gan_pianoroll
    """
    return ExcerptBatches(real_classes, batch_size, seed)


def excerpts_to_piece(classes: np.ndarray, tempo: float = datasets.CHORALE_TEMPO_BPM) -> Piece:
    """Excerpts ``(count, steps, voices)`` one after another as a four-voice :class:`Piece`.

    Notebook: 07_gan_pianoroll
    """
    notes = []
    step = 1.0 / STEPS_PER_BEAT
    for index, excerpt in enumerate(np.asarray(classes)):
        offset = index * STEPS * step
        for voice in range(excerpt.shape[1]):
            line = excerpt[:, voice]
            start = 0
            for t in range(1, len(line) + 1):
                if t == len(line) or line[t] != line[start]:
                    if line[start] > 0:
                        notes.append(
                            Note(offset + start * step, offset + t * step, int(line[start]) - 1 + GAN_LOWEST, 80, voice)
                        )
                    start = t
    return Piece(notes, TempoMap.constant(tempo), (4, 4))


def generate(generator: keras.Model, count: int = 4, seed: int = 0, mode: str = "argmax") -> Piece:
    """``count`` generated two-bar excerpts in a row, as a piece.

    Notebook: 07_gan_pianoroll
    """
    # one compiled call (predict): for the command line's single call, faster than the op-by-op call of
    # sample (JAX, 8 excerpts: 0.08 s against 0.26 s); the monitor's repeated calls stay op by op, which
    # compiles nothing new for each batch size
    probabilities = generator.predict(latent_points(generator, count, seed), batch_size=count, verbose=0)
    return excerpts_to_piece(binarize(probabilities, mode, seed))
