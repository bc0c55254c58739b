"""Gradients by the running Keras backend's automatic differentiation: the course's backend code, in one place.

Keras 3 has no backend-neutral ``grad``: each backend differentiates in its own way (TensorFlow
records a ``GradientTape``, JAX transforms a pure function with ``jax.grad``, PyTorch follows the
tensors that ``requires_grad``). Here are the three, for :func:`layer_gradients` (notebook 04
checks its hand-written backward pass with it), :func:`input_gradient` (the GAN's gradient
penalty, notebook 07) and the GAN's ``train_step`` for JAX and PyTorch (:data:`TRAIN_STEPS`).

The rest the backends do differently is here too, so that no other module asks which backend
runs (notebook 07's TensorFlow ``train_step`` in :mod:`course_lib.gan` aside): steps per
compiled call, XLA for the generation loop, CPU threads and devices, and the backend's version.

Notebook: 04_lstm_equations
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Callable, Iterator

import keras
import numpy as np
from keras import ops

from course_lib.errors import CourseError


def layer_gradients(layer: keras.layers.Layer, x: np.ndarray, loss: Callable) -> list[np.ndarray]:
    """``d loss(layer(x)) / d x`` and ``d ... / d w`` for each of ``layer.trainable_variables``, as NumPy arrays.

    ``loss`` takes the layer's outputs and returns a scalar, in ``keras.ops``.

    Notebook: 04_lstm_equations
    """
    backend = keras.backend.backend()
    x = keras.ops.convert_to_tensor(x)
    if backend == "tensorflow":
        import tensorflow as tf

        x_variable = tf.Variable(x)
        with tf.GradientTape() as tape:
            value = loss(layer(x_variable))
        gradients = tape.gradient(value, [x_variable, *layer.trainable_variables])
    elif backend == "jax":
        import jax

        non_trainable = [weight.value for weight in layer.non_trainable_variables]

        def value(x, trainable):  # a pure function of the input and the weights: what jax.grad differentiates
            outputs, _ = layer.stateless_call(trainable, non_trainable, x)
            return loss(outputs)

        x_gradient, weight_gradients = jax.grad(value, argnums=(0, 1))(
            x, [weight.value for weight in layer.trainable_variables]
        )
        gradients = [x_gradient, *weight_gradients]
    elif backend == "torch":
        import torch

        x.requires_grad_(True)
        weights = [weight.value for weight in layer.trainable_variables]  # torch parameters: they require grad
        gradients = torch.autograd.grad(loss(layer(x)), [x, *weights])
    else:
        raise NotImplementedError(f"no gradients for the Keras backend {backend!r}")
    return [keras.ops.convert_to_numpy(gradient) for gradient in gradients]


def input_gradient(critic, x):
    """The gradient of ``critic(x)`` with respect to ``x``: for each excerpt, how its score moves with its input.

    Every backend differentiates in its own way: TensorFlow records the call on a tape, JAX
    transforms the function (``jax.grad``), PyTorch back-propagates into an ``x`` that asks for a
    gradient. ``critic`` may be a model or any function ``excerpts -> scores``.

    Notebook: 07_gan_pianoroll
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(x)
            scores = critic(x)
        return tape.gradient(scores, x)
    if backend == "jax":
        import jax

        return jax.grad(lambda x: ops.sum(critic(x)))(x)
    if backend == "torch":
        import torch

        x = x.detach().requires_grad_(True)
        (gradient,) = torch.autograd.grad(ops.sum(critic(x)), x, create_graph=True)  # a graph: the loss needs it
        return gradient
    raise NotImplementedError(f"no input gradient for the {backend} backend")


