"""Greedy and beam-search decoding as compiled ``lax.while_loop`` s that stop at ``<eos>``."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from jaxrnn.seq2seq.model import Memory, Seq2Seq, decoder_step, encode, initial_decoder_state
from jaxrnn.text.vocab import EOS_ID, GO_ID, PAD_ID

Array = jax.Array
Params = Any


class Decoded(NamedTuple):
    """Decoder output.

    Attributes:
      ids: int32 ``[B, L]``: words, then ``<eos>``, then ``<pad>`` (no ``<eos>`` if cut at ``max_length``).
      length: int32 ``[B]``: words emitted including ``<eos>``.
      score: ``[B]``: the log-probability of ``ids`` under the model (up to and including ``<eos>``).
    """

    ids: Array
    length: Array
    score: Array


def _check(source, source_length, max_length) -> None:
    if not isinstance(max_length, int) or max_length <= 0:
        raise ValueError(f"max_length must be a positive int; got {max_length!r}")
    if getattr(source, "ndim", None) != 2 or getattr(source_length, "shape", None) != source.shape[:1]:
        raise ValueError(
            f"source must be int [B, S] and source_length [B]; got {getattr(source, 'shape', source)}, "
            f"{getattr(source_length, 'shape', source_length)}"
        )


def greedy_decode(
    model: Seq2Seq, params: Params, source: Array, source_length: Array, *, max_length: int
) -> Decoded:
    """Feed each step's most probable word back as the next input (Figure 14-16).

    Args:
      source: int ``[B, S]`` (reversed as in training), source_length: int ``[B]``.
      max_length: L, the most words (``<eos>`` included) to emit.

    Returns:
      A :class:`Decoded`. The loop stops once every sentence has emitted ``<eos>``.
    """
    _check(source, source_length, max_length)
    memory, enc_state = encode(model, params, source, source_length)
    batch = source.shape[0]
    state = initial_decoder_state(model, enc_state, batch, memory.outputs.dtype)
    init = (
        jnp.int32(0),
        state,
        jnp.full((batch,), GO_ID, jnp.int32),
        jnp.full((batch, max_length), PAD_ID, jnp.int32),
        jnp.zeros((batch,), bool),
        jnp.zeros((batch,), jnp.int32),
        jnp.zeros((batch,), memory.outputs.dtype),
    )

    def cond(c):
        t, _, _, _, done, _, _ = c
        return (t < max_length) & ~jnp.all(done)

    def body(c):
        t, state, prev, ids, done, length, score = c
        state, logits = decoder_step(model, params, state, prev, memory)
        logp = jax.nn.log_softmax(logits, axis=-1)
        word = jnp.argmax(logp, axis=-1).astype(jnp.int32)
        word_logp = jnp.take_along_axis(logp, word[:, None], axis=-1)[:, 0]
        word = jnp.where(done, PAD_ID, word)
        ids = ids.at[:, t].set(word)
        score = score + jnp.where(done, 0.0, word_logp).astype(score.dtype)
        length = length + (~done).astype(jnp.int32)
        done = done | (word == EOS_ID)
        return t + 1, state, word, ids, done, length, score

    _, _, _, ids, _, length, score = lax.while_loop(cond, body, init)
    return Decoded(ids, length, score)


def _tile(x: Array, k: int) -> Array:
    """``[B, ...] -> [B * k, ...]``, each row repeated k times."""
    return jnp.repeat(x, k, axis=0)


def gnmt_length_penalty(length: Array, alpha: float | Array) -> Array:
    """GNMT's length penalty (Wu et al. 2016, eq. 14): ``((5 + length) / 6) ** alpha``.

    A hypothesis is ranked by ``log P(Y | X) / gnmt_length_penalty(|Y|, alpha)``: ``alpha = 0`` ranks by
    the raw log-probability (which favours short outputs), larger ``alpha`` favours longer ones.
    """
    length = jnp.asarray(length)
    dtype = length.dtype if jnp.issubdtype(length.dtype, jnp.floating) else jnp.float32
    return ((5.0 + length.astype(dtype)) / 6.0) ** jnp.asarray(alpha, dtype)


def beam_search(
    model: Seq2Seq,
    params: Params,
    source: Array,
    source_length: Array,
    *,
    beam_width: int,
    max_length: int,
    length_penalty: float = 0.0,
) -> tuple[Decoded, Decoded]:
    """Keep the ``beam_width`` best partial translations of every sentence of the batch at every step.

    As TF's ``BeamSearchDecoder``: at each step the ``K * V`` continuations of a sentence's ``K``
    hypotheses are ranked by ``log P / gnmt_length_penalty(length, length_penalty)`` and the best ``K``
    kept; a finished hypothesis (it emitted ``<eos>``) has one continuation, ``<pad>``, at no cost, so it
    stays in the beam with its score frozen until better ones push it out. With ``K`` at least the
    number of possible hypotheses this is an exhaustive search.

    Args:
      source, source_length, max_length: as in :func:`greedy_decode`; all ``B`` sentences are decoded
        together.
      beam_width: K >= 1; K = 1 is greedy decoding.
      length_penalty: GNMT's alpha >= 0 (0: raw log-probability).

    Returns:
      ``(best, beams)``: ``best`` a :class:`Decoded` with ``[B, L]`` ids; ``beams`` with ``[B, K, L]`` ids,
      ``[B, K]`` lengths and raw log-probabilities, sorted best first by the length-penalised score.
    """
    _check(source, source_length, max_length)
    if not isinstance(beam_width, int) or isinstance(beam_width, bool) or beam_width <= 0:
        raise ValueError(f"beam_width must be a positive int; got {beam_width!r}")
    if isinstance(length_penalty, (int, float)) and not length_penalty >= 0:
        raise ValueError(f"length_penalty must be a number >= 0 (GNMT's alpha); got {length_penalty!r}")
    k = beam_width
    memory, enc_state = encode(model, params, source, source_length)
    batch = source.shape[0]
    memory = Memory(*(None if x is None else _tile(x, k) for x in memory))
    state = initial_decoder_state(
        model, jax.tree.map(lambda x: _tile(x, k), enc_state), batch * k, memory.outputs.dtype
    )
    dtype = memory.outputs.dtype
    # only beam 0 is live at first, so the k copies of <go> do not fill the beam with duplicates
    scores = jnp.tile(
        jnp.concatenate([jnp.zeros((1,), dtype), jnp.full((k - 1,), -jnp.inf, dtype)]), (batch, 1)
    )
    init = (
        jnp.int32(0),
        state,
        jnp.full((batch, k), GO_ID, jnp.int32),
        jnp.full((batch, k, max_length), PAD_ID, jnp.int32),
        jnp.zeros((batch, k), bool),
        jnp.zeros((batch, k), jnp.int32),
        scores,
    )

    def cond(c):
        t, _, _, _, done, _, _ = c
        return (t < max_length) & ~jnp.all(done)

    def body(c):
        t, state, prev, ids, done, length, scores = c
        state, logits = decoder_step(model, params, state, prev.reshape(-1), memory)
        logp = jax.nn.log_softmax(logits, axis=-1).reshape(batch, k, -1)
        vocab = logp.shape[-1]
        # a finished hypothesis has exactly one continuation, <pad>, costing nothing
        only_pad = jnp.where(jnp.arange(vocab) == PAD_ID, 0.0, -jnp.inf).astype(dtype)
        logp = jnp.where(done[..., None], only_pad[None, None, :], logp)
        total = scores[..., None] + logp  # [B, K, V] raw log-probabilities
        new_length = length + (~done).astype(jnp.int32)
        ranked = total / gnmt_length_penalty(new_length, length_penalty).astype(dtype)[..., None]
        _, flat = lax.top_k(ranked.reshape(batch, k * vocab), k)
        scores = jnp.take_along_axis(total.reshape(batch, k * vocab), flat, axis=1)
        parent = (flat // vocab).astype(jnp.int32)
        word = (flat % vocab).astype(jnp.int32)
        gather = lambda x: jnp.take_along_axis(x, parent.reshape(parent.shape + (1,) * (x.ndim - 2)), axis=1)
        ids, done, length = gather(ids), gather(done), gather(new_length)
        ids = ids.at[:, :, t].set(word)
        done = done | (word == EOS_ID)
        rows = (parent + jnp.arange(batch, dtype=jnp.int32)[:, None] * k).reshape(-1)
        state = jax.tree.map(lambda x: x[rows], state)
        return t + 1, state, word, ids, done, length, scores

    _, _, _, ids, _, length, scores = lax.while_loop(cond, body, init)
    norm = scores / gnmt_length_penalty(jnp.maximum(length, 1), length_penalty).astype(dtype)
    order = jnp.argsort(-norm, axis=1)
    ids = jnp.take_along_axis(ids, order[..., None], axis=1)
    length = jnp.take_along_axis(length, order, axis=1)
    scores = jnp.take_along_axis(scores, order, axis=1)
    return Decoded(ids[:, 0], length[:, 0], scores[:, 0]), Decoded(ids, length, scores)
