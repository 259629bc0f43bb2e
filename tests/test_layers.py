"""Layers: dense with named initializers, embeddings (pretrained, frozen, fine-tuned), freeze."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxrnn


def test_embedding_lookup_equals_one_hot_times_matrix():
    emb = jaxrnn.embedding(7, 3)
    params = emb.init(jax.random.key(0))
    table = np.asarray(params["embeddings"], np.float64)
    assert table.min() >= -1.0 and table.max() <= 1.0 and table.min() < -0.5 and table.max() > 0.5
    ids = np.array([[0, 6, 2], [3, 3, 1]])
    one_hot = np.eye(7)[ids]
    np.testing.assert_allclose(emb.lookup(params, jnp.asarray(ids)), one_hot @ table, atol=1e-7)


def test_embedding_rejects_out_of_range_ids_and_float_ids():
    emb = jaxrnn.embedding(5, 2)
    params = emb.init(jax.random.key(0))
    with pytest.raises(ValueError, match=r"ids must lie in \[0, vocab_size\) = \[0, 5\); got id 5"):
        emb.lookup(params, jnp.array([1, 5]))
    with pytest.raises(ValueError, match=r"got id -1"):
        emb.lookup(params, jnp.array([-1, 2]))
    with pytest.raises(TypeError, match="ids must be an integer array; got float32"):
        emb.lookup(params, jnp.array([1.0]))


def test_pretrained_matrix_is_loaded_and_checked():
    matrix = np.arange(12, dtype=np.float64).reshape(4, 3) / 10
    emb = jaxrnn.embedding(4, 3, pretrained=matrix)
    params = emb.init(jax.random.key(0))
    np.testing.assert_array_equal(params["embeddings"], matrix.astype(np.float32))
    np.testing.assert_array_equal(emb.lookup(params, jnp.array([2])), matrix[2:3].astype(np.float32))
    with pytest.raises(
        ValueError, match=r"pretrained must have shape \[vocab_size, embed_size\] = \(5, 3\); got \(4, 3\)"
    ):
        jaxrnn.embedding(5, 3, pretrained=matrix)
    with pytest.raises(TypeError, match="pretrained must have a floating dtype"):
        jaxrnn.embedding(4, 3, pretrained=np.zeros((4, 3), np.int32))


def _model(trainable):
    emb = jaxrnn.embedding(6, 3, pretrained=np.linspace(-1, 1, 18).reshape(6, 3), trainable=trainable)
    cell = jaxrnn.gru_cell(4)
    params = {"emb": emb.init(jax.random.key(0)), "rnn": cell.init(jax.random.key(1), 3)}
    ids = jnp.array([[1, 2, 3], [4, 5, 0]])

    def loss(params):
        out, _ = jaxrnn.dynamic_unroll(cell, params["rnn"], emb.lookup(params["emb"], ids))
        return jnp.sum(jnp.square(out - 0.5))

    return params, loss


def _train(params, loss, opt, steps=3):
    state = opt.init(params)
    grad_fn = jax.jit(jax.grad(loss))
    for _ in range(steps):
        grads = grad_fn(params)
        with jax.numpy_dtype_promotion("standard"):  # optax's internals mix int counts and floats
            updates, state = opt.update(grads, state, params)
        params = optax.apply_updates(params, updates)
    return params


def test_frozen_embeddings_stay_bit_identical_and_fine_tuned_ones_move():
    params, loss = _model(trainable=True)
    before = np.asarray(params["emb"]["embeddings"])
    # adamw: weight decay would move the table even with a zero gradient, freeze must stop it
    frozen = _train(params, loss, jaxrnn.freeze(optax.adamw(0.1, weight_decay=0.5), "embeddings"))
    np.testing.assert_array_equal(frozen["emb"]["embeddings"], before)
    assert not np.allclose(frozen["rnn"]["Wx"], params["rnn"]["Wx"])
    tuned = _train(params, loss, optax.adamw(0.1, weight_decay=0.5))
    assert not np.allclose(tuned["emb"]["embeddings"], before)
    # the same freeze by a bool pytree and by a function
    mask = jax.tree.map(lambda _: False, params)
    mask["emb"]["embeddings"] = True
    for frozen_spec in (mask, lambda p: mask):
        out = _train(params, loss, jaxrnn.freeze(optax.sgd(0.1), frozen_spec), steps=1)
        np.testing.assert_array_equal(out["emb"]["embeddings"], before)


def test_trainable_false_gives_exactly_zero_gradient_to_the_table():
    params, loss = _model(trainable=False)
    grads = jax.grad(loss)(params)
    np.testing.assert_array_equal(grads["emb"]["embeddings"], 0.0)
    assert np.abs(grads["rnn"]["Wx"]).max() > 0
    _, loss_tuned = _model(trainable=True)
    assert np.abs(jax.grad(loss_tuned)(params)["emb"]["embeddings"]).max() > 0


def test_freeze_bad_input():
    with pytest.raises(ValueError, match="frozen must name at least one parameter"):
        jaxrnn.freeze(optax.sgd(0.1), ())


@pytest.mark.parametrize("name, variance", [("he_normal", 2.0), ("he_uniform", 2.0), ("lecun_normal", 1.0)])
def test_dense_named_initializers_have_the_documented_variance(name, variance):
    fan_in, fan_out = 400, 300
    w = np.asarray(jaxrnn.dense(fan_out, initializer=name).init(jax.random.key(0), fan_in)["W"], np.float64)
    n = w.size
    # the sample variance of n draws has relative standard error about sqrt(2 / n) (for near-normal draws)
    np.testing.assert_allclose(w.var(), variance / fan_in, rtol=5 * np.sqrt(2 / n))


def test_dense_he_layer_equals_numpy():
    layer = jaxrnn.dense(3, jax.nn.relu, initializer="he_normal")
    params = layer.init(jax.random.key(0), 4)
    params["b"] = jnp.array([0.1, -0.2, 0.3])
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    want = np.maximum(x.astype(np.float64) @ np.asarray(params["W"], np.float64) + [0.1, -0.2, 0.3], 0)
    np.testing.assert_allclose(layer.apply(params, jnp.asarray(x)), want, atol=1e-5)


def test_dense_bad_initializer():
    with pytest.raises(
        ValueError, match=r"initializer must be one of \['glorot_uniform', 'he_normal'.*got 'he'"
    ):
        jaxrnn.dense(3, initializer="he")
    with pytest.raises(TypeError, match="initializer must be a name or an initializer function; got int"):
        jaxrnn.dense(3, initializer=3)
