"""``jaxrnn.cells.matmul``: the cells' and readouts' product folds leading axes into one rank-2 GEMM.

Checked against a float64 NumPy ``einsum`` written here, for every leading rank
(``[B, F]``, ``[T, B, F]``, ``[T, B, K, F]``), and for the LSTM-with-projection
step, whose ``W_proj`` goes through the same matmul.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn.cells import matmul, row


@pytest.mark.parametrize("lead", [(3,), (4, 3), (2, 4, 3)])
@pytest.mark.parametrize("make", [jaxrnn.basic_cell, jaxrnn.lstm_cell, jaxrnn.gru_cell])
def test_input_product_matches_float64_einsum(make, lead):
    cell = make(5)
    params = cell.init(jax.random.key(0), 7)
    params["b"] = jax.random.normal(jax.random.key(2), params["b"].shape)
    x = jax.random.normal(jax.random.key(1), (*lead, 7), jnp.float32)
    xz = matmul(x, params["Wx"])
    got = np.asarray(xz + row(params["b"], xz))
    wx, b = np.asarray(params["Wx"], np.float64), np.asarray(params["b"], np.float64)
    want = np.einsum("...f,fg->...g", np.asarray(x, np.float64), wx) + b
    assert got.shape == (*lead, wx.shape[1])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_projected_lstm_outputs_match_hand_loop_over_rank3_projection():
    # W_proj is applied to h of shape [B, H] inside the step; the rank-3 branch must not disturb it
    cell = jaxrnn.lstm_cell(6, num_proj=3)
    params = cell.init(jax.random.key(0), 4)
    x = jax.random.normal(jax.random.key(1), (2, 5, 4), jnp.float32)
    outputs, _ = jaxrnn.dynamic_unroll(cell, params, x)
    p = {k: np.asarray(v, np.float64) for k, v in params.items()}
    c, h = np.zeros((2, 6)), np.zeros((2, 3))
    sig = lambda v: 1 / (1 + np.exp(-v))
    for t in range(5):
        z = np.asarray(x[:, t], np.float64) @ p["Wx"] + h @ p["Wh"] + p["b"]
        i, f, g, o = np.split(z, 4, axis=-1)
        c = sig(f + 1.0) * c + sig(i) * np.tanh(g)
        h = (sig(o) * np.tanh(c)) @ p["W_proj"]
        np.testing.assert_allclose(np.asarray(outputs[:, t]), h, rtol=1e-5, atol=1e-5)
