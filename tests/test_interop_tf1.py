"""TF1 variable import, checked against NumPy float64 re-implementations of the documented TF1 cell formulas.

The references follow TF1's ``rnn_cell_impl.py``: one kernel over ``concat([x, h])``,
``i, j, f, o = split(gates, 4)``, ``c = sigmoid(f + forget_bias) * c + sigmoid(i) * tanh(j)``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn.interop import from_tf1

B, T, F, H, P = 2, 4, 3, 5, 2
rng = np.random.default_rng(0)


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def _u(*shape):
    return rng.uniform(-0.7, 0.7, size=shape)


def _tf1_lstm(v, x, scope, forget_bias, peep=False, proj=False, clip=None):
    kernel, bias = v[scope + "kernel"], v[scope + "bias"]
    c = np.zeros((B, H))
    h = np.zeros((B, P if proj else H))
    outs = []
    for t in range(T):
        gates = np.concatenate([x[:, t], h], axis=1) @ kernel + bias
        i, j, f, o = np.split(gates, 4, axis=1)
        if peep:
            i = i + v[scope + "w_i_diag"] * c
            f = f + v[scope + "w_f_diag"] * c
        c = _sig(f + forget_bias) * c + _sig(i) * np.tanh(j)
        if clip is not None:
            c = np.clip(c, -clip, clip)
        if peep:
            o = o + v[scope + "w_o_diag"] * c
        h = _sig(o) * np.tanh(c)
        if proj:
            h = h @ v[scope + "projection/kernel"]
        outs.append(h)
    return np.stack(outs, 1)


def _run(cell, params, x):
    y, _ = jaxrnn.dynamic_unroll(cell, params, jnp.asarray(x))
    return np.asarray(y)


X = rng.normal(size=(B, T, F))


@pytest.fixture(autouse=True)
def x64():
    # float64 end to end, so the comparison with the NumPy reference is tight
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", False)


def test_basic_lstm_cell():
    scope = "rnn/basic_lstm_cell/"
    v = {scope + "kernel": _u(F + H, 4 * H), scope + "bias": _u(4 * H)}
    cell, params = from_tf1(v, "basic_lstm", scope=scope, dtype=jnp.float64)
    np.testing.assert_allclose(_run(cell, params, X), _tf1_lstm(v, X, scope, 1.0), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    ("peep", "proj", "clip"), [(True, False, None), (False, True, None), (True, True, 0.5)]
)
def test_lstm_cell_peepholes_projection_clip(peep, proj, clip):
    scope = "rnn/multi_rnn_cell/cell_0/lstm_cell/"
    v = {scope + "kernel": _u(F + (P if proj else H), 4 * H), scope + "bias": _u(4 * H)}
    if peep:
        v.update({scope + f"w_{g}_diag": _u(H) for g in "ifo"})
    if proj:
        v[scope + "projection/kernel"] = _u(H, P)
    cell, params = from_tf1(v, "lstm", scope=scope, forget_bias=0.5, cell_clip=clip, dtype=jnp.float64)
    expected = _tf1_lstm(v, X, scope, 0.5, peep=peep, proj=proj, clip=clip)
    np.testing.assert_allclose(_run(cell, params, X), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_basic_rnn_cell(activation):
    v = {"kernel": _u(F + H, H), "bias": _u(H)}
    act = np.tanh if activation == "tanh" else (lambda z: np.maximum(z, 0.0))
    h, outs = np.zeros((B, H)), []
    for t in range(T):
        h = act(np.concatenate([X[:, t], h], 1) @ v["kernel"] + v["bias"])
        outs.append(h)
    cell, params = from_tf1(v, "basic_rnn", activation=activation, dtype=jnp.float64)
    np.testing.assert_allclose(_run(cell, params, X), np.stack(outs, 1), rtol=1e-10, atol=1e-12)


def test_gru_cell():
    s = "rnn/gru_cell/"
    v = {
        s + "gates/kernel": _u(F + H, 2 * H),
        s + "gates/bias": _u(2 * H) + 1.0,  # TF1 initialises the gate bias to 1
        s + "candidate/kernel": _u(F + H, H),
        s + "candidate/bias": _u(H),
    }
    h, outs = np.zeros((B, H)), []
    for t in range(T):
        value = _sig(np.concatenate([X[:, t], h], 1) @ v[s + "gates/kernel"] + v[s + "gates/bias"])
        r, u = np.split(value, 2, axis=1)
        c = np.tanh(np.concatenate([X[:, t], r * h], 1) @ v[s + "candidate/kernel"] + v[s + "candidate/bias"])
        h = u * h + (1 - u) * c
        outs.append(h)
    cell, params = from_tf1(v, "gru", scope=s, dtype=jnp.float64)
    np.testing.assert_allclose(_run(cell, params, X), np.stack(outs, 1), rtol=1e-10, atol=1e-12)


def test_errors_name_the_key():
    s = "rnn/lstm_cell/"
    v = {s + "kernel": _u(F + H, 4 * H), s + "bias": _u(4 * H)}
    with pytest.raises(ValueError, match="missing key 'kernel'"):
        from_tf1(v, "lstm")  # scope not given
    with pytest.raises(ValueError, match="kind must be one of"):
        from_tf1(v, "lstm_block", scope=s)
    bad = dict(v)
    bad[s + "kernel"] = _u(F + H, 4 * H + 1)
    with pytest.raises(
        ValueError, match=r"'rnn/lstm_cell/kernel'\] must have shape \(8, 20\); got \(8, 21\)"
    ):
        from_tf1(bad, "lstm", scope=s)
    partial = dict(v, **{s + "w_i_diag": _u(H)})
    with pytest.raises(ValueError, match="missing.*w_f_diag"):
        from_tf1(partial, "lstm", scope=s)
    with pytest.raises(TypeError, match="variables must be a mapping"):
        from_tf1([1, 2], "lstm")


def test_float32_default_keeps_dtype():
    v = {"kernel": _u(F + H, 4 * H).astype(np.float32), "bias": _u(4 * H).astype(np.float32)}
    cell, params = from_tf1(v, "basic_lstm")
    assert all(p.dtype == jnp.float32 for p in jax.tree.leaves(params))
