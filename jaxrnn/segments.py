"""Packed rows: ``segment_ids`` checks and the valid/reset masks they imply.

A row of ``segment_ids: [batch, time]`` ints holds several sequences one after
another: where the id changes, the state restarts from the row's initial
state; id 0 marks trailing padding (zero outputs, frozen state). So
``[[1, 1, 1, 2, 2, 0]]`` is a 3-step sequence, a 2-step sequence and one
padded step. Ids need not increase, only change at a boundary.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn import checks

Array = jax.Array


class SegmentMasks(NamedTuple):
    """Time-major masks ``[time, batch]``: ``valid`` (not padding), ``reset`` (a new segment starts)."""

    valid: Array
    reset: Array


def check_segment_ids(segment_ids: Any, batch_size: int, num_steps: int) -> Array:
    """Check ``segment_ids`` is ``[batch, time]`` non-negative ints with only trailing zeros; return int32.

    Values are checked only when concrete (not under ``jit``).

    Raises:
      TypeError: not an integer array.
      ValueError: wrong shape, a negative id, or a 0 (padding) before a non-zero id.
    """
    if not hasattr(segment_ids, "dtype"):
        segment_ids = np.asarray(segment_ids)
    if not jnp.issubdtype(segment_ids.dtype, jnp.integer) or segment_ids.dtype == np.bool_:
        raise TypeError(f"segment_ids must have an integer dtype; got {segment_ids.dtype}")
    if tuple(segment_ids.shape) != (batch_size, num_steps):
        raise ValueError(
            f"segment_ids must have shape [batch, time] = ({batch_size}, {num_steps}); "
            f"got shape {tuple(segment_ids.shape)}"
        )
    if checks.is_concrete(segment_ids) and segment_ids.size:
        values = np.asarray(segment_ids)
        if (values < 0).any():
            b, t = np.argwhere(values < 0)[0]
            raise ValueError(f"segment_ids must be >= 0; got segment_ids[{b}, {t}] = {int(values[b, t])}")
        # a non-zero id after a zero: padding is allowed only at the end of a row
        seen_pad = np.maximum.accumulate(values == 0, axis=1)
        late = seen_pad & (values != 0)
        if late.any():
            b, t = np.argwhere(late)[0]
            raise ValueError(
                f"segment_ids may use 0 (padding) only at the end of a row; got id {int(values[b, t])} "
                f"at segment_ids[{b}, {t}] after a 0"
            )
    return jnp.asarray(segment_ids, jnp.int32)


def check_masking(
    sequence_length: Any, segment_ids: Any, batch_size: int, num_steps: int
) -> SegmentMasks | None:
    """Check the two masking keywords (at most one may be given); return time-major masks or None.

    Args:
      sequence_length: ``[batch]`` ints in ``[0, time]`` or None.
      segment_ids: ``[batch, time]`` ints or None.
      batch_size, num_steps: B and T of the inputs.

    Returns:
      :class:`SegmentMasks` ``[time, batch]`` each, or None when neither is given.

    Raises:
      ValueError: both are given, or either is malformed (see :func:`check_segment_ids`).
    """
    if sequence_length is not None and segment_ids is not None:
        raise ValueError(
            "pass either sequence_length or segment_ids, not both; got both "
            "(segment_ids already marks each row's padding with id 0)"
        )
    if segment_ids is not None:
        return segment_masks(check_segment_ids(segment_ids, batch_size, num_steps))
    lengths = checks.check_sequence_length(sequence_length, batch_size, num_steps)
    if lengths is None:
        return None
    t = jnp.arange(num_steps, dtype=jnp.int32)[:, None]
    valid = t < lengths[None, :]
    return SegmentMasks(valid, jnp.zeros_like(valid))


def segment_masks(segment_ids: Array) -> SegmentMasks:
    """Time-major ``valid`` and ``reset`` masks ``[time, batch]`` from ``segment_ids: [batch, time]``.

    ``reset[t]`` is True where ``t > 0`` starts a new non-padding segment; step 0
    starts from the initial state anyway.
    """
    ids = jnp.swapaxes(segment_ids, 0, 1)
    valid = ids != 0
    changed = jnp.concatenate([jnp.zeros_like(valid[:1]), ids[1:] != ids[:-1]], axis=0)
    return SegmentMasks(valid, changed & valid)


def segment_lengths(segment_ids: Any) -> list[list[int]]:
    """Each row's segment lengths, in order (padding left out), read on the host.

    >>> segment_lengths([[1, 1, 2, 0], [3, 3, 3, 3]])
    [[2, 1], [4]]
    """
    rows = np.asarray(segment_ids)
    out = []
    for row in rows:
        lengths: list[int] = []
        for t, v in enumerate(row):
            if v == 0:
                break
            if t == 0 or v != row[t - 1]:
                lengths.append(0)
            lengths[-1] += 1
        out.append(lengths)
    return out
