"""Mixed precision (``matmul_dtype=jnp.bfloat16``) against float64 NumPy references that round the matmul inputs.

The reference steps are the float64 NumPy re-implementations of
``tests/numpy_reference.py`` with every ``a @ b`` replaced by
``bf16(a) @ bf16(b)`` in float64 (``ml_dtypes``), so the tolerance can be
float32-tight where both sides round the same float32 numbers (one step) and
stays far below the bfloat16-vs-float32 gap over several steps.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest
from cell_configs import CONFIGS, random_params, random_state, to_numpy_state
from numpy_reference import dynamic_rnn, np64

import jaxrnn


def bf16_matmul(a, b):
    """``a @ b`` in float64 of both inputs rounded to bfloat16 (via float32, as the float32 model does)."""

    def rounded(v):
        return np.asarray(v, np.float32).astype(ml_dtypes.bfloat16).astype(np.float64)

    return rounded(a) @ rounded(b)


def _max_rel(got, want):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    return float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-12))


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_single_step_matches_a_float64_reference_with_bf16_matmul_inputs(name):
    make_cell, ref_step = CONFIGS[name]
    cell = make_cell(matmul_dtype=jnp.bfloat16)
    params = random_params(cell, jax.random.key(0), 4)
    state = random_state(cell, jax.random.key(1), 3)
    x = jax.random.normal(jax.random.key(2), (3, 4))
    new_state, y = cell.apply(params, state, x)
    args = np64(params), to_numpy_state(state), np.asarray(x, np.float64)
    ref_state, ref_y = ref_step(*args, matmul=bf16_matmul)
    # both sides round the same float32 numbers to bfloat16: only the float32 accumulation differs
    np.testing.assert_allclose(y, ref_y, rtol=2e-5, atol=2e-5)
    for got, want in zip(jax.tree.leaves(new_state), jax.tree.leaves(ref_state)):
        assert got.dtype == jnp.float32
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)
    # and the rounding is really there: the float64 reference without it is far off
    _, exact_y = ref_step(*args)
    assert np.max(np.abs(exact_y - ref_y)) > 2e-4


@pytest.mark.parametrize("unroller", ["static", "scan", "fused"])
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_unrolled_matches_a_float64_reference_with_bf16_matmul_inputs(name, unroller):
    make_cell, ref_step = CONFIGS[name]
    cell = make_cell(matmul_dtype=jnp.bfloat16)
    batch, time, features = 4, 6, 4
    params = random_params(cell, jax.random.key(3), features)
    initial_state = random_state(cell, jax.random.key(4), batch)
    inputs = jax.random.normal(jax.random.key(5), (batch, time, features))
    lengths = np.array([6, 0, 3, 5], np.int32)
    unroll = {
        "static": jaxrnn.static_unroll,
        "scan": functools.partial(jaxrnn.dynamic_unroll, fused=False),
        "fused": jaxrnn.dynamic_unroll,
    }[unroller]
    outputs, final = unroll(
        cell, params, inputs, initial_state=initial_state, sequence_length=jnp.asarray(lengths)
    )
    p64 = np64(params)
    ref_outputs, ref_final = dynamic_rnn(
        lambda s, x: ref_step(p64, s, x, matmul=bf16_matmul),
        to_numpy_state(initial_state),
        np.asarray(inputs, np.float64),
        lengths,
    )
    exact_outputs, _ = dynamic_rnn(
        lambda s, x: ref_step(p64, s, x),
        to_numpy_state(initial_state),
        np.asarray(inputs, np.float64),
        lengths,
    )
    # a state differing in its last float32 bit can round to the neighbouring bfloat16 at a later step,
    # so over several steps allow a few such flips: still 10x below the bfloat16 rounding itself
    error = _max_rel(outputs, ref_outputs)
    gap = _max_rel(exact_outputs, ref_outputs)
    assert error < 1e-3 and error < gap / 10, (error, gap)
    for got, want in zip(jax.tree.leaves(final), jax.tree.leaves(ref_final)):
        assert got.dtype == jnp.float32
        assert _max_rel(got, want) < 1e-3


@pytest.mark.parametrize("name", ["basic_tanh", "basic_relu", "lstm", "lstm_clip"])
def test_fused_bf16_gradients_agree_with_autodiff_of_the_scan(name):
    """The fused backward's bf16 GEMMs against ``jax.grad`` of the plain scan (whose cotangents bf16 rounds too)."""
    make_cell, _ = CONFIGS[name]
    cell = make_cell(matmul_dtype=jnp.bfloat16)
    assert jaxrnn.unroll_path(cell, cell.init(jax.random.key(0), 4)) == "fused"
    params = random_params(cell, jax.random.key(6), 4)
    inputs = jax.random.normal(jax.random.key(7), (3, 9, 4))
    state = random_state(cell, jax.random.key(8), 3)
    weights = jnp.linspace(-1.0, 1.0, cell.output_size)

    def loss(c, fused):
        def f(p, x, s):
            outputs, final = jaxrnn.dynamic_unroll(c, p, x, initial_state=s, fused=fused)
            return jnp.sum(jnp.sin(outputs) * weights[None, None, :]) + sum(
                jnp.sum(f**2) for f in jax.tree.leaves(final)
            )

        return jax.grad(f, argnums=(0, 1, 2))(params, inputs, state)

    fused, scan, float32 = loss(cell, True), loss(cell, False), loss(make_cell(), True)
    for got, want, f32 in zip(*(jax.tree.leaves(g) for g in (fused, scan, float32))):
        assert got.dtype == jnp.float32
        # a bug (a missing term, a wrong transpose) is an O(1) error; bf16 rounding is ~1e-2 at most
        assert _max_rel(got, want) < 2e-2
        assert _max_rel(got, f32) < 3e-2


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_default_traces_no_bfloat16(name):
    """Without ``matmul_dtype`` nothing changes: no bfloat16 anywhere in the step."""
    cell = CONFIGS[name][0]()
    params = cell.init(jax.random.key(0), 4)
    inputs = jnp.ones((2, 3, 4))

    def loss(p):
        return jnp.sum(jaxrnn.dynamic_unroll(cell, p, inputs)[0])

    text = str(jax.make_jaxpr(jax.value_and_grad(loss))(params))
    assert "bf16" not in text
    mixed = CONFIGS[name][0](matmul_dtype=jnp.bfloat16)
    mixed_text = str(jax.make_jaxpr(lambda p: jaxrnn.dynamic_unroll(mixed, p, inputs)[0])(params))
    assert "bf16" in mixed_text


@pytest.mark.parametrize("bad", ["int8", jnp.int32, "nonsense", 3])
@pytest.mark.parametrize("make", [jaxrnn.basic_cell, jaxrnn.lstm_cell, jaxrnn.gru_cell])
def test_matmul_dtype_must_be_a_float_dtype(make, bad):
    with pytest.raises(TypeError, match="matmul_dtype must be None or a float dtype.*got"):
        make(4, matmul_dtype=bad)
