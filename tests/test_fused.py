"""The fused loop (``jaxrnn.fused``): ``dynamic_unroll``'s fast path for cells that declare a ``Recurrence``.

Its gradients are checked against ``jax.grad`` of a plain LSTM / basic RNN
written here as a Python loop over ``jnp`` (no jaxrnn code in the reference),
against central finite differences in float64, and against the plain scan
(``fused=False``), whose forward outputs it matches up to float32 rounding.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from cell_configs import random_params, random_state
from jax.flatten_util import ravel_pytree

import jaxrnn
from jaxrnn import fused
from jaxrnn.tasks.regressor import sequence_regressor

FUSED = {
    "basic_tanh": lambda: jaxrnn.basic_cell(5),
    "basic_relu": lambda: jaxrnn.basic_cell(5, activation=jax.nn.relu),
    "basic_sigmoid": lambda: jaxrnn.basic_cell(5, activation=jax.nn.sigmoid),
    # no derivative-from-output rule for sin: the backward pass keeps z instead
    "basic_sin": lambda: jaxrnn.basic_cell(5, activation=jnp.sin),
    "lstm": lambda: jaxrnn.lstm_cell(5),
    "lstm_forget_bias_0": lambda: jaxrnn.lstm_cell(5, forget_bias=0.0),
    "lstm_clip": lambda: jaxrnn.lstm_cell(5, cell_clip=0.3),
}


def _reference_unroll(name, params, x, state, lengths):
    """A plain batch-major loop over time, written from the book's equations, with dynamic_rnn masking."""
    sig = jax.nn.sigmoid
    outputs = []
    for t in range(x.shape[1]):
        valid = (t < lengths)[:, None]
        h_prev = state[1] if name.startswith("lstm") else state
        z = x[:, t] @ params["Wx"] + h_prev @ params["Wh"] + params["b"][None, :]
        if name.startswith("basic"):
            activation = {"tanh": jnp.tanh, "relu": lambda z: jnp.maximum(z, 0.0), "sin": jnp.sin}.get(
                name[6:], lambda z: 1 / (1 + jnp.exp(-z))
            )
            new = activation(z)
            y = new
        else:
            c_prev = state[0]
            i, f, g, o = (z[:, k * 5 : (k + 1) * 5] for k in range(4))
            forget_bias = 0.0 if name == "lstm_forget_bias_0" else 1.0
            c = sig(f + forget_bias) * c_prev + sig(i) * jnp.tanh(g)
            if name == "lstm_clip":
                c = jnp.clip(c, -0.3, 0.3)
            y = sig(o) * jnp.tanh(c)
            new = (c, y)
        state = jax.tree.map(lambda n, s, v=valid: jnp.where(v, n, s), new, state)
        outputs.append(jnp.where(valid, y, 0.0))
    return jnp.stack(outputs, axis=1), state


def _loss_terms(outputs, final):
    w = jnp.linspace(-1.0, 1.0, outputs.shape[-1], dtype=outputs.dtype)
    return jnp.sum(jnp.sin(outputs) * w[None, None, :]) + sum(jnp.sum(s**2) for s in jax.tree.leaves(final))


def _jaxrnn_loss(cell, lengths, use_fused=True, unroll=1):
    def loss(params, x, state):
        outputs, final = jaxrnn.dynamic_unroll(
            cell, params, x, sequence_length=lengths, initial_state=state, fused=use_fused, unroll=unroll
        )
        return _loss_terms(outputs, final)

    return loss


@pytest.mark.parametrize("name", list(FUSED))
def test_fused_path_is_taken_for_plain_cells(name):
    cell = FUSED[name]()
    assert jaxrnn.unroll_path(cell, cell.init(jax.random.key(0), 3)) == "fused"
    params = random_params(cell, jax.random.key(0), 3)
    jaxpr = str(jax.make_jaxpr(_jaxrnn_loss(cell, None))(params, jnp.ones((2, 4, 3)), cell.zero_state(2)))
    assert "custom_vjp_call" in jaxpr


