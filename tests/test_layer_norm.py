"""Layer-normalized LSTM: a NumPy float64 reference of TF1's LayerNormBasicLSTMCell, finite differences, peers."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import jaxrnn
from jaxrnn.layer_norm import layer_norm_lstm_cell

B, T, F, H = 3, 5, 4, 6


def _np_ln(v, gamma, beta, eps):
    mean = v.mean(-1, keepdims=True)
    var = ((v - mean) ** 2).mean(-1, keepdims=True)
    return gamma * (v - mean) / np.sqrt(var + eps) + beta


def _np_run(p, x, lengths, forget_bias, eps):
    """TF1 contrib's call(): concat([x, h]) @ kernel, norm each gate, norm the new c, h = tanh(c) * sigmoid(o)."""
    p = {k: np.asarray(v, np.float64) for k, v in p.items()}
    kernel = np.concatenate([p["Wx"], p["Wh"]], axis=0)
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    ys = np.zeros((B, T, H))
    finals = []
    for b in range(B):
        c, h = np.zeros(H), np.zeros(H)
        for t in range(lengths[b]):
            z = np.concatenate([x[b, t], h]) @ kernel
            i, f, g, o = (_np_ln(z[k * H : (k + 1) * H], p["gamma"][k], p["beta"][k], eps) for k in range(4))
            c = _np_ln(c * sig(f + forget_bias) + sig(i) * np.tanh(g), p["gamma_c"], p["beta_c"], eps)
            h = np.tanh(c) * sig(o)
            ys[b, t] = h
        finals.append((c, h))
    return ys, np.stack([c for c, _ in finals]), np.stack([h for _, h in finals])


def _params(cell, dtype=jnp.float64):
    params = cell.init(jax.random.key(0), F, dtype)
    # gains and shifts away from 1 and 0, so that each one matters
    return {
        k: v + 0.3 * jax.random.normal(jax.random.key(i + 1), v.shape, v.dtype)
        for i, (k, v) in enumerate(params.items())
    }


def test_equals_numpy_float64_reference(x64):
    cell = layer_norm_lstm_cell(H, forget_bias=0.7, epsilon=1e-6)
    params = _params(cell)
    x = np.random.default_rng(0).normal(size=(B, T, F))
    lengths = np.array([5, 2, 0])
    want_y, want_c, want_h = _np_run(params, x, lengths, 0.7, 1e-6)
    for unroll in (jaxrnn.dynamic_unroll, jaxrnn.static_unroll):
        y, state = unroll(cell, params, jnp.asarray(x), sequence_length=jnp.asarray(lengths))
        np.testing.assert_allclose(np.asarray(y), want_y, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(np.asarray(state.c), want_c, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(np.asarray(state.h), want_h, rtol=1e-10, atol=1e-12)


def test_gradients_equal_finite_differences(x64):
    cell = layer_norm_lstm_cell(H, epsilon=1e-6)
    params = _params(cell)
    x = jnp.asarray(np.random.default_rng(1).normal(size=(B, T, F)))

    def loss(params, x):
        y, state = jaxrnn.dynamic_unroll(cell, params, x, sequence_length=jnp.array([5, 3, 1]))
        return jnp.sum(jnp.sin(y)) + jnp.sum(state.c**2)

    check_grads(loss, (params, x), order=1, modes=["rev"], atol=1e-6, rtol=1e-6)


def test_without_layer_norm_it_is_lstm_cell(x64):
    cell = layer_norm_lstm_cell(H, layer_norm=False)
    params = _params(cell)
    x = jnp.asarray(np.random.default_rng(2).normal(size=(B, T, F)))
    y, state = jaxrnn.dynamic_unroll(cell, params, x)
    want_y, want_state = jaxrnn.dynamic_unroll(jaxrnn.lstm_cell(H, forget_bias=1.0), params, x, fused=False)
    np.testing.assert_allclose(np.asarray(y), np.asarray(want_y), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray(state.c), np.asarray(want_state.c), rtol=1e-12, atol=1e-12)


def test_outputs_are_normalized_cell_states():
    # after LN with gain 1 and shift 0, each row of c has mean 0 and variance 1 (up to epsilon)
    cell = layer_norm_lstm_cell(H)
    params = cell.init(jax.random.key(0), F)
    _, state = jaxrnn.dynamic_unroll(cell, params, jax.random.normal(jax.random.key(1), (B, T, F)))
    np.testing.assert_allclose(np.asarray(state.c).mean(-1), 0, atol=1e-5)
    np.testing.assert_allclose(np.asarray(state.c).var(-1), 1, atol=1e-4)


def test_dropout_needs_a_key_and_is_off_at_inference():
    cell = layer_norm_lstm_cell(H, dropout_keep_prob=0.5)
    params = cell.init(jax.random.key(0), F)
    x = jax.random.normal(jax.random.key(1), (B, T, F))
    with pytest.raises(ValueError, match="key is required when training"):
        jaxrnn.dynamic_unroll(cell, params, x, training=True)
    y_eval, _ = jaxrnn.dynamic_unroll(cell, params, x)
    y_plain, _ = jaxrnn.dynamic_unroll(layer_norm_lstm_cell(H), params, x)
    np.testing.assert_array_equal(np.asarray(y_eval), np.asarray(y_plain))
    y_train, _ = jaxrnn.dynamic_unroll(cell, params, x, training=True, key=jax.random.key(2))
    assert not np.allclose(np.asarray(y_train), np.asarray(y_eval))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_units": 0}, "num_units must be a positive int"),
        ({"num_units": 4, "dropout_keep_prob": 0.0}, r"dropout_keep_prob must lie in \(0, 1\]"),
        ({"num_units": 4, "epsilon": -1.0}, "epsilon must be >= 0"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        layer_norm_lstm_cell(**kwargs)


def test_bad_inputs():
    cell = layer_norm_lstm_cell(H)
    params = cell.init(jax.random.key(0), F)
    with pytest.raises(ValueError, match="feature size must match params"):
        jaxrnn.dynamic_unroll(cell, params, jnp.zeros((B, T, F + 1)))
    with pytest.raises(ValueError, match="input_size must be a positive int"):
        cell.init(jax.random.key(0), 0)
    with pytest.raises(TypeError, match="layer_norm must be a bool"):
        layer_norm_lstm_cell(H, layer_norm="yes")