class JaxTrainStep:
    """The ``train_step`` of :class:`PianoRollGAN` for the JAX backend (mix it in before the GAN class).

    JAX has no tape: a gradient is ``jax.value_and_grad`` of a pure function of one player's
    weights (``stateless_call``), and an optimizer returns new values (``stateless_apply``).
    Keras's JAX trainer hands ``train_step`` the model's state as values and takes the new state
    back; inside, a ``keras.StatelessScope`` lets the seeds and the batch-norm statistics update
    as if they were variables, and collects their new values.

    Used through :func:`course_lib.gan.for_backend` (notebook 07 prints its source when this backend runs).
    """

    def compile(self, *args, **kwargs) -> None:
        """The GAN's ``compile``; the players' optimizer state then joins the state JAX's trainer passes around."""
        super().compile(*args, **kwargs)
        self.generator_optimizer.build(self.generator.trainable_variables)
        self.critic_optimizer.build(self.critic.trainable_variables)
        # Keras's JAX trainer passes train_step the model's variables and its one `optimizer`'s: tracking the two
        # players' optimizer variables makes them part of the model's (non-trainable) state
        self.players_optimizer_state = [*self.generator_optimizer.variables, *self.critic_optimizer.variables]

    def train_step(self, state, data):
        import jax

        real = keras.utils.unpack_x_y_sample_weight(data)[0]
        trainable, non_trainable, optimizer_variables, metrics_variables = state
        variables = [*self.trainable_variables, *self.non_trainable_variables]
        mapping = list(zip(variables, [*trainable, *non_trainable], strict=True))
        with keras.StatelessScope(state_mapping=mapping) as scope:  # a variable read gives its value in `state`
            batch = ops.shape(real)[0]
            critic_state = [v.value for v in self.critic.non_trainable_variables]

            def critic_objective(weights, fake):  # a pure function of the critic's weights, for jax.value_and_grad
                def critic(x):
                    return self.critic.stateless_call(weights, critic_state, x, training=True)[0]

                loss, distance, penalty = self.critic_loss(real, fake, critic)
                return loss, (distance, penalty)

            for _ in range(self.critic_steps):
                z = keras.random.normal((batch, self.latent), seed=self.seeds)  # advances the seed in the scope
                fake = self.generator(z, training=True)
                weights = [v.value for v in self.critic.trainable_variables]
                step = jax.value_and_grad(critic_objective, has_aux=True)
                (critic_loss, (distance, penalty)), gradients = step(weights, fake)
                self.stateless_update(self.critic_optimizer, gradients, self.critic.trainable_variables)

            z = keras.random.normal((batch, self.latent), seed=self.seeds)
            generator_state = [v.value for v in self.generator.non_trainable_variables]

            def generator_objective(weights):  # returns the batch-norm statistics it updated too
                fake, new_state = self.generator.stateless_call(weights, generator_state, z, training=True)
                return self.generator_loss(self.critic(fake, training=True)), new_state

            weights = [v.value for v in self.generator.trainable_variables]
            step = jax.value_and_grad(generator_objective, has_aux=True)
            (generator_loss, new_state), gradients = step(weights)
            for variable, value in zip(self.generator.non_trainable_variables, new_state, strict=True):
                variable.assign(value)
            self.stateless_update(self.generator_optimizer, gradients, self.generator.trainable_variables)
        trainable = [scope.get_current_value(v) for v in self.trainable_variables]  # the new state
        non_trainable = [scope.get_current_value(v) for v in self.non_trainable_variables]
        logs = {"critic_loss": critic_loss, "generator_loss": generator_loss, "distance": distance, "penalty": penalty}
        return logs, (trainable, non_trainable, optimizer_variables, metrics_variables)

    @staticmethod
    def stateless_update(optimizer, gradients, variables) -> None:
        """``optimizer.stateless_apply`` on the current values; the new ones are assigned in the open scope."""
        current = [v.value for v in optimizer.variables]
        weights, state = optimizer.stateless_apply(current, gradients, [v.value for v in variables])
        for variable, value in zip([*variables, *optimizer.variables], [*weights, *state], strict=True):
            variable.assign(value)


class TorchTrainStep:
    """The ``train_step`` of :class:`PianoRollGAN` for the PyTorch backend (mix it in before the GAN class).

    PyTorch records every operation on tensors that need a gradient; ``backward()`` fills each
    weight's ``.grad``, which the player's optimizer applies (outside autograd, under ``torch.no_grad``).

    Used through :func:`course_lib.gan.for_backend` (notebook 07 prints its source when this backend runs).
    """

    def train_step(self, data):
        import torch

        real = keras.utils.unpack_x_y_sample_weight(data)[0]
        batch = ops.shape(real)[0]
        for _ in range(self.critic_steps):
            z = keras.random.normal((batch, self.latent), seed=self.seeds)
            with torch.no_grad():
                fake = self.generator(z, training=True)
            self.critic.zero_grad()
            critic_loss, distance, penalty = self.critic_loss(real, fake)
            critic_loss.backward()
            with torch.no_grad():
                gradients = [v.value.grad for v in self.critic.trainable_weights]
                self.critic_optimizer.apply(gradients, self.critic.trainable_weights)
        z = keras.random.normal((batch, self.latent), seed=self.seeds)
        self.generator.zero_grad()
        generator_loss = self.generator_loss(self.critic(self.generator(z, training=True), training=True))
        generator_loss.backward()
        with torch.no_grad():
            gradients = [v.value.grad for v in self.generator.trainable_weights]
            self.generator_optimizer.apply(gradients, self.generator.trainable_weights)
        logs = {"critic_loss": critic_loss, "generator_loss": generator_loss, "distance": distance, "penalty": penalty}
        return {name: value.detach() for name, value in logs.items()}


