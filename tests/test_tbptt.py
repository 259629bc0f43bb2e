"""Truncated BPTT: forward equals the full unroll; gradients stop at window boundaries."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from cell_configs import random_params
from numpy_reference import dynamic_rnn, lstm_step, np64

import jaxrnn


def _setup(time=7):
    cell = jaxrnn.lstm_cell(4)
    params = random_params(cell, jax.random.key(0), 2)
    x = jax.random.normal(jax.random.key(1), (3, time, 2))
    return cell, params, x


def test_forward_equals_the_full_unroll_with_lengths_and_a_short_last_window():
    cell, params, x = _setup()
    lengths = jnp.array([7, 4, 0])
    run = jax.jit(lambda p, x: jaxrnn.truncated_unroll(cell, p, x, window=3, sequence_length=lengths))
    out, state = run(params, x)
    p = np64(params)
    init = (np.zeros((3, 4)), np.zeros((3, 4)))
    ref, ref_state = dynamic_rnn(lambda s, xt: lstm_step(p, s, xt), init, np.asarray(x, np.float64), lengths)
    np.testing.assert_allclose(out, ref, atol=1e-5)
    np.testing.assert_allclose(state.c, ref_state[0], atol=1e-5)
    np.testing.assert_allclose(state.h, ref_state[1], atol=1e-5)


def test_dropout_masks_match_the_full_unroll_because_time_steps_count_from_the_start():
    cell = jaxrnn.dropout(jaxrnn.gru_cell(4), input_keep_prob=0.6, output_keep_prob=0.7)
    params = cell.init(jax.random.key(0), 2)
    x = jax.random.normal(jax.random.key(1), (2, 6, 2))
    key = jax.random.key(4)
    full, out = jax.jit(
        lambda p, x: (
            jaxrnn.dynamic_unroll(cell, p, x, training=True, key=key)[0],
            jaxrnn.truncated_unroll(cell, p, x, window=2, training=True, key=key)[0],
        )
    )(params, x)
    np.testing.assert_allclose(out, full, atol=1e-6)


def _input_grad(unroll_fn, cell, params, x):
    """d(sum of the last step's output) / d inputs, [B, T, F]."""
    return jax.jit(jax.grad(lambda x: jnp.sum(unroll_fn(cell, params, x)[0][:, -1])))(x)


def test_gradients_do_not_cross_window_boundaries():
    cell, params, x = _setup(time=6)
    g_full = np.asarray(_input_grad(jaxrnn.dynamic_unroll, cell, params, x))
    g_trunc = np.asarray(_input_grad(lambda *a: jaxrnn.truncated_unroll(*a, window=4), cell, params, x))
    # the last step lies in window [4, 6): steps 0..3 get no gradient, steps 4, 5 get the full one
    assert np.abs(g_full[:, :4]).min() > 0
    np.testing.assert_array_equal(g_trunc[:, :4], 0.0)
    np.testing.assert_allclose(g_trunc[:, 4:], g_full[:, 4:], atol=1e-6)


def _window_loss(cell):
    def loss_fn(params, state, x_w, y_w):
        out, state = jaxrnn.dynamic_unroll(cell, params, x_w, initial_state=state)
        return jnp.sum(jnp.square(out[..., :1] - y_w)), state

    return loss_fn


def test_truncated_value_and_grad_equals_the_windowed_losses_chained_by_hand():
    cell, params, x = _setup(time=7)
    y = jnp.sin(jnp.cumsum(x[..., :1], axis=1))
    loss_fn = _window_loss(cell)
    init = cell.zero_state(3)
    (total, state), grads = jax.jit(jaxrnn.truncated_value_and_grad(loss_fn, window=3))(params, init, x, y)

    def by_hand(params):
        # a Python loop over the windows, stopping the state's gradient at each boundary
        s, acc = init, 0.0
        for start in range(0, 7, 3):
            loss, s = loss_fn(
                params, jax.lax.stop_gradient(s), x[:, start : start + 3], y[:, start : start + 3]
            )
            acc = acc + loss
        return acc, s

    (want_total, want_state), want_grads = jax.jit(jax.value_and_grad(by_hand, has_aux=True))(params)
    np.testing.assert_allclose(total, want_total, rtol=1e-5)
    np.testing.assert_allclose(state.h, want_state.h, atol=1e-6)
    for got, want in zip(jax.tree.leaves(grads), jax.tree.leaves(want_grads)):
        np.testing.assert_allclose(got, want, atol=1e-5)
    # and truncation matters: full BPTT differs
    full_loss, full_grads = jax.jit(jax.value_and_grad(lambda p: loss_fn(p, init, x, y)[0]))(params)
    assert not np.allclose(full_grads["Wh"], grads["Wh"], atol=1e-4)
    # the full loss value is the same: truncation changes gradients, never the forward pass
    np.testing.assert_allclose(total, full_loss, rtol=1e-5)


def test_bad_input():
    cell, params, x = _setup()
    for bad in (0, -2, 2.0):
        with pytest.raises(ValueError, match=f"window must be a positive int .*; got {bad}"):
            jaxrnn.truncated_unroll(cell, params, x, window=bad)
    with pytest.raises(
        ValueError, match=r"inputs must have rank 3 \[batch, time, features\]; got shape \(3, 7\)"
    ):
        jaxrnn.truncated_unroll(cell, params, x[..., 0], window=2)
    f = jaxrnn.truncated_value_and_grad(_window_loss(cell), window=2)
    with pytest.raises(
        ValueError, match=r"targets must share inputs' \[batch, time\] = \(3, 7\); got shape \(3, 6, 1\)"
    ):
        f(params, cell.zero_state(3), x, x[:, :6, :1])
