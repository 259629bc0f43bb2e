"""minGRU, minLSTM and the LRU: the associative scan and the step-by-step cell against a NumPy float64 loop."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import jaxrnn
from jaxrnn.assoc_scan import associative_unroll, linear_scan
from jaxrnn.linear_rnn import LRUState, lru, min_gru, min_lstm

B, T, F, H = 3, 9, 4, 5


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _np_step(kind, p, h, x):
    """One step written from the papers' equations, float64 / complex128."""
    if kind == "min_gru":
        zg = x @ p["Wx"] + p["b"]
        z, g = _sigmoid(zg[:H]), zg[H:]
        h = (1 - z) * h + z * g
        return h, h
    if kind == "min_lstm":
        fig = x @ p["Wx"] + p["b"]
        f, i, g = _sigmoid(fig[:H]), _sigmoid(fig[H : 2 * H]), fig[2 * H :]
        h = f / (f + i) * h + i / (f + i) * g
        return h, h
    lam = np.exp(-np.exp(p["nu_log"]) + 1j * np.exp(p["theta_log"]))
    h = lam * h + np.exp(p["gamma_log"]) * (x @ (p["B_re"] + 1j * p["B_im"]))
    y = (h @ (p["C_re"] + 1j * p["C_im"])).real + x @ p["D"]
    return h, y


def _np_run(kind, p, x, h0, segments):
    """``segments[b]``: list of lengths; each segment restarts from ``h0[b]``; the rest is padding."""
    p = {k: np.asarray(v, np.float64) for k, v in p.items()}
    out_size = p["C_re"].shape[1] if kind == "lru" else H
    ys = np.zeros((x.shape[0], x.shape[1], out_size))
    finals = []
    for b, lengths in enumerate(segments):
        t, h = 0, h0[b]
        for n in lengths:
            h = h0[b]
            for _ in range(n):
                h, ys[b, t] = _np_step(kind, p, h, x[b, t])
                t += 1
        finals.append(h)
    return ys, np.stack(finals)


def _make(kind):
    return {"min_gru": lambda: min_gru(H), "min_lstm": lambda: min_lstm(H), "lru": lambda: lru(H, 3)}[kind]()


def _setup(kind, seed=0, dtype=jnp.float64):
    rnn = _make(kind)
    params = rnn.cell.init(jax.random.key(seed), F, dtype)
    # non-zero biases so that every parameter matters
    params = {
        k: v + 0.1 * jax.random.normal(jax.random.key(seed + 1), v.shape, v.dtype) for k, v in params.items()
    }
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(B, T, F))
    if kind == "lru":
        h0_np = rng.normal(size=(B, H)) + 1j * rng.normal(size=(B, H))
        h0 = LRUState(jnp.asarray(h0_np.real), jnp.asarray(h0_np.imag))
    else:
        h0_np = rng.normal(size=(B, H))
        h0 = jnp.asarray(h0_np)
    return rnn, params, x, h0, h0_np


def _hidden(kind, state):
    if kind == "lru":
        return np.asarray(state.real) + 1j * np.asarray(state.imag)
    return np.asarray(state)


KINDS = ["min_gru", "min_lstm", "lru"]


