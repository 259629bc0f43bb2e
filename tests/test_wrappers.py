"""Wrappers: stack_cells, output_projection, dropout, residual, against hand-chained NumPy references."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from cell_configs import random_params, random_state, to_numpy_state
from numpy_reference import basic_step, dynamic_rnn, gru_step, lstm_step, np64

import jaxrnn

UNROLLS = [jaxrnn.static_unroll, jaxrnn.dynamic_unroll]


def identity_cell(size: int) -> jaxrnn.Cell:
    """A cell whose output is its input and whose state counts steps: dropout masks are visible as is."""

    def step(params, state, x, *, key=None, training=False, time_step=0):
        return state + 1.0, x

    return jaxrnn.Cell(
        init=lambda key, input_size, dtype=jnp.float32: {"n": jnp.zeros((input_size,), dtype)},
        zero_state=lambda batch, dtype=jnp.float32: jnp.zeros((batch, size), dtype),
        apply=step,
        output_size=size,
        state_size=size,
        input_size=lambda params: params["n"].shape[0],
    )


def three_layers():
    cells = [jaxrnn.lstm_cell(4), jaxrnn.gru_cell(3), jaxrnn.basic_cell(5)]
    steps = [lstm_step, gru_step, basic_step]
    return cells, steps


@pytest.mark.parametrize("unroll", UNROLLS)
def test_three_layer_stack_equals_three_numpy_layers_chained_by_hand(unroll):
    cells, steps = three_layers()
    stack = jaxrnn.stack_cells(cells)
    key = jax.random.key(0)
    params = tuple(
        random_params(c, jax.random.fold_in(key, i), n) for i, (c, n) in enumerate(zip(cells, [2, 4, 3]))
    )
    init = tuple(random_state(c, jax.random.fold_in(key, 10 + i), 3) for i, c in enumerate(cells))
    x = jax.random.normal(jax.random.key(1), (3, 5, 2))
    lengths = jnp.array([5, 2, 0])
    # jit: one compile is cheaper than dispatching every op of the static loop eagerly
    run = jax.jit(lambda p, x, s: unroll(stack, p, x, sequence_length=lengths, initial_state=s))
    outputs, state = run(params, x, init)

    h = np.asarray(x, np.float64)
    for i, step in enumerate(steps):
        p = np64(params[i])
        h, final = dynamic_rnn(
            lambda s, xt, p=p, step=step: step(p, s, xt), to_numpy_state(init[i]), h, lengths
        )
        for got, want in zip(jax.tree.leaves(state[i]), jax.tree.leaves(final)):
            np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_allclose(outputs, h, atol=1e-5)


def test_stack_state_not_tuple_is_the_concatenation_of_the_tuple_state():
    cells, _ = three_layers()
    stacked = jaxrnn.stack_cells(cells)
    flat = jaxrnn.stack_cells(cells, state_is_tuple=False)
    assert flat.state_size == 4 + 4 + 3 + 5
    assert flat.zero_state(2).shape == (2, 16)
    params = stacked.init(jax.random.key(0), 2)
    x = jax.random.normal(jax.random.key(1), (2, 4, 2))
    init = tuple(random_state(c, jax.random.fold_in(jax.random.key(2), i), 2) for i, c in enumerate(cells))
    # documented order: layers bottom first; LSTM c then h
    init_flat = jnp.concatenate([init[0].c, init[0].h, init[1], init[2]], axis=-1)
    lengths = jnp.array([4, 1])
    for unroll in UNROLLS:
        out_t, state_t = unroll(stacked, params, x, initial_state=init, sequence_length=lengths)
        out_f, state_f = unroll(flat, params, x, initial_state=init_flat, sequence_length=lengths)
        np.testing.assert_allclose(out_t, out_f, atol=1e-6)
        want = np.concatenate([state_t[0].c, state_t[0].h, state_t[1], state_t[2]], axis=-1)
        np.testing.assert_allclose(state_f, want, atol=1e-6)


def test_output_projection_and_time_distributed_give_the_same_numbers_as_numpy():
    cell = jaxrnn.gru_cell(4)
    wrapped = jaxrnn.output_projection(cell, 2, activation=jnp.tanh)
    params = wrapped.init(jax.random.key(0), 3)
    x = jax.random.normal(jax.random.key(1), (2, 5, 3))
    proj_out, proj_state = jaxrnn.dynamic_unroll(wrapped, params, x)
    # the book's alternative: unroll the bare cell, then one dense layer over all steps at once
    hidden, state = jaxrnn.dynamic_unroll(cell, params["cell"], x)
    td = jaxrnn.time_distributed(jaxrnn.dense(2, jnp.tanh))
    np.testing.assert_allclose(proj_out, td.apply(params["projection"], hidden), atol=1e-6)
    np.testing.assert_array_equal(proj_state, state)
    p = np64(params["cell"])
    ref, _ = dynamic_rnn(lambda s, xt: gru_step(p, s, xt), np.zeros((2, 4)), np.asarray(x, np.float64))
    w = np64(params["projection"])
    np.testing.assert_allclose(proj_out, np.tanh(ref @ w["W"] + w["b"]), atol=1e-5)


def test_output_projection_rejects_bad_output_size():
    with pytest.raises(ValueError, match="output_size must be a positive int; got 0"):
        jaxrnn.output_projection(jaxrnn.gru_cell(4), 0)
    with pytest.raises(ValueError, match="output_size must be a positive int; got 2.5"):
        jaxrnn.output_projection(jaxrnn.gru_cell(4), 2.5)


ALL_DROPOUT = dict(input_keep_prob=0.7, output_keep_prob=0.6, state_keep_prob=0.8)


@pytest.mark.parametrize("variational", [False, True])
def test_dropout_is_the_identity_when_not_training_or_keep_prob_is_one(variational):
    cell = jaxrnn.lstm_cell(4)
    params = random_params(cell, jax.random.key(0), 3)
    x = jax.random.normal(jax.random.key(1), (2, 5, 3))
    want, want_state = jaxrnn.dynamic_unroll(cell, params, x)
    for wrapped, training in [
        (jaxrnn.dropout(cell, **ALL_DROPOUT, variational=variational), False),
        (jaxrnn.dropout(cell, variational=variational), True),
    ]:
        for unroll in UNROLLS:
            out, state = unroll(wrapped, params, x, training=training, key=jax.random.key(3))
            np.testing.assert_allclose(out, want, atol=1e-6)
            np.testing.assert_allclose(state.c, want_state.c, atol=1e-6)
    # not training, no key needed
    out, _ = jaxrnn.dynamic_unroll(jaxrnn.dropout(cell, **ALL_DROPOUT), params, x)
    np.testing.assert_allclose(out, want, atol=1e-6)


@pytest.mark.parametrize("where", ["input_keep_prob", "output_keep_prob"])
@pytest.mark.parametrize("p", [0.3, 0.8])
def test_dropout_keep_rate_is_p_within_three_sigma_and_kept_units_scale_by_one_over_p(where, p):
    cell = jaxrnn.dropout(identity_cell(50), **{where: p})
    params = cell.init(None, 50)
    x = jnp.ones((40, 5, 50))
    out, _ = jaxrnn.dynamic_unroll(cell, params, x, training=True, key=jax.random.key(7))
    out = np.asarray(out)
    n = out.size
    rate = np.mean(out != 0)
    assert abs(rate - p) < 3 * np.sqrt(p * (1 - p) / n), (rate, p)
    np.testing.assert_allclose(out[out != 0], 1 / p, rtol=1e-6)


def test_variational_masks_are_constant_over_time_and_per_step_masks_are_not():
    x = jnp.ones((8, 6, 10))
    for kind in ("input_keep_prob", "output_keep_prob"):
        var = jaxrnn.dropout(identity_cell(10), **{kind: 0.5}, variational=True)
        out, _ = jaxrnn.dynamic_unroll(var, var.init(None, 10), x, training=True, key=jax.random.key(0))
        for t in range(1, 6):
            np.testing.assert_array_equal(out[:, t], out[:, 0])
        plain = jaxrnn.dropout(identity_cell(10), **{kind: 0.5})
        out, _ = jaxrnn.dynamic_unroll(plain, plain.init(None, 10), x, training=True, key=jax.random.key(0))
        assert not np.array_equal(out[:, 1], out[:, 0])


def test_variational_state_dropout_by_hand():
    # identity_cell's state counts steps (state + 1); with a fixed state mask m, the carried
    # state after t steps is the hand-written recurrence s <- (s + 1) * m / p
    p = 0.5
    cell = jaxrnn.dropout(identity_cell(20), state_keep_prob=p, variational=True)
    x = jnp.zeros((4, 3, 20))
    _, s1 = jaxrnn.dynamic_unroll(cell, cell.init(None, 20), x[:, :1], training=True, key=jax.random.key(5))
    mask = np.asarray(s1) != 0
    s = np.zeros((4, 20))
    for _ in range(3):
        s = (s + 1) * mask / p
    _, s3 = jaxrnn.dynamic_unroll(cell, cell.init(None, 20), x, training=True, key=jax.random.key(5))
    np.testing.assert_allclose(s3, s, rtol=1e-6)


def test_lstm_state_dropout_leaves_c_alone():
    cell = jaxrnn.lstm_cell(6)
    params = random_params(cell, jax.random.key(0), 3)
    x = jax.random.normal(jax.random.key(1), (4, 1, 3))
    wrapped = jaxrnn.dropout(cell, state_keep_prob=0.5)
    _, want = jaxrnn.dynamic_unroll(cell, params, x)
    _, got = jaxrnn.dynamic_unroll(wrapped, params, x, training=True, key=jax.random.key(2))
    np.testing.assert_allclose(got.c, want.c, atol=1e-6)
    h = np.asarray(got.h)
    kept = h != 0
    assert 0 < kept.mean() < 1
    np.testing.assert_allclose(h[kept], 2 * np.asarray(want.h)[kept], rtol=1e-5)


def test_dropout_same_key_same_masks_under_static_and_dynamic_and_in_a_stack():
    cells = [
        jaxrnn.dropout(jaxrnn.lstm_cell(4), **ALL_DROPOUT),
        jaxrnn.dropout(jaxrnn.gru_cell(3), **ALL_DROPOUT),
    ]
    stack = jaxrnn.stack_cells(cells)
    params = stack.init(jax.random.key(0), 3)
    x = jax.random.normal(jax.random.key(1), (2, 5, 3))
    lengths = jnp.array([5, 3])
    run = functools.partial(jaxrnn.dynamic_unroll, stack, params, x, sequence_length=lengths, training=True)
    a, sa = run(key=jax.random.key(9))
    b, sb = run(key=jax.random.key(9))
    c, _ = run(key=jax.random.key(10))
    s, ss = jaxrnn.static_unroll(
        stack, params, x, sequence_length=lengths, training=True, key=jax.random.key(9)
    )
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a, s, atol=1e-6)
    for u, v in zip(jax.tree.leaves(sa), jax.tree.leaves(ss)):
        np.testing.assert_allclose(u, v, atol=1e-6)
    assert not np.allclose(a, c)


def test_traced_training_flag_selects_at_run_time():
    cell = jaxrnn.dropout(jaxrnn.gru_cell(4), input_keep_prob=0.5, output_keep_prob=0.5)
    params = cell.init(jax.random.key(0), 3)
    x = jax.random.normal(jax.random.key(1), (2, 4, 3))
    key = jax.random.key(3)
    f = jax.jit(lambda training: jaxrnn.dynamic_unroll(cell, params, x, training=training, key=key)[0])
    np.testing.assert_allclose(
        f(True), jaxrnn.dynamic_unroll(cell, params, x, training=True, key=key)[0], atol=1e-6
    )
    np.testing.assert_allclose(f(False), jaxrnn.dynamic_unroll(cell, params, x)[0], atol=1e-6)


def test_dropout_bad_input():
    cell = jaxrnn.gru_cell(4)
    for bad in (0.0, 1.5, -0.1):
        with pytest.raises(ValueError, match=rf"output_keep_prob must lie in \(0, 1\]; got {bad}"):
            jaxrnn.dropout(cell, output_keep_prob=bad)
    with pytest.raises(TypeError, match="input_keep_prob must be a Python float in \\(0, 1\\]; got str"):
        jaxrnn.dropout(cell, input_keep_prob="0.5")
    with pytest.raises(TypeError, match="cell must be a jaxrnn Cell; got function"):
        jaxrnn.dropout(lambda: None)
    wrapped = jaxrnn.dropout(cell, state_keep_prob=0.5)
    params = wrapped.init(jax.random.key(0), 3)
    with pytest.raises(
        ValueError,
        match="key must be a PRNG key .* when training with dropout .*state_keep_prob=0.5.*got None",
    ):
        jaxrnn.dynamic_unroll(wrapped, params, jnp.ones((2, 3, 3)), training=True)


def test_residual_adds_the_input_to_the_output():
    cell = jaxrnn.basic_cell(3)
    wrapped = jaxrnn.residual(cell)
    params = random_params(cell, jax.random.key(0), 3)
    x = jax.random.normal(jax.random.key(1), (2, 4, 3))
    p = np64(params)
    ref, ref_state = dynamic_rnn(
        lambda s, xt: basic_step(p, s, xt), np.zeros((2, 3)), np.asarray(x, np.float64)
    )
    for unroll in UNROLLS:
        out, state = unroll(wrapped, params, x)
        np.testing.assert_allclose(out, ref + np.asarray(x, np.float64), atol=1e-5)
        np.testing.assert_allclose(state, ref_state, atol=1e-5)
    with pytest.raises(
        ValueError, match=r"input_size must equal the wrapped cell's output_size \(3\).*got 5"
    ):
        wrapped.init(jax.random.key(0), 5)


def test_residual_stack_of_dropout_lstms_is_deterministic_at_inference():
    stack = jaxrnn.stack_cells(
        [jaxrnn.lstm_cell(4)]
        + [jaxrnn.residual(jaxrnn.dropout(jaxrnn.lstm_cell(4), output_keep_prob=0.5)) for _ in range(2)]
    )
    params = stack.init(jax.random.key(0), 2)
    x = jax.random.normal(jax.random.key(1), (2, 3, 2))
    a, _ = jaxrnn.dynamic_unroll(stack, params, x)
    b, _ = jaxrnn.static_unroll(stack, params, x)
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_training_a_three_layer_dropout_lstm_threads_training_and_key_simply():
    # the whole recipe: wrap each layer, pass training= and key= to the unroller, nothing else
    layers = [jaxrnn.dropout(jaxrnn.lstm_cell(8), output_keep_prob=0.8, variational=True) for _ in range(3)]
    model = jaxrnn.output_projection(jaxrnn.stack_cells(layers), 1)
    params = model.init(jax.random.key(0), 1)
    t = jnp.linspace(0.0, 6.0, 13)
    series = jnp.sin(t[None, :] + jnp.linspace(0.0, 3.0, 16)[:, None])[..., None]
    x, y = series[:, :-1], series[:, 1:]

    def loss_fn(params, key, training):
        out, _ = jaxrnn.dynamic_unroll(model, params, x, training=training, key=key)
        return jnp.mean(jnp.square(out - y))

    opt = optax.adam(2e-2)

    @jax.jit
    def train_step(params, opt_state, key):
        loss, grads = jax.value_and_grad(loss_fn)(params, key, True)
        with jax.numpy_dtype_promotion("standard"):  # optax's internals mix int counts and floats
            updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    opt_state = opt.init(params)
    before = float(loss_fn(params, None, False))
    for i in range(60):
        params, opt_state, _ = train_step(params, opt_state, jax.random.fold_in(jax.random.key(1), i))
    after = float(loss_fn(params, None, False))
    assert after < 0.3 * before, (before, after)
    assert float(loss_fn(params, None, False)) == after  # inference is deterministic
