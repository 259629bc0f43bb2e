"""A deep RNN with one layer per device, scheduled as a wavefront (pipeline) over time.

The book pins layer l of a ``MultiRNNCell`` to GPU l, each waiting for the
layer below. Here the L layers run under ``jax.shard_map`` along a mesh axis;
at tick k device l runs layer l on step ``t = k - l`` and sends its output to
device l+1 with ``lax.ppermute``::

    tick k:    0    1    2    3    4  ...
    device 0:  t0   t1   t2   t3   t4
    device 1:       t0   t1   t2   t3
    device 2:            t0   t1   t2

so T steps take ``T + L - 1`` ticks instead of ``T * L`` layer-steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P

from jaxrnn import checks, masking
from jaxrnn.cells import Cell, Params, State
from jaxrnn.parallel.data_parallel import check_mesh_axis
from jaxrnn.wrappers import stack_cells

Array = jax.Array


def _check_cells(cells: Any, params: Any, num_devices: int, axis: str) -> tuple[Cell, ...]:
    if isinstance(cells, Cell):
        raise TypeError("cells must be the list of layer cells given to stack_cells, not one Cell")
    cells = tuple(cells)
    stack_cells(cells)  # its checks: a non-empty sequence of cells
    if len(cells) != num_devices:
        more = " (more layers than devices: the pipeline needs one device per layer)"
        raise ValueError(
            f"mesh axis {axis!r} must have one device per layer: {len(cells)} layers; "
            f"got {num_devices} devices{more if len(cells) > num_devices else ''}"
        )
    if not isinstance(params, (tuple, list)) or len(params) != len(cells):
        got = (
            f"{type(params).__name__} of length {len(params)}" if hasattr(params, "__len__") else repr(params)
        )
        raise ValueError(
            f"params must be a tuple with one entry per layer ({len(cells)}), from stack_cells; got {got}"
        )
    ref = jax.tree.map(lambda a: (a.shape, a.dtype), params[-1])
    for i in range(1, len(cells)):
        if cells[i].output_size != cells[0].output_size or cells[i].state_size != cells[0].state_size:
            raise ValueError(
                "every layer must have the same output and state size to share one pipeline program; "
                f"cells[0] has output_size={cells[0].output_size}, state_size={cells[0].state_size}; "
                f"cells[{i}] has output_size={cells[i].output_size}, state_size={cells[i].state_size}"
            )
        got = jax.tree.map(lambda a: (a.shape, a.dtype), params[i])
        if not checks.same_structure(params[i], params[-1]) or got != ref:
            raise ValueError(
                f"params[{i}] must have the same structure and shapes as params[{len(cells) - 1}] "
                "(layers above the first must be identical in kind and size)"
            )
    return cells


def pipelined_unroll(
    cells: Sequence[Cell],
    params: Params,
    inputs: Array,
    *,
    mesh: Mesh,
    axis: str = "layer",
    sequence_length: Array | None = None,
    initial_state: State | None = None,
    time_major: bool = False,
    reverse: bool = False,
    key: Array | None = None,
    training: bool = False,
) -> tuple[Array, State]:
    """Unroll ``stack_cells(cells)`` with layer l's params and compute on device l of ``mesh[axis]``.

    Same meaning and numbers as ``dynamic_unroll(stack_cells(cells), params, inputs, ...)``
    (per-layer keys ``fold_in(key, l)``); the backward pass is pipelined too
    (``ppermute`` transposes to the reverse permutation). Layers above the
    first must share one kind and size (they may differ, e.g. in activation).

    Args:
      cells: the L layer cells, bottom first (what was given to ``stack_cells``).
      params: ``stack_cells(cells).init(key, F)``: a tuple of L layer params.
      inputs: ``[batch, time, F]`` (``[time, batch, F]`` when ``time_major``).
      mesh: a mesh whose axis ``axis`` has exactly L devices; layer l runs on
        its l-th device (``jaxrnn.make_mesh(jax.devices()[:L], "layer")``).
      axis: the mesh axis name.
      sequence_length, initial_state, time_major, reverse, key, training: as in
        :func:`jaxrnn.dynamic_unroll` (``initial_state`` is a tuple per layer).

    Returns:
      ``(outputs, final_state)``: outputs ``[batch, time, H]`` (the top layer's,
      zero past each length), final state a tuple of L layer states.

    Raises:
      ValueError, TypeError: before tracing, when the axis is missing or its size is not L,
        on mismatched layers, and on the bad inputs :func:`jaxrnn.dynamic_unroll` rejects.
    """
    num_devices = check_mesh_axis(mesh, axis)
    cells = _check_cells(cells, params, num_devices, axis)
    xs, lengths, initial_state = masking.prepare(
        stack_cells(cells), params, inputs, sequence_length=sequence_length,
        initial_state=initial_state, time_major=time_major, key=key,
    )  # fmt: skip
    num_steps, batch_size, _ = xs.shape
    if reverse:
        xs = masking.reverse_sequence(xs, lengths)

    num_layers = len(cells)
    # layer 0 reads its own params, replicated (its input weights may have another shape); its slot
    # in the stacked params is zeros
    per_layer = (jax.tree.map(jnp.zeros_like, params[-1]),) + tuple(params[1:])
    stacked_params = jax.tree.map(lambda *a: jnp.stack(a), *per_layer)
    stacked_state = jax.tree.map(lambda *a: jnp.stack(a), *initial_state)
    lengths_arg = jnp.full((batch_size,), num_steps, jnp.int32) if lengths is None else lengths
    num_ticks = num_steps + num_layers - 1
    # one traced step per distinct cell value: ``[cell] * L`` compiles one step, not L branches
    distinct = list({id(c): c for c in cells}.values())
    branch_of = [next(j for j, c in enumerate(distinct) if c is cell) for cell in cells]

    def device_program(p, state, p0, xs, lens, key):
        layer = lax.axis_index(axis)
        p = jax.tree.map(lambda a: a[0], p)
        state = jax.tree.map(lambda a: a[0], state)
        layer_key = None if key is None else jax.random.fold_in(key, layer)

        def run_layer(cell, p, s, x_in, t):
            def first():
                x_t = lax.dynamic_index_in_dim(xs, jnp.clip(t, 0, num_steps - 1), 0, False)
                return cells[0].apply(p0, s, x_t, key=layer_key, training=training, time_step=t)

            # layer 0 reads the inputs; the others what the layer below sent (a real branch per device)
            return lax.cond(
                layer == 0,
                first,
                lambda: cell.apply(p, s, x_in, key=layer_key, training=training, time_step=t),
            )

        def tick(carry, k):
            s, x_in = carry
            t = (k - layer).astype(jnp.int32)
            # each device takes only its own layer's branch (a direct call when all layers are one cell)
            branches = [lambda p, s, x, t, c=c: run_layer(c, p, s, x, t) for c in distinct]
            new_s, y = lax.switch(jnp.asarray(branch_of)[layer], branches, p, s, x_in, t)
            # a layer idles before its wave arrives and after it passes; padding freezes as in dynamic_rnn
            new_s, y = masking.masked_step((t >= 0) & (t < lens), new_s, s, y)
            x_next = lax.ppermute(y, axis, perm=[(i, i + 1) for i in range(num_layers - 1)])
            return (new_s, x_next), y

        x0 = jnp.zeros((batch_size, cells[0].output_size), xs.dtype)
        (state, _), ys = lax.scan(tick, (state, x0), jnp.arange(num_ticks, dtype=jnp.int32))
        return jax.tree.map(lambda a: a[None], state), ys[None]

    layer_spec = P(axis)
    run = jax.shard_map(
        device_program,
        mesh=mesh,
        in_specs=(layer_spec, layer_spec, P(), P(), P(), P()),
        out_specs=(layer_spec, layer_spec),
        check_vma=False,
    )
    final, ys_all = run(stacked_params, stacked_state, params[0], xs, lengths_arg, key)
    # the top device's outputs, from the tick its wave reached time 0
    ys = ys_all[num_layers - 1, num_layers - 1 :]
    if reverse:
        ys = masking.reverse_sequence(ys, lengths)
    final_state = tuple(jax.tree.map(lambda a, i=i: a[i], final) for i in range(num_layers))
    return masking.swap_time(ys, time_major), final_state
