"""Every cell option, paired with its NumPy reference step."""

from __future__ import annotations

import functools

import jax
import numpy as np
from numpy_reference import basic_step, gru_step, lstm_step

import jaxrnn

CONFIGS = {
    "basic_tanh": (lambda **kw: jaxrnn.basic_cell(5, **kw), basic_step),
    "basic_relu": (
        lambda **kw: jaxrnn.basic_cell(5, activation=jax.nn.relu, **kw),
        functools.partial(basic_step, activation=lambda x: np.maximum(x, 0.0)),
    ),
    "lstm": (lambda **kw: jaxrnn.lstm_cell(5, **kw), lstm_step),
    "lstm_forget_bias_0": (
        lambda **kw: jaxrnn.lstm_cell(5, forget_bias=0.0, **kw),
        functools.partial(lstm_step, forget_bias=0.0),
    ),
    "lstm_peepholes": (
        lambda **kw: jaxrnn.lstm_cell(5, use_peepholes=True, **kw),
        functools.partial(lstm_step, use_peepholes=True),
    ),
    "lstm_clip": (
        lambda **kw: jaxrnn.lstm_cell(5, cell_clip=0.3, **kw),
        functools.partial(lstm_step, cell_clip=0.3),
    ),
    "lstm_proj_peep_clip": (
        lambda **kw: jaxrnn.lstm_cell(5, use_peepholes=True, cell_clip=0.5, num_proj=3, **kw),
        functools.partial(lstm_step, use_peepholes=True, cell_clip=0.5, num_proj=3),
    ),
    "gru": (lambda **kw: jaxrnn.gru_cell(5, **kw), gru_step),
    "gru_reset_after": (
        lambda **kw: jaxrnn.gru_cell(5, reset_after=True, **kw),
        functools.partial(gru_step, reset_after=True),
    ),
}


def random_params(cell, key, input_size, scale=0.5):
    """The cell's params with every leaf (biases and peepholes included) drawn at random."""
    params = cell.init(key, input_size)
    leaves, treedef = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.fold_in(key, 1), len(leaves))
    leaves = [scale * jax.random.normal(k, leaf.shape, leaf.dtype) for k, leaf in zip(keys, leaves)]
    return jax.tree.unflatten(treedef, leaves)


def random_state(cell, key, batch):
    state = cell.zero_state(batch)
    leaves, treedef = jax.tree.flatten(state)
    keys = jax.random.split(key, len(leaves))
    return jax.tree.unflatten(treedef, [jax.random.normal(k, x.shape) for k, x in zip(keys, leaves)])


def to_numpy_state(state):
    if isinstance(state, tuple):
        return tuple(np.asarray(s, np.float64) for s in state)
    return np.asarray(state, np.float64)
