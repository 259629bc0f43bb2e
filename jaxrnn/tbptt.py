"""Truncated backpropagation through time: long sequences in windows of ``k`` steps.

The state is carried from one window to the next through
``jax.lax.stop_gradient``, so gradients flow inside a window and never across
its boundary, while the forward pass is exactly the full unroll.

Two forms:

* :func:`truncated_unroll` is a drop-in for :func:`~jaxrnn.dynamic_unroll`
  whose gradients are truncated; it is one graph, so backpropagation still
  stores every window's activations.
* :func:`truncated_value_and_grad` takes the gradient window by window inside
  a ``lax.scan`` and sums it, so only one window's activations are alive at
  a time: this is what trains on sequences longer than memory allows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from jaxrnn import _checks, masking
from jaxrnn.cells import Cell, Params, State
from jaxrnn.unroll import dynamic_unroll

Array = jax.Array


def _check_window(window: Any, num_steps: int) -> int:
    return min(_checks.positive_int("window", window, what="steps per truncated window"), num_steps)


def _shift_time(cell: Cell, offset: Array) -> Cell:
    """The cell with ``time_step`` counted from the sequence start, so dropout masks match the full unroll."""

    def apply(params, state, x, *, key=None, training=False, time_step=0):
        return cell.apply(params, state, x, key=key, training=training, time_step=time_step + offset)

    # the recurrence does not depend on time_step, so the fast path stays
    rec = cell.recurrence
    return cell._replace(apply=apply, recurrence=None if rec is None else rec._replace(apply=apply))


def _windows(xs: Array, window: int) -> tuple[Array, Array | None]:
    """Time-major ``[T, ...]`` -> full windows ``[T // k, k, ...]`` and the remainder ``[T % k, ...]``."""
    num_full = xs.shape[0] // window
    full = xs[: num_full * window].reshape((num_full, window) + xs.shape[1:])
    rest = xs[num_full * window :]
    return full, (rest if rest.shape[0] else None)


def truncated_unroll(
    cell: Cell,
    params: Params,
    inputs: Array,
    *,
    window: int,
    sequence_length: Array | None = None,
    initial_state: State | None = None,
    key: Array | None = None,
    training: bool = False,
    unroll: int = 1,
) -> tuple[Array, State]:
    """Unroll like :func:`~jaxrnn.dynamic_unroll`, cutting the gradient every ``window`` steps.

    Equivalent to::

        state = initial_state
        for w in range(ceil(time / window)):
            out[w], state = dynamic_unroll(cell, params, inputs[:, w*k:(w+1)*k], initial_state=state)
            state = stop_gradient(state)

    with ``sequence_length`` masking and ``time_step`` counted from the start
    of the whole sequence (dropout masks are the full unroll's).

    Args:
      cell, params, sequence_length, initial_state, key, training, unroll: as
        in :func:`~jaxrnn.dynamic_unroll`.
      inputs: ``[batch, time, features]``; ``time`` need not be a multiple of
        ``window`` (the last window is shorter).
      window: k, the number of steps gradients flow through.

    Returns:
      ``(outputs [B, T, O], final_state)``, the same numbers as the full
      unroll; the final state carries no gradient.
    """
    xs, lengths, state = masking.prepare(
        cell, params, inputs, sequence_length=sequence_length, initial_state=initial_state, key=key
    )
    window = _check_window(window, xs.shape[0])

    def run(state, x_w, offset):
        length_w = None if lengths is None else jnp.clip(lengths - offset, 0, x_w.shape[0])
        ys, state = dynamic_unroll(
            _shift_time(cell, offset), params, x_w, time_major=True, sequence_length=length_w,
            initial_state=state, key=key, training=training, unroll=unroll,
        )  # fmt: skip
        # the boundary: the next window starts from this state's value, not its history
        return jax.tree.map(lax.stop_gradient, state), ys

    full, rest = _windows(xs, window)
    offsets = jnp.arange(full.shape[0], dtype=jnp.int32) * window
    state, ys = lax.scan(lambda s, xo: run(s, *xo), state, (full, offsets))
    ys = ys.reshape((-1,) + ys.shape[2:])
    if rest is not None:
        state, ys_rest = run(state, rest, jnp.int32(full.shape[0] * window))
        ys = jnp.concatenate([ys, ys_rest], axis=0)
    return jnp.swapaxes(ys, 0, 1), state


def truncated_value_and_grad(
    loss_fn: Callable[..., tuple[Array, State]], *, window: int
) -> Callable[..., tuple[tuple[Array, State], Params]]:
    """Gradient of a sequence loss by truncated BPTT, one window at a time.

    ``loss_fn(params, state, inputs_w, targets_w) -> (loss, new_state)`` is
    the loss of one window ``[B, k, ...]`` starting from ``state``. The
    returned function scans over the windows, differentiates each window's
    loss with respect to ``params`` from the stopped incoming state, and sums
    losses and gradients: the gradient of ``sum_w loss_w`` with truncation at
    every boundary, holding one window's activations at a time.

    Args:
      loss_fn: see above; must return a scalar loss and the window's final state.
      window: k, the number of steps per window.

    Returns:
      ``f(params, initial_state, inputs [B, T, ...], targets [B, T, ...])
      -> ((total_loss, final_state), grads)``, ``grads`` shaped like ``params``.
      ``T`` need not be a multiple of ``k``.

    >>> grad_fn = jax.jit(truncated_value_and_grad(window_loss, window=20))
    >>> (loss, state), grads = grad_fn(params, state, long_x, long_y)  # doctest: +SKIP
    """
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable; got {type(loss_fn).__name__}")
    grad_one = jax.value_and_grad(loss_fn, has_aux=True)

    def value_and_grad(params: Params, initial_state: State, inputs: Array, targets: Array):
        for name, x in (("inputs", inputs), ("targets", targets)):
            if not hasattr(x, "ndim") or x.ndim < 2:
                raise ValueError(
                    f"{name} must be an array [batch, time, ...]; got {getattr(x, 'shape', x)!r}"
                )
        if targets.shape[:2] != inputs.shape[:2]:
            raise ValueError(
                f"targets must share inputs' [batch, time] = {tuple(inputs.shape[:2])}; "
                f"got shape {tuple(targets.shape)}"
            )
        k = _check_window(window, inputs.shape[1])

        def body(carry, xy):
            total, state, grads = carry
            (loss, state), g = grad_one(params, lax.stop_gradient(state), *xy)
            return (total + loss.astype(jnp.float32), state, jax.tree.map(jnp.add, grads, g)), None

        xs_full, xs_rest = _windows(jnp.swapaxes(inputs, 0, 1), k)
        ys_full, ys_rest = _windows(jnp.swapaxes(targets, 0, 1), k)
        # windows back to batch-major [B, k, ...] for loss_fn
        to_batch = lambda a: jnp.swapaxes(a, 0, 1)
        zero = jax.tree.map(jnp.zeros_like, params)
        carry = (jnp.zeros((), jnp.float32), initial_state, zero)
        carry, _ = lax.scan(
            lambda c, xy: body(c, (to_batch(xy[0]), to_batch(xy[1]))), carry, (xs_full, ys_full)
        )
        if xs_rest is not None:
            carry, _ = body(carry, (to_batch(xs_rest), to_batch(ys_rest)))
        total, state, grads = carry
        return (total, state), grads

    return value_and_grad
