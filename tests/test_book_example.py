"""The book's first example (Géron ch. 14): n_inputs=3, n_neurons=5, two steps, four instances."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn

X0 = np.array([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 0, 1]], np.float64)
X1 = np.array([[9, 8, 7], [0, 0, 0], [6, 5, 4], [3, 2, 1]], np.float64)


def _setup():
    cell = jaxrnn.basic_cell(5)
    params = cell.init(jax.random.key(42), 3)
    # small weights keep tanh out of saturation, so the comparison is sensitive
    params = jax.tree.map(lambda p: 0.1 * p, params)
    params["b"] = jnp.linspace(-0.2, 0.2, 5)
    p = {k: np.asarray(v, np.float64) for k, v in params.items()}
    # the book's manual network: Y0 = tanh(X0 Wx + b), Y1 = tanh(Y0 Wy + X1 Wx + b)
    y0 = np.tanh(X0 @ p["Wx"] + p["b"])
    y1 = np.tanh(y0 @ p["Wh"] + X1 @ p["Wx"] + p["b"])
    return cell, params, y0, y1


def test_static_list_form_equals_manual_numpy():
    cell, params, y0, y1 = _setup()
    (out0, out1), state = jaxrnn.static_unroll(
        cell, params, [jnp.asarray(X0, jnp.float32), jnp.asarray(X1, jnp.float32)]
    )
    np.testing.assert_allclose(out0, y0, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out1, y1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(state, y1, rtol=1e-5, atol=1e-6)


def test_static_tensor_form_and_dynamic_equal_manual_numpy():
    cell, params, y0, y1 = _setup()
    x_batch = jnp.asarray(np.stack([X0, X1], axis=1), jnp.float32)  # [batch, time, features]
    expected = np.stack([y0, y1], axis=1)
    for unroll in (jaxrnn.static_unroll, jaxrnn.dynamic_unroll):
        outputs, state = unroll(cell, params, x_batch)
        np.testing.assert_allclose(outputs, expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(state, y1, rtol=1e-5, atol=1e-6)


def test_sequence_length_2_1_2_2():
    cell, params, y0, y1 = _setup()
    x_batch = jnp.asarray(np.stack([X0, X1], axis=1), jnp.float32)
    for unroll in (jaxrnn.static_unroll, jaxrnn.dynamic_unroll):
        outputs, state = unroll(cell, params, x_batch, sequence_length=jnp.array([2, 1, 2, 2]))
        outputs, state = np.asarray(outputs), np.asarray(state)
        assert np.all(outputs[1, 1] == 0.0), "instance 1's second output must be the zero vector"
        np.testing.assert_allclose(state[1], y0[1], rtol=1e-5, atol=1e-6)  # its final state is its t=0 output
        np.testing.assert_allclose(outputs[[0, 2, 3], 1], y1[[0, 2, 3]], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(state[[0, 2, 3]], y1[[0, 2, 3]], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(outputs[:, 0], y0, rtol=1e-5, atol=1e-6)


def test_demo_prints_and_agrees(capsys):
    from jaxrnn.demo import run_demo

    result = run_demo(seed=0)
    assert "sequence_length=[2, 1, 2, 2]" in capsys.readouterr().out
    assert np.all(result["masked_outputs"][1, 1] == 0.0)
    np.testing.assert_allclose(result["static_outputs"], result["dynamic_outputs"], atol=1e-6)
    np.testing.assert_allclose(result["masked_state"][1], result["masked_outputs"][1, 0], atol=1e-7)
