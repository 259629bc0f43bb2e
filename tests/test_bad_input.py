"""Bad input gets a clear error naming the argument, what was expected and what came."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn

CELL = jaxrnn.lstm_cell(4)
PARAMS = CELL.init(jax.random.key(0), 3)
X = jnp.ones((2, 5, 3))
BOTH = pytest.mark.parametrize("unroll", [jaxrnn.static_unroll, jaxrnn.dynamic_unroll])


@BOTH
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        # inputs
        (
            dict(inputs=jnp.ones((2, 3))),
            ValueError,
            r"inputs must have rank 3 \[batch, time, features\]; got shape \(2, 3\)",
        ),
        (
            dict(inputs=jnp.ones((2, 5, 3, 1))),
            ValueError,
            r"inputs must have rank 3.*got shape \(2, 5, 3, 1\)",
        ),
        (dict(inputs=jnp.ones((2, 5, 3)), time_major=True), None, None),
        (
            dict(inputs=jnp.ones((2, 0, 3))),
            ValueError,
            r"inputs must have at least one time step; got shape \(2, 0, 3\)",
        ),
        (
            dict(inputs=jnp.ones((2, 5, 7))),
            ValueError,
            r"inputs feature size must match params \(input_size=3\); got 7",
        ),
        (
            dict(inputs=jnp.ones((2, 5, 3), jnp.int32)),
            TypeError,
            r"inputs must have a floating dtype.*got int32",
        ),
        (dict(inputs=np.ones((2, 5, 3), bool)), TypeError, r"inputs must have a floating dtype.*got bool"),
        (dict(inputs="abc"), TypeError, r"inputs must be an array; got str"),
        # sequence_length
        (
            dict(sequence_length=jnp.array([5, 2, 1])),
            ValueError,
            r"sequence_length must have shape \[batch\] = \(2,\); got shape \(3,\)",
        ),
        (
            dict(sequence_length=jnp.array([[5, 2]])),
            ValueError,
            r"sequence_length must have shape \[batch\] = \(2,\); got shape \(1, 2\)",
        ),
        (
            dict(sequence_length=jnp.array([5.0, 2.0])),
            TypeError,
            r"sequence_length must have an integer dtype; got float32",
        ),
        (
            dict(sequence_length=jnp.array([6, 2])),
            ValueError,
            r"sequence_length values must lie in \[0, time\] = \[0, 5\]; got sequence_length\[0\] = 6",
        ),
        (dict(sequence_length=jnp.array([5, -1])), ValueError, r"got sequence_length\[1\] = -1"),
        (dict(sequence_length=[5, 9]), ValueError, r"got sequence_length\[1\] = 9"),
        # initial_state
        (
            dict(initial_state=jnp.zeros((2, 4))),
            ValueError,
            r"initial_state must have the cell's state structure",
        ),
        (
            dict(initial_state=jaxrnn.LSTMState(jnp.zeros((2, 4)), jnp.zeros((3, 4)))),
            ValueError,
            r"initial_state\.h must have shape \(2, 4\); got \(3, 4\)",
        ),
        (
            dict(initial_state=jaxrnn.LSTMState(jnp.zeros((2, 5)), jnp.zeros((2, 4)))),
            ValueError,
            r"initial_state\.c must have shape \(2, 4\); got \(2, 5\)",
        ),
        (
            dict(initial_state=jaxrnn.LSTMState(jnp.zeros((2, 4), jnp.int32), jnp.zeros((2, 4)))),
            TypeError,
            r"initial_state\.c must have a floating dtype; got int32",
        ),
        (
            dict(initial_state=(jnp.zeros((2, 4)), jnp.zeros((2, 4)))),
            ValueError,
            r"initial_state must have the cell's state structure",
        ),
        # key
        (dict(key=123), TypeError, r"key must be a PRNG key from jax.random.key; got int"),
    ],
)
def test_bad_inputs(unroll, kwargs, error, match):
    kwargs = dict(kwargs)
    inputs = kwargs.pop("inputs", X)
    if error is None:  # a control case: time_major on the same array is fine
        unroll(CELL, PARAMS, inputs, **kwargs)
        return
    with pytest.raises(error, match=match):
        unroll(CELL, PARAMS, inputs, **kwargs)


def test_params_from_another_cell():
    with pytest.raises(ValueError, match=r"params do not look like this cell's parameters"):
        jaxrnn.dynamic_unroll(CELL, {"kernel": jnp.ones((3, 4))}, X)


def test_not_a_cell():
    with pytest.raises(TypeError, match=r"cell must be a jaxrnn Cell.*got function"):
        jaxrnn.dynamic_unroll(lambda p, s, x: (s, x), PARAMS, X)


def test_empty_list():
    with pytest.raises(ValueError, match=r"inputs must be a non-empty list"):
        jaxrnn.static_unroll(CELL, PARAMS, [])


def test_list_with_mismatched_steps():
    with pytest.raises(
        ValueError,
        match=r"inputs\[1\] must match inputs\[0\] \(shape \(2, 3\), dtype float32\); got shape \(2, 4\)",
    ):
        jaxrnn.static_unroll(CELL, PARAMS, [jnp.ones((2, 3)), jnp.ones((2, 4))])


def test_list_with_int_step():
    with pytest.raises(TypeError, match=r"inputs\[0\] must have a floating dtype.*got int32"):
        jaxrnn.static_unroll(CELL, PARAMS, [jnp.ones((2, 3), jnp.int32)])


def test_list_to_dynamic_unroll():
    with pytest.raises(
        TypeError, match=r"dynamic_unroll takes inputs as one \[batch, time, features\] array"
    ):
        jaxrnn.dynamic_unroll(CELL, PARAMS, [X[:, 0], X[:, 1]])


@pytest.mark.parametrize("unroll_steps", [0, -2, 1.5, True])
def test_bad_scan_unroll(unroll_steps):
    with pytest.raises(ValueError, match=r"unroll must be a positive int; got"):
        jaxrnn.dynamic_unroll(CELL, PARAMS, X, unroll=unroll_steps)


@pytest.mark.parametrize(
    "factory, match",
    [
        (lambda: jaxrnn.basic_cell(0), r"num_units must be a positive int; got 0"),
        (lambda: jaxrnn.lstm_cell(4.5), r"num_units must be a positive int; got 4.5"),
        (lambda: jaxrnn.lstm_cell(4, num_proj=-1), r"num_proj must be a positive int; got -1"),
        (lambda: jaxrnn.lstm_cell(4, cell_clip=0.0), r"cell_clip must be positive or None; got 0.0"),
        (lambda: jaxrnn.gru_cell(None), r"num_units must be a positive int; got None"),
        (lambda: jaxrnn.gru_cell(3).init(jax.random.key(0), 0), r"input_size must be a positive int; got 0"),
        (lambda: jaxrnn.gru_cell(3).zero_state(-1), r"batch_size must be a non-negative int; got -1"),
    ],
)
def test_bad_cell_arguments(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()


def test_traced_lengths_are_not_range_checked_but_clamp():
    """Under jit the lengths are tracers: out-of-range values act as clamped, as documented."""
    run = jax.jit(lambda lengths: jaxrnn.dynamic_unroll(CELL, PARAMS, X, sequence_length=lengths))
    out_big, _ = run(jnp.array([9, -3]))
    out_ok, _ = jaxrnn.dynamic_unroll(CELL, PARAMS, X, sequence_length=jnp.array([5, 0]))
    np.testing.assert_allclose(out_big, out_ok, atol=1e-7)
