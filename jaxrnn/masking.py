"""Inputs and masks for every unroller, written once: layout, lengths, reversal, zeroing, freezing.

TF's ``dynamic_rnn`` meaning: step ``t`` of sequence ``b`` is valid when ``t <
sequence_length[b]``; past that the output is exactly zero and the carry
frozen. ``reverse`` reverses each sequence within its length (TF's
``reverse_sequence``). Masks are ``[batch]`` booleans broadcast over any
trailing shape. Packed rows (``segment_ids``, :mod:`jaxrnn.segments`) are
``sequence_length`` = the count of non-padding ids plus a ``[time, batch]``
``resets`` mask: there a step reads the row's initial state (:func:`restart`),
and ``reverse`` reverses each segment within itself.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from jaxrnn import checks, segments
from jaxrnn.cells import Cell

Array = jax.Array


def prepare(
    cell: Cell,
    params: Any,
    inputs: Any,
    *,
    sequence_length: Any = None,
    initial_state: Any = None,
    time_major: bool = False,
    key: Any = None,
    segment_ids: Any = None,
) -> tuple[Array, Array | None, Any]:
    """Check an unroller's arguments before tracing; return ``(xs [T, B, F], lengths [B] | None, carry)``.

    ``inputs`` are ``[batch, time, features]`` (``[time, batch, ...]`` when ``time_major``);
    the carry is ``initial_state`` or zeros in the inputs' dtype.
    """
    if not isinstance(cell, Cell):
        raise TypeError(f"cell must be a jaxrnn Cell (e.g. jaxrnn.lstm_cell(64)); got {type(cell).__name__}")
    checks.check_key(key)
    checks.check_float_array("inputs", inputs)
    checks.check_rank(
        "inputs", inputs, 3, "[time, batch, features]" if time_major else "[batch, time, features]"
    )
    xs = swap_time(inputs, time_major)
    num_steps, batch_size, features = xs.shape
    if num_steps == 0:
        raise ValueError(f"inputs must have at least one time step; got shape {tuple(inputs.shape)}")
    checks.check_params("inputs", cell, params, features)
    if segment_ids is not None:
        segments.check_masking(sequence_length, segment_ids, batch_size, num_steps)
        ids = jnp.asarray(segment_ids, jnp.int32)
        # padding is trailing only (checked), so it is exactly "past the row's length"
        lengths = jnp.sum(ids != 0, axis=1, dtype=jnp.int32)
    else:
        lengths = checks.check_sequence_length(sequence_length, batch_size, num_steps)
    if initial_state is None:
        return xs, lengths, cell.zero_state(batch_size, xs.dtype)
    expected = jax.eval_shape(lambda: cell.zero_state(batch_size, xs.dtype))
    checks.check_state("initial_state", initial_state, expected)
    return xs, lengths, initial_state


def swap_time(x: Array, time_major: bool) -> Array:
    """``[B, T, ...]`` <-> ``[T, B, ...]`` (its own inverse) unless the caller's layout is ``time_major``."""
    return x if time_major else jnp.swapaxes(x, 0, 1)


def reverse_sequence(x: Array, sequence_length: Array | None, resets: Array | None = None) -> Array:
    """Reverse each sequence of a time-major array within its own length (TF ``reverse_sequence``).

    Args:
      x: ``[time, batch, ...]``.
      sequence_length: ``[batch]`` ints, or None to flip the whole time axis.
      resets: ``[time, batch]`` booleans from :func:`segment_resets`, or None:
        then each segment is reversed within itself (segments stay in place).

    Returns:
      ``[time, batch, ...]`` where ``out[t, b] = x[len_b - 1 - t, b]`` for
      ``t < len_b`` and ``out[t, b] = x[t, b]`` past it (with ``resets``:
      ``out[t, b] = x[start + end - t, b]`` for ``t`` in segment ``[start, end]``).
    """
    if sequence_length is None and resets is None:
        return jnp.flip(x, axis=0)
    num_steps = x.shape[0]
    t = jnp.arange(num_steps, dtype=jnp.int32)[:, None]
    lengths = num_steps if sequence_length is None else jnp.asarray(sequence_length, jnp.int32)[None, :]
    if resets is None:
        index = jnp.where(t < lengths, lengths - 1 - t, t)
    else:
        starts = resets | (t == 0)
        start = lax.cummax(jnp.where(starts, t, 0), axis=0)
        # the next segment's start after t (or T), found by a reverse running minimum
        next_start = lax.cummin(jnp.where(starts, t, num_steps), axis=0, reverse=True)
        next_start = jnp.concatenate([next_start[1:], jnp.full_like(next_start[:1], num_steps)], axis=0)
        end = jnp.minimum(next_start, lengths) - 1
        index = jnp.where(t < lengths, start + end - t, t)
    return jnp.take_along_axis(x, index.reshape(index.shape + (1,) * (x.ndim - 2)), axis=0)


def segment_resets(segment_ids: Any) -> Array | None:
    """``[time, batch]`` booleans, True where a new segment starts after step 0 (ids checked); or None."""
    if segment_ids is None:
        return None
    return segments.segment_masks(jnp.asarray(segment_ids, jnp.int32)).reset


def restart(reset: Array | None, initial: Any, state: Any) -> Any:
    """The carry a step reads: the row's ``initial`` state where ``reset: [B]``, ``state`` elsewhere."""
    return state if reset is None else freeze(reset, initial, state)


def mask_like(valid: Array, leaf: Array) -> Array:
    """``valid: [B]`` (or ``[T, B]``) reshaped to broadcast against ``leaf`` with its feature axes."""
    return valid.reshape(valid.shape + (1,) * (leaf.ndim - valid.ndim))


def valid_at(t: Array, lengths: Array | None) -> Array | None:
    """``[B]`` booleans, True where step ``t`` is inside the sequence; None without lengths."""
    return None if lengths is None else t < lengths


def valid_steps(lengths: Array | None, num_steps: int) -> Array | None:
    """``[T, B]`` booleans, True where step ``t`` is inside sequence ``b``; None without lengths."""
    return None if lengths is None else jnp.arange(num_steps, dtype=jnp.int32)[:, None] < lengths[None, :]


def zero_invalid(valid: Array | None, y: Any) -> Any:
    """Outputs ``y`` (a pytree of ``[B, ...]`` or ``[T, B, ...]``) with exact zeros where not ``valid``."""
    if valid is None:
        return y
    return jax.tree.map(lambda a: jnp.where(mask_like(valid, a), a, jnp.zeros_like(a)), y)


def freeze(valid: Array | None, new: Any, old: Any) -> Any:
    """The carry ``new`` where ``valid``, ``old`` elsewhere (``valid: [B]``)."""
    if valid is None:
        return new
    return jax.tree.map(lambda n, o: jnp.where(mask_like(valid, n), n, o), new, old)


def masked_step(valid: Array | None, new_state: Any, state: Any, y: Any) -> tuple[Any, Any]:
    """One step's ``(carry, y)`` after the mask: the carry frozen and ``y`` zero where not ``valid``."""
    return freeze(valid, new_state, state), zero_invalid(valid, y)
