"""Each cell against an independent float64 NumPy re-implementation of its equations."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from cell_configs import CONFIGS, random_params, random_state, to_numpy_state
from numpy_reference import dynamic_rnn, np64

import jaxrnn

UNROLLERS = {
    "static": jaxrnn.static_unroll,
    "dynamic": jaxrnn.dynamic_unroll,
    "dynamic_unroll3_remat": lambda *a, **k: jaxrnn.dynamic_unroll(*a, unroll=3, remat=True, **k),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_single_step_matches_numpy(name):
    make_cell, ref_step = CONFIGS[name]
    cell = make_cell()
    key = jax.random.key(0)
    params = random_params(cell, key, 4)
    state = random_state(cell, jax.random.key(1), 3)
    x = jax.random.normal(jax.random.key(2), (3, 4))
    new_state, y = cell.apply(params, state, x)
    ref_state, ref_y = ref_step(np64(params), to_numpy_state(state), np.asarray(x, np.float64))
    np.testing.assert_allclose(y, ref_y, rtol=2e-5, atol=2e-5)
    for got, want in zip(jax.tree.leaves(new_state), jax.tree.leaves(ref_state)):
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)
    assert y.shape == (3, cell.output_size)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("unroller", sorted(UNROLLERS))
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_unrolled_matches_numpy_dynamic_rnn(name, unroller, masked, reverse):
    make_cell, ref_step = CONFIGS[name]
    cell = make_cell()
    batch, time, features = 5, 7, 4
    params = random_params(cell, jax.random.key(3), features)
    initial_state = random_state(cell, jax.random.key(4), batch)
    inputs = jax.random.normal(jax.random.key(5), (batch, time, features))
    # lengths include 0 (initial state, zero outputs) and the full length
    lengths = np.array([7, 0, 3, 1, 5], np.int32) if masked else None
    outputs, final = UNROLLERS[unroller](
        cell,
        params,
        inputs,
        initial_state=initial_state,
        sequence_length=None if lengths is None else jnp.asarray(lengths),
        reverse=reverse,
    )
    p64 = np64(params)
    ref_outputs, ref_final = dynamic_rnn(
        lambda s, x: ref_step(p64, s, x),
        to_numpy_state(initial_state),
        np.asarray(inputs, np.float64),
        sequence_length=lengths,
        reverse=reverse,
    )
    np.testing.assert_allclose(outputs, ref_outputs, rtol=5e-5, atol=5e-5)
    if masked:
        for b, n in enumerate(lengths):
            assert np.all(np.asarray(outputs)[b, n:] == 0.0), "outputs past the length must be exactly zero"
    for got, want in zip(jax.tree.leaves(final), jax.tree.leaves(ref_final)):
        np.testing.assert_allclose(got, want, rtol=5e-5, atol=5e-5)


def test_lstm_state_is_named_c_then_h():
    cell = jaxrnn.lstm_cell(4, num_proj=2)
    state = cell.zero_state(3)
    assert isinstance(state, jaxrnn.LSTMState)
    assert state._fields == ("c", "h")
    assert state.c.shape == (3, 4) and state.h.shape == (3, 2)
    assert cell.state_size == jaxrnn.LSTMState(4, 2)
    assert cell.output_size == 2


@pytest.mark.parametrize(
    "cell, shapes",
    [
        (jaxrnn.basic_cell(6), {"Wx": (3, 6), "Wh": (6, 6), "b": (6,)}),
        (jaxrnn.lstm_cell(6), {"Wx": (3, 24), "Wh": (6, 24), "b": (24,)}),
        (
            jaxrnn.lstm_cell(6, use_peepholes=True, num_proj=2),
            {
                "Wx": (3, 24),
                "Wh": (2, 24),
                "b": (24,),
                "W_proj": (6, 2),
                "peephole_i": (6,),
                "peephole_f": (6,),
                "peephole_o": (6,),
            },
        ),
        (jaxrnn.gru_cell(6), {"Wx": (3, 18), "Wh": (6, 18), "b": (18,)}),
        (jaxrnn.gru_cell(6, reset_after=True), {"Wx": (3, 18), "Wh": (6, 18), "b": (18,), "bh": (18,)}),
    ],
)
def test_parameter_layout_is_the_documented_contract(cell, shapes):
    params = cell.init(jax.random.key(0), 3)
    assert {k: v.shape for k, v in params.items()} == shapes


def test_default_initializers_glorot_orthogonal_zero():
    cell = jaxrnn.lstm_cell(8)
    params = cell.init(jax.random.key(0), 16)
    np.testing.assert_array_equal(params["b"], 0.0)
    limit = np.sqrt(6.0 / (16 + 32))
    assert float(jnp.max(jnp.abs(params["Wx"]))) <= limit
    for g in range(4):  # each gate's recurrent block is orthogonal
        block = np.asarray(params["Wh"][:, g * 8 : (g + 1) * 8], np.float64)
        np.testing.assert_allclose(block.T @ block, np.eye(8), atol=1e-5)


def test_he_initializer_option():
    cell = jaxrnn.basic_cell(400, activation=jax.nn.relu, initializer=jax.nn.initializers.he_normal())
    params = cell.init(jax.random.key(0), 1000)
    # He normal: std = sqrt(2 / fan_in), truncated normal
    assert abs(float(jnp.std(params["Wx"])) - np.sqrt(2.0 / 1000)) < 0.1 * np.sqrt(2.0 / 1000)


def test_apply_is_a_scan_body():
    cell = jaxrnn.gru_cell(4)
    params = cell.init(jax.random.key(0), 3)
    xs = jax.random.normal(jax.random.key(1), (6, 2, 3))
    final, ys = jax.lax.scan(lambda s, x: cell.apply(params, s, x), cell.zero_state(2), xs)
    state = cell.zero_state(2)
    for t in range(6):  # a hand loop of apply is the reference
        state, y = cell.apply(params, state, xs[t])
        np.testing.assert_allclose(ys[t], y, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(final, state, rtol=1e-6, atol=1e-6)
