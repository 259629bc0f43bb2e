"""Stacks and bidirectional layers in one loop (jaxrnn.wavefront) against NumPy float64 and the plain scan."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from cell_configs import random_params
from numpy_reference import basic_step, dynamic_rnn, lstm_step, np64

import jaxrnn
from jaxrnn import masking, wavefront

LENGTHS = np.array([7, 3, 0, 5])
MAKERS = {"lstm": jaxrnn.lstm_cell, "basic": jaxrnn.basic_cell}
STEPS = {"lstm": lstm_step, "basic": basic_step}


def _params64(cell, key, input_size):
    return jax.tree.map(lambda a: a.astype(jnp.float64), random_params(cell, key, input_size))


def _step(kind, params):
    """A NumPy float64 step ``(state, x) -> (state, y)`` with ``params``."""
    p = np64(params)
    return lambda state, x: STEPS[kind](p, state, x)


def _wavefront(cell, params, x, lengths):
    """``(outputs [B, T, K], final_state)`` of :func:`jaxrnn.wavefront.stack_unroll`, batch-major."""
    xs, lengths, state = masking.prepare(cell, params, x, sequence_length=lengths)
    final, ys = wavefront.stack_unroll(cell, params, xs, state, lengths)
    return jnp.swapaxes(ys, 0, 1), final


def _stack(kind, layers=3, units=5):
    return jaxrnn.stack_cells([MAKERS[kind](units) for _ in range(layers)])


def _numpy_stack(kind, params, x, lengths):
    """Layer after layer in NumPy float64 (padded steps are zero, so what the next layer reads there is moot)."""
    ys, finals = np.asarray(x, np.float64), []
    for p in params:
        units = p["Wh"].shape[0]
        zero = np.zeros((x.shape[0], units))
        state = (zero, zero) if kind == "lstm" else zero
        ys, final = dynamic_rnn(_step(kind, p), state, ys, lengths)
        finals.append(final)
    return ys, finals


@pytest.mark.parametrize("kind", ["lstm", "basic"])
@pytest.mark.parametrize("lengths", [None, LENGTHS])
def test_stack_runs_the_wavefront_with_numpy_float64_numbers(x64, kind, lengths):
    cell = _stack(kind)
    params = _params64(cell, jax.random.key(0), 3)
    x = jax.random.normal(jax.random.key(1), (4, 7, 3), jnp.float64)
    assert wavefront.stackable(cell, params)
    out, final = jax.jit(lambda p, x: _wavefront(cell, p, x, lengths))(params, x)
    ref_out, ref_finals = _numpy_stack(kind, params, np.asarray(x), lengths)
    np.testing.assert_allclose(out, ref_out, atol=1e-12)
    for got, want in zip(final, ref_finals):
        np.testing.assert_allclose(
            np.concatenate(jax.tree.leaves(got)), np.concatenate(jax.tree.leaves(want)), atol=1e-12
        )


def test_stack_gradients_match_finite_differences_and_the_plain_scan(x64):
    cell = _stack("lstm", layers=3, units=3)
    params = _params64(cell, jax.random.key(0), 2)
    x = jax.random.normal(jax.random.key(1), (4, 6, 2), jnp.float64)
    lengths = jnp.array([6, 2, 0, 4])

    def loss(p, x, fused):
        if fused:
            out, final = _wavefront(cell, p, x, lengths)
        else:
            out, final = jaxrnn.dynamic_unroll(cell, p, x, sequence_length=lengths, fused=False)
        return jnp.sum(out**2) + jnp.sum(final[-1].c)

    grads = jax.grad(loss, argnums=(0, 1))(params, x, True)
    plain = jax.grad(loss, argnums=(0, 1))(params, x, False)
    for g, want in zip(jax.tree.leaves(grads), jax.tree.leaves(plain)):
        np.testing.assert_allclose(g, want, atol=1e-12)
    # a central difference along one random direction of the weights
    direction = jax.tree.map(lambda a: jax.random.normal(jax.random.key(2), a.shape, a.dtype), params)
    eps = 1e-6
    shifted = [jax.tree.map(lambda p, d, s=s: p + s * eps * d, params, direction) for s in (1, -1)]
    numeric = (loss(shifted[0], x, True) - loss(shifted[1], x, True)) / (2 * eps)
    analytic = sum(jnp.vdot(g, d) for g, d in zip(jax.tree.leaves(grads[0]), jax.tree.leaves(direction)))
    np.testing.assert_allclose(analytic, numeric, rtol=1e-7)


def test_packed_rows_give_the_plain_scans_numbers(x64):
    cell = _stack("lstm")
    params = _params64(cell, jax.random.key(0), 3)
    x = jax.random.normal(jax.random.key(1), (4, 7, 3), jnp.float64)
    ids = jnp.array([[1, 1, 2, 2, 2, 3, 0], [1, 2, 2, 2, 0, 0, 0], [1] * 7, [1, 1, 1, 1, 1, 1, 2]])
    xs, lengths, state = masking.prepare(cell, params, x, segment_ids=ids)
    final, out = wavefront.stack_unroll(cell, params, xs, state, lengths, masking.segment_resets(ids))
    out = jnp.swapaxes(out, 0, 1)
    ref, ref_final = jaxrnn.dynamic_unroll(cell, params, x, segment_ids=ids, fused=False)
    np.testing.assert_allclose(out, ref, atol=1e-12)
    np.testing.assert_allclose(jax.tree.leaves(final), jax.tree.leaves(ref_final), atol=1e-12)


def test_only_same_size_fused_stacks_are_stackable():
    same = _stack("lstm")
    assert wavefront.stackable(same, same.init(jax.random.key(0), 3))
    mixed = jaxrnn.stack_cells([jaxrnn.lstm_cell(5), jaxrnn.lstm_cell(4)])
    assert not wavefront.stackable(mixed, mixed.init(jax.random.key(0), 3))
    gru = jaxrnn.stack_cells([jaxrnn.gru_cell(4), jaxrnn.gru_cell(4)])
    assert not wavefront.stackable(gru, gru.init(jax.random.key(0), 3))


@pytest.mark.parametrize("kind", ["lstm", "basic"])
@pytest.mark.parametrize("lengths", [None, LENGTHS])
def test_bidirectional_in_one_loop_matches_numpy_float64_and_its_gradients_the_plain_scan(x64, kind, lengths):
    fw, bw = MAKERS[kind](4), MAKERS[kind](4)
    assert wavefront.same_recurrence((fw, bw), (fw.init(jax.random.key(0), 3), bw.init(jax.random.key(0), 3)))
    p_fw, p_bw = _params64(fw, jax.random.key(0), 3), _params64(bw, jax.random.key(1), 3)
    x = jax.random.normal(jax.random.key(2), (4, 7, 3), jnp.float64)

    def run(p_fw, p_bw, x, one_loop):
        if not one_loop:  # the default: a loop per direction, autodiff of the plain scan
            return jaxrnn.bidirectional_unroll(fw, bw, p_fw, p_bw, x, sequence_length=lengths, fused=False)
        xs, n, s_fw = masking.prepare(fw, p_fw, x, sequence_length=lengths)
        s_bw = masking.prepare(bw, p_bw, x, sequence_length=lengths)[2]
        (f_fw, f_bw), (y_fw, y_bw) = wavefront.bidirectional_unroll(
            (fw, bw), (p_fw, p_bw), xs, (s_fw, s_bw), n
        )
        return (jnp.swapaxes(y_fw, 0, 1), jnp.swapaxes(y_bw, 0, 1)), (f_fw, f_bw)

    (y_fw, y_bw), (s_fw, s_bw) = run(p_fw, p_bw, x, True)
    zero = np.zeros((4, 4))
    state = (zero, zero) if kind == "lstm" else zero
    for p, y, s, reverse in ((p_fw, y_fw, s_fw, False), (p_bw, y_bw, s_bw, True)):
        step = _step(kind, p)
        ref_y, ref_s = dynamic_rnn(step, state, np.asarray(x), lengths, reverse=reverse)
        np.testing.assert_allclose(y, ref_y, atol=1e-12)
        np.testing.assert_allclose(
            np.concatenate(jax.tree.leaves(s)), np.concatenate(jax.tree.leaves(ref_s)), atol=1e-12
        )

    def loss(p_fw, p_bw, x, one_loop):
        (y_fw, y_bw), (s_fw, _) = run(p_fw, p_bw, x, one_loop)
        return jnp.sum(y_fw * y_bw) + jnp.sum(jax.tree.leaves(s_fw)[0])

    grads = jax.grad(loss, argnums=(0, 1, 2))(p_fw, p_bw, x, True)
    plain = jax.grad(loss, argnums=(0, 1, 2))(p_fw, p_bw, x, False)
    for g, want in zip(jax.tree.leaves(grads), jax.tree.leaves(plain)):
        np.testing.assert_allclose(g, want, atol=1e-12)


def test_batched_gemm_variant_gives_the_same_numbers(x64):
    cell = _stack("lstm")
    params = _params64(cell, jax.random.key(0), 3)
    xs = jax.random.normal(jax.random.key(1), (7, 4, 3), jnp.float64)
    recs = tuple(c.recurrence for c in cell.recurrence.cells)
    state = cell.zero_state(4, jnp.float64)
    lengths = jnp.asarray(LENGTHS)
    args = (recs, tuple(params), (xs,), state, lengths, None)
    finals, ys = wavefront._lanes(*args, chained=True, batched=True)  # noqa: SLF001
    ref, ref_finals = jaxrnn.dynamic_unroll(
        cell, params, xs, sequence_length=lengths, time_major=True, fused=False
    )
    np.testing.assert_allclose(ys, ref, atol=1e-12)
    np.testing.assert_allclose(jax.tree.leaves(finals), jax.tree.leaves(ref_finals), atol=1e-12)
