"""Pin a layer's parameters and computation to one device: the book's ``DeviceCellWrapper``, the JAX way."""

from __future__ import annotations

from typing import Any

import jax

from jaxrnn.cells import Cell, Params

Array = jax.Array


def _check_device(device: Any) -> None:
    if not isinstance(device, jax.Device):
        raise TypeError(f"device must be a jax.Device (e.g. jax.devices()[1]); got {type(device).__name__}")


def place_params(params: Params, device: Any) -> Params:
    """Commit every array of ``params`` to ``device`` (``jax.device_put``)."""
    _check_device(device)
    return jax.device_put(params, device)


def device_cell(cell: Cell, device: Any) -> Cell:
    """Put ``cell``'s params and step on ``device`` (the book's ``DeviceCellWrapper``).

    The book's ``MultiRNNCell([DeviceCellWrapper(dev, BasicRNNCell(n)) for dev in devices])``
    becomes ``jaxrnn.stack_cells([jaxrnn.device_cell(jaxrnn.basic_cell(n), d) for d in devices])``.
    ``init`` commits the params to ``device`` and ``apply`` moves its input and
    state there, so JAX's computation-follows-data rule runs the layer there
    when the cell runs op by op (outside ``jit``, the book's placement model);
    one ``jit`` program runs where XLA places it. :func:`jaxrnn.pipelined_unroll`
    keeps every device busy at once (here each waits for the layer below).

    Args:
      cell: the wrapped cell.
      device: a ``jax.Device``.

    Returns:
      A :class:`~jaxrnn.Cell` with the same params, state and outputs as ``cell``.
    """
    if not isinstance(cell, Cell):
        raise TypeError(f"cell must be a jaxrnn Cell; got {type(cell).__name__}")
    _check_device(device)

    def init(key: Array, input_size: int, dtype: Any = None) -> Params:
        params = cell.init(key, input_size) if dtype is None else cell.init(key, input_size, dtype)
        return jax.device_put(params, device)

    def zero_state(batch_size: int, dtype: Any = None):
        state = cell.zero_state(batch_size) if dtype is None else cell.zero_state(batch_size, dtype)
        return jax.device_put(state, device)

    def apply(params: Params, state: Any, x: Array, *, key=None, training=False, time_step=0):
        state, x = jax.device_put((state, x), device)
        return cell.apply(params, state, x, key=key, training=training, time_step=time_step)

    # no recurrence: the fused loop would not move each step to the device
    return cell._replace(init=init, zero_state=zero_state, apply=apply, recurrence=None)
