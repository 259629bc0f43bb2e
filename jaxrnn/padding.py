"""Masks from token ids: ``sequence_length`` and ``segment_ids`` from a padding id (Keras ``mask_zero``).

Keras's ``Embedding(mask_zero=True)`` makes a boolean mask that later layers
consume implicitly; here the same information comes back as the explicit
``sequence_length`` (or ``segment_ids`` for packed rows) that every jaxrnn
unroller takes, so nothing is hidden in a layer.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn import checks
from jaxrnn.layers import Embedding, Params

Array = jax.Array


class PaddedTokens(NamedTuple):
    """Embedded ids and their masks.

    Attributes:
      inputs: ``[B, T, E]``, zero at padding.
      sequence_length: ``[B]`` int32.
      segment_ids: ``[B, T]`` int32, 0 at padding.
    """

    inputs: Array
    sequence_length: Array
    segment_ids: Array


def _check_ids(ids: Any, pad_id: Any) -> Array:
    if not hasattr(ids, "dtype") or not jnp.issubdtype(ids.dtype, jnp.integer) or ids.dtype == np.bool_:
        raise TypeError(
            f"ids must be an integer array [batch, time]; got {getattr(ids, 'dtype', type(ids).__name__)}"
        )
    if ids.ndim != 2:
        raise ValueError(f"ids must have rank 2 [batch, time]; got shape {tuple(ids.shape)}")
    if not isinstance(pad_id, int) or isinstance(pad_id, bool):
        raise TypeError(f"pad_id must be an int; got {pad_id!r}")
    if checks.is_concrete(ids) and ids.size:
        values = np.asarray(ids)
        is_pad = values == pad_id
        late = np.maximum.accumulate(is_pad, axis=1) & ~is_pad
        if late.any():
            b, t = np.argwhere(late)[0]
            raise ValueError(
                f"ids may hold pad_id={pad_id} only at the end of a row (trailing padding); "
                f"got token {int(values[b, t])} at ids[{b}, {t}] after a pad"
            )
    return jnp.asarray(ids)


def lengths_from_padding(ids: Array, *, pad_id: int = 0) -> Array:
    """Each row's length: the position of its first ``pad_id`` (``time`` when there is none).

    Args:
      ids: ``[batch, time]`` ints, padding at the end of each row.
      pad_id: the padding token (Keras ``mask_zero`` is ``pad_id=0``).

    Returns:
      ``sequence_length: [batch]`` int32.

    >>> lengths_from_padding(jnp.array([[5, 3, 0, 0], [2, 2, 2, 9]]))
    Array([2, 4], dtype=int32)
    """
    ids = _check_ids(ids, pad_id)
    # count leading non-pad tokens, so a traced (unchecked) stray pad still ends the row
    return jnp.sum(jnp.cumprod((ids != pad_id).astype(jnp.int32), axis=1), axis=1).astype(jnp.int32)


def segment_ids_from_tokens(ids: Array, *, pad_id: int = 0, eos_id: int | None = None) -> Array:
    """``segment_ids`` for packed rows: a new segment starts after each ``eos_id``; 0 at padding.

    Args:
      ids: ``[batch, time]`` ints, padding at the end of each row.
      pad_id: the padding token.
      eos_id: the token that ends each packed sequence (it belongs to the
        sequence it ends); None: one segment per row.

    Returns:
      ``[batch, time]`` int32: 1, 2, ... per segment, 0 at padding.

    >>> segment_ids_from_tokens(jnp.array([[4, 1, 7, 8, 1, 0]]), eos_id=1)
    Array([[1, 1, 2, 2, 2, 0]], dtype=int32)
    """
    ids = _check_ids(ids, pad_id)
    if eos_id is not None and (not isinstance(eos_id, int) or isinstance(eos_id, bool) or eos_id == pad_id):
        raise ValueError(f"eos_id must be an int other than pad_id={pad_id}, or None; got {eos_id!r}")
    valid = (
        jnp.arange(ids.shape[1], dtype=jnp.int32)[None, :] < lengths_from_padding(ids, pad_id=pad_id)[:, None]
    )
    if eos_id is None:
        segment = jnp.ones(ids.shape, jnp.int32)
    else:
        ends = (ids == eos_id).astype(jnp.int32)
        segment = 1 + jnp.cumsum(ends, axis=1) - ends  # an eos closes its own segment
    return jnp.where(valid, segment, jnp.zeros_like(segment))


def embed_padded(
    embedding: Embedding, params: Params, ids: Array, *, pad_id: int = 0, eos_id: int | None = None
) -> PaddedTokens:
    """Look ids up and derive their masks in one call (Keras ``Embedding(mask_zero=True)``, made explicit).

    Args:
      embedding: a :class:`~jaxrnn.Embedding`.
      params: its parameters.
      ids: ``[batch, time]`` ints, trailing ``pad_id`` padding.
      pad_id: the padding token.
      eos_id: see :func:`segment_ids_from_tokens`.

    Returns:
      :class:`PaddedTokens`; pass ``sequence_length`` (one sequence per row) or
      ``segment_ids`` (packed rows) to an unroller. Padded inputs are zero, so
      the padding row of the table gets no gradient.
    """
    if not isinstance(embedding, Embedding):
        raise TypeError(
            f"embedding must be a jaxrnn Embedding (jaxrnn.embedding(...)); got {type(embedding).__name__}"
        )
    segment_ids = segment_ids_from_tokens(ids, pad_id=pad_id, eos_id=eos_id)
    lengths = lengths_from_padding(ids, pad_id=pad_id)
    x = embedding.lookup(params, jnp.asarray(ids))
    x = jnp.where((segment_ids != 0)[..., None], x, jnp.zeros_like(x))
    return PaddedTokens(x, lengths, segment_ids)
