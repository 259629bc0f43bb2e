"""Truncated backpropagation through time: long sequences in windows of ``k`` steps.

The state passes from one window to the next through ``lax.stop_gradient``:
gradients flow inside a window, never across its boundary, while the forward
pass is exactly the full unroll. :func:`truncated_unroll` is a drop-in for
:func:`~jaxrnn.dynamic_unroll` (one graph: backprop stores every window);
:func:`truncated_value_and_grad` takes the gradient window by window inside a
``lax.scan``, holding one window's activations at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from jaxrnn import checks, masking
from jaxrnn.cells import Cell, Params, State
from jaxrnn.unroll import dynamic_unroll

Array = jax.Array


def _check_window(window: Any, num_steps: int) -> int:
    return min(checks.positive_int("window", window, what="steps per truncated window"), num_steps)


def _shift_time(cell: Cell, offset: Array) -> Cell:
    """The cell with ``time_step`` counted from the sequence start, so dropout masks match the full unroll."""

    def apply(params, state, x, *, key=None, training=False, time_step=0):
        return cell.apply(params, state, x, key=key, training=training, time_step=time_step + offset)

    # the recurrence does not depend on time_step, so the fast path stays
    rec = cell.recurrence
    return cell._replace(apply=apply, recurrence=None if rec is None else rec._replace(apply=apply))


def _over_windows(body: Callable, carry: Any, xs: Any, window: int) -> tuple[Any, Any]:
    """Scan ``body(carry, xs_w, offset) -> (carry, ys_w)`` over windows of ``xs`` (``[T, ...]`` leaves).

    The last window may be shorter. Returns the final carry and the ``ys_w`` joined into ``[T, ...]``.
    """
    num_steps = jax.tree.leaves(xs)[0].shape[0]
    end = num_steps // window * window
    full = jax.tree.map(lambda x: x[:end].reshape((-1, window) + x.shape[1:]), xs)
    offsets = jnp.arange(end // window, dtype=jnp.int32) * window
    carry, ys = lax.scan(lambda c, x_o: body(c, *x_o), carry, (full, offsets))
    ys = jax.tree.map(lambda y: y.reshape((-1,) + y.shape[2:]), ys)
    if end < num_steps:
        carry, ys_rest = body(carry, jax.tree.map(lambda x: x[end:], xs), jnp.int32(end))
        ys = jax.tree.map(lambda a, b: jnp.concatenate([a, b], axis=0), ys, ys_rest)
    return carry, ys


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
    (dropout masks are the full unroll's).

    Args:
      cell, params, sequence_length, initial_state, key, training, unroll: as
        in :func:`~jaxrnn.dynamic_unroll`.
      inputs: ``[batch, time, features]`` (the last window may be shorter).
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

    state, ys = _over_windows(run, state, xs, window)
    return jnp.swapaxes(ys, 0, 1), state


def truncated_value_and_grad(
    loss_fn: Callable[..., tuple[Array, State]], *, window: int
) -> Callable[..., tuple[tuple[Array, State], Params]]:
    """Gradient of a sequence loss by truncated BPTT, one window at a time.

    Args:
      loss_fn: ``loss_fn(params, state, inputs_w, targets_w) -> (loss, new_state)``,
        the scalar loss of one window ``[B, k, ...]`` starting from ``state``.
      window: k, the number of steps per window.

    Returns:
      ``f(params, initial_state, inputs [B, T, ...], targets [B, T, ...])
      -> ((total_loss, final_state), grads)``: the gradient of ``sum_w loss_w``
      with the state stopped at every boundary, ``grads`` shaped like ``params``.

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

        def body(carry, xy, offset):
            total, state, grads = carry
            # windows back to batch-major [B, k, ...] for loss_fn
            x, y = (jnp.swapaxes(a, 0, 1) for a in xy)
            (loss, state), g = grad_one(params, lax.stop_gradient(state), x, y)
            return (total + loss.astype(jnp.float32), state, jax.tree.map(jnp.add, grads, g)), None

        carry = (jnp.zeros((), jnp.float32), initial_state, jax.tree.map(jnp.zeros_like, params))
        xy = (jnp.swapaxes(inputs, 0, 1), jnp.swapaxes(targets, 0, 1))
        (total, state, grads), _ = _over_windows(body, carry, xy, k)
        return (total, state), grads

    return value_and_grad
