"""One training step for every task: a :class:`TrainState` and ``step(state, batch, key)``.

:func:`make_train_step` is un-jitted so that the same step can be jitted on one
device (:func:`jaxrnn.fit` does) or with shardings over a mesh
(:func:`jaxrnn.data_parallel_train_step`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

Array = jax.Array
Batch = Any
LossFn = Callable[[Any, Batch, Array], tuple[Array, dict[str, Array]]]
StepFn = Callable[["TrainState", Batch, Array], tuple["TrainState", Array, dict[str, Array]]]


class TrainState(NamedTuple):
    """Everything a step changes: params, optimizer state, the step counter (int32 scalar) and,
    when weight averaging is on, the exponential moving average of the params (else None)."""

    params: Any
    opt_state: Any
    step: Array
    ema_params: Any = None

    @property
    def eval_params(self) -> Any:
        """The params to evaluate: the moving average when weight averaging is on, else ``params``."""
        return self.params if self.ema_params is None else self.ema_params


def make_optimizer(
    learning_rate: float | optax.Schedule = 1e-3,
    *,
    optimizer: str = "adam",
    clip_norm: float | None = None,
) -> optax.GradientTransformation:
    """An optax optimizer, optionally preceded by gradient clipping by global norm.

    Args:
      learning_rate: a float or an optax schedule (``optax.exponential_decay(...)``, ...).
      optimizer: ``"adam"`` (default), ``"sgd"``, ``"momentum"`` (0.9), ``"rmsprop"`` or ``"adamw"``.
      clip_norm: clip gradients to this global norm first (``optax.clip_by_global_norm``), or None.

    Returns:
      An ``optax.GradientTransformation``.
    """
    factories = {
        "adam": lambda lr: optax.adam(lr),
        "adamw": lambda lr: optax.adamw(lr),
        "sgd": lambda lr: optax.sgd(lr),
        "momentum": lambda lr: optax.sgd(lr, momentum=0.9),
        "rmsprop": lambda lr: optax.rmsprop(lr),
    }
    if optimizer not in factories:
        raise ValueError(f"optimizer must be one of {sorted(factories)}; got {optimizer!r}")
    if not callable(learning_rate) and (not isinstance(learning_rate, (int, float)) or learning_rate <= 0):
        raise ValueError(
            f"learning_rate must be a positive number or an optax schedule; got {learning_rate!r}"
        )
    opt = factories[optimizer](learning_rate)
    if clip_norm is None:
        return opt
    if not isinstance(clip_norm, (int, float)) or clip_norm <= 0:
        raise ValueError(f"clip_norm must be a positive number or None; got {clip_norm!r}")
    return optax.chain(optax.clip_by_global_norm(clip_norm), opt)


def check_ema_decay(ema_decay: float | None) -> None:
    """Raise a ValueError unless ``ema_decay`` is None or a number in (0, 1)."""
    if ema_decay is not None and (
        isinstance(ema_decay, bool) or not isinstance(ema_decay, (int, float)) or not 0 < ema_decay < 1
    ):
        raise ValueError(f"ema_decay must be a number in (0, 1) or None; got {ema_decay!r}")


def init_train_state(
    params: Any, optimizer: optax.GradientTransformation, ema_decay: float | None = None
) -> TrainState:
    """A fresh :class:`TrainState` at step 0; with ``ema_decay`` its average starts at ``params``."""
    check_ema_decay(ema_decay)
    with jax.numpy_dtype_promotion("standard"):
        opt_state = optimizer.init(params)
    ema = None if ema_decay is None else jax.tree.map(jnp.array, params)
    return TrainState(params, opt_state, jnp.zeros((), jnp.int32), ema)


def make_train_step(
    loss_fn: LossFn, optimizer: optax.GradientTransformation, ema_decay: float | None = None
) -> Callable[[TrainState, Batch, Array], tuple[TrainState, Array, dict[str, Array]]]:
    """One un-jitted optimisation step: ``step(state, batch, key) -> (state, loss, metrics)``.

    ``value_and_grad`` of ``loss_fn`` at ``state.params`` followed by the optax
    update. It is returned un-jitted so that callers can wrap it (``jax.jit``,
    or a data-parallel ``shard_map``) as they need; :func:`fit` jits it.

    Args:
      loss_fn: ``loss_fn(params, batch, key) -> (loss scalar, {name: scalar})``.
      optimizer: an optax ``GradientTransformation``.
      ema_decay: also keep ``state.ema_params``, the exponential moving average of the params
        after each update: ``ema <- d * ema + (1 - d) * params`` (Polyak averaging) with
        ``d = min(ema_decay, (1 + n) / (10 + n))`` at the ``n``-th update, as TF's
        ``ExponentialMovingAverage(decay, num_updates)`` does, so that the average forgets the
        initial params quickly early in training; the state must come from
        ``init_train_state(..., ema_decay=...)``.
    """
    check_ema_decay(ema_decay)

    def step(state: TrainState, batch: Batch, key: Array):
        (loss, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params, batch, key)
        # optax mixes Python floats with int32 step counts (Adam's bias correction), which strict
        # dtype promotion rejects; the model code above stays under the caller's promotion mode
        with jax.numpy_dtype_promotion("standard"):
            updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
            params = optax.apply_updates(state.params, updates)
            ema = state.ema_params
            if ema_decay is not None:
                if ema is None:
                    raise ValueError(
                        "ema_decay is set but state.ema_params is None; use init_train_state(..., ema_decay)"
                    )
                n = state.step.astype(jnp.float32)
                d = jnp.minimum(jnp.float32(ema_decay), (1 + n) / (10 + n))
                ema = jax.tree.map(lambda a, p: (d * a + (1 - d) * p).astype(a.dtype), ema, params)
        return TrainState(params, opt_state, state.step + 1, ema), loss, metrics

    return step
