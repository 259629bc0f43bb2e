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


def _all_hypotheses(vocab, length):
    """Every output a decoder can emit: ends at its first <eos>, or is cut at max_length."""
    seqs, sizes = [], []
    for size in range(1, length + 1):
        for seq in itertools.product(range(vocab), repeat=size):
            if EOS_ID in seq[:-1] or (size < length and seq[-1] != EOS_ID):
                continue
            seqs.append(list(seq) + [PAD_ID] * (length - size))
            sizes.append(size)
    return seqs, np.array(sizes)


@pytest.mark.parametrize("alpha", [0.0, 0.6, 2.0])
def test_wide_beam_equals_brute_force_search_with_gnmt_length_penalty(alpha):
    vocab, length = 5, 3  # <pad> <go> <eos> and two words: 5 + 4 * 5 + 16 * 5 = 105 hypotheses
    model, params = _model("bahdanau", vocab=vocab, seed=3)
    seqs, sizes = _all_hypotheses(vocab, length)
    best_ids = []
    for b in range(2):
        src, n = SOURCE[b : b + 1], LENGTH[b : b + 1]
        k = len(seqs)
        logp = _sequence_logprobs(model, params, jnp.repeat(src, k, 0), jnp.repeat(n, k, 0), seqs, sizes)
        # GNMT (Wu et al. 2016, eq. 14), written out here: lp(Y) = (5 + |Y|)^alpha / 6^alpha
        ranked = logp / ((5.0 + sizes) ** alpha / 6.0**alpha)
        best_ids.append(seqs[int(np.argmax(ranked))])
        assert np.sort(ranked)[-1] - np.sort(ranked)[-2] > 1e-4  # a unique optimum
    # the two sentences are decoded together, in one batch
    best, _ = _beam(
        model, params, SOURCE[:2], LENGTH[:2], beam_width=128, max_length=length, length_penalty=alpha
    )
    np.testing.assert_array_equal(np.asarray(best.ids), np.array(best_ids))


def test_batched_beam_search_equals_one_sentence_at_a_time():
    model, params = _model("luong", vocab=9, seed=5)
    batched, beams = _beam(model, params, SOURCE, LENGTH, beam_width=3, max_length=5, length_penalty=0.6)
    for b in range(3):
        one, _ = _beam(
            model,
            params,
            SOURCE[b : b + 1],
            LENGTH[b : b + 1],
            beam_width=3,
            max_length=5,
            length_penalty=0.6,
        )
        np.testing.assert_array_equal(np.asarray(one.ids[0]), np.asarray(batched.ids[b]))
        np.testing.assert_allclose(float(one.score[0]), float(batched.score[b]), rtol=1e-5, atol=1e-5)
    lp = ((5.0 + np.asarray(beams.length)) / 6.0) ** 0.6
    assert (np.diff(np.asarray(beams.score) / lp, axis=1) <= 1e-5).all()  # sorted by the penalised score


def test_bad_arguments():
    model, params = _model("none")
    with pytest.raises(ValueError, match="max_length must be a positive int; got 0"):
        _greedy(model, params, SOURCE, LENGTH, max_length=0)
    with pytest.raises(ValueError, match="beam_width must be a positive int; got 0"):
        beam_search(model, params, SOURCE, LENGTH, beam_width=0, max_length=3)
    with pytest.raises(ValueError, match="length_penalty must be a number >= 0"):
        beam_search(model, params, SOURCE, LENGTH, beam_width=2, max_length=3, length_penalty=-1.0)
    with pytest.raises(
        ValueError, match=r"source must be int \[B, S\] and source_length \[B\]; got \(3, 4\), \(2,\)"
    ):
        greedy_decode(model, params, SOURCE, LENGTH[:2], max_length=3)
