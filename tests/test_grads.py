"""Backpropagation through time: both unrollers agree with each other and with finite differences."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from cell_configs import CONFIGS, random_params, random_state
from jax.flatten_util import ravel_pytree

import jaxrnn


def _loss(unroll, cell, lengths, reverse):
    def loss(params, x, state):
        outputs, final = unroll(
            cell, params, x, sequence_length=lengths, initial_state=state, reverse=reverse
        )
        w = jnp.linspace(-1.0, 1.0, outputs.shape[-1], dtype=outputs.dtype)
        return jnp.sum(jnp.sin(outputs) * w[None, None, :]) + sum(
            jnp.sum(s**2) for s in jax.tree.leaves(final)
        )

    return loss


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("name", ["basic_tanh", "lstm", "lstm_proj_peep_clip", "gru", "gru_reset_after"])
def test_gradients_equal_central_finite_differences(x64, name, reverse):
    cell = CONFIGS[name][0]()
    params = jax.tree.map(lambda p: p.astype(jnp.float64), random_params(cell, jax.random.key(0), 3))
    x = jax.random.normal(jax.random.key(1), (3, 5, 3), jnp.float64)
    state = jax.tree.map(lambda s: s.astype(jnp.float64), random_state(cell, jax.random.key(2), 3))
    lengths = jnp.array([5, 2, 4])
    grads = {}
    for label, unroll in (("static", jaxrnn.static_unroll), ("dynamic", jaxrnn.dynamic_unroll)):
        grads[label] = jax.jit(jax.grad(_loss(unroll, cell, lengths, reverse), argnums=(0, 1, 2)))(
            params, x, state
        )
    for a, b in zip(jax.tree.leaves(grads["static"]), jax.tree.leaves(grads["dynamic"])):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    # central differences on a few random directions of (params, x, state)
    loss = jax.jit(_loss(jaxrnn.dynamic_unroll, cell, lengths, reverse))
    args = (params, x, state)
    flat, unravel = ravel_pytree(args)
    g_flat, _ = ravel_pytree(grads["dynamic"])
    rng = np.random.default_rng(0)
    eps = 1e-6
    for _ in range(6):
        d = jnp.asarray(rng.normal(size=flat.shape))
        plus, minus = loss(*unravel(flat + eps * d)), loss(*unravel(flat - eps * d))
        fd = (plus - minus) / (2 * eps)
        np.testing.assert_allclose(float(jnp.dot(g_flat, d)), float(fd), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("unroll", [jaxrnn.static_unroll, jaxrnn.dynamic_unroll])
def test_no_gradient_reaches_padded_inputs(unroll, reverse):
    cell = jaxrnn.lstm_cell(4, use_peepholes=True)
    params = random_params(cell, jax.random.key(0), 3)
    x = jax.random.normal(jax.random.key(1), (4, 6, 3))
    lengths = jnp.array([6, 3, 0, 1])

    def loss(x):
        outputs, final = unroll(cell, params, x, sequence_length=lengths, reverse=reverse)
        return jnp.sum(outputs**2) + jnp.sum(final.c) + jnp.sum(final.h)

    g = np.asarray(jax.jit(jax.grad(loss))(x))
    for b, n in enumerate(np.asarray(lengths)):
        assert np.all(g[b, n:] == 0.0), f"instance {b}: gradient past length {n} must be exactly zero"
        if n:
            assert np.all(np.abs(g[b, :n]).sum(axis=-1) > 0), "valid steps must get a gradient"


def test_remat_gradients_equal_plain_scan():
    cell = jaxrnn.gru_cell(8)
    params = random_params(cell, jax.random.key(0), 4)
    x = jax.random.normal(jax.random.key(1), (2, 12, 4))

    def loss(params, remat):
        out, _ = jaxrnn.dynamic_unroll(cell, params, x, remat=remat)
        return jnp.sum(out**2)

    g_plain = jax.grad(loss)(params, False)
    g_remat = jax.grad(loss)(params, True)
    for a, b in zip(jax.tree.leaves(g_plain), jax.tree.leaves(g_remat)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
