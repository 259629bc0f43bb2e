"""Bahdanau and Luong attention against NumPy float64, masking by source length."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrnn.seq2seq import attend, bahdanau_attention, luong_attention

B, S, M, Q = 3, 5, 4, 6
LENGTHS = np.array([5, 2, 1], np.int32)


def _np_softmax_masked(scores, lengths):
    out = np.zeros_like(scores)
    for b, n in enumerate(lengths):
        e = np.exp(scores[b, :n] - scores[b, :n].max())
        out[b, :n] = e / e.sum()
    return out


def _reference(name, p, query, memory, lengths):
    p = {k: np.asarray(v, np.float64) for k, v in p.items()}
    scores = np.zeros((B, S))
    for b in range(B):
        for s in range(S):
            if name == "bahdanau":
                scores[b, s] = p["v"] @ np.tanh(memory[b, s] @ p["w_memory"] + query[b] @ p["w_query"])
            else:
                scores[b, s] = query[b] @ (memory[b, s] @ p["w"])
    w = _np_softmax_masked(scores, lengths)
    return np.einsum("bs,bsm->bm", w, memory), w


@pytest.mark.parametrize("name", ["bahdanau", "luong"])
def test_attention_matches_numpy_sums_to_one_and_ignores_padding(name):
    att = bahdanau_attention(7) if name == "bahdanau" else luong_attention()
    params = att.init(jax.random.key(0), Q, M)
    rng = np.random.default_rng(0)
    query, memory = rng.normal(size=(B, Q)), rng.normal(size=(B, S, M))
    q32, m32 = jnp.asarray(query, jnp.float32), jnp.asarray(memory, jnp.float32)
    context, weights = attend(att, params, q32, m32, att.keys(params, m32), jnp.asarray(LENGTHS))
    ref_context, ref_weights = _reference(name, params, query, memory, LENGTHS)
    np.testing.assert_allclose(weights, ref_weights, atol=1e-5)
    np.testing.assert_allclose(context, ref_context, atol=1e-5)
    np.testing.assert_allclose(np.asarray(weights).sum(axis=1), 1.0, atol=1e-6)
    for b, n in enumerate(LENGTHS):
        assert (np.asarray(weights)[b, n:] == 0.0).all()
    # garbage (even inf) on padded memory positions changes nothing
    garbage = np.where(np.arange(S)[None, :, None] < LENGTHS[:, None, None], memory, 1e3)
    g32 = jnp.asarray(garbage, jnp.float32)
    context2, weights2 = attend(att, params, q32, g32, att.keys(params, g32), jnp.asarray(LENGTHS))
    np.testing.assert_allclose(context2, context, atol=1e-5)
    np.testing.assert_allclose(weights2, weights, atol=1e-6)


def test_bad_num_units():
    with pytest.raises(ValueError, match="num_units must be a positive int; got 0"):
        bahdanau_attention(0)
