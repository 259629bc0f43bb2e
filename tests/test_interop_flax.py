"""A jaxrnn layer inside a flax.linen model: trains with TrainState and equals the pure-function call."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax.training import train_state

import jaxrnn
from jaxrnn.interop import RNNLayer

B, T, F = 4, 6, 3


class Model(nn.Module):
    """An existing-style Flax model: a jaxrnn stack, then a Flax Dense head on the time-averaged outputs."""

    @nn.compact
    def __call__(self, x, sequence_length=None):
        cell = jaxrnn.stack_cells([jaxrnn.lstm_cell(8), jaxrnn.gru_cell(5)])
        y = RNNLayer(cell, name="rnn")(x, sequence_length=sequence_length)
        return nn.Dense(1, name="head")(jnp.mean(y, axis=1))


def _pure(params, x, sequence_length=None):
    # the same computation written with jaxrnn's functions and a hand-written dense layer
    cell = jaxrnn.stack_cells([jaxrnn.lstm_cell(8), jaxrnn.gru_cell(5)])
    y, _ = jaxrnn.dynamic_unroll(cell, params["rnn"]["cell"], x, sequence_length=sequence_length)
    head = params["head"]
    return jnp.mean(y, axis=1) @ head["kernel"] + head["bias"][None, :]


def test_params_have_jaxrnn_layout():
    x = jnp.ones((B, T, F))
    variables = Model().init(jax.random.key(0), x)
    cell_params = variables["params"]["rnn"]["cell"]
    expected = jaxrnn.stack_cells([jaxrnn.lstm_cell(8), jaxrnn.gru_cell(5)]).init(jax.random.key(1), F)
    shapes = jax.tree.map(jnp.shape, (cell_params,))
    assert shapes == jax.tree.map(jnp.shape, (expected,))
    assert isinstance(cell_params, tuple) and set(cell_params[0]) == {"Wx", "Wh", "b"}


def test_trains_with_train_state_and_equals_pure_call():
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(B, T, F)), jnp.float32)
    target = jnp.asarray(rng.normal(size=(B, 1)), jnp.float32)
    lengths = jnp.asarray([6, 3, 5, 1], jnp.int32)
    model = Model()
    state = train_state.TrainState.create(
        apply_fn=model.apply, params=model.init(jax.random.key(0), x)["params"], tx=optax.adam(5e-2)
    )

    @jax.jit
    def train_step(state):
        def loss_fn(params):
            pred = state.apply_fn({"params": params}, x, sequence_length=lengths)
            return jnp.mean((pred - target) ** 2)

        loss, grads = jax.value_and_grad(loss_fn)(state.params)
        # optax's Adam mixes its int32 step count with floats, which strict promotion rejects;
        # the jaxrnn forward and backward pass above stay strict
        with jax.numpy_dtype_promotion("standard"):
            return state.apply_gradients(grads=grads), loss

    losses = []
    for _ in range(15):
        state, loss = train_step(state)
        losses.append(float(loss))
    assert losses[-1] < 0.8 * losses[0], losses
    # after training, the Flax model and the pure jaxrnn call agree on the trained params
    flax_out = model.apply({"params": state.params}, x, sequence_length=lengths)
    # the reference unrolls by hand: each layer's step in a Python loop, masking as TF's dynamic_rnn does
    np.testing.assert_allclose(flax_out, _pure(state.params, x, lengths), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(flax_out, _hand_loop(state.params, x, lengths), rtol=2e-5, atol=2e-5)


def _hand_loop(params, x, lengths):
    cells = [jaxrnn.lstm_cell(8), jaxrnn.gru_cell(5)]
    layer_params = params["rnn"]["cell"]
    states = [c.zero_state(B) for c in cells]
    outputs = []
    for t in range(T):
        h = x[:, t]
        new_states = []
        for cell, p, s in zip(cells, layer_params, states):
            s_new, h = cell.apply(p, s, h)
            new_states.append(s_new)
        alive = (t < lengths)[:, None]
        states = [
            jax.tree.map(lambda n, o, alive=alive: jnp.where(alive, n, o), n, o)
            for n, o in zip(new_states, states)
        ]
        outputs.append(np.where(np.asarray(alive), np.asarray(h), 0.0))  # padded outputs are zeros
    return (
        np.mean(outputs, axis=0) @ np.asarray(params["head"]["kernel"])
        + np.asarray(params["head"]["bias"])[None, :]
    )


def test_bad_input_is_named():
    layer = RNNLayer(jaxrnn.lstm_cell(3))
    with pytest.raises(
        ValueError, match=r"inputs must have rank 3 \[batch, time, features\]; got shape \(4, 3\)"
    ):
        layer.init(jax.random.key(0), jnp.ones((4, 3)))
    with pytest.raises(TypeError, match="cell must be a jaxrnn Cell"):
        RNNLayer("lstm").init(jax.random.key(0), jnp.ones((2, 3, 4)))


def test_nnx_module_trains_and_equals_pure_call():
    from flax import nnx

    from jaxrnn.interop import NNXRNN

    cell = jaxrnn.stack_cells([jaxrnn.lstm_cell(4), jaxrnn.gru_cell(3)])
    model = NNXRNN(cell, F, rngs=nnx.Rngs(0))
    shapes = jax.tree.map(jnp.shape, model.jaxrnn_params())
    assert shapes == jax.tree.map(jnp.shape, cell.init(jax.random.key(1), F))
    x = jnp.asarray(np.random.default_rng(2).normal(size=(B, T, F)), jnp.float32)
    lengths = jnp.asarray([6, 2, 4, 0], jnp.int32)
    opt = nnx.Optimizer(model, optax.sgd(0.5), wrt=nnx.Param)
    before = model.jaxrnn_params()

    @nnx.jit
    def step(model, opt):
        loss, grads = nnx.value_and_grad(lambda m: jnp.mean((m(x, sequence_length=lengths)[0] - 1.0) ** 2))(
            model
        )
        opt.update(model, grads)
        return loss

    losses = [float(step(model, opt)) for _ in range(3)]
    assert losses[-1] < losses[0], losses
    after = model.jaxrnn_params()
    assert not np.allclose(after[0]["Wx"], before[0]["Wx"])  # the optimizer reached the jaxrnn params
    y, _ = model(x, sequence_length=lengths)
    y_pure, _ = jaxrnn.dynamic_unroll(cell, after, x, sequence_length=lengths)
    np.testing.assert_array_equal(np.asarray(y), np.asarray(y_pure))
    # and a hand-chained loop over the two layers agrees too
    states, outs = [c.zero_state(B) for c in (jaxrnn.lstm_cell(4), jaxrnn.gru_cell(3))], []
    for t in range(T):
        h = x[:, t]
        for i, c in enumerate((jaxrnn.lstm_cell(4), jaxrnn.gru_cell(3))):
            new, h = c.apply(after[i], states[i], h)
            alive = (t < lengths)[:, None]
            states[i] = jax.tree.map(lambda n, o, alive=alive: jnp.where(alive, n, o), new, states[i])
        outs.append(np.where(np.asarray(t < lengths)[:, None], np.asarray(h), 0.0))
    np.testing.assert_allclose(np.asarray(y), np.stack(outs, 1), rtol=2e-5, atol=2e-5)
