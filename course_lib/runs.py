"""Resumable training runs: one checkpoint folder, exact resume, a time limit and one progress line per epoch.

Every model of the recipe table (:mod:`course_lib.recipes`) trains through :func:`fit_resumable`:
``model.fit`` with Keras's own callbacks (``ReduceLROnPlateau``, ``EarlyStopping``,
``SwapEMAWeights``, ``BackupAndRestore``) and three of ours (:mod:`course_lib.checkpoints`):
:class:`~course_lib.checkpoints.EpochSeeds` (each epoch's batches and dropout depend on the seed
and the epoch alone), :class:`~course_lib.checkpoints.RunState` (the history and the callbacks'
counters, saved per epoch) and a time limit. A run stopped at any moment and started again with
the same command ends with the weights an uninterrupted run would have.

Library code: notebook 10 trains through it (``recipes.fit``), and ``python -m course_lib train``
(:mod:`course_lib.tools.train`) adds the model's card and several devices.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
import numpy as np

from course_lib import autodiff, training
from course_lib.checkpoints import AtEpochEnd, Checkpoints, EpochSeeds, RunState
from course_lib.training import TimeLimit


def epoch_line(
    name: str, epoch: int, scores: dict[str, float], shown: Sequence[tuple[str, str]], note: str = ""
) -> str:
    """One progress line: ``NAME epoch N``, the ``(label, key)`` scores in ``shown``, the learning rate, the time."""
    minutes, seconds = divmod(int(scores["seconds"]), 60)
    parts = [f"{name} epoch {epoch + 1:3d}", *(f"{label} {scores[key]:.3f}" for label, key in shown if key in scores)]
    if note:
        parts.append(note)
    if "learning_rate" in scores:
        parts.append(f"lr {scores['learning_rate']:.1e}")
    return "  ".join([*parts, f"{minutes:2d}:{seconds:02d}"])


def fit_resumable(
    model: keras.Model,
    training,
    validation,
    epochs: int,
    monitor: str | None = None,
    patience: int | None = None,
    lr_patience: int | None = None,
    min_lr: float = 0.0,
    lr_min_delta: float = 0.0,
    time_limit: float | None = None,
    seed: int = 0,
    on_epoch: Callable[[int, dict], None] | None = None,
    checkpoints: Checkpoints | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    steps_per_epoch: int | None = None,
) -> dict[str, list[float]]:
    """``model.fit`` on ``training`` (:class:`~course_lib.training.EpochBatches`) with the course's callbacks.

    The settings come from the recipe table (:mod:`course_lib.recipes`), which holds the only
    defaults. With a ``monitor`` (a validation score, lower is better), ``ReduceLROnPlateau`` halves the
    learning rate after ``lr_patience`` epochs without a better score (not below ``min_lr``), and
    ``EarlyStopping`` stops after ``patience`` and restores the best weights; weight averaging
    (``use_ema``) is what validation and early stopping see (:class:`AtEpochEnd`). Without one
    (the GAN) the run goes on until ``epochs`` or the time limit. ``BackupAndRestore`` saves every
    epoch into ``checkpoints`` so a stopped run resumes; :class:`RunState` makes it go on exactly
    as an uninterrupted one would; ``time_limit`` seconds count the time of the run's earlier
    parts. A run whose folder says it has stopped, or has done ``epochs`` epochs, is not trained
    again: the best weights are loaded. ``callbacks`` run at every epoch's end before the run's
    record, and may add scores to the logs it records. Returns the history: every score of
    ``fit``'s logs per epoch, ``learning_rate`` and ``seconds``.
    """
    if monitor is not None and (patience is None or lr_patience is None):
        raise ValueError(f"monitoring {monitor} needs patience and lr_patience (the recipe table's settings)")
    latest = None
    if checkpoints is not None:
        checkpoints.check_model(model)
        latest = checkpoints.latest() if checkpoints.exists() else None
        if latest is not None and (latest["stopped"] or len(latest["history"]["seconds"]) >= epochs):
            model.set_weights(checkpoints.best_weights(latest))
            return latest["history"]
    spent = latest["history"]["seconds"][-1] if latest is not None else 0.0  # a resumed run's time so far
    averaging = bool(getattr(model.optimizer, "use_ema", False))
    plateau = early_stopping = None
    if monitor is not None:
        plateau = keras.callbacks.ReduceLROnPlateau(
            monitor, factor=0.5, patience=lr_patience, mode="min", min_delta=lr_min_delta, min_lr=min_lr
        )
        early_stopping = keras.callbacks.EarlyStopping(
            monitor, patience=patience, mode="min", restore_best_weights=True
        )
    limit = TimeLimit(None if time_limit is None else time_limit - spent)
    state = RunState(early_stopping, plateau, checkpoints, on_epoch)
    ordered = [  # Keras calls them in this order at every epoch's start and end
        EpochSeeds(training, seed),
        *([keras.callbacks.SwapEMAWeights()] if averaging else []),  # validation sees the averaged weights
        *([plateau] if plateau else []),
        AtEpochEnd([*callbacks, *([early_stopping] if early_stopping else []), limit, state], averaging),
        *([keras.callbacks.BackupAndRestore(str(checkpoints.backup), delete_checkpoint=False)] if checkpoints else []),
    ]
    model.fit(
        training,
        validation_data=validation,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        callbacks=ordered,
        shuffle=False,
        verbose=0,
    )
    return state.history


def compile_frame_model(model: keras.Model, learning_rate: float, averaging: float | None = None) -> None:
    """Adam (gradients clipped at norm 5), the frame loss and the frame metrics, for a piano-roll model.

    ``averaging`` (e.g. 0.99) keeps an exponential moving average of the weights (Polyak
    averaging), which smooths out the noise of the last steps: what is validated and kept.

    """
    optimizer = keras.optimizers.Adam(
        learning_rate, clipnorm=5.0, use_ema=averaging is not None, ema_momentum=averaging or 0.99
    )
    model.compile(
        optimizer=optimizer,
        loss=training.frame_loss,
        weighted_metrics=training.frame_metrics(),
        steps_per_execution=autodiff.steps_per_call(),
    )


def compile_token_model(model: keras.Model, learning_rate: float) -> None:
    """Adam (gradients clipped at norm 5), the token loss and the token metrics, for a melody model."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate, clipnorm=5.0),
        loss=training.token_loss,
        weighted_metrics=training.token_metrics(),
        steps_per_execution=autodiff.steps_per_call(),
    )