@pytest.mark.parametrize("kind", KINDS)
def test_parallel_and_step_by_step_equal_numpy_loop_with_lengths(x64, kind):
    rnn, params, x, h0, h0_np = _setup(kind)
    lengths = np.array([T, 4, 0])
    want_y, want_h = _np_run(kind, params, x, h0_np, [[n] if n else [] for n in lengths])
    for unroll, model in ((associative_unroll, rnn), (jaxrnn.dynamic_unroll, rnn.cell)):
        # jitted: op-by-op dispatch of the scan's many slices would dominate the test's time
        run = jax.jit(lambda p, x, n, h0, f=unroll, m=model: f(m, p, x, sequence_length=n, initial_state=h0))
        ys, state = run(params, jnp.asarray(x), jnp.asarray(lengths), h0)
        np.testing.assert_allclose(np.asarray(ys), want_y, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(_hidden(kind, state), want_h, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_segment_ids_equal_separate_runs(x64, kind):
    rnn, params, x, h0, h0_np = _setup(kind, seed=3)
    ids = np.array([[1, 1, 1, 2, 2, 5, 5, 5, 0], [7] * T, [1, 2, 3, 3, 3, 3, 0, 0, 0]])
    segments = [[3, 2, 3], [T], [1, 1, 4]]
    want_y, want_h = _np_run(kind, params, x, h0_np, segments)
    # ids passed traced: the values cannot be checked under jit, the masks must still be right
    run = jax.jit(lambda p, x, ids, h0: associative_unroll(rnn, p, x, segment_ids=ids, initial_state=h0))
    ys, state = run(params, jnp.asarray(x), jnp.asarray(ids), h0)
    np.testing.assert_allclose(np.asarray(ys), want_y, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(_hidden(kind, state), want_h, rtol=1e-10, atol=1e-12)
    assert np.all(np.asarray(ys)[0, 8] == 0) and np.all(np.asarray(ys)[2, 6:] == 0)
    assert jaxrnn.segments.segment_lengths(ids) == segments


@pytest.mark.parametrize("kind", ["min_gru", "lru"])
def test_time_major_matches_batch_major(kind):
    rnn, params, x, _, _ = _setup(kind, dtype=jnp.float32)
    x = jnp.asarray(x, jnp.float32)
    ys, _ = jax.jit(lambda p, x: associative_unroll(rnn, p, x))(params, x)
    ys_tm, _ = jax.jit(lambda p, x: associative_unroll(rnn, p, x, time_major=True))(
        params, jnp.swapaxes(x, 0, 1)
    )
    np.testing.assert_allclose(np.asarray(ys), np.asarray(jnp.swapaxes(ys_tm, 0, 1)), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_associative_gradients_equal_finite_differences(x64, kind):
    rnn, params, x, h0, _ = _setup(kind, seed=5)
    ids = jnp.asarray(np.array([[1, 1, 1, 2, 2, 5, 5, 5, 0], [7] * T, [1, 2, 3, 3, 3, 3, 0, 0, 0]]))

    def loss(params, x):
        ys, state = associative_unroll(rnn, params, x, segment_ids=ids, initial_state=h0)
        return jnp.sum(jnp.sin(ys)) + sum(jnp.sum(leaf**2) for leaf in jax.tree.leaves(state))

    check_grads(jax.jit(loss), (params, jnp.asarray(x)), order=1, modes=["rev"], atol=1e-6, rtol=1e-6)


def test_lru_initial_eigenvalues_lie_on_the_ring():
    params = lru(200, r_min=0.4, r_max=0.9, max_phase=math.pi).cell.init(jax.random.key(0), 3)
    modulus = np.exp(-np.exp(np.asarray(params["nu_log"])))
    phase = np.exp(np.asarray(params["theta_log"]))
    assert modulus.min() >= 0.4 - 1e-6 and modulus.max() <= 0.9 + 1e-6
    assert phase.min() >= 0 and phase.max() <= math.pi + 1e-5
    np.testing.assert_allclose(np.exp(np.asarray(params["gamma_log"])), np.sqrt(1 - modulus**2), rtol=1e-5)


def test_linear_scan_matches_a_python_loop():
    rng = np.random.default_rng(0)
    a, b, h0 = rng.uniform(size=(6, 2, 3)), rng.normal(size=(6, 2, 3)), rng.normal(size=(2, 3))
    h, want = h0, []
    for t in range(6):
        h = a[t] * h + b[t]
        want.append(h)
    a32, b32, h032 = (jnp.asarray(v, jnp.float32) for v in (a, b, h0))
    np.testing.assert_allclose(np.asarray(linear_scan(a32, b32, h032)), np.stack(want), rtol=1e-5, atol=1e-5)
    # a reset at step 3 of row 1 alone: that row restarts from h0 there
    reset = np.zeros((6, 2), bool)
    reset[3, 1] = True
    h, want = h0[1], []
    for t in range(6):
        h = a[t, 1] * (h0[1] if t == 3 else h) + b[t, 1]
        want.append(h)
    got = linear_scan(a32, b32, h032, reset=jnp.asarray(reset))
    np.testing.assert_allclose(np.asarray(got)[:, 1], np.stack(want), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (
            {"segment_ids": np.ones((B, T - 1), np.int32)},
            ValueError,
            r"segment_ids must have shape \[batch, time\]",
        ),
        ({"segment_ids": np.ones((B, T), np.float32)}, TypeError, "segment_ids must have an integer dtype"),
        ({"segment_ids": -np.ones((B, T), np.int32)}, ValueError, "segment_ids must be >= 0"),
        ({"segment_ids": np.array([[1, 0, 1] * 3] * B)}, ValueError, r"0 \(padding\) only at the end"),
        (
            {"segment_ids": np.ones((B, T), np.int32), "sequence_length": np.full((B,), T)},
            ValueError,
            "either sequence_length or segment_ids, not both",
        ),
        ({"sequence_length": np.full((B,), T + 1)}, ValueError, "sequence_length values must lie in"),
        ({"initial_state": jnp.zeros((B, H + 1))}, ValueError, "initial_state"),
    ],
)
def test_bad_inputs(kwargs, error, match):
    rnn = min_gru(H)
    params = rnn.cell.init(jax.random.key(0), F)
    with pytest.raises(error, match=match):
        associative_unroll(rnn, params, jnp.zeros((B, T, F)), **kwargs)


def test_bad_arguments_name_themselves():
    rnn = min_gru(H)
    params = rnn.cell.init(jax.random.key(0), F)
    with pytest.raises(ValueError, match="feature size must match params"):
        associative_unroll(rnn, params, jnp.zeros((B, T, F + 1)))
    with pytest.raises(TypeError, match="inputs must have a floating dtype"):
        associative_unroll(rnn, params, jnp.zeros((B, T, F), jnp.int32))
    with pytest.raises(TypeError, match="rnn must be a LinearRNN"):
        associative_unroll(jaxrnn.gru_cell(H), params, jnp.zeros((B, T, F)))
    with pytest.raises(ValueError, match="num_units must be a positive int"):
        min_lstm(0)
    with pytest.raises(ValueError, match="r_min and r_max"):
        lru(4, r_min=0.9, r_max=0.5)
    rnn = lru(H)
    params = rnn.cell.init(jax.random.key(0), F)
    with pytest.raises(TypeError, match="lru inputs must be float32 or float64"):
        associative_unroll(rnn, params, jnp.zeros((B, T, F), jnp.bfloat16))
