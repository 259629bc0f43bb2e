"""Character n-gram subwords: the n-grams, the row table, composition, and the sparse step through them."""

from __future__ import annotations

import zlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxrnn.text import subwords as sw
from jaxrnn.text import word2vec as w2v


@pytest.fixture
def x64():
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", False)


def test_char_ngrams_by_hand():
    assert sw.char_ngrams("cat", 3, 4) == ["<ca", "cat", "at>", "<cat", "cat>"]
    assert sw.char_ngrams("a", 3, 6) == []  # "<a>" is the word itself, not an n-gram


def test_subword_table_by_hand():
    table = sw.subword_table(["cat", "a"], buckets=7, min_n=3, max_n=4)
    expected = sorted({2 + zlib.crc32(g.encode()) % 7 for g in ["<ca", "cat", "at>", "<cat", "cat>"]})
    n = 1 + len(expected)
    np.testing.assert_array_equal(table.rows[0, :n], [0] + expected)
    np.testing.assert_allclose(table.weights[0, :n], 1 / n)
    np.testing.assert_array_equal(table.weights[0, n:], 0)
    np.testing.assert_array_equal(table.rows[1, :1], [1])
    np.testing.assert_allclose(table.weights[1], [1.0] + [0.0] * (table.rows.shape[1] - 1))
    with pytest.raises(ValueError, match="max_n must be >= min_n = 4; got 3"):
        sw.subword_table(["cat"], buckets=7, min_n=4, max_n=3)
    with pytest.raises(ValueError, match="buckets must be a positive int; got 0"):
        sw.subword_table(["cat"], buckets=0)


def test_compose_against_numpy():
    rng = np.random.default_rng(0)
    table, rows, weights = rng.normal(size=(6, 3)), rng.integers(0, 6, (4, 2)), rng.random((4, 2))
    expected = np.stack([sum(weights[i, g] * table[rows[i, g]] for g in range(2)) for i in range(4)])
    np.testing.assert_allclose(np.asarray(sw.compose(table, rows, weights)), expected, rtol=1e-6)


def test_sparse_step_through_subwords_equals_dense_sgd(x64):
    words = ["cat", "cats", "dog", "dogs", "a"]
    table = sw.subword_table(words, buckets=5, min_n=3, max_n=3)
    v, d = len(words), 3
    rng = np.random.default_rng(0)
    params = w2v.Word2VecParams(
        jnp.asarray(rng.normal(size=(v + 5, d))),
        jnp.asarray(rng.normal(size=(v, d))),
        jnp.asarray(rng.normal(size=v)),
    )
    centers, contexts = jnp.array([0, 1, 1, 4]), jnp.array([2, 3, 0, 1])
    noise, log_q = jnp.array([[1, 2], [3, 4], [0, 0], [2, 2]]), jnp.log(jnp.full(v, 1.0 / v))

    def dense_loss(p):  # the model written densely: every word's vector composed, then looked up
        words_p = w2v.Word2VecParams(sw.compose(p.input, table.rows, table.weights), p.output, p.bias)
        return w2v.skipgram_loss(words_p, centers, contexts, noise, log_q)

    grads = jax.grad(dense_loss)(params)
    opt = optax.sgd(0.1)
    subwords = sw.Subwords(jnp.asarray(table.rows), jnp.asarray(table.weights))
    (got, _), value = w2v.sparse_step(
        params,
        opt.init(params),
        centers,
        contexts,
        noise,
        log_q,
        optimizer=opt,
        loss="negative_sampling",
        subwords=subwords,
    )
    np.testing.assert_allclose(float(value), float(dense_loss(params)), rtol=1e-12)
    for new, old, g in zip(got, params, grads):
        np.testing.assert_allclose(
            np.asarray(new), np.asarray(old) - 0.1 * np.asarray(g), rtol=1e-12, atol=1e-14
        )


def test_subwords_need_sgd():
    with pytest.raises(ValueError, match="subword_buckets needs optimizer='sgd'"):
        w2v.Word2VecConfig(subword_buckets=10, optimizer="adam")
    with pytest.raises(ValueError, match="subword_buckets must be an int >= 0; got -1"):
        w2v.Word2VecConfig(subword_buckets=-1, optimizer="sgd")


def fasttext_update_reference(w_in, w_out, rows, centers, contexts, noise, lr):
    """fastText's skip-gram update (``Model::update``, ``binaryLogistic``) in NumPy float64.

    Per pair: the hidden vector is the mean of the center's rows; for the context (label 1) and
    each noise word (label 0), ``alpha = lr (label − σ(u·h))``, the hidden gradient gains
    ``alpha u`` (u before its own update) and ``u`` gains ``alpha h``; then **every** input row
    gains the whole hidden gradient. The batch's pairs all start from the same params and their
    changes are summed (what one batched step does).
    """
    w_in, w_out = np.array(w_in, np.float64), np.array(w_out, np.float64)
    d_in, d_out = np.zeros_like(w_in), np.zeros_like(w_out)
    for c, o, ks in zip(centers, contexts, noise):
        hidden = w_in[rows[c]].mean(axis=0)
        grad = np.zeros_like(hidden)
        for target, label in [(o, 1.0)] + [(k, 0.0) for k in ks]:
            alpha = lr * (label - 1.0 / (1.0 + np.exp(-w_out[target] @ hidden)))
            grad += alpha * w_out[target]
            d_out[target] += alpha * hidden
        for r in rows[c]:
            d_in[r] += grad
    return w_in + d_in, w_out + d_out


def test_fasttext_subword_update_against_numpy_reference(x64):
    words = ["cat", "cats", "dog", "dogs", "a"]
    table = sw.subword_table(words, buckets=5, min_n=3, max_n=3)
    rows = [table.rows[i][table.weights[i] > 0] for i in range(len(words))]
    v, d, lr = len(words), 3, 0.1
    rng = np.random.default_rng(1)
    params = w2v.Word2VecParams(
        jnp.asarray(rng.normal(size=(v + 5, d))),
        jnp.asarray(rng.normal(size=(v, d))),
        jnp.zeros(v),
    )
    centers, contexts = np.array([0, 1, 1, 4]), np.array([2, 3, 0, 1])
    noise = np.array([[1, 2], [3, 4], [0, 0], [2, 2]])
    # the step's loss is the batch mean, so an SGD rate of lr * B is fastText's per-pair lr
    opt = optax.sgd(lr * len(centers))
    (got, _), _ = w2v.sparse_step(
        params,
        opt.init(params),
        jnp.asarray(centers),
        jnp.asarray(contexts),
        jnp.asarray(noise),
        jnp.log(jnp.full(v, 1.0 / v)),
        optimizer=opt,
        loss="negative_sampling",
        subwords=sw.Subwords(jnp.asarray(table.rows), jnp.asarray(table.weights)),
        subword_update="fasttext",
    )
    w_in, w_out = fasttext_update_reference(params.input, params.output, rows, centers, contexts, noise, lr)
    assert max(len(r) for r in rows) > 1  # words with n-grams, where the two update rules differ
    np.testing.assert_allclose(np.asarray(got.input), w_in, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(np.asarray(got.output), w_out, rtol=1e-12, atol=1e-14)


def test_subword_update_is_checked():
    with pytest.raises(
        ValueError, match="subword_update must be one of \\('exact', 'fasttext'\\); got 'full'"
    ):
        w2v.Word2VecConfig(subword_buckets=10, subword_update="full")
