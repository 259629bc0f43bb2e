"""Greedy and beam-search decoding: scores re-computed by teacher forcing, width 1 = greedy,
beam >= greedy, and beam search equal to exhaustive search on a tiny vocabulary."""

from __future__ import annotations

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrnn import gru_cell, lstm_cell
from jaxrnn.seq2seq import beam_search, greedy_decode, init_params, logits_teacher_forced, seq2seq_model
from jaxrnn.text import EOS_ID, GO_ID, PAD_ID

SOURCE = jnp.array([[5, 6, 7, 0], [4, 3, 0, 0], [6, 0, 0, 0]], jnp.int32)
LENGTH = jnp.array([3, 2, 1], jnp.int32)


@functools.cache
def _describe(attention, vocab, cell):
    # one model value per configuration, so jitted decoders compile once and are reused across tests
    return seq2seq_model(
        8, vocab, embed_size=5, encoder_cell=cell(6), decoder_cell=cell(6), attention=attention
    )


def _model(attention, vocab=6, cell=gru_cell, seed=0):
    model = _describe(attention, vocab, cell)
    params = init_params(model, jax.random.key(seed))
    # sharpen the output layer so untrained models make confident, varied choices
    params["output"]["w"] = params["output"]["w"] * 4.0
    return model, params


@jax.jit(static_argnums=0)
def _teacher_forced_logp(model, params, source, length, decoder_input):
    return jax.nn.log_softmax(logits_teacher_forced(model, params, source, length, decoder_input), axis=-1)


def _sequence_logprobs(model, params, source, length, ids, n):
    """log p(ids[i, :n[i]] | source[i]) for a batch of sequences, summed in float64 from teacher forcing."""
    ids = np.asarray(ids, np.int32)
    dec_in = np.concatenate([np.full((len(ids), 1), GO_ID, np.int32), ids[:, :-1]], 1)
    logp = np.asarray(_teacher_forced_logp(model, params, source, length, jnp.asarray(dec_in)), np.float64)
    return np.array([sum(logp[i, t, ids[i, t]] for t in range(n[i])) for i in range(len(ids))])


_greedy = jax.jit(greedy_decode, static_argnums=0, static_argnames="max_length")
_beam = jax.jit(beam_search, static_argnums=0, static_argnames=("max_length", "beam_width", "length_penalty"))


@pytest.mark.parametrize("attention", ["none", "bahdanau", "luong"])
def test_greedy_score_is_the_teacher_forced_logprob_and_stops_at_eos(attention):
    model, params = _model(attention)  # small vocabulary: <eos> comes early
    out = _greedy(model, params, SOURCE, LENGTH, max_length=6)
    ref = _sequence_logprobs(model, params, SOURCE, LENGTH, out.ids, np.asarray(out.length))
    np.testing.assert_allclose(np.asarray(out.score), ref, rtol=1e-4, atol=1e-4)
    for b in range(3):
        ids, n = np.asarray(out.ids[b]), int(out.length[b])
        if EOS_ID in ids[:n]:
            assert ids[n - 1] == EOS_ID and (ids[n:] == PAD_ID).all()
        else:
            assert n == 6


@pytest.mark.parametrize(
    "attention, cell", [("none", gru_cell), ("bahdanau", gru_cell), ("luong", gru_cell), ("luong", lstm_cell)]
)
def test_beam_width_one_is_greedy(attention, cell):
    model, params = _model(attention, cell=cell)
    g = _greedy(model, params, SOURCE, LENGTH, max_length=6)
    best, beams = _beam(model, params, SOURCE, LENGTH, beam_width=1, max_length=6)
    np.testing.assert_array_equal(best.ids, g.ids)
    np.testing.assert_array_equal(best.length, g.length)
    np.testing.assert_allclose(best.score, g.score, rtol=1e-5, atol=1e-5)
    assert beams.ids.shape == (3, 1, 6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_beam_best_score_at_least_greedy_and_scores_are_model_logprobs(seed):
    model, params = _model("luong", seed=seed)
    g = _greedy(model, params, SOURCE, LENGTH, max_length=6)
    best, beams = _beam(model, params, SOURCE, LENGTH, beam_width=4, max_length=6)
    assert (np.asarray(best.score) >= np.asarray(g.score) - 1e-5).all()
    ref = _sequence_logprobs(
        model,
        params,
        jnp.repeat(SOURCE, 4, 0),
        jnp.repeat(LENGTH, 4, 0),
        beams.ids.reshape(12, 6),
        np.asarray(beams.length).reshape(12),
    )
    np.testing.assert_allclose(np.asarray(beams.score).reshape(12), ref, rtol=1e-4, atol=1e-4)
    assert (np.diff(np.asarray(beams.score), axis=1) <= 1e-6).all()  # sorted best first


def test_wide_beam_equals_exhaustive_search():
    vocab, length = 4, 3  # <pad> <go> <eos> and one word
    model, params = _model("bahdanau", vocab=vocab, seed=3)
    src, n = SOURCE[:1], LENGTH[:1]
    seqs, sizes = [], []
    for size in range(1, length + 1):
        for seq in itertools.product(range(vocab), repeat=size):
            # a hypothesis ends at its first <eos>, or is cut at max_length
            if EOS_ID in seq[:-1] or (size < length and seq[-1] != EOS_ID):
                continue
            seqs.append(list(seq) + [PAD_ID] * (length - size))
            sizes.append(size)
    k = len(seqs)
    best_ref = _sequence_logprobs(
        model, params, jnp.repeat(src, k, 0), jnp.repeat(n, k, 0), seqs, sizes
    ).max()
    best, _ = beam_search(model, params, src, n, beam_width=16, max_length=length)
    np.testing.assert_allclose(float(best.score[0]), best_ref, rtol=1e-4, atol=1e-4)


def test_length_penalty_ranks_by_mean_logprob():
    model, params = _model("none", seed=4)
    _, beams = _beam(model, params, SOURCE, LENGTH, beam_width=4, max_length=6, length_penalty=1.0)
    mean = np.asarray(beams.score) / np.asarray(beams.length)
    assert (np.diff(mean, axis=1) <= 1e-5).all()


def test_bad_arguments():
    model, params = _model("none")
    with pytest.raises(ValueError, match="max_length must be a positive int; got 0"):
        _greedy(model, params, SOURCE, LENGTH, max_length=0)
    with pytest.raises(ValueError, match="beam_width must be a positive int; got 0"):
        beam_search(model, params, SOURCE, LENGTH, beam_width=0, max_length=3)
    with pytest.raises(
        ValueError, match=r"source must be int \[B, S\] and source_length \[B\]; got \(3, 4\), \(2,\)"
    ):
        greedy_decode(model, params, SOURCE, LENGTH[:2], max_length=3)
