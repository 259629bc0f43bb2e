"""Cell wrappers: each takes cells and returns a :class:`~jaxrnn.Cell` with the same contract."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from jaxrnn.cells import Cell, Params
from jaxrnn.layers import dense

Array = jax.Array


def _layer_key(key: Array | None, index: int) -> Array | None:
    return None if key is None else jax.random.fold_in(key, index)


def stack_cells(cells: Sequence[Cell]) -> Cell:
    """Stack cells into a deep RNN (TF's ``MultiRNNCell``): layer l's output is layer l+1's input.

    Layers may differ in kind and size. Only the first layer's input
    projection is hoisted out of the time loop; deeper layers read the
    previous layer's output of the same step.

    Args:
      cells: one cell per layer, bottom first.

    Returns:
      A :class:`Cell` whose params and state are tuples with one entry per
      layer; its output is the top layer's output. Each layer receives its own
      PRNG key (``fold_in(key, layer)``) when one is given.
    """
    cells = tuple(cells)
    if not cells:
        raise ValueError("cells must be a non-empty sequence of jaxrnn cells; got an empty sequence")
    for i, cell in enumerate(cells):
        if not isinstance(cell, Cell):
            raise TypeError(f"cells[{i}] must be a jaxrnn Cell; got {type(cell).__name__}")

    def init(key: Array, input_size: int, dtype: Any = jnp.float32) -> Params:
        params = []
        for i, cell in enumerate(cells):
            params.append(cell.init(jax.random.fold_in(key, i), input_size, dtype))
            input_size = cell.output_size
        return tuple(params)

    def zero_state(batch_size: int, dtype: Any = jnp.float32):
        return tuple(cell.zero_state(batch_size, dtype) for cell in cells)

    def project(params: Params, x: Array):
        return cells[0].project(params[0], x)

    def step(params, state, projected, *, key=None, training=False, time_step=0):
        new_states = []
        x = None
        for i, (cell, p, s) in enumerate(zip(cells, params, state)):
            k = _layer_key(key, i)
            if i == 0:
                s, x = cell.step(p, s, projected, key=k, training=training, time_step=time_step)
            else:
                s, x = cell.apply(p, s, x, key=k, training=training, time_step=time_step)
            new_states.append(s)
        return tuple(new_states), x

    return Cell(
        init=init,
        zero_state=zero_state,
        project=project,
        step=step,
        output_size=cells[-1].output_size,
        state_size=tuple(cell.state_size for cell in cells),
        input_size=lambda params: cells[0].input_size(params[0]),
    )


def output_projection(
    cell: Cell, output_size: int, activation: Callable[[Array], Array] | None = None
) -> Cell:
    """Add a dense layer on each output, weights shared over time (TF's ``OutputProjectionWrapper``).

    Args:
      cell: the wrapped cell.
      output_size: O, the size of the projected output.
      activation: applied after the projection, or None for linear.

    Returns:
      A :class:`Cell` with params ``{"cell": ..., "projection": {"W": [H, O], "b": [O]}}``;
      the state is the wrapped cell's, untouched.
    """
    layer = dense(output_size, activation)

    def init(key: Array, input_size: int, dtype: Any = jnp.float32) -> Params:
        k_cell, k_proj = jax.random.split(key)
        return {
            "cell": cell.init(k_cell, input_size, dtype),
            "projection": layer.init(k_proj, cell.output_size, dtype),
        }

    def step(params, state, projected, *, key=None, training=False, time_step=0):
        state, y = cell.step(
            params["cell"], state, projected, key=key, training=training, time_step=time_step
        )
        return state, layer.apply(params["projection"], y)

    return Cell(
        init=init,
        zero_state=cell.zero_state,
        project=lambda params, x: cell.project(params["cell"], x),
        step=step,
        output_size=output_size,
        state_size=cell.state_size,
        input_size=lambda params: cell.input_size(params["cell"]),
    )
