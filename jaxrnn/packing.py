"""Packed rows: many short sequences in one dense ``[batch, time]`` row each, with ``segment_ids``.

Padding every sequence to the longest wastes the steps past each end; packing
puts sequences one after another in rows of ``row_length`` steps (first fit)
and marks them with ``segment_ids`` (1, 2, ... within a row; 0 for the
trailing padding). Every unroller takes ``segment_ids=`` and restarts the
state at each boundary, so a packed row gives the same numbers as unrolling
its sequences one by one (``tests/test_segments.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn import segments
from jaxrnn.cells import Cell, Params, State
from jaxrnn.unroll import dynamic_unroll

Array = jax.Array


def packing_plan(lengths: Sequence[int], row_length: int) -> list[tuple[int, int]]:
    """Where first fit puts each sequence: ``(row, start)`` per length, in the given order.

    Each sequence goes to the first row with room for it (a new row when none
    has), so the plan is deterministic: packing the targets with the same
    lengths puts them in the same places as the inputs.

    Raises:
      ValueError: ``row_length`` is not a positive int, or a length is not in ``[1, row_length]``.
    """
    if isinstance(row_length, bool) or not isinstance(row_length, (int, np.integer)) or row_length < 1:
        raise ValueError(f"row_length must be a positive int; got {row_length!r}")
    used: list[int] = []
    plan = []
    for i, n in enumerate(lengths):
        if not 1 <= n <= row_length:
            raise ValueError(f"sequence {i} must have 1 to row_length={row_length} steps; got {n}")
        row = next((r for r, u in enumerate(used) if u + n <= row_length), len(used))
        if row == len(used):
            used.append(0)
        plan.append((row, used[row]))
        used[row] += n
    return plan


def pack_sequences(sequences: Sequence[Any], row_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Pack variable-length sequences into dense rows (first fit) with ``segment_ids``.

    Args:
      sequences: a list of ``[T_i, ...]`` arrays (e.g. ``[T_i, F]`` features or
        ``[T_i]`` token ids), all with the same trailing shape and dtype,
        ``1 <= T_i <= row_length``.
      row_length: T, the steps per packed row.

    Returns:
      ``(inputs [B, T, ...], segment_ids [B, T] int32)``: row ``b`` holds its
      sequences one after another with ids 1, 2, ... and zeros after them
      (``inputs`` is zero there). B is the number of rows first fit needs.

    Raises:
      ValueError, TypeError: an empty list, mismatched shapes or dtypes, or a
        sequence longer than ``row_length`` or empty.

    >>> inputs, ids = pack_sequences([np.ones((3, 2)), np.ones((2, 2)), np.ones((4, 2))], 5)
    >>> ids.tolist()
    [[1, 1, 1, 2, 2], [1, 1, 1, 1, 0]]
    """
    if len(sequences) == 0:
        raise ValueError("sequences must be a non-empty list of [T_i, ...] arrays; got an empty list")
    arrays = [np.asarray(s) for s in sequences]
    first = arrays[0]
    for i, a in enumerate(arrays):
        if a.ndim < 1 or a.shape[1:] != first.shape[1:] or a.dtype != first.dtype:
            raise ValueError(
                f"sequences[{i}] must be [T_i, ...] like sequences[0] (trailing shape {first.shape[1:]}, "
                f"dtype {first.dtype}); got shape {a.shape}, dtype {a.dtype}"
            )
    plan = packing_plan([a.shape[0] for a in arrays], row_length)
    num_rows = 1 + max(row for row, _ in plan)
    inputs = np.zeros((num_rows, row_length, *first.shape[1:]), first.dtype)
    segment_ids = np.zeros((num_rows, row_length), np.int32)
    next_id = np.ones(num_rows, np.int32)
    for a, (row, start) in zip(arrays, plan):
        inputs[row, start : start + a.shape[0]] = a
        segment_ids[row, start : start + a.shape[0]] = next_id[row]
        next_id[row] += 1
    return inputs, segment_ids


def segment_final_states(
    cell: Cell,
    params: Params,
    inputs: Array,
    *,
    segment_ids: Any,
    initial_state: State | None = None,
    time_major: bool = False,
    reverse: bool = False,
) -> State:
    """Every segment's final state of a packed unroll (the unrollers return only each row's last).

    Runs ``dynamic_unroll(..., segment_ids=segment_ids)`` keeping each step's
    state and picks the state after each segment's last step (its first step
    when ``reverse``). ``segment_ids`` must be concrete (read on the host).

    Args:
      cell, params, inputs, initial_state, time_major, reverse: as in
        :func:`jaxrnn.dynamic_unroll`.
      segment_ids: ``[batch, time]`` ints (see :func:`jaxrnn.dynamic_unroll`).

    Returns:
      A state like ``cell.zero_state(batch)`` whose leaves are ``[batch,
      max_segments, ...]``: entry ``[b, k]`` is the final state of row ``b``'s
      ``k``-th segment, zeros where a row has fewer segments.
    """
    if not isinstance(cell, Cell):
        raise TypeError(f"cell must be a jaxrnn Cell (e.g. jaxrnn.lstm_cell(64)); got {type(cell).__name__}")
    batch_size = inputs.shape[1] if time_major else inputs.shape[0]
    state_like = jax.eval_shape(lambda: cell.zero_state(batch_size, inputs.dtype))
    leaves_like, treedef = jax.tree.flatten(state_like)
    sizes = [int(np.prod(leaf.shape[1:])) for leaf in leaves_like]

    def apply_keeping_state(p, state, x, **kw):
        new_state, _ = cell.apply(p, state, x, **kw)
        flat = jnp.concatenate([leaf.reshape(leaf.shape[0], -1) for leaf in jax.tree.leaves(new_state)], -1)
        return new_state, flat

    # recurrence=None: the state-emitting step is not the cell's fused step
    keeping = cell._replace(apply=apply_keeping_state, output_size=sum(sizes), recurrence=None)
    states, _ = dynamic_unroll(
        keeping, params, inputs, segment_ids=segment_ids, initial_state=initial_state,
        time_major=time_major, reverse=reverse,
    )  # fmt: skip
    states = states if not time_major else jnp.swapaxes(states, 0, 1)
    per_row = segments.segment_lengths(segment_ids)
    max_segments = max(1, max(len(r) for r in per_row))
    index = np.zeros((batch_size, max_segments), np.int32)
    present = np.zeros((batch_size, max_segments), bool)
    for b, lengths in enumerate(per_row):
        ends = np.cumsum(lengths)
        for k, (n, end) in enumerate(zip(lengths, ends)):
            # a reversed segment ends where it started in time
            index[b, k] = end - n if reverse else end - 1
            present[b, k] = True
    picked = jnp.take_along_axis(states, jnp.asarray(index)[:, :, None], axis=1)
    picked = jnp.where(jnp.asarray(present)[:, :, None], picked, jnp.zeros_like(picked))
    parts = jnp.split(picked, np.cumsum(sizes)[:-1], axis=-1)
    leaves = [p.reshape(batch_size, max_segments, *leaf.shape[1:]) for p, leaf in zip(parts, leaves_like)]
    return jax.tree.unflatten(treedef, leaves)
