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


# params are compared with jax.eval_shape(cell.init, ...) before tracing (lstm_cell(4) on 3 features)
GRU_PARAMS = jaxrnn.gru_cell(4).init(jax.random.key(0), 3)
ALL_UNROLLERS = pytest.mark.parametrize(
    "unroll",
    [
        jaxrnn.static_unroll,
        jaxrnn.dynamic_unroll,
        jax.jit(jaxrnn.dynamic_unroll, static_argnums=0),  # shapes are static: checked under jit too
        lambda cell, params, x: jaxrnn.bidirectional_unroll(cell, cell, PARAMS, params, x),
        lambda cell, params, x: jaxrnn.truncated_unroll(cell, params, x, window=2),
    ],
    ids=["static", "dynamic", "jit", "bidirectional_bw", "truncated"],
)


@ALL_UNROLLERS
@pytest.mark.parametrize(
    "params, match",
    [
        (
            GRU_PARAMS,
            r"params\['Wh'\] must have shape \(4, 16\) for this cell on 3 input features.*got \(4, 12\)",
        ),
        ({k: PARAMS[k] for k in ("Wx", "b")}, r"params\['Wh'\] is missing \(expected shape \(4, 16\)"),
        ({**PARAMS, "bh": jnp.zeros(16)}, r"params\['bh'\] is not one of them"),
        ({**PARAMS, "Wh": jnp.zeros((5, 16))}, r"params\['Wh'\] must have shape \(4, 16\).*got \(5, 16\)"),
        ({**PARAMS, "b": jnp.zeros((16, 1))}, r"params\['b'\] must have shape \(16,\).*got \(16, 1\)"),
        ([PARAMS["Wx"], PARAMS["Wh"], PARAMS["b"]], r"params\['Wh'\] is missing"),
    ],
    ids=["gru_params", "missing_Wh", "extra_key", "wrong_Wh", "wrong_b_rank", "a_list"],
)
def test_params_that_do_not_match_the_cell(unroll, params, match):
    with pytest.raises(ValueError, match=match):
        unroll(CELL, params, X)


@ALL_UNROLLERS
def test_integer_params(unroll):
    params = {**PARAMS, "Wh": jnp.zeros((4, 16), jnp.int32)}
    with pytest.raises(TypeError, match=r"params\['Wh'\] must have a floating dtype; got int32"):
        unroll(CELL, params, X)


def test_stack_params_name_the_layer():
    cell = jaxrnn.stack_cells([jaxrnn.lstm_cell(4), jaxrnn.lstm_cell(4), jaxrnn.gru_cell(2)])
    params = cell.init(jax.random.key(0), 3)
    with pytest.raises(ValueError, match=r"params\[2\]\['Wh'\] is missing"):
        jaxrnn.dynamic_unroll(cell, params[:2], X)
    swapped = (params[0], params[1], jaxrnn.gru_cell(3).init(jax.random.key(0), 4))
    with pytest.raises(ValueError, match=r"params\[2\]\['Wh'\] must have shape \(2, 6\).*got \(3, 9\)"):
        jaxrnn.dynamic_unroll(cell, swapped, X)


def test_float32_params_with_bfloat16_inputs_stay_allowed():
    outputs, _ = jaxrnn.dynamic_unroll(CELL, PARAMS, X.astype(jnp.bfloat16))
    assert outputs.dtype == jnp.bfloat16 and outputs.shape == (2, 5, 4)


@pytest.mark.parametrize(
    "x, error, match",
    [
        (jnp.ones((2, 5, 3)), ValueError, r"x must have rank 2 \[batch, features\]; got shape \(2, 5, 3\)"),
        (jnp.ones((3,)), ValueError, r"x must have rank 2 \[batch, features\]; got shape \(3,\)"),
        (
            jnp.ones((2, 4)),
            ValueError,
            r"x must have 3 features \(the params' input size\); got shape \(2, 4\)",
        ),
        (jnp.ones((2, 3), jnp.int32), TypeError, r"x must have a floating dtype.*got int32"),
    ],
)
@pytest.mark.parametrize("make", [jaxrnn.basic_cell, jaxrnn.lstm_cell, jaxrnn.gru_cell])
def test_cell_apply_checks_x_eagerly(make, x, error, match):
    cell = make(4)
    params = cell.init(jax.random.key(0), 3)
    with pytest.raises(error, match=match):
        cell.apply(params, cell.zero_state(2), x)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: jaxrnn.lstm_cell(True), r"num_units must be a positive int; got True"),
        (lambda: jaxrnn.gru_cell(4).zero_state(False), r"batch_size must be a non-negative int; got False"),
        (
            lambda: jaxrnn.basic_cell(2).init(jax.random.key(0), True),
            r"input_size must be a positive int; got True",
        ),
        (
            lambda: jaxrnn.truncated_unroll(CELL, PARAMS, X, window=True),
            r"window must be a positive int .*got True",
        ),
        (
            lambda: jaxrnn.tune_unroll(CELL, PARAMS, X, repeats=True),
            r"repeats must be a positive int; got True",
        ),
    ],
)
def test_bool_is_not_a_positive_int(call, match):
    with pytest.raises(ValueError, match=match):
        call()
