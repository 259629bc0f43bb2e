"""Bahdanau (additive) and Luong (multiplicative) attention over encoder outputs, masked by source length."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

Array = jax.Array
Params = Any


class Attention(NamedTuple):
    """An attention mechanism as pure functions.

    Attributes:
      init: ``init(key, query_size, memory_size, dtype=float32) -> params``.
      keys: ``keys(params, memory [B, S, M]) -> keys``: the query-independent part, computed once per
        source sentence, not once per decoder step.
      score: ``score(params, query [B, Q], keys) -> [B, S]`` unnormalised scores.
      name: ``"bahdanau"`` or ``"luong"``.
    """

    init: Callable[..., Params]
    keys: Callable[[Params, Array], Array]
    score: Callable[[Params, Array, Array], Array]
    name: str


def _uniform(key: Array, shape: tuple[int, ...], dtype: Any) -> Array:
    limit = (6.0 / sum(shape)) ** 0.5  # Glorot uniform
    return jax.random.uniform(key, shape, dtype, -limit, limit)


def bahdanau_attention(num_units: int) -> Attention:
    """Additive attention (Bahdanau et al. 2015): ``score_s = v . tanh(W_m m_s + W_q q)``.

    Args:
      num_units: A, the size of the hidden layer of the scoring network.
    """
    if not isinstance(num_units, int) or num_units <= 0:
        raise ValueError(f"num_units must be a positive int; got {num_units!r}")

    def init(key: Array, query_size: int, memory_size: int, dtype: Any = jnp.float32) -> Params:
        k1, k2, k3 = jax.random.split(key, 3)
        return {
            "w_memory": _uniform(k1, (memory_size, num_units), dtype),
            "w_query": _uniform(k2, (query_size, num_units), dtype),
            "v": _uniform(k3, (num_units, 1), dtype)[:, 0],
        }

    def keys(params: Params, memory: Array) -> Array:
        return memory @ params["w_memory"]

    def score(params: Params, query: Array, keys: Array) -> Array:
        q = (query @ params["w_query"])[:, None, :]
        return jnp.tanh(keys + q) @ params["v"]

    return Attention(init, keys, score, "bahdanau")


def luong_attention() -> Attention:
    """Multiplicative "general" attention (Luong et al. 2015): ``score_s = q . W m_s``."""

    def init(key: Array, query_size: int, memory_size: int, dtype: Any = jnp.float32) -> Params:
        return {"w": _uniform(key, (memory_size, query_size), dtype)}

    def keys(params: Params, memory: Array) -> Array:
        return memory @ params["w"]

    def score(params: Params, query: Array, keys: Array) -> Array:
        return jnp.einsum("bsq,bq->bs", keys, query)

    return Attention(init, keys, score, "luong")


def source_mask(memory_length: Array, source_width: int) -> Array:
    """``[B, S]`` booleans, True on the first ``memory_length[b]`` positions."""
    return jnp.arange(source_width, dtype=jnp.int32)[None, :] < memory_length.astype(jnp.int32)[:, None]


def attend(
    attention: Attention, params: Params, query: Array, memory: Array, keys: Array, memory_length: Array
) -> tuple[Array, Array]:
    """Attention weights over the valid source positions and the context vector.

    Args:
      attention: the mechanism.
      params: its params.
      query: ``[B, Q]``, the decoder's state.
      memory: ``[B, S, M]`` encoder outputs.
      keys: ``attention.keys(params, memory)``.
      memory_length: int ``[B]`` source lengths (each >= 1); positions past them get weight exactly 0.

    Returns:
      ``(context [B, M], weights [B, S])``; each row of ``weights`` sums to 1.
    """
    scores = attention.score(params, query, keys)
    mask = source_mask(memory_length, memory.shape[1])
    # -inf, not a large negative number, so padded positions get exactly 0 weight
    weights = jax.nn.softmax(jnp.where(mask, scores, -jnp.inf), axis=-1)
    context = jnp.einsum("bs,bsm->bm", weights, memory)
    return context, weights