TRAIN_STEPS = {"jax": JaxTrainStep, "torch": TorchTrainStep}


# ---------------------------------------------------------------- what else differs between backends


def train_step_class() -> type | None:
    """The GAN's ``train_step`` for the running backend (:data:`TRAIN_STEPS`); None under TensorFlow, whose
    ``train_step`` is the lesson's own.

    Notebook: 07_gan_pianoroll
    """
    return TRAIN_STEPS.get(keras.backend.backend())


def backend_version() -> str:
    """The running Keras backend and its version, e.g. ``"jax 0.10.2"`` (for model cards and messages)."""
    backend = keras.backend.backend()
    return f"{backend} {getattr(importlib.import_module(backend), '__version__', '?')}"


def steps_per_call() -> int:
    """Training steps per compiled call (``steps_per_execution``): 8 under TensorFlow, else 1.

    TensorFlow runs batches of different lengths in one call, which saves Python's cost per
    step (LSTM-MADE on 2 CPU cores: 10.1 s per epoch at 1, 8.3 s at 8). JAX would compile every
    combination of lengths in a call, so it takes one step per call; so does TensorFlow's
    ``MirroredStrategy`` (``--devices``), which fails on several steps of different lengths in one call.
    """
    if keras.backend.backend() != "tensorflow":
        return 1
    import tensorflow as tf

    return 1 if tf.distribute.has_strategy() else 8


def compiles_loops() -> bool:
    """Whether a generation loop (:mod:`course_lib.sampling`) is compiled with XLA: yes but under PyTorch.

    Keras leaves XLA off for TensorFlow on a CPU, but it makes that loop about 6 times faster
    there (bench/sampling.py); PyTorch stays eager (``torch.compile`` fails on the MADE's loop).
    """
    return keras.backend.backend() != "torch"


def split_cpu(count: int) -> None:
    """Ask the backend for ``count`` CPU devices; call it before the backend starts (first thing in the CLI).

    JAX reads ``XLA_FLAGS`` when it starts; TensorFlow is told through ``tf.config`` before its
    first operation. With accelerators present nothing is split.
    """
    if count < 2:
        return
    backend = keras.backend.backend()
    if backend == "jax" and "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={count}"
    elif backend == "tensorflow":
        import tensorflow as tf

        if not tf.config.list_physical_devices("GPU"):
            cpu = tf.config.list_physical_devices("CPU")[0]
            try:
                tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
            except RuntimeError:  # TensorFlow has started already: data_parallel says how many devices it sees
                pass


def limit_cpu_threads(threads: int) -> None:
    """Let the backend compute on at most ``threads`` CPU threads; call it before the backend starts.

    The bench scripts use it so that two runs share a 2-core machine a core each. JAX reads
    ``XLA_FLAGS`` when it starts; TensorFlow and PyTorch are told through their own settings.
    """
    backend = keras.backend.backend()
    if backend == "jax":
        flags = f"--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads={threads}"
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flags}".strip()
    elif backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    else:
        import torch

        torch.set_num_threads(threads)


@contextlib.contextmanager
def device_scope(count: int) -> Iterator[str]:
    """Build, compile and train inside this block to use ``count`` devices (2 or more); yields what they are.

    Used by :func:`course_lib.tools.devices.data_parallel` (the command line's ``--devices``).
    """
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        devices = jax.devices()
        if len(devices) < count:
            raise CourseError(f"--devices {count}: JAX sees {len(devices)} device(s) here")
        chosen = devices[:count]
        with keras.distribution.DataParallel(devices=chosen).scope():
            yield f"{count} JAX devices ({chosen[0].platform})"
    elif backend == "tensorflow":
        import tensorflow as tf

        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        if len(devices) < count:
            raise CourseError(f"--devices {count}: TensorFlow sees {len(devices)} device(s) here")
        strategy = tf.distribute.MirroredStrategy([d.name for d in devices[:count]])
        with strategy.scope():
            yield f"{count} TensorFlow devices ({devices[0].device_type})"
    else:
        raise CourseError(f"--devices needs the JAX or TensorFlow backend; this one is {backend}")
