"""Encoder-decoder translation model (the book's ``embedding_rnn_seq2seq``) as pure functions."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from jaxrnn.cells import Cell
from jaxrnn.layers import embedding
from jaxrnn.seq2seq.attention import Attention, attend, bahdanau_attention, luong_attention
from jaxrnn.seq2seq.losses import sampled_softmax_loss, weighted_cross_entropy
from jaxrnn.unroll import dynamic_unroll

Array = jax.Array
Params = Any


class DecoderState(NamedTuple):
    """The decoder's carry between steps.

    Attributes:
      cell: the decoder cell's state (initialised with the encoder's final state).
      output: ``[B, D]``: the previous cell output (Bahdanau's query) or the previous attentional vector
        (Luong's input feeding); zeros before the first step.
    """

    cell: Any
    output: Array


class Memory(NamedTuple):
    """What the decoder reads from the encoder: outputs ``[B, S, H]``, attention keys and lengths ``[B]``."""

    outputs: Array
    keys: Array | None
    length: Array


class Seq2Seq(NamedTuple):
    """A translation model: sizes and sub-modules; all functions take ``params`` explicitly."""

    source_vocab_size: int
    target_vocab_size: int
    embed_size: int
    encoder: Cell
    decoder: Cell
    attention: Attention | None
    attention_size: int


def seq2seq_model(
    source_vocab_size: int,
    target_vocab_size: int,
    *,
    embed_size: int,
    encoder_cell: Cell,
    decoder_cell: Cell,
    attention: str | Attention | None = None,
    attention_size: int | None = None,
) -> Seq2Seq:
    """Describe an embedding encoder-decoder (Figures 14-15/14-16), optionally with attention.

    Args:
      source_vocab_size, target_vocab_size: vocabulary sizes (ids 0-2 are ``<pad> <go> <eos>``).
      embed_size: E, the size of both embeddings.
      encoder_cell: any jaxrnn cell or stack; its final state starts the decoder.
      decoder_cell: a cell with the same ``state_size`` as the encoder.
      attention: None/``"none"``, ``"bahdanau"``, ``"luong"`` or an :class:`Attention`.
      attention_size: hidden size of Bahdanau's scorer / Luong's attentional vector
        (default: the decoder's output size).
    """
    for name, v in (
        ("source_vocab_size", source_vocab_size),
        ("target_vocab_size", target_vocab_size),
        ("embed_size", embed_size),
    ):
        if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
            raise ValueError(f"{name} must be a positive int; got {v!r}")
    if not isinstance(encoder_cell, Cell) or not isinstance(decoder_cell, Cell):
        raise TypeError("encoder_cell and decoder_cell must be jaxrnn Cells")
    if jax.tree.structure(encoder_cell.state_size) != jax.tree.structure(decoder_cell.state_size) or (
        jax.tree.leaves(encoder_cell.state_size) != jax.tree.leaves(decoder_cell.state_size)
    ):
        raise ValueError(
            "decoder_cell.state_size must equal encoder_cell.state_size (the encoder's final state starts "
            f"the decoder); got {decoder_cell.state_size} and {encoder_cell.state_size}"
        )
    size = attention_size or decoder_cell.output_size
    if attention in (None, "none"):
        attention = None
    elif attention == "bahdanau":
        attention = bahdanau_attention(size)
    elif attention == "luong":
        attention = luong_attention()
    elif not isinstance(attention, Attention):
        raise ValueError(
            f"attention must be None, 'none', 'bahdanau', 'luong' or an Attention; got {attention!r}"
        )
    return Seq2Seq(
        source_vocab_size, target_vocab_size, embed_size, encoder_cell, decoder_cell, attention, size
    )


def _feed_size(model: Seq2Seq) -> int:
    """The size of ``DecoderState.output``: what Luong feeds back, or Bahdanau's query."""
    if model.attention is not None and model.attention.name == "luong":
        return model.attention_size
    return model.decoder.output_size


def init_params(model: Seq2Seq, key: Array, dtype: Any = jnp.float32) -> Params:
    """Fresh parameters: embeddings, encoder, decoder, attention and output layer.

    Returns:
      ``{"source_embedding": {"embeddings": [Vs, E]}, "target_embedding": {"embeddings": [Vt, E]},
      "encoder": ..., "decoder": ..., "output": {"w": [D, Vt], "b": [Vt]}}`` (and ``"attention"``).
    """
    ks = jax.random.split(key, 7)
    hidden = model.encoder.output_size
    dec_in = model.embed_size
    if model.attention is not None:
        dec_in += hidden if model.attention.name == "bahdanau" else model.attention_size
    out_in = model.decoder.output_size
    # {"embeddings": [V, E]} tables, so jaxrnn.freeze(optimizer, "embeddings") matches both of them
    params = {
        "source_embedding": embedding(model.source_vocab_size, model.embed_size).init(ks[0], dtype),
        "target_embedding": embedding(model.target_vocab_size, model.embed_size).init(ks[1], dtype),
        "encoder": model.encoder.init(ks[2], model.embed_size, dtype),
        "decoder": model.decoder.init(ks[3], dec_in, dtype),
    }
    if model.attention is not None:
        params["attention"] = model.attention.init(ks[4], model.decoder.output_size, hidden, dtype)
        if model.attention.name == "bahdanau":
            out_in += hidden
        else:
            limit = (6.0 / (out_in + hidden + model.attention_size)) ** 0.5
            params["w_attentional"] = jax.random.uniform(
                ks[5], (out_in + hidden, model.attention_size), dtype, -limit, limit
            )
            out_in = model.attention_size
    limit = (6.0 / (out_in + model.target_vocab_size)) ** 0.5
    params["output"] = {
        "w": jax.random.uniform(ks[6], (out_in, model.target_vocab_size), dtype, -limit, limit),
        "b": jnp.zeros((model.target_vocab_size,), dtype),
    }
    return params


def encode(model: Seq2Seq, params: Params, source: Array, source_length: Array) -> tuple[Memory, Any]:
    """Run the encoder over (already reversed) source ids.

    Args:
      source: int ``[B, S]``.
      source_length: int ``[B]``, each in ``[1, S]``.

    Returns:
      ``(memory, final_state)``; the state is frozen at each sentence's end (``dynamic_rnn`` masking).
    """
    x = jnp.take(params["source_embedding"]["embeddings"], source, axis=0)
    outputs, state = dynamic_unroll(model.encoder, params["encoder"], x, sequence_length=source_length)
    keys = None if model.attention is None else model.attention.keys(params["attention"], outputs)
    return Memory(outputs, keys, source_length), state


def initial_decoder_state(model: Seq2Seq, encoder_state: Any, batch_size: int, dtype: Any) -> DecoderState:
    """The decoder's first carry: the encoder's final state and a zero feedback vector."""
    return DecoderState(encoder_state, jnp.zeros((batch_size, _feed_size(model)), dtype))


def decoder_hidden(
    model: Seq2Seq, params: Params, state: DecoderState, prev_ids: Array, memory: Memory
) -> tuple[DecoderState, Array, Array | None]:
    """One decoder step up to the layer before the softmax.

    Args:
      state: the carry.
      prev_ids: int ``[B]``, the previous word (``<go>`` first; the true word when teacher forcing).
      memory: from :func:`encode`.

    Returns:
      ``(new_state, hidden [B, D], attention_weights [B, S] or None)``; logits are
      ``output_logits(params, hidden)``.
    """
    x = jnp.take(params["target_embedding"]["embeddings"], prev_ids, axis=0)
    return decoder_hidden_embedded(model, params, state, x, memory)


def decoder_hidden_embedded(
    model: Seq2Seq, params: Params, state: DecoderState, x: Array, memory: Memory
) -> tuple[DecoderState, Array, Array | None]:
    """:func:`decoder_hidden` from the previous word's embedding ``x [B, E]`` rather than its id.

    Teacher forcing looks up all the decoder's input words at once, outside the scan (see
    :func:`teacher_forced_hidden`).
    """
    att = model.attention
    weights = None
    if att is not None and att.name == "bahdanau":
        context, weights = attend(
            att, params["attention"], state.output, memory.outputs, memory.keys, memory.length
        )
        x = jnp.concatenate([x, context], axis=-1)
    elif att is not None:
        x = jnp.concatenate([x, state.output], axis=-1)  # input feeding
    cell_state, h = model.decoder.apply(params["decoder"], state.cell, x)
    if att is None:
        return DecoderState(cell_state, h), h, None
    if att.name == "bahdanau":
        return DecoderState(cell_state, h), jnp.concatenate([h, context], axis=-1), weights
    context, weights = attend(att, params["attention"], h, memory.outputs, memory.keys, memory.length)
    attentional = jnp.tanh(jnp.concatenate([h, context], axis=-1) @ params["w_attentional"])
    return DecoderState(cell_state, attentional), attentional, weights


def output_logits(params: Params, hidden: Array) -> Array:
    """The output layer: ``hidden [..., D] -> logits [..., V]``."""
    b = params["output"]["b"]
    return hidden @ params["output"]["w"] + b.reshape((1,) * (hidden.ndim - 1) + b.shape)


def decoder_step(
    model: Seq2Seq, params: Params, state: DecoderState, prev_ids: Array, memory: Memory
) -> tuple[DecoderState, Array]:
    """One decoder step: ``(new_state, logits [B, V])``."""
    state, hidden, _ = decoder_hidden(model, params, state, prev_ids, memory)
    return state, output_logits(params, hidden)


def teacher_forced_hidden(model: Seq2Seq, params: Params, source, source_length, decoder_input) -> Array:
    """The decoder's layer before the softmax, ``[B, T, D]``, when fed the true previous words."""
    return teacher_forced(model, params, source, source_length, decoder_input)[0]


def teacher_forced(
    model: Seq2Seq, params: Params, source, source_length, decoder_input
) -> tuple[Array, Array | None]:
    """The decoder fed the true previous words: ``(hidden [B, T, D], attention weights [B, T, S] or None)``.

    ``hidden`` is the layer before the softmax; the weights are None without attention (unused outputs
    of the scan are dropped when compiled, so training pays nothing for them).
    """
    memory, enc_state = encode(model, params, source, source_length)
    state0 = initial_decoder_state(model, enc_state, source.shape[0], memory.outputs.dtype)

    # every input word looked up once, time-major, before the scan: a lookup inside the scan would make
    # the backward pass add a dense [V, E] gradient of the embedding table into its carry at every step
    embedded = jnp.take(params["target_embedding"]["embeddings"], jnp.swapaxes(decoder_input, 0, 1), axis=0)

    def body(state, x):
        state, hidden, weights = decoder_hidden_embedded(model, params, state, x, memory)
        return state, (hidden, weights)

    _, (hidden, weights) = lax.scan(body, state0, embedded)
    return jnp.swapaxes(hidden, 0, 1), None if weights is None else jnp.swapaxes(weights, 0, 1)


def _check_batch(source, source_length, decoder_input, target, target_weights) -> None:
    if source.ndim != 2 or source_length.shape != source.shape[:1]:
        raise ValueError(
            f"source must be [B, S] and source_length [B]; got {source.shape}, {source_length.shape}"
        )
    if decoder_input.shape != target.shape or target.shape != target_weights.shape:
        raise ValueError(
            "decoder_input, target and target_weights must all be [B, T]; got "
            f"{decoder_input.shape}, {target.shape}, {target_weights.shape}"
        )


def logits_teacher_forced(model: Seq2Seq, params: Params, source, source_length, decoder_input) -> Array:
    """Decoder logits ``[B, T, V]`` when fed the true previous words (training)."""
    hidden = teacher_forced_hidden(model, params, source, source_length, decoder_input)
    return output_logits(params, hidden)


def loss_fn(
    model: Seq2Seq,
    params: Params,
    batch: Any,
    *,
    num_sampled: int | None = None,
    key: Array | None = None,
) -> Array:
    """Weighted cross-entropy of a :class:`jaxrnn.text.Batch` under teacher forcing.

    Args:
      batch: ``source, source_length, decoder_input, target, target_weights``.
      num_sampled: if given, the sampled softmax loss with this many samples (training on large
        vocabularies); None: the full softmax.
      key: PRNG key for sampled softmax.

    Returns:
      A scalar: ``sum(weights * loss) / sum(weights)``; padded positions count for nothing.
    """
    source, source_length, decoder_input, target, target_weights = batch
    _check_batch(source, source_length, decoder_input, target, target_weights)
    if num_sampled is None:
        logits = logits_teacher_forced(model, params, source, source_length, decoder_input)
        return weighted_cross_entropy(logits, target, target_weights)
    if key is None:
        raise ValueError("key is required when num_sampled is given (sampled softmax draws classes)")
    hidden = teacher_forced_hidden(model, params, source, source_length, decoder_input)
    flat = hidden.reshape(-1, hidden.shape[-1])
    losses = sampled_softmax_loss(
        params["output"]["w"].T,
        params["output"]["b"],
        flat,
        target.reshape(-1),
        num_sampled=num_sampled,
        key=key,
    )
    w = target_weights.reshape(-1).astype(losses.dtype)
    return jnp.sum(jnp.where(w > 0, losses * w, 0.0)) / jnp.maximum(jnp.sum(w), 1.0)
