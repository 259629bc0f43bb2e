"""The ConvLSTM cell against a float64 NumPy reference with an explicit convolution, finite differences and Flax."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import jaxrnn
from jaxrnn.conv_lstm import ConvLSTMState, conv_lstm_cell

B, T, H, W, C, F = 2, 4, 5, 4, 2, 3


@pytest.fixture
def x64():
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", False)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _conv_same(x, w):
    """'same'-padded stride-1 cross-correlation written out: ``x [B, H, W, C]``, ``w [kh, kw, C, O]``."""
    kh, kw = w.shape[:2]
    # TF/XLA 'SAME': the extra pad of an even kernel goes after (bottom/right)
    top, left = (kh - 1) // 2, (kw - 1) // 2
    padded = np.pad(x, ((0, 0), (top, kh - 1 - top), (left, kw - 1 - left), (0, 0)))
    out = np.zeros(x.shape[:3] + (w.shape[3],))
    for b in range(x.shape[0]):
        for i in range(x.shape[1]):
            for j in range(x.shape[2]):
                patch = padded[b, i : i + kh, j : j + kw, :]  # [kh, kw, C]
                out[b, i, j] = np.einsum("hwc,hwco->o", patch, w)
    return out


def _reference_step(p, c, h, x, forget_bias=1.0):
    z = _conv_same(x, p["Wx"]) + _conv_same(h, p["Wh"]) + p["b"]
    n = z.shape[-1] // 4
    zi, zf, zg, zo = z[..., :n], z[..., n : 2 * n], z[..., 2 * n : 3 * n], z[..., 3 * n :]
    c = _sigmoid(zf + forget_bias) * c + _sigmoid(zi) * np.tanh(zg)
    h = _sigmoid(zo) * np.tanh(c)
    return c, h


def _reference_unroll(p, xs, lengths, c, h):
    """TF dynamic_rnn semantics: frozen state and zero output past each length. ``xs [B, T, H, W, C]``."""
    outputs = np.zeros(xs.shape[:2] + h.shape[1:])
    for t in range(xs.shape[1]):
        c_new, h_new = _reference_step(p, c, h, xs[:, t])
        valid = (t < lengths)[:, None, None, None]
        c, h = np.where(valid, c_new, c), np.where(valid, h_new, h)
        outputs[:, t] = np.where(valid, h_new, 0.0)
    return outputs, c, h


def _random(key, cell, dtype, input_size=H * W * C):
    params = cell.init(key, input_size, dtype)
    # a nonzero bias and non-default scales, so every term of the equations shows up
    return {
        k: v + 0.3 * jax.random.normal(jax.random.fold_in(key, i), v.shape, dtype)
        for i, (k, v) in enumerate(sorted(params.items()))
    }


@pytest.mark.parametrize("kernel_size", [3, (3, 2)])
def test_step_matches_numpy_float64_reference(x64, kernel_size):
    cell = conv_lstm_cell(F, (H, W), kernel_size)
    params = _random(jax.random.key(0), cell, jnp.float64)
    x = np.random.default_rng(1).normal(size=(B, H, W, C))
    c0, h0 = (np.random.default_rng(s).normal(size=(B, H, W, F)) for s in (2, 3))
    apply = jax.jit(cell.apply)  # one compile instead of one per operation
    state, y = apply(params, ConvLSTMState(jnp.asarray(c0), jnp.asarray(h0)), jnp.asarray(x.reshape(B, -1)))
    p64 = {k: np.asarray(v) for k, v in params.items()}
    c_ref, h_ref = _reference_step(p64, c0, h0, x)
    np.testing.assert_allclose(np.asarray(state.c), c_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray(state.h), h_ref, rtol=1e-12, atol=1e-12)
    assert y.shape == (B, H * W * F)
    np.testing.assert_allclose(np.asarray(y), h_ref.reshape(B, -1), rtol=1e-12, atol=1e-12)
    # image-shaped frames give image-shaped outputs, same numbers
    _, y_image = apply(params, ConvLSTMState(jnp.asarray(c0), jnp.asarray(h0)), jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(y_image), h_ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("unroller", ["static", "dynamic"])
def test_unrollers_match_reference_with_lengths(x64, unroller, reverse):
    cell = conv_lstm_cell(F, (H, W))
    params = _random(jax.random.key(4), cell, jnp.float64)
    xs = np.random.default_rng(5).normal(size=(B, T, H, W, C))
    lengths = np.array([T, 2])
    unroll = jaxrnn.static_unroll if unroller == "static" else jaxrnn.dynamic_unroll
    outputs, state = unroll(
        cell, params, jnp.asarray(xs.reshape(B, T, -1)), sequence_length=jnp.asarray(lengths), reverse=reverse
    )
    if reverse:  # flip each sequence within its length by hand
        xs = np.stack([np.concatenate([xs[b, : lengths[b]][::-1], xs[b, lengths[b] :]]) for b in range(B)])
    p64 = {k: np.asarray(v) for k, v in params.items()}
    zeros = np.zeros((B, H, W, F))
    out_ref, c_ref, h_ref = _reference_unroll(p64, xs, lengths, zeros, zeros)
    if reverse:
        out_ref = np.stack(
            [np.concatenate([out_ref[b, : lengths[b]][::-1], out_ref[b, lengths[b] :]]) for b in range(B)]
        )
    assert outputs.shape == (B, T, H * W * F) and state.c.shape == (B, H, W, F)
    np.testing.assert_allclose(np.asarray(outputs), out_ref.reshape(B, T, -1), rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(np.asarray(state.c), c_ref, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(np.asarray(state.h), h_ref, rtol=1e-11, atol=1e-12)
    assert np.all(np.asarray(outputs)[1, 2:] == 0.0)


def test_gradients_equal_central_finite_differences(x64):
    cell = conv_lstm_cell(2, (3, 3), kernel_size=(3, 2))
    params = _random(jax.random.key(6), cell, jnp.float64, 3 * 3 * C)
    xs = jax.random.normal(jax.random.key(7), (2, 3, 3 * 3 * C), jnp.float64)
    lengths = jnp.array([3, 2])

    def loss(params, xs):
        outputs, state = jaxrnn.dynamic_unroll(cell, params, xs, sequence_length=lengths)
        w = jnp.linspace(-1.0, 1.0, outputs.shape[-1], dtype=outputs.dtype)
        return jnp.sum(jnp.sin(outputs) * w[None, None, :]) + jnp.sum(state.c**2)

    flat, unravel = ravel_pytree((params, xs))
    grad, _ = ravel_pytree(jax.grad(loss, argnums=(0, 1))(params, xs))
    eps = 1e-6
    rng = np.random.default_rng(8)
    # central differences along every coordinate of params and inputs (a few hundred, cheap at this size)
    f = jax.jit(lambda v: loss(*unravel(v)))
    numeric = np.array(
        [(f(flat.at[i].add(eps)) - f(flat.at[i].add(-eps))) / (2 * eps) for i in range(flat.size)]
    )
    np.testing.assert_allclose(np.asarray(grad), numeric, rtol=1e-6, atol=1e-8)
    # and a random direction, to catch a wrong sign shared by all coordinates
    v = jnp.asarray(rng.normal(size=flat.size))
    directional = (f(flat + eps * v) - f(flat - eps * v)) / (2 * eps)
    np.testing.assert_allclose(float(grad @ v), float(directional), rtol=1e-7)


def test_matches_flax_conv_lstm_cell_side_by_side():
    nn = pytest.importorskip("flax.linen")
    cell = conv_lstm_cell(F, (H, W), kernel_size=3)
    params = _random(jax.random.key(9), cell, jnp.float32)
    flax_cell = nn.ConvLSTMCell(features=F, kernel_size=(3, 3))
    xs = jax.random.normal(jax.random.key(10), (B, T, H, W, C))
    carry = flax_cell.initialize_carry(jax.random.key(11), (B, H, W, C))

    def flax_order(a):  # ours i, f, g, o -> Flax's i, g, f, o on the last axis
        i, f, g, o = jnp.split(a, 4, axis=-1)
        return jnp.concatenate([i, g, f, o], axis=-1)

    flax_params = {
        "params": {
            "ih": {"kernel": flax_order(params["Wx"]), "bias": flax_order(params["b"])},
            "hh": {"kernel": flax_order(params["Wh"]), "bias": jnp.zeros(4 * F)},
        }
    }
    flax_outputs = []
    for t in range(T):
        carry, y = flax_cell.apply(flax_params, carry, xs[:, t])
        flax_outputs.append(y)
    outputs, state = jaxrnn.dynamic_unroll(cell, params, xs.reshape(B, T, -1))
    np.testing.assert_allclose(
        outputs.reshape(B, T, H, W, F), jnp.stack(flax_outputs, 1), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(state.c, carry[0], rtol=1e-5, atol=1e-6)


def test_state_shapes_and_zero_state():
    cell = conv_lstm_cell(F, 6, kernel_size=(1, 3))
    assert cell.state_size == ConvLSTMState((6, 6, F), (6, 6, F))
    assert cell.output_size == 6 * 6 * F
    state = cell.zero_state(2)
    assert state.h.shape == (2, 6, 6, F) and float(jnp.abs(state.c).max()) == 0.0
    params = cell.init(jax.random.key(0), 6 * 6 * C)
    assert params["Wx"].shape == (1, 3, C, 4 * F) and params["Wh"].shape == (1, 3, F, 4 * F)
    assert cell.input_size(params) == 6 * 6 * C


def test_bad_input_messages():
    with pytest.raises(ValueError, match="filters must be a positive int; got 0"):
        conv_lstm_cell(0, (4, 4))
    with pytest.raises(ValueError, match="spatial_shape must be a positive int or a pair"):
        conv_lstm_cell(2, (4, 4, 1))
    with pytest.raises(ValueError, match="kernel_size must be a positive int or a pair"):
        conv_lstm_cell(2, 4, kernel_size=(3, 0))
    cell = conv_lstm_cell(2, (4, 4))
    with pytest.raises(ValueError, match="multiple of 4 \\* 4 = 16; got 20"):
        cell.init(jax.random.key(0), 20)
    with pytest.raises(ValueError, match="batch_size must be a non-negative int"):
        cell.zero_state(-1)
    params = cell.init(jax.random.key(0), 32)
    with pytest.raises(ValueError, match="input_size=32\\); got 48"):
        jaxrnn.dynamic_unroll(cell, params, jnp.ones((1, 2, 48)))


def test_matches_keras_conv_lstm_2d_side_by_side():
    import os

    os.environ.setdefault("KERAS_BACKEND", "jax")  # before keras is first imported
    keras = pytest.importorskip("keras", reason="Keras 3 not installed (pip install 'jaxrnn[interop]')")
    if keras.backend.backend() != "jax":
        pytest.skip(f"Keras backend is {keras.backend.backend()!r}; this test needs KERAS_BACKEND=jax")
    cell = conv_lstm_cell(F, (H, W), kernel_size=3)
    params = _random(jax.random.key(12), cell, jnp.float32)
    xs = np.random.default_rng(13).normal(size=(B, T, H, W, C)).astype(np.float32)
    # Keras's own code relies on implicit rank and dtype promotion, which conftest.py makes errors
    with jax.numpy_rank_promotion("allow"), jax.numpy_dtype_promotion("standard"):
        layer = keras.layers.ConvLSTM2D(F, 3, padding="same", return_sequences=True, return_state=True)
        layer(xs)  # build
        # same gate order (i, f, c, o) and kernel layout; Keras keeps the forget bias inside b
        bias = np.asarray(params["b"]).copy()
        bias[F : 2 * F] += 1.0
        layer.set_weights([np.asarray(params["Wx"]), np.asarray(params["Wh"]), bias])
        keras_outputs, _, keras_c = layer(xs)
    outputs, state = jaxrnn.dynamic_unroll(cell, params, jnp.asarray(xs.reshape(B, T, -1)))
    np.testing.assert_allclose(
        outputs.reshape(B, T, H, W, F), np.asarray(keras_outputs), rtol=1e-5, atol=1e-5
    )
    np.testing.assert_allclose(state.c, np.asarray(keras_c), rtol=1e-5, atol=1e-5)
