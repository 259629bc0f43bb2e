"""Streaming state: run a long sequence chunk by chunk, or step by step, carrying the state.

This is jaxrnn's answer to Keras's ``stateful=True``: the state is a value you
hold, not a variable hidden in a layer. Feed chunk ``k`` with the final state
of chunk ``k - 1`` and the outputs and final state are those of one long
unroll (:func:`stream_chunk`); for real-time inference, one jitted step per
incoming frame (:func:`make_stream_step`). Where Keras needs
``reset_states()`` for the whole batch, ``reset`` restarts single rows
(a new stream started in that slot).

>>> cell = jaxrnn.gru_cell(8)
>>> params = cell.init(jax.random.key(0), 3)
>>> state = cell.zero_state(2)
>>> for chunk in jnp.ones((4, 2, 5, 3)):  # four chunks of 5 steps
...     outputs, state = stream_chunk(cell, params, state, chunk)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn import checks
from jaxrnn.cells import Cell, Params, State
from jaxrnn.unroll import dynamic_unroll

Array = jax.Array


def _batch_of(state: State) -> int:
    leaves = jax.tree.leaves(state)
    if not leaves or not hasattr(leaves[0], "shape") or len(leaves[0].shape) < 1:
        raise ValueError(f"state must be a cell state with [batch, ...] leaves; got {state!r}")
    return int(leaves[0].shape[0])


def _check_carried(cell: Cell, state: State, batch_size: int, dtype: Any, what: str) -> None:
    carried = _batch_of(state)
    if carried != batch_size:
        raise ValueError(
            f"{what} has batch size {batch_size} but the carried state has batch size {carried}; "
            "a stream keeps its batch size (reset a row to start a new stream in its slot)"
        )
    expected = jax.eval_shape(lambda: cell.zero_state(batch_size, dtype))
    checks.check_state("state", state, expected)


def _check_reset(reset: Any, batch_size: int) -> Array | None:
    if reset is None:
        return None
    if not hasattr(reset, "dtype"):
        reset = np.asarray(reset)
    if reset.dtype != jnp.bool_:
        raise TypeError(f"reset must be a bool array of shape [batch]; got dtype {reset.dtype}")
    if tuple(reset.shape) != (batch_size,):
        raise ValueError(f"reset must have shape [batch] = ({batch_size},); got shape {tuple(reset.shape)}")
    return jnp.asarray(reset)


def reset_state(cell: Cell, state: State, reset: Array, initial_state: State | None = None) -> State:
    """Restart the rows of ``state`` where ``reset`` is True from ``initial_state`` (zeros by default).

    Args:
      cell: the cell whose state this is.
      state: its carried state, leaves ``[batch, ...]``.
      reset: ``[batch]`` bool.
      initial_state: a state like ``state``; default ``cell.zero_state``.

    Returns:
      The state with the reset rows replaced.
    """
    batch_size = _batch_of(state)
    dtype = jax.tree.leaves(state)[0].dtype
    _check_carried(cell, state, batch_size, dtype, "reset")
    mask = _check_reset(reset, batch_size)
    if mask is None:
        raise TypeError("reset must be a bool array of shape [batch]; got None")
    if initial_state is None:
        initial_state = cell.zero_state(batch_size, dtype)
    else:
        checks.check_state("initial_state", initial_state, jax.eval_shape(lambda: state))

    def pick(old, new):
        return jnp.where(mask.reshape(mask.shape + (1,) * (old.ndim - 1)), new, old)

    return jax.tree.map(pick, state, initial_state)


def stream_chunk(
    cell: Cell,
    params: Params,
    state: State,
    chunk: Array,
    *,
    reset: Array | None = None,
    initial_state: State | None = None,
    sequence_length: Array | None = None,
    key: Array | None = None,
    training: bool = False,
    **scan_options: Any,
) -> tuple[Array, State]:
    """Run one chunk of a stream from the carried ``state``; return its outputs and the state to carry on.

    Chunks ``x[:, :k]``, ``x[:, k:]`` fed in turn give the outputs and final
    state of ``dynamic_unroll`` over ``x`` (to float rounding).

    Args:
      cell: a :class:`~jaxrnn.Cell`.
      params: its parameters.
      state: the carried state (``cell.zero_state(batch)`` for the first chunk).
      chunk: ``[batch, time, features]``; the batch size must stay the same
        from chunk to chunk.
      reset: ``[batch]`` bool; rows where True start a new stream in this
        chunk, from ``initial_state`` (zeros by default).
      initial_state: where reset rows restart.
      sequence_length: ``[batch]``; a stream that ends inside this chunk: its
        later outputs are zero and its state stays frozen at its last step.
      key, training: for stochastic cells, as in ``dynamic_unroll``; the step
        index restarts at 0 in every chunk, so pass a fresh key per chunk.
      **scan_options: ``unroll`` / ``remat`` / ``fused`` for ``dynamic_unroll``.

    Returns:
      ``(outputs [batch, time, output_size], state)``.

    Raises:
      ValueError, TypeError: a chunk whose batch size differs from the carried
        state's, a state of the wrong structure, a malformed ``reset``.
    """
    checks.check_float_array("chunk", chunk)
    checks.check_rank("chunk", chunk, 3, "[batch, time, features]")
    _check_carried(cell, state, chunk.shape[0], chunk.dtype, "chunk")
    if reset is not None:
        state = reset_state(cell, state, reset, initial_state)
    return dynamic_unroll(
        cell,
        params,
        chunk,
        initial_state=state,
        sequence_length=sequence_length,
        key=key,
        training=training,
        **scan_options,
    )


def make_stream_step(cell: Cell) -> Callable[..., tuple[State, Array]]:
    """A jitted one-step function for real-time inference: ``step(params, state, x, reset=None)``.

    Shapes are checked in Python on every call (cheap); the step compiles once
    per shape, with and without ``reset``.

    Args:
      cell: a :class:`~jaxrnn.Cell`.

    Returns:
      ``step(params, state, x: [batch, features], reset: [batch] bool | None)
      -> (new_state, y: [batch, output_size])``; rows where ``reset`` is True
      start from zeros before this step.
    """
    if not isinstance(cell, Cell):
        raise TypeError(f"cell must be a jaxrnn Cell (e.g. jaxrnn.lstm_cell(64)); got {type(cell).__name__}")

    @jax.jit
    def plain(params, state, x):
        return cell.apply(params, state, x)

    @jax.jit
    def with_reset(params, state, x, reset):
        zeros = jax.tree.map(jnp.zeros_like, state)
        state = jax.tree.map(
            lambda old, new: jnp.where(reset.reshape(reset.shape + (1,) * (old.ndim - 1)), new, old),
            state,
            zeros,
        )
        return cell.apply(params, state, x)

    def step(params: Params, state: State, x: Array, reset: Array | None = None) -> tuple[State, Array]:
        checks.check_float_array("x", x)
        checks.check_rank("x", x, 2, "[batch, features]")
        _check_carried(cell, state, x.shape[0], x.dtype, "x")
        checks.check_params("x", cell, params, x.shape[1])
        reset = _check_reset(reset, x.shape[0])
        if reset is None:
            return plain(params, state, x)
        return with_reset(params, state, x, reset)

    return step
