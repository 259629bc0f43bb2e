"""Cell wrappers: each takes cells and returns a :class:`~jaxrnn.Cell` with the same contract."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn.cells import Cell, LayerStack, LSTMState, Params, Recurrence
from jaxrnn.layers import dense

Array = jax.Array


def _with_readout(
    cell: Cell, params_of: Callable[[Params], Params], readout: Callable, **fields: Any
) -> Cell:
    """``cell`` (params ``params_of(params)``) with ``y = readout(params, x, y)`` after each step.

    The cell's recurrence passes through, ``readout`` composed after its own.
    """

    def apply(params, state, x, *, key=None, training=False, time_step=0):
        state, y = cell.apply(params_of(params), state, x, key=key, training=training, time_step=time_step)
        return state, readout(params, x, y)

    rec = cell.recurrence
    if isinstance(rec, Recurrence):
        inner = rec.readout

        def composed(params, x, y):
            return readout(params, x, y if inner is None else inner(params_of(params), x, y))

        weights = rec.weights
        rec = rec._replace(weights=lambda params: weights(params_of(params)), readout=composed, apply=apply)
    return cell._replace(apply=apply, recurrence=rec if isinstance(rec, Recurrence) else None, **fields)


def stack_cells(cells: Sequence[Cell], state_is_tuple: bool = True) -> Cell:
    """Stack cells into a deep RNN (TF's ``MultiRNNCell``): layer l's output is layer l+1's input.

    Layers may differ in kind and size. When every layer declares its
    recurrence, the stack does too (:class:`~jaxrnn.cells.LayerStack`).

    Args:
      cells: one cell per layer, bottom first.
      state_is_tuple: True: the state is a tuple with one entry per layer.
        False: one array ``[batch, sum of state sizes]``, the layers' state
        leaves concatenated in ``jax.tree.leaves`` order, bottom layer first.

    Returns:
      A :class:`Cell` whose params are a tuple with one entry per layer, whose
      output is the top layer's; layer ``l`` gets the key ``fold_in(key, l)``.

    >>> cell = stack_cells([jaxrnn.lstm_cell(4), jaxrnn.gru_cell(3)], state_is_tuple=False)
    >>> cell.state_size  # c (4) + h (4) + GRU h (3)
    11
    """
    cells = tuple(cells)
    if not cells:
        raise ValueError("cells must be a non-empty sequence of jaxrnn cells; got an empty sequence")
    for i, cell in enumerate(cells):
        if not isinstance(cell, Cell):
            raise TypeError(f"cells[{i}] must be a jaxrnn Cell; got {type(cell).__name__}")
    if not isinstance(state_is_tuple, bool):
        raise TypeError(f"state_is_tuple must be a bool; got {type(state_is_tuple).__name__}")
    sizes = tuple(cell.state_size for cell in cells)

    def split(state):
        if state_is_tuple:
            return tuple(state)
        like = tuple(jax.eval_shape(lambda c=c: c.zero_state(1, state.dtype)) for c in cells)
        leaves, treedef = jax.tree.flatten(like)
        splits = np.cumsum([leaf.shape[-1] for leaf in leaves])[:-1].tolist()
        return jax.tree.unflatten(treedef, jnp.split(state, splits, axis=-1))

    def join(states):
        return tuple(states) if state_is_tuple else jnp.concatenate(jax.tree.leaves(tuple(states)), axis=-1)

    def init(key: Array, input_size: int, dtype: Any = jnp.float32) -> Params:
        params = []
        for i, cell in enumerate(cells):
            params.append(cell.init(jax.random.fold_in(key, i), input_size, dtype))
            input_size = cell.output_size
        return tuple(params)

    def zero_state(batch_size: int, dtype: Any = jnp.float32):
        return join(tuple(cell.zero_state(batch_size, dtype) for cell in cells))

    def apply(params, state, x, *, key=None, training=False, time_step=0):
        new_states = []
        for i, (cell, p, s) in enumerate(zip(cells, params, split(state))):
            layer_key = None if key is None else jax.random.fold_in(key, i)
            s, x = cell.apply(p, s, x, key=layer_key, training=training, time_step=time_step)
            new_states.append(s)
        return join(new_states), x

    fast = all(cell.recurrence is not None for cell in cells)
    return Cell(
        init=init,
        zero_state=zero_state,
        apply=apply,
        output_size=cells[-1].output_size,
        state_size=sizes if state_is_tuple else sum(int(n) for n in jax.tree.leaves(sizes)),
        input_size=lambda params: cells[0].input_size(params[0]),
        recurrence=LayerStack(cells, split, join, apply) if fast else None,
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
      the state is the wrapped cell's, untouched. The cell's recurrence passes
      through (the projection becomes its readout, run on all steps at once).
    """
    layer = dense(output_size, activation)

    def project(params: Params, x: Array, y: Array) -> Array:
        flat = layer.apply(params["projection"], y.reshape(-1, y.shape[-1]))
        return flat.reshape(*y.shape[:-1], output_size)

    def init(key: Array, input_size: int, dtype: Any = jnp.float32) -> Params:
        k_cell, k_proj = jax.random.split(key)
        return {
            "cell": cell.init(k_cell, input_size, dtype),
            "projection": layer.init(k_proj, cell.output_size, dtype),
        }

    return _with_readout(
        cell,
        lambda params: params["cell"],
        project,
        init=init,
        output_size=output_size,
        input_size=lambda params: cell.input_size(params["cell"]),
    )


# fold-in tags that give each kind of dropout its own random stream
_INPUT, _STATE, _OUTPUT = 0, 1, 2


def _check_keep_prob(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a Python float in (0, 1]; got {type(value).__name__}")
    if not 0.0 < value <= 1.0:
        raise ValueError(f"{name} must lie in (0, 1]; got {value!r}")
    return float(value)


def _drop(x: Array, key: Array, keep_prob: float, training: Any) -> Array:
    """Inverted dropout: keep each unit with probability ``keep_prob`` and scale it by ``1 / keep_prob``."""
    keep = jax.random.bernoulli(key, keep_prob, x.shape)
    dropped = jnp.where(keep, x / jnp.asarray(keep_prob, x.dtype), jnp.zeros_like(x))
    if isinstance(training, bool):
        return dropped
    # a traced training flag (e.g. a jit argument) selects at run time
    return jnp.where(training, dropped, x)


def _drop_state(state: Any, key: Array, keep_prob: float, training: Any) -> Any:
    """Drop every state leaf except an LSTM's cell ``c`` (TF's default ``dropout_state_filter_visitor``)."""
    is_lstm = lambda s: isinstance(s, LSTMState)
    nodes, treedef = jax.tree.flatten(state, is_leaf=is_lstm)

    def drop(node: Any, k: Array) -> Any:
        if is_lstm(node):
            return LSTMState(node.c, _drop(node.h, k, keep_prob, training))
        return _drop(node, k, keep_prob, training)

    return jax.tree.unflatten(treedef, [drop(n, jax.random.fold_in(key, i)) for i, n in enumerate(nodes)])


def dropout(
    cell: Cell,
    input_keep_prob: float = 1.0,
    output_keep_prob: float = 1.0,
    state_keep_prob: float = 1.0,
    variational: bool = False,
) -> Cell:
    """Dropout on a cell's inputs, outputs and state (TF's ``DropoutWrapper``), active only when training.

    Whether dropout is on is chosen at call time from ``training`` (and the
    ``key``) the unrollers pass to every step, so one model serves training
    and inference (the identity), unlike the book's second TF1 graph. Dropout
    is inverted: kept units are scaled by ``1 / keep_prob``.

    Masks: each kind (input, state, output) gets ``fold_in(key, kind)`` and,
    unless ``variational`` (one mask per sequence, Gal & Ghahramani 2016),
    ``time_step`` folded in, so static and dynamic unrolls draw the same masks.
    State dropout applies to the new state a step returns and, as in TF,
    leaves an LSTM's cell ``c`` alone.

    Args:
      cell: the wrapped cell; params and state are the cell's own.
      input_keep_prob, output_keep_prob, state_keep_prob: probabilities in
        (0, 1] of keeping each input, output, state unit.
      variational: the same masks at every time step.

    Returns:
      A :class:`Cell` like ``cell`` whose recurrence holds at inference; its
      ``apply`` raises ``ValueError`` when training with some keep probability
      below 1 and no ``key``.
    """
    if not isinstance(cell, Cell):
        raise TypeError(f"cell must be a jaxrnn Cell; got {type(cell).__name__}")
    p_in = _check_keep_prob("input_keep_prob", input_keep_prob)
    p_out = _check_keep_prob("output_keep_prob", output_keep_prob)
    p_state = _check_keep_prob("state_keep_prob", state_keep_prob)
    if not isinstance(variational, bool):
        raise TypeError(f"variational must be a bool; got {type(variational).__name__}")
    active = min(p_in, p_out, p_state) < 1.0

    def mask_key(key: Array, kind: int, time_step: Any) -> Array:
        key = jax.random.fold_in(key, kind)
        return key if variational else jax.random.fold_in(key, time_step)

    def apply(params, state, x, *, key=None, training=False, time_step=0):
        on = active and training is not False
        if on and key is None:
            raise ValueError(
                "key must be a PRNG key (jax.random.key) when training with dropout "
                f"(input_keep_prob={p_in}, output_keep_prob={p_out}, state_keep_prob={p_state}); got None. "
                "Pass key= to the unroller, or training=False for inference."
            )
        if on and p_in < 1.0:
            x = _drop(x, mask_key(key, _INPUT, time_step), p_in, training)
        state, y = cell.apply(params, state, x, key=key, training=training, time_step=time_step)
        if on and p_state < 1.0:
            state = _drop_state(state, mask_key(key, _STATE, time_step), p_state, training)
        if on and p_out < 1.0:
            y = _drop(y, mask_key(key, _OUTPUT, time_step), p_out, training)
        return state, y

    rec = cell.recurrence
    if active:  # the recurrence holds at inference only; a stack's would need the masks between layers
        rec = rec._replace(training=False) if isinstance(rec, Recurrence) else None
    return cell._replace(apply=apply, recurrence=None if rec is None else rec._replace(apply=apply))


def residual(cell: Cell) -> Cell:
    """Add each step's input to its output (TF's ``ResidualWrapper``; the GNMT-style deep stacks).

    Args:
      cell: the wrapped cell; its ``output_size`` must equal the input size.

    Returns:
      A :class:`Cell` with ``y(t) = cell(x(t)) + x(t)`` and the cell's params,
      state and sizes; its recurrence passes through (the skip as readout).

    Raises:
      ValueError: from ``init`` when ``input_size != cell.output_size``.
    """
    if not isinstance(cell, Cell):
        raise TypeError(f"cell must be a jaxrnn Cell; got {type(cell).__name__}")

    def init(key: Array, input_size: int, dtype: Any = jnp.float32) -> Params:
        if input_size != cell.output_size:
            raise ValueError(
                f"input_size must equal the wrapped cell's output_size ({cell.output_size}) for a "
                f"residual connection; got {input_size!r}"
            )
        return cell.init(key, input_size, dtype)

    def skip(params, x, y):
        return y + x.astype(y.dtype)

    return _with_readout(cell, lambda params: params, skip, init=init)