@pytest.mark.parametrize(
    "make",
    [
        lambda: jaxrnn.lstm_cell(5, use_peepholes=True),
        lambda: jaxrnn.lstm_cell(5, num_proj=3),
        lambda: jaxrnn.gru_cell(5),
        lambda: jaxrnn.gru_cell(5, reset_after=True),
        lambda: jaxrnn.stack_cells([jaxrnn.basic_cell(5), jaxrnn.gru_cell(5)]),
        lambda: jaxrnn.output_projection(jaxrnn.gru_cell(5), 2),
        lambda: jaxrnn.device_cell(jaxrnn.lstm_cell(5), jax.devices()[0]),
    ],
)
def test_other_cells_keep_the_plain_scan(make):
    cell = make()
    assert jaxrnn.unroll_path(cell, cell.init(jax.random.key(0), 3)) == "scan"


def test_dropout_keeps_the_fused_path_at_inference_only():
    cell = jaxrnn.dropout(jaxrnn.lstm_cell(5), input_keep_prob=0.7, output_keep_prob=0.5)
    params = cell.init(jax.random.key(0), 3)
    assert jaxrnn.unroll_path(cell, params) == "fused"
    assert jaxrnn.unroll_path(cell, params, training=True) == "scan"
    # keep probabilities of 1: the wrapper is the identity, training or not
    assert jaxrnn.unroll_path(jaxrnn.dropout(jaxrnn.lstm_cell(5)), params, training=True) == "fused"


@pytest.mark.parametrize("name", list(FUSED))
def test_gradients_equal_jax_grad_of_a_plain_reference_loop(name):
    cell = FUSED[name]()
    params = random_params(cell, jax.random.key(0), 3)
    x = jax.random.normal(jax.random.key(1), (3, 6, 3))
    state = random_state(cell, jax.random.key(2), 3)
    lengths = jnp.array([6, 2, 0])

    def ref_loss(params, x, state):
        return _loss_terms(*_reference_unroll(name, params, x, state, lengths))

    got = jax.jit(jax.grad(_jaxrnn_loss(cell, lengths), argnums=(0, 1, 2)))(params, x, state)
    want = jax.grad(ref_loss, argnums=(0, 1, 2))(
        params, x, tuple(state) if name.startswith("lstm") else state
    )
    got_flat, _ = ravel_pytree(got)
    want_flat, _ = ravel_pytree(want)
    np.testing.assert_allclose(got_flat, want_flat, rtol=2e-5, atol=2e-6)


# (window rows, time steps, steps per window) with batch 3: one window; windows of one step; 2-step windows that divide
# T; 3-step windows whose first one is partial (T = 7 = 1 + 2 * 3)
WINDOWS = {"one": (512, 7, 7), "k1": (3, 7, 1), "k2": (6, 8, 2), "partial": (9, 7, 3)}
# the loss uses both outputs and final state, only the final state (a sequence classifier), or only
# the outputs: the unused one's cotangent is a symbolic zero inside the backward pass


def _final_only(outputs, final):
    return sum(jnp.sum(jnp.cos(s)) for s in jax.tree.leaves(final))


def _outputs_only(outputs, final):
    w = jnp.linspace(-1.0, 1.0, outputs.shape[-1], dtype=outputs.dtype)
    return jnp.sum(jnp.sin(outputs) * w[None, None, :])


