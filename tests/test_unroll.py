"""Unrollers: static == dynamic, layouts, reversal, bidirectional, jit / vmap / bfloat16."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from cell_configs import CONFIGS, random_params, random_state

import jaxrnn


def counter_cell() -> jaxrnn.Cell:
    """A cell whose results can be written down: state += 1, output = state + x."""

    def step(params, state, x, *, key=None, training=False, time_step=0):
        new = state + 1.0
        return new, new + x

    return jaxrnn.Cell(
        init=lambda key, input_size, dtype=jnp.float32: {"n": jnp.zeros((input_size,), dtype)},
        zero_state=lambda batch, dtype=jnp.float32: jnp.zeros((batch, 1), dtype),
        apply=step,
        output_size=1,
        state_size=1,
        input_size=lambda params: params["n"].shape[0],
    )


def test_counter_cell_masked_by_hand():
    cell = counter_cell()
    params = cell.init(None, 1)
    x = jnp.zeros((3, 4, 1))
    lengths = jnp.array([4, 2, 0])
    for unroll in (jaxrnn.static_unroll, jaxrnn.dynamic_unroll):
        outputs, state = unroll(cell, params, x, sequence_length=lengths)
        np.testing.assert_array_equal(outputs[..., 0], [[1, 2, 3, 4], [1, 2, 0, 0], [0, 0, 0, 0]])
        np.testing.assert_array_equal(state[:, 0], [4, 2, 0])


def test_reverse_with_lengths_reverses_within_each_sequence_by_hand():
    cell = counter_cell()
    params = cell.init(None, 1)
    x = jnp.array([[10.0, 20, 30, 40], [10, 20, 30, 40]])[..., None]
    lengths = jnp.array([4, 3])
    for unroll in (jaxrnn.static_unroll, jaxrnn.dynamic_unroll):
        outputs, state = unroll(cell, params, x, sequence_length=lengths, reverse=True)
        # the last valid step is seen first (counter 1), outputs return in original time order
        np.testing.assert_array_equal(outputs[..., 0], [[14, 23, 32, 41], [13, 22, 31, 0]])
        np.testing.assert_array_equal(state[:, 0], [4, 3])


@pytest.mark.parametrize("name", ["lstm_proj_peep_clip", "gru", "basic_tanh"])
def test_reverse_without_lengths_equals_flipping_by_hand(name):
    cell = CONFIGS[name][0]()
    params = random_params(cell, jax.random.key(0), 3)
    x = jax.random.normal(jax.random.key(1), (2, 6, 3))
    for unroll in (jaxrnn.static_unroll, jaxrnn.dynamic_unroll):
        out_rev, state_rev = unroll(cell, params, x, reverse=True)
        out_flip, state_flip = unroll(cell, params, jnp.flip(x, axis=1))
        np.testing.assert_allclose(out_rev, jnp.flip(out_flip, axis=1), rtol=1e-6, atol=1e-6)
        for a, b in zip(jax.tree.leaves(state_rev), jax.tree.leaves(state_flip)):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_time_major_equals_batch_major(name):
    cell = CONFIGS[name][0]()
    params = random_params(cell, jax.random.key(0), 3)
    x = jax.random.normal(jax.random.key(1), (4, 5, 3))
    lengths = jnp.array([5, 2, 0, 4])
    for unroll in (jaxrnn.static_unroll, jaxrnn.dynamic_unroll):
        out_b, s_b = unroll(cell, params, x, sequence_length=lengths)
        out_t, s_t = unroll(cell, params, jnp.swapaxes(x, 0, 1), sequence_length=lengths, time_major=True)
        np.testing.assert_allclose(out_b, jnp.swapaxes(out_t, 0, 1), rtol=1e-6, atol=1e-6)
        for a, b in zip(jax.tree.leaves(s_b), jax.tree.leaves(s_t)):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_static_list_form_equals_tensor_form():
    cell = jaxrnn.lstm_cell(4, use_peepholes=True)
    params = random_params(cell, jax.random.key(0), 3)
    x = jax.random.normal(jax.random.key(1), (2, 5, 3))
    lengths = jnp.array([5, 3])
    outs, state = jaxrnn.static_unroll(cell, params, [x[:, t] for t in range(5)], sequence_length=lengths)
    assert isinstance(outs, list) and len(outs) == 5
    out_arr, state_arr = jaxrnn.static_unroll(cell, params, x, sequence_length=lengths)
    np.testing.assert_allclose(jnp.stack(outs, 1), out_arr, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(state.h, state_arr.h, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("unroll", [1, 2, 4, 7])
@pytest.mark.parametrize("remat", [False, True])
def test_scan_options_do_not_change_results(unroll, remat):
    cell = jaxrnn.lstm_cell(6)
    params = random_params(cell, jax.random.key(0), 3)
    x = jax.random.normal(jax.random.key(1), (3, 9, 3))
    lengths = jnp.array([9, 4, 1])
    ref, ref_state = jaxrnn.static_unroll(cell, params, x, sequence_length=lengths)
    out, state = jaxrnn.dynamic_unroll(cell, params, x, sequence_length=lengths, unroll=unroll, remat=remat)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(state.c, ref_state.c, rtol=1e-5, atol=1e-6)


def test_bidirectional_equals_two_unrolls():
    fw, bw = jaxrnn.gru_cell(4), jaxrnn.lstm_cell(3)
    pf, pb = random_params(fw, jax.random.key(0), 2), random_params(bw, jax.random.key(1), 2)
    x = jax.random.normal(jax.random.key(2), (3, 6, 2))
    lengths = jnp.array([6, 2, 4])
    s0 = random_state(bw, jax.random.key(3), 3)
    (of, ob), (sf, sb) = jaxrnn.bidirectional_unroll(
        fw, bw, pf, pb, x, sequence_length=lengths, initial_state_bw=s0
    )
    ref_f, ref_sf = jaxrnn.static_unroll(fw, pf, x, sequence_length=lengths)
    # backward by hand: reverse each sequence within its length, run forward, reverse back
    x_np, ob_np = np.asarray(x), np.asarray(ob)
    for b, n in enumerate(np.asarray(lengths)):
        rev = jnp.asarray(x_np[b : b + 1, :n][:, ::-1].copy())
        init = jax.tree.map(lambda s, b=b: s[b : b + 1], s0)
        out_b, st_b = jaxrnn.static_unroll(bw, pb, rev, initial_state=init)
        np.testing.assert_allclose(ob_np[b, :n], np.asarray(out_b)[0, ::-1], rtol=1e-5, atol=1e-6)
        assert np.all(ob_np[b, n:] == 0.0)
        np.testing.assert_allclose(sb.h[b], st_b.h[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(of, ref_f, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sf, ref_sf, rtol=1e-5, atol=1e-6)


def test_jit_with_traced_lengths_and_no_retrace():
    cell = jaxrnn.lstm_cell(4)
    params = random_params(cell, jax.random.key(0), 3)
    traces = []

    @jax.jit
    def run(params, x, lengths):
        traces.append(1)
        return jaxrnn.dynamic_unroll(cell, params, x, sequence_length=lengths)

    x = jax.random.normal(jax.random.key(1), (2, 5, 3))
    out1, _ = run(params, x, jnp.array([5, 2]))
    out2, _ = run(params, x, jnp.array([3, 1]))
    assert len(traces) == 1, "a second call with the same shapes must not retrace"
    ref, _ = jaxrnn.static_unroll(cell, params, x, sequence_length=jnp.array([3, 1]))
    np.testing.assert_allclose(out2, ref, rtol=1e-5, atol=1e-6)
    assert np.all(np.asarray(out1)[1, 2:] == 0)


def test_vmap_over_an_ensemble_of_params():
    cell = jaxrnn.gru_cell(4)
    keys = jax.random.split(jax.random.key(0), 3)
    params = jax.vmap(lambda k: random_params(cell, k, 2))(keys)
    x = jax.random.normal(jax.random.key(1), (3, 2, 5, 2))  # [ensemble, batch, time, features]
    lengths = jnp.array([5, 3])
    outs, states = jax.vmap(lambda p, xi: jaxrnn.dynamic_unroll(cell, p, xi, sequence_length=lengths))(
        params, x
    )
    for e in range(3):
        p_e = jax.tree.map(lambda a, e=e: a[e], params)
        ref, ref_s = jaxrnn.static_unroll(cell, p_e, x[e], sequence_length=lengths)
        np.testing.assert_allclose(outs[e], ref, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(states[e], ref_s, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["basic_tanh", "lstm_proj_peep_clip", "gru", "gru_reset_after"])
def test_bfloat16_inputs_follow_float32(name):
    cell = CONFIGS[name][0]()
    params = random_params(cell, jax.random.key(0), 3, scale=0.3)
    x = jax.random.normal(jax.random.key(1), (2, 6, 3))
    lengths = jnp.array([6, 3])
    ref, _ = jaxrnn.dynamic_unroll(cell, params, x, sequence_length=lengths)
    for unroll in (jaxrnn.static_unroll, jaxrnn.dynamic_unroll):
        out, state = unroll(cell, params, x.astype(jnp.bfloat16), sequence_length=lengths)
        assert out.dtype == jnp.bfloat16
        assert all(s.dtype == jnp.bfloat16 for s in jax.tree.leaves(state))
        np.testing.assert_allclose(np.asarray(out, np.float32), ref, atol=0.05)
