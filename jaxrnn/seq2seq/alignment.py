"""Attention weights of a translation: which source words the decoder looked at for each word it wrote."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn.seq2seq.decoding import beam_search, greedy_decode
from jaxrnn.seq2seq.model import Seq2Seq, teacher_forced
from jaxrnn.text.bucketing import encode_source
from jaxrnn.text.vocab import EOS, EOS_ID, GO_ID, tokenize

Array = jax.Array
Params = Any


class Alignment(NamedTuple):
    """The attention of one translated sentence, ready for a heat map.

    Attributes:
      source_tokens: the S source tokens in reading order (not reversed; words missing from the
        vocabulary are shown as written, though the model read them as ``[UNK]``).
      target_tokens: the T emitted tokens, ending with ``"<eos>"`` when the decoder emitted it.
      weights: float ``[T, S]``: row t is the attention over ``source_tokens`` while emitting
        ``target_tokens[t]``; each row sums to 1.
    """

    source_tokens: list[str]
    target_tokens: list[str]
    weights: np.ndarray


def attention_weights(
    model: Seq2Seq, params: Params, source: Array, source_length: Array, decoder_input: Array
) -> Array:
    """The decoder's attention weights at every step when it is fed ``decoder_input`` (teacher forcing).

    Feeding a decoded sentence back as ``decoder_input`` (``<go>`` then its words) reproduces the
    weights the decoder used while decoding it.

    Args:
      model: a :class:`Seq2Seq` with attention.
      params: its params.
      source: int ``[B, S]`` source ids, as the encoder reads them (reversed when the model was trained so).
      source_length: int ``[B]``, each in ``[1, S]``.
      decoder_input: int ``[B, T]``: ``<go>`` followed by the target words.

    Returns:
      ``[B, T, S]`` weights over the encoder's positions; each row sums to 1 and is exactly 0 at and
      past ``source_length``.

    Raises:
      ValueError: the model has no attention, or the shapes disagree.
    """
    if model.attention is None:
        raise ValueError("model must have attention (attention='bahdanau' or 'luong'); got attention=None")
    if getattr(source, "ndim", None) != 2 or getattr(source_length, "shape", None) != source.shape[:1]:
        raise ValueError(
            f"source must be int [B, S] and source_length [B]; got {getattr(source, 'shape', source)}, "
            f"{getattr(source_length, 'shape', source_length)}"
        )
    if getattr(decoder_input, "ndim", None) != 2 or decoder_input.shape[0] != source.shape[0]:
        raise ValueError(
            f"decoder_input must be int [B, T] with B = {source.shape[0]} (the source's batch); "
            f"got {getattr(decoder_input, 'shape', decoder_input)}"
        )
    return _weights(model, params, source, source_length, decoder_input)


@jax.jit(static_argnums=0)
def _weights(model, params, source, source_length, decoder_input):
    return teacher_forced(model, params, source, source_length, decoder_input)[1]


@jax.jit(static_argnums=(0, 4, 5))
def _decode(model, params, source, length, max_length, beam_width):
    if beam_width == 1:
        return greedy_decode(model, params, source, length, max_length=max_length)
    return beam_search(model, params, source, length, beam_width=beam_width, max_length=max_length)[0]


def align(translator: Any, sentence: str, *, beam_width: int = 1) -> Alignment:
    """Translate one sentence and return the attention the decoder paid to each source word.

    Args:
      translator: a :class:`jaxrnn.seq2seq.Translator` trained with attention.
      sentence: the raw source sentence.
      beam_width: 1 for greedy decoding, more for beam search (the weights are those of the best beam).

    Returns:
      An :class:`Alignment` with the source in reading order (the reversal used for training is undone).

    Raises:
      ValueError: the translator has no attention, or the sentence has no token.
      TypeError: ``sentence`` is not a str.
    """
    if not isinstance(sentence, str):
        raise TypeError(f"sentence must be a str; got {type(sentence).__name__}")
    tr = translator
    if tr.model.attention is None:
        raise ValueError(
            f"translator must be trained with attention; got config.attention={tr.config.attention!r}"
        )
    tokens = tokenize(sentence)
    if not tokens:
        raise ValueError(f"sentence must hold at least one token; got {sentence!r}")
    ids = tr.source_vocab.encode(tokens)
    source, length = encode_source([ids], len(ids), reverse_source=tr.config.reverse_source)
    source, length = jnp.asarray(source), jnp.asarray(length)
    decoded = _decode(tr.model, tr.params, source, length, tr.config.max_length, beam_width)
    n = int(decoded.length[0])
    out = np.asarray(decoded.ids[0, :n])
    decoder_input = jnp.asarray(np.concatenate([[GO_ID], out[:-1]]).astype(np.int32)[None, :])
    weights = np.asarray(attention_weights(tr.model, tr.params, source, length, decoder_input))[0]
    if tr.config.reverse_source:
        weights = weights[:, ::-1]  # encoder position s read source word S-1-s
    target_tokens = [EOS if i == EOS_ID else tr.target_vocab.tokens[i] for i in out]
    return Alignment(tokens, target_tokens, np.ascontiguousarray(weights))
