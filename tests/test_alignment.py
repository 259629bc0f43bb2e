"""Attention weights of a translation against a float64 NumPy encoder-decoder written from the equations."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpy_reference import dynamic_rnn, gru_step

from jaxrnn import gru_cell
from jaxrnn.seq2seq import (
    Translator,
    TranslatorConfig,
    align,
    attention_weights,
    init_params,
    seq2seq_model,
    translate,
)
from jaxrnn.text import EOS, EOS_ID, GO_ID, PAD_ID, build_vocabulary, tokenize

SOURCE = np.array([[5, 6, 7, 4], [4, 3, 0, 0], [6, 0, 0, 0]], np.int32)  # <pad> = 0 past each length
LENGTH = np.array([4, 2, 1], np.int32)
DECODER_INPUT = np.array([[GO_ID, 4, 5], [GO_ID, 3, 3], [GO_ID, 5, 4]], np.int32)


@functools.cache
def _model(attention, src_vocab=8, tgt_vocab=6):
    return seq2seq_model(
        src_vocab,
        tgt_vocab,
        embed_size=5,
        encoder_cell=gru_cell(6),
        decoder_cell=gru_cell(6),
        attention=attention,
    )


def _masked_softmax(scores, n):
    w = np.zeros_like(scores)
    e = np.exp(scores[:n] - scores[:n].max())
    w[:n] = e / e.sum()
    return w


def numpy_weights(attention, params, source, length, decoder_input):
    """[B, T, S] weights: GRU encoder (dynamic_rnn masking), then the decoder one word at a time."""
    p = jax.tree.map(lambda x: np.asarray(x, np.float64), params)
    x = p["source_embedding"]["embeddings"][source]
    enc_step = lambda h, x_t: gru_step(p["encoder"], h, x_t)
    memory, final = dynamic_rnn(enc_step, np.zeros((len(source), 6)), x, sequence_length=length)
    batch, steps = decoder_input.shape
    out = np.zeros((batch, steps, source.shape[1]))
    for b in range(batch):
        h, feed, m, n = final[b], np.zeros(6), memory[b], length[b]
        for t in range(steps):
            e = p["target_embedding"]["embeddings"][decoder_input[b, t]]
            if attention == "bahdanau":
                # query: the previous decoder output (documented as zeros before the first step);
                # the context joins the cell's input
                a = p["attention"]
                q = feed @ a["w_query"]
                scores = np.array([a["v"] @ np.tanh(m[s] @ a["w_memory"] + q) for s in range(len(m))])
                w = _masked_softmax(scores, n)
                h = gru_step(p["decoder"], h[None], np.concatenate([e, w @ m])[None])[0][0]
                feed = h
            else:  # Luong: the previous attentional vector is fed in; query: the new output
                h = gru_step(p["decoder"], h[None], np.concatenate([e, feed])[None])[0][0]
                scores = np.array([h @ (m[s] @ p["attention"]["w"]) for s in range(len(m))])
                w = _masked_softmax(scores, n)
                feed = np.tanh(np.concatenate([h, w @ m]) @ p["w_attentional"])
            out[b, t] = w
    return out


@pytest.mark.parametrize("attention", ["bahdanau", "luong"])
def test_attention_weights_match_numpy_sum_to_one_and_are_zero_on_padding(attention):
    model = _model(attention)
    params = init_params(model, jax.random.key(1))
    got = np.asarray(
        attention_weights(model, params, jnp.asarray(SOURCE), jnp.asarray(LENGTH), DECODER_INPUT)
    )
    ref = numpy_weights(attention, params, SOURCE, LENGTH, DECODER_INPUT)
    assert got.shape == (3, 3, 4)
    np.testing.assert_allclose(got, ref, atol=2e-5)
    np.testing.assert_allclose(got.sum(-1), 1.0, atol=1e-6)
    for b, n in enumerate(LENGTH):
        assert (got[b, :, n:] == 0.0).all()


PAIRS = [("one two three", "un deux trois"), ("four five", "quatre cinq"), ("six", "six")]


@functools.cache
def _translator(attention="luong", reverse_source=True):
    src = build_vocabulary(tokenize(s) for s, _ in PAIRS)
    tgt = build_vocabulary(tokenize(t) for _, t in PAIRS)
    config = TranslatorConfig(
        num_units=6, embed_size=5, attention=attention, reverse_source=reverse_source, max_length=5
    )
    model = _model(attention, len(src), len(tgt))
    params = init_params(model, jax.random.key(3))
    # sharpen the output layer so the untrained model emits varied words and sometimes <eos>,
    # and never <pad>/<go> (which translate() would drop from its string)
    params["output"]["w"] = params["output"]["w"] * 4.0
    params["output"]["b"] = params["output"]["b"].at[jnp.array([PAD_ID, GO_ID])].set(-30.0)
    return Translator(config, model, params, src, tgt)


@pytest.mark.parametrize("reverse_source", [True, False])
@pytest.mark.parametrize("beam_width", [1, 3])
def test_align_reads_the_source_in_order_and_matches_the_decoded_sentence(reverse_source, beam_width):
    tr = _translator(reverse_source=reverse_source)
    sentence = "two three five one"
    a = align(tr, sentence, beam_width=beam_width)
    assert a.source_tokens == ["two", "three", "five", "one"]
    # the words are those translate() returns; <eos> closes them when the decoder emitted it
    words = a.target_tokens[:-1] if a.target_tokens[-1:] == [EOS] else a.target_tokens
    assert " ".join(words) == translate(tr, [sentence], beam_width=beam_width)[0]
    assert len(a.target_tokens) == 5 or a.target_tokens[-1] == EOS
    # the NumPy model reads the source reversed by hand; its columns flipped back give reading order
    ids = np.array(tr.source_vocab.encode(a.source_tokens), np.int32)
    fed = ids[::-1] if reverse_source else ids
    out_ids = [EOS_ID if t == EOS else tr.target_vocab.index[t] for t in a.target_tokens]
    dec_in = np.array([[GO_ID, *out_ids[:-1]]], np.int32)
    ref = numpy_weights("luong", tr.params, fed[None], np.array([4], np.int32), dec_in)[0]
    if reverse_source:
        ref = ref[:, ::-1]
    assert a.weights.shape == (len(a.target_tokens), 4)
    np.testing.assert_allclose(a.weights, ref, atol=2e-5)


def test_bad_arguments():
    model = _model(None)
    params = init_params(model, jax.random.key(0))
    with pytest.raises(ValueError, match="model must have attention.*got attention=None"):
        attention_weights(model, params, jnp.asarray(SOURCE), jnp.asarray(LENGTH), DECODER_INPUT)
    model = _model("luong")
    params = init_params(model, jax.random.key(0))
    with pytest.raises(ValueError, match=r"decoder_input must be int \[B, T\] with B = 3.*got \(2, 3\)"):
        attention_weights(model, params, jnp.asarray(SOURCE), jnp.asarray(LENGTH), DECODER_INPUT[:2])
    with pytest.raises(ValueError, match=r"source must be int \[B, S\] and source_length \[B\]; got \(4,\)"):
        attention_weights(model, params, jnp.asarray(SOURCE[0]), jnp.asarray(LENGTH), DECODER_INPUT)
    tr = _translator()
    with pytest.raises(TypeError, match="sentence must be a str; got list"):
        align(tr, ["one"])
    with pytest.raises(ValueError, match="sentence must hold at least one token; got ' '"):
        align(tr, " ")
    no_attention = tr._replace(model=_model(None, len(tr.source_vocab), len(tr.target_vocab)))
    with pytest.raises(ValueError, match="translator must be trained with attention"):
        align(no_attention, "one")