def train_token_model(
    model: keras.Model,
    train: np.ndarray,
    valid: np.ndarray,
    epochs: int,
    *,
    batch_size: int,
    learning_rate: float,
    seed: int = 0,
    **run_options,
) -> dict[str, list[float]]:
    """Fit a melody LSTM on ``(count, length)`` token windows with early stopping on the validation NLL.

    Each window is a training example: tokens ``0..length-2`` in, tokens ``1..length-1`` as
    targets. The settings are the model's row of the recipe table; ``run_options`` go to
    :func:`fit_resumable`. Returns the history.
    """
    compile_token_model(model, learning_rate)
    batches = training.TokenBatches(train, batch_size, seed=seed)
    validation = training.TokenBatches(valid, training.VALIDATION_WINDOWS, shuffle=False)
    return fit_resumable(model, batches, validation, epochs, seed=seed, **run_options)


def train_frame_model(
    model: keras.Model,
    train: list[np.ndarray],
    valid: list[np.ndarray],
    epochs: int,
    *,
    batch_size: int,
    learning_rate: float,
    transpose: int = 0,
    averaging: float | None = None,
    seed: int = 0,
    **run_options,
) -> dict[str, list[float]]:
    """Fit a piano-roll LSTM or LSTM-MADE on whole pieces with early stopping on the validation NLL.

    ``transpose`` > 0 moves every training piece by a random number of semitones each epoch;
    ``averaging`` keeps a moving average of the weights (:func:`compile_frame_model`).
    The settings are the model's row of the recipe table; ``run_options`` go to :func:`fit_resumable`.
    Returns the history.
    """
    compile_frame_model(model, learning_rate, averaging)
    made = len(model.inputs) == 2
    batches = training.FrameBatches(train, batch_size, made, seed=seed, transpose=transpose)
    validation = training.FrameBatches(valid, training.VALIDATION_BATCH, made, shuffle=False)
    return fit_resumable(model, batches, validation, epochs, seed=seed, **run_options)
