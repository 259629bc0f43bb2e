"""Streaming: chunks carrying the state equal one long unroll; the jitted step equals the loop; row resets."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn.linear_rnn import lru
from jaxrnn.streaming import make_stream_step, reset_state, stream_chunk

B, T, F, H = 3, 10, 4, 5
CELLS = {
    "lstm": lambda: jaxrnn.lstm_cell(H),
    "gru": lambda: jaxrnn.gru_cell(H),
    "lru": lambda: lru(H).cell,
}


def _setup(kind, dtype=jnp.float64):
    cell = CELLS[kind]()
    params = cell.init(jax.random.key(0), F, dtype)
    x = jnp.asarray(np.random.default_rng(0).normal(size=(B, T, F)), dtype)
    return cell, params, x


def _close(a, b):
    for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", list(CELLS))
def test_chunks_equal_one_long_unroll(x64, kind):
    cell, params, x = _setup(kind)
    want_y, want_state = jaxrnn.dynamic_unroll(cell, params, x, fused=False)
    state, outputs = cell.zero_state(B, x.dtype), []
    for lo, hi in [(0, 3), (3, 7), (7, 10)]:
        y, state = stream_chunk(cell, params, state, x[:, lo:hi])
        outputs.append(y)
    _close(jnp.concatenate(outputs, axis=1), want_y)
    _close(state, want_state)


def test_stream_that_ends_inside_a_chunk_freezes(x64):
    cell, params, x = _setup("lstm")
    lengths = jnp.array([10, 6, 3])
    want_y, want_state = jaxrnn.dynamic_unroll(cell, params, x, sequence_length=lengths, fused=False)
    y1, state = stream_chunk(
        cell, params, cell.zero_state(B, x.dtype), x[:, :5], sequence_length=jnp.array([5, 5, 3])
    )
    y2, state = stream_chunk(cell, params, state, x[:, 5:], sequence_length=jnp.array([5, 1, 0]))
    _close(jnp.concatenate([y1, y2], axis=1), want_y)
    _close(state, want_state)


def test_reset_restarts_only_that_row(x64):
    cell, params, x = _setup("gru")
    _, state = stream_chunk(cell, params, cell.zero_state(B, x.dtype), x[:, :4])
    y, state = stream_chunk(cell, params, state, x[:, 4:], reset=jnp.array([False, True, False]))
    whole_y, whole_state = jaxrnn.dynamic_unroll(cell, params, x, fused=False)
    fresh_y, fresh_state = jaxrnn.dynamic_unroll(cell, params, x[1:2, 4:], fused=False)
    _close(y[jnp.array([0, 2])], whole_y[jnp.array([0, 2]), 4:])
    _close(state[jnp.array([0, 2])], whole_state[jnp.array([0, 2])])
    _close(y[1:2], fresh_y)
    _close(state[1:2], fresh_state)


def test_jitted_step_loop_equals_unroll_and_compiles_once(x64):
    traces = []
    base, params, x = _setup("lstm")
    cell = base._replace(apply=lambda *a, **k: (traces.append(1), base.apply(*a, **k))[1])
    step = make_stream_step(cell)
    want_y, want_state = jaxrnn.dynamic_unroll(base, params, x, fused=False)
    state = cell.zero_state(B, x.dtype)
    ys = []
    for t in range(T):
        state, y = step(params, state, x[:, t])
        ys.append(y)
    _close(jnp.stack(ys, axis=1), want_y)
    _close(state, want_state)
    assert len(traces) == 1
    # a reset row restarts from zeros: equal to a fresh step on that row
    reset = jnp.array([True, False, False])
    new_state, y = step(params, state, x[:, 0], reset)
    fresh_state, fresh_y = base.apply(params, base.zero_state(1, x.dtype), x[:1, 0])
    _close(y[:1], fresh_y)
    _close(jax.tree.map(lambda a: a[:1], new_state), fresh_state)


def test_reset_state_uses_given_initial_state():
    cell = jaxrnn.gru_cell(H)
    state = jnp.ones((B, H))
    got = reset_state(cell, state, jnp.array([False, True, False]), jnp.full((B, H), 7.0))
    np.testing.assert_array_equal(np.asarray(got), np.array([[1.0] * H, [7.0] * H, [1.0] * H]))


def test_bad_inputs():
    cell, params, x = _setup("lstm", jnp.float32)
    state = cell.zero_state(B)
    with pytest.raises(ValueError, match="chunk has batch size 2 but the carried state has batch size 3"):
        stream_chunk(cell, params, state, x[:2])
    with pytest.raises(ValueError, match=r"reset must have shape \[batch\] = \(3,\)"):
        stream_chunk(cell, params, state, x, reset=jnp.array([True, False]))
    with pytest.raises(TypeError, match="reset must be a bool array"):
        stream_chunk(cell, params, state, x, reset=jnp.array([1, 0, 0]))
    with pytest.raises(ValueError, match="state must have the cell's state structure"):
        stream_chunk(cell, params, state.h, x)
    with pytest.raises(ValueError, match=r"chunk must have rank 3"):
        stream_chunk(cell, params, state, x[:, 0])
    step = make_stream_step(cell)
    with pytest.raises(ValueError, match="x has batch size 2 but the carried state has batch size 3"):
        step(params, state, x[:2, 0])
    with pytest.raises(ValueError, match="x feature size must match params"):
        step(params, state, jnp.zeros((B, F + 1)))
    with pytest.raises(TypeError, match="cell must be a jaxrnn Cell"):
        make_stream_step(params)