@pytest.mark.parametrize("use", ["both", "final", "outputs"])
@pytest.mark.parametrize("window", list(WINDOWS))
@pytest.mark.parametrize("name", ["basic_tanh", "basic_sin", "lstm_clip"])
def test_windowed_backward_equals_jax_grad_of_the_reference_loop(name, window, use):
    rows, num_steps, steps_per_window = WINDOWS[window]
    assert fused.window_steps(3, num_steps, rows) == steps_per_window
    loss_terms = {"both": _loss_terms, "final": _final_only, "outputs": _outputs_only}[use]
    cell = FUSED[name]()
    params = random_params(cell, jax.random.key(0), 3)
    x = jax.random.normal(jax.random.key(1), (3, num_steps, 3))
    state = random_state(cell, jax.random.key(2), 3)
    lengths = jnp.array([num_steps, 2, 5])

    def loss(params, x, state):
        final, outputs = fused.fused_unroll(
            cell, params, jnp.swapaxes(x, 0, 1), state, lengths, window_rows=rows
        )
        return loss_terms(jnp.swapaxes(outputs, 0, 1), final)

    def ref_loss(params, x, state):
        return loss_terms(*_reference_unroll(name, params, x, state, lengths))

    got = jax.jit(jax.grad(loss, argnums=(0, 1, 2)))(params, x, state)
    want = jax.grad(ref_loss, argnums=(0, 1, 2))(
        params, x, tuple(state) if name.startswith("lstm") else state
    )
    np.testing.assert_allclose(ravel_pytree(got)[0], ravel_pytree(want)[0], rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("name", ["basic_tanh", "lstm"])
def test_windowed_backward_with_unroll_equals_jax_grad_of_the_reference_loop(name):
    cell = FUSED[name]()
    params = random_params(cell, jax.random.key(0), 4)
    x = jax.random.normal(jax.random.key(1), (3, 11, 4))
    lengths = jnp.array([11, 6, 3])
    assert fused.window_steps(3, 11, 12) == 4  # 4-step windows over T = 11, the first partial
    state = random_state(cell, jax.random.key(2), 3)

    def ref_loss(params, x, state):
        return _loss_terms(*_reference_unroll(name, params, x, state, lengths))

    def loss(params, x, state):
        final, outputs = fused.fused_unroll(
            cell, params, jnp.swapaxes(x, 0, 1), state, lengths, unroll=3, window_rows=12
        )
        return _loss_terms(jnp.swapaxes(outputs, 0, 1), final)

    got = jax.jit(jax.grad(loss, argnums=(0, 1, 2)))(params, x, state)
    want = jax.grad(ref_loss, argnums=(0, 1, 2))(
        params, x, tuple(state) if name.startswith("lstm") else state
    )
    np.testing.assert_allclose(ravel_pytree(got)[0], ravel_pytree(want)[0], rtol=2e-5, atol=2e-6)


def test_windowed_backward_under_vmap_equals_per_example_gradients():
    cell = FUSED["basic_tanh"]()
    params = random_params(cell, jax.random.key(0), 3)
    x = jax.random.normal(jax.random.key(1), (2, 3, 7, 3))
    lengths = jnp.array([[7, 2, 5], [1, 7, 3]])

    def loss(params, x, lengths):
        xs, state = jnp.swapaxes(x, 0, 1), cell.zero_state(3)
        final, outputs = fused.fused_unroll(
            cell, params, xs, state, lengths, window_rows=9
        )  # partial first window
        return _loss_terms(jnp.swapaxes(outputs, 0, 1), final)

    def ref_loss(params, x, lengths):
        return _loss_terms(*_reference_unroll("basic_tanh", params, x, jnp.zeros((3, 5)), lengths))

    got = jax.jit(jax.vmap(jax.grad(loss), in_axes=(None, 0, 0)))(params, x, lengths)
    for i in range(2):
        want = jax.grad(ref_loss)(params, x[i], lengths[i])
        for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
            np.testing.assert_allclose(a[i], b, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("rows", [512, 9])  # one window; 3-step windows, the first one partial
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("name", ["basic_tanh", "lstm_clip"])
def test_fused_gradients_equal_central_finite_differences(x64, name, reverse, rows):
    cell = FUSED[name]()
    params = jax.tree.map(lambda p: p.astype(jnp.float64), random_params(cell, jax.random.key(0), 3))
    x = jax.random.normal(jax.random.key(1), (3, 5, 3), jnp.float64)
    state = jax.tree.map(lambda s: s.astype(jnp.float64), random_state(cell, jax.random.key(2), 3))
    lengths = jnp.array([5, 2, 4])

    def loss(params, x, state):
        xs = jaxrnn.reverse_sequence(jnp.swapaxes(x, 0, 1), lengths) if reverse else jnp.swapaxes(x, 0, 1)
        final, outputs = fused.fused_unroll(cell, params, xs, state, lengths, window_rows=rows)
        outputs = jaxrnn.reverse_sequence(outputs, lengths) if reverse else outputs
        return _loss_terms(jnp.swapaxes(outputs, 0, 1), final)

    g_flat, _ = ravel_pytree(jax.jit(jax.grad(loss, argnums=(0, 1, 2)))(params, x, state))
    flat, unravel = ravel_pytree((params, x, state))
    f = jax.jit(lambda v: loss(*unravel(v)))
    rng = np.random.default_rng(0)
    eps = 1e-6
    for _ in range(6):
        d = jnp.asarray(rng.normal(size=flat.shape))
        fd = (f(flat + eps * d) - f(flat - eps * d)) / (2 * eps)
        np.testing.assert_allclose(float(jnp.dot(g_flat, d)), float(fd), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("unroll", [1, 3])
@pytest.mark.parametrize("name", ["basic_tanh", "lstm"])
def test_fused_equals_plain_scan_forward_and_gradients(name, unroll):
    cell = FUSED[name]()
    params = random_params(cell, jax.random.key(0), 4)
    x = jax.random.normal(jax.random.key(1), (2, 7, 4))
    lengths = jnp.array([7, 4])

    def run(p, x, use_fused):
        return jaxrnn.dynamic_unroll(cell, p, x, sequence_length=lengths, unroll=unroll, fused=use_fused)

    plain = jax.jit(lambda p, x: run(p, x, False))(params, x)
    # one [x, h] x [Wx; Wh] GEMM per step, so equal up to float32 rounding only
    infer = jax.jit(lambda p, x: run(p, x, True))(params, x)
    for a, b in zip(jax.tree.leaves(infer), jax.tree.leaves(plain)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(infer[0][1, 4:], 0.0)  # past the length: exact zeros still
    # the training forward (what the backward pass keeps) is the same computation
    train_fwd = jax.jit(lambda p, x: jax.vjp(lambda p: run(p, x, True), p)[0])(params, x)
    for a, b in zip(jax.tree.leaves(train_fwd), jax.tree.leaves(plain)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    state = cell.zero_state(2)
    grads = {
        f: jax.jit(jax.grad(_jaxrnn_loss(cell, lengths, f), argnums=(0, 1, 2)))(params, x, state)
        for f in (True, False)
    }
    for a, b in zip(jax.tree.leaves(grads[True]), jax.tree.leaves(grads[False])):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_fused_false_allows_forward_mode():
    cell = jaxrnn.lstm_cell(4)
    params = random_params(cell, jax.random.key(0), 3)
    x = jax.random.normal(jax.random.key(1), (2, 5, 3))

    def out(x, use_fused):
        return jaxrnn.dynamic_unroll(cell, params, x, fused=use_fused)[0]

    tangent = jnp.ones_like(x)
    _, jvp_out = jax.jvp(lambda x: out(x, False), (x,), (tangent,))
    _, vjp = jax.vjp(lambda x: out(x, True), x)
    # <J t, e> from forward mode on the plain scan equals <t, J^T e> from the fused backward pass
    probe = jax.random.normal(jax.random.key(3), jvp_out.shape)
    (ct,) = vjp(probe)
    np.testing.assert_allclose(float(jnp.vdot(jvp_out, probe)), float(jnp.vdot(tangent, ct)), rtol=1e-5)


def test_fused_keeps_less_memory_for_backprop():
    cell = jaxrnn.lstm_cell(32)
    params = cell.init(jax.random.key(0), 8)
    x = jnp.ones((8, 50, 8))

    def temp_bytes(use_fused):
        def loss(p):
            return jnp.mean(jaxrnn.dynamic_unroll(cell, p, x, fused=use_fused)[0] ** 2)

        return jax.jit(jax.grad(loss)).lower(params).compile().memory_analysis().temp_size_in_bytes

    assert temp_bytes(True) < temp_bytes(False)


def test_basic_cell_backprop_keeps_one_state_per_step():
    # tanh'(z) = 1 - h^2 comes from the output h(t), so each step keeps h(t) only (not z(t) and h(t-1)),
    # and dz lives for one window of steps instead of all T
    batch, units = 16, 64
    cell = jaxrnn.basic_cell(units)
    params = cell.init(jax.random.key(0), 8)

    def temp_bytes(num_steps, use_fused):
        x = jnp.ones((batch, num_steps, 8))

        def loss(p):  # the final state only, as in the book's sequence classifier
            return jnp.sum(jaxrnn.dynamic_unroll(cell, p, x, fused=use_fused)[1] ** 2)

        return jax.jit(jax.grad(loss)).lower(params).compile().memory_analysis().temp_size_in_bytes

    state_bytes = batch * units * 4
    per_step = {f: (temp_bytes(128, f) - temp_bytes(64, f)) / 64 for f in (True, False)}
    assert per_step[True] <= 1.1 * state_bytes, per_step
    assert per_step[False] >= 2 * state_bytes, per_step


def test_fused_must_be_a_bool():
    cell = jaxrnn.basic_cell(3)
    params = cell.init(jax.random.key(0), 2)
    with pytest.raises(TypeError, match="fused must be a bool; got 'yes'"):
        jaxrnn.dynamic_unroll(cell, params, jnp.ones((1, 2, 2)), fused="yes")


def _counting_lstm(num_units, calls):
    """The plain LSTM whose gates report each executed step to ``calls`` (still on the fused path)."""
    cell = jaxrnn.lstm_cell(num_units)
    rec = cell.recurrence

    def combine(xz, hz, state):
        jax.debug.callback(lambda: calls.append(1))
        return rec.combine(xz, hz, state)

    return cell._replace(recurrence=rec._replace(combine=combine))


def test_inference_stops_at_the_longest_sequence():
    calls = []
    cell = _counting_lstm(4, calls)
    params = random_params(cell, jax.random.key(0), 3)
    x = jax.random.normal(jax.random.key(1), (2, 8, 3))
    lengths = jnp.array([3, 2])
    assert jaxrnn.unroll_path(cell, params) == "fused"
    out, state = jax.jit(lambda p, x: jaxrnn.dynamic_unroll(cell, p, x, sequence_length=lengths))(params, x)
    jax.effects_barrier()
    assert len(calls) == 3  # max(lengths) steps, not 8
    plain, plain_state = jaxrnn.dynamic_unroll(
        jaxrnn.lstm_cell(4), params, x, sequence_length=lengths, fused=False
    )
    np.testing.assert_allclose(out, plain, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out[:, 3:], 0.0)
    for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(plain_state)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # under differentiation the forward keeps every step (the backward pass needs the fixed-length scan)
    calls.clear()
    jax.vjp(lambda p: jaxrnn.dynamic_unroll(cell, p, x, sequence_length=lengths), params)
    jax.effects_barrier()
    assert len(calls) == 8


def test_inference_early_stop_under_vmap_and_reverse():
    cell = jaxrnn.lstm_cell(4)
    params = random_params(cell, jax.random.key(0), 3)
    x = jax.random.normal(jax.random.key(1), (3, 2, 6, 3))
    lengths = jnp.array([[6, 1], [2, 3], [0, 4]])
    for reverse in (False, True):

        def run(x, lengths, use_fused, reverse=reverse):
            return jaxrnn.dynamic_unroll(
                cell, params, x, sequence_length=lengths, reverse=reverse, fused=use_fused
            )

        got = jax.jit(jax.vmap(lambda x, lengths: run(x, lengths, True)))(x, lengths)
        want = [run(x[i], lengths[i], False) for i in range(3)]
        for i in range(3):
            for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want[i])):
                np.testing.assert_allclose(a[i], b, rtol=1e-5, atol=1e-6)


WRAPPED = {
    "projected_lstm": lambda: jaxrnn.output_projection(jaxrnn.lstm_cell(5), 2, activation=jnp.tanh),
    "lstm_dropout_at_inference": lambda: jaxrnn.dropout(
        jaxrnn.lstm_cell(5), input_keep_prob=0.5, output_keep_prob=0.5, state_keep_prob=0.5
    ),
    "residual_basic": lambda: jaxrnn.residual(jaxrnn.basic_cell(3)),
    "projected_residual": lambda: jaxrnn.output_projection(jaxrnn.residual(jaxrnn.basic_cell(3)), 2),
    "stacked_lstms": lambda: jaxrnn.stack_cells([jaxrnn.lstm_cell(5), jaxrnn.lstm_cell(4)]),
    "stacked_flat_state": lambda: jaxrnn.stack_cells(
        [jaxrnn.dropout(jaxrnn.lstm_cell(5), output_keep_prob=0.5), jaxrnn.basic_cell(4)],
        state_is_tuple=False,
    ),
    "regressor_default": lambda: sequence_regressor(jaxrnn.basic_cell(6, activation=jax.nn.relu)).cell,
}


@pytest.mark.parametrize(
    "name, reverse",
    [(name, False) for name in sorted(WRAPPED)] + [("projected_lstm", True), ("stacked_lstms", True)],
)
def test_wrapped_cells_take_the_fused_path_with_the_plain_scans_numbers(name, reverse):
    cell = WRAPPED[name]()
    params = random_params(cell, jax.random.key(0), 3)
    x = jax.random.normal(jax.random.key(1), (3, 6, 3))
    lengths = jnp.array([6, 2, 0])
    assert jaxrnn.unroll_path(cell, params) == "fused"

    def loss(params, x, use_fused):
        outputs, final = jaxrnn.dynamic_unroll(
            cell, params, x, sequence_length=lengths, reverse=reverse, fused=use_fused
        )
        return _loss_terms(outputs, final), (outputs, final)

    jaxpr = str(jax.make_jaxpr(lambda p, x: loss(p, x, True))(params, x))
    assert "custom_vjp_call" in jaxpr
    (_, got), got_grad = jax.jit(jax.value_and_grad(lambda p, x: loss(p, x, True), has_aux=True))(params, x)
    (_, want), want_grad = jax.value_and_grad(lambda p, x: loss(p, x, False), has_aux=True)(params, x)
    for a, b in zip(jax.tree.leaves((got, got_grad)), jax.tree.leaves((want, want_grad))):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)
    np.testing.assert_array_equal(got[0][2], 0.0)  # a zero-length sequence: exact zeros, readout included


@pytest.mark.parametrize("transform", ["jvp", "jit_jvp", "jacfwd"])
def test_forward_mode_through_the_default_path_matches_the_plain_scan(transform):
    cell = jaxrnn.lstm_cell(4)
    params = random_params(cell, jax.random.key(0), 3)
    x = jax.random.normal(jax.random.key(1), (2, 5, 3))
    lengths = jnp.array([5, 3])

    def out(x, use_fused=True):
        return jaxrnn.dynamic_unroll(cell, params, x, sequence_length=lengths, fused=use_fused)[0]

    tangent = jax.random.normal(jax.random.key(2), x.shape)
    if transform == "jacfwd":
        got, want = jax.jacfwd(out)(x), jax.jacrev(lambda x: out(x, False))(x)
    else:
        run = (lambda f: jax.jit(f)) if transform == "jit_jvp" else (lambda f: f)
        got = run(lambda x: jax.jvp(out, (x,), (tangent,)))(x)
        want = jax.jvp(lambda x: out(x, False), (x,), (tangent,))
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_window_rows_must_be_a_positive_int():
    cell = jaxrnn.lstm_cell(4)
    params = cell.init(jax.random.key(0), 3)
    for bad in (0, True, 2.5):
        with pytest.raises(ValueError, match=f"window_rows must be a positive int; got {bad!r}"):
            fused.fused_unroll(cell, params, jnp.ones((5, 2, 3)), cell.zero_state(2), None, window_rows=bad)


def test_replacing_apply_drops_the_fused_path_unless_the_recurrence_is_reattached():
    cell = jaxrnn.lstm_cell(4)
    params = cell.init(jax.random.key(0), 3)
    doubled = cell._replace(apply=lambda p, s, x, **kw: cell.apply(p, s, 2.0 * x))
    assert jaxrnn.unroll_path(doubled, params) == "scan"  # the recurrence no longer describes this apply
    x = jax.random.normal(jax.random.key(1), (2, 4, 3))
    np.testing.assert_allclose(
        jaxrnn.dynamic_unroll(doubled, params, x)[0],
        jaxrnn.dynamic_unroll(cell, params, 2.0 * x)[0],
        atol=1e-6,
    )
    same = cell._replace(apply=lambda *a, **kw: cell.apply(*a, **kw))
    reattached = same._replace(recurrence=cell.recurrence._replace(apply=same.apply))
    assert jaxrnn.unroll_path(reattached, params) == "fused"


def test_truncated_unroll_keeps_the_fused_path():
    cell = jaxrnn.lstm_cell(4)
    params = cell.init(jax.random.key(0), 3)
    loss = lambda p: jnp.sum(jaxrnn.truncated_unroll(cell, p, jnp.ones((2, 6, 3)), window=2)[0])
    assert "custom_vjp_call" in str(jax.make_jaxpr(loss)(params))
