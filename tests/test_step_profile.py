"""bench.step_profile: its variants compute what they claim (NumPy float64 references), and the script runs."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpy_reference import dynamic_rnn, gru_step, lstm_step, np64, sigmoid

import jaxrnn
from bench import peers, step_profile

B, T, F, H = 3, 4, 5, 6


def _inputs(kind, dtype=jnp.float32):
    cell = step_profile.library_cell(kind, H)
    params = cell.init(jax.random.key(0), F, dtype)
    params = {k: v + 0.1 * jax.random.normal(jax.random.key(1), v.shape, dtype) for k, v in params.items()}
    x = jax.random.normal(jax.random.key(2), (B, T, F), dtype)
    return params, x


def _blocks_mean(z, gates):
    return sum(np.split(z, gates, axis=-1)) / gates


@pytest.mark.parametrize("kind", ["lstm", "gru", "basic"])
def test_gemm_only_is_the_cells_gemms_with_a_mean_of_the_column_blocks(kind):
    params, x = _inputs(kind)
    cell = step_profile.gemm_only_cell(kind, H)
    # the LSTM and basic variants run the fused path, as the full cells do; the GRU the plain scan
    assert jaxrnn.unroll_path(cell, params) == ("scan" if kind == "gru" else "fused")
    out = np.asarray(jaxrnn.dynamic_unroll(cell, params, x)[0])
    p = np64(params)
    gates = {"lstm": 4, "gru": 3}.get(kind, 1)

    def step(state, x_t):
        h = state[1] if kind == "lstm" else state
        z = x_t @ p["Wx"] + p["b"] + h @ p["Wh"] + p.get("bh", 0.0)
        new = _blocks_mean(z, gates)
        return ((new, new) if kind == "lstm" else new), new

    zeros = np.zeros((B, H))
    want, _ = dynamic_rnn(step, (zeros, zeros) if kind == "lstm" else zeros, np.asarray(x, np.float64))
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)


def test_gates_only_is_the_lstm_equations_without_a_gemm():
    params, x = _inputs("lstm")
    out = np.asarray(jaxrnn.dynamic_unroll(step_profile.gates_only_cell("lstm", H), params, x)[0])
    p = np64(params)

    def step(state, x_t):
        c, h = state
        zi, zf, zg, zo = np.split(x_t[:, :1] * p["b"] + np.tile(h, 4), 4, axis=-1)
        c = sigmoid(zf + 1.0) * c + sigmoid(zi) * np.tanh(zg)
        h = sigmoid(zo) * np.tanh(c)
        return (c, h), h

    zeros = np.zeros((B, H))
    want, _ = dynamic_rnn(step, (zeros, zeros), np.asarray(x, np.float64))
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)


def test_gates_only_gru_and_bare_loop():
    params, x = _inputs("gru")
    p, xs = np64(params), np.asarray(x, np.float64)

    def gru(h, x_t):
        xr, xu, xg = np.split(x_t[:, :1] * p["b"], 3, axis=-1)
        hr, hu, hg = np.split(np.tile(h, 3) + p["bh"], 3, axis=-1)
        r, u = sigmoid(xr + hr), sigmoid(xu + hu)
        h = u * h + (1 - u) * np.tanh(xg + r * hg)
        return h, h

    def bare(h, x_t):
        h = h + x_t[:, :1] * p["b"][:H]
        return h, h

    for make, step in ((step_profile.gates_only_cell, gru), (step_profile.bare_loop_cell, bare)):
        out = np.asarray(jaxrnn.dynamic_unroll(make("gru", H), params, x)[0])
        np.testing.assert_allclose(out, dynamic_rnn(step, np.zeros((B, H)), xs)[0], rtol=1e-5, atol=1e-6)


def test_variants_flops_gemm_only_keeps_the_gemm_and_the_others_have_none():
    # XLA's cost analysis counts a loop's body once: one step's [B, F + H] x [F + H, 4H] GEMM
    params, x = _inputs("lstm")

    def compiled(make):
        cell = make("lstm", H)
        return jax.jit(lambda p, xs: jaxrnn.dynamic_unroll(cell, p, xs)[0]).lower(params, x).compile()

    gemm = 2 * B * (F + H) * 4 * H
    assert compiled(step_profile.gemm_only_cell).cost_analysis()["flops"] >= gemm
    for make in (step_profile.gates_only_cell, step_profile.bare_loop_cell):
        assert " dot(" not in compiled(make).as_text()


@pytest.mark.parametrize("form", step_profile.LSTM_GATE_FORMS)
def test_lstm_gate_forms_equal_the_lstm_in_float64(x64, form):
    cell = step_profile.lstm_gate_form_cell(form, H)
    params, x = _inputs("lstm", jnp.float64)
    assert jaxrnn.unroll_path(cell, params) == "fused"
    p, xs = np64(params), np.asarray(x)
    zeros = np.zeros((B, H))
    want = dynamic_rnn(lambda s, x_t: lstm_step(p, s, x_t), (zeros, zeros), xs)[0]
    np.testing.assert_allclose(np.asarray(jaxrnn.dynamic_unroll(cell, params, x)[0]), want, rtol=1e-12)

    # the fused backward through the form: a central finite difference of the reference along a direction
    direction = jax.tree.map(lambda a: jax.random.normal(jax.random.key(4), a.shape, a.dtype), params)
    grads = jax.grad(lambda q: jnp.sum(jaxrnn.dynamic_unroll(cell, q, x)[0] ** 2))(params)
    eps = 1e-6

    def loss(sign):
        q = {k: p[k] + sign * eps * np.asarray(direction[k]) for k in p}
        return np.sum(dynamic_rnn(lambda s, x_t: lstm_step(q, s, x_t), (zeros, zeros), xs)[0] ** 2)

    numeric = (loss(1) - loss(-1)) / (2 * eps)
    analytic = sum(float(jnp.vdot(grads[k], direction[k])) for k in grads)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6)


def test_gru_one_sigmoid_is_the_reset_after_gru():
    params, x = _inputs("gru")
    out = np.asarray(jaxrnn.dynamic_unroll(step_profile.gru_one_sigmoid_cell(H), params, x)[0])
    p = np64(params)
    want, _ = dynamic_rnn(
        lambda h, x_t: gru_step(p, h, x_t, reset_after=True), np.zeros((B, H)), np.asarray(x, np.float64)
    )
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)


def test_script_runs_and_fractions_are_positive(tmp_path, capsys):
    out = tmp_path / "profile.json"
    names = ["lstm_train", "gru_train", "bilstm2_infer"]
    step_profile.main(
        ["--workloads", ",".join(names), "--repeats", "1", "--hidden", "8", "--time", "3"]
        + ["--json", str(out)]
    )
    results = json.loads(out.read_text())
    printed = capsys.readouterr().out
    for name in names:
        assert f"| {name} |" in printed
        fractions = results[name]["fraction"]
        train = {"forward"} if "train" in name else set()
        assert set(fractions) == {"full", "gemm only", "gates only", "bare loop"} | train
        assert all(v > 0 for v in fractions.values())
        assert results[name]["shape"]["batch"] == peers.WORKLOADS[name][1]  # the shapes are bench.peers'


def test_bad_workload_names_fail_before_timing():
    with pytest.raises(ValueError, match="--workloads must name workloads of bench.peers"):
        step_profile.main(["--workloads", "lstm_tran"])
