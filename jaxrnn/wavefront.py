"""Several recurrent layers advancing in one loop (cuDNN's trick), their per-step GEMMs side by side.

* **a stack** (:func:`stack_unroll`): one ``lax.scan`` over ``T + L - 1``
  ticks; at tick ``k`` layer ``l`` runs step ``k - l`` (the wavefront, as
  :func:`jaxrnn.pipelined_unroll` schedules it over devices), so the ``L``
  products ``[y(l-1), h(l)] @ [Wx(l); Wh(l)]`` of a tick are independent.
* **a bidirectional layer** (:func:`bidirectional_unroll`): both directions
  in one scan, the backward one over the input reversed within each length.

On XLA:CPU both, and the ``batched`` GEMM, measured slower than a loop per
layer or direction (bench/RESULTS.md, "Levers (issue 21)"), so neither
``dynamic_unroll`` nor ``jaxrnn.bidirectional_unroll`` uses them. Masking is
:mod:`jaxrnn.masking`'s, so the numbers equal the plain loops'
(``tests/test_wavefront.py``); gradients (a ``custom_vjp``) are those of the
loop-per-layer fused path, with its memory and speed.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from jaxrnn import fused, masking
from jaxrnn.cells import Cell, LayerStack, Params, Recurrence, State, matmul, row

Array = jax.Array


def stackable(cell: Cell, params: Params, *, training: Any = False) -> bool:
    """Whether :func:`stack_unroll` can run ``cell``.

    True for a :func:`jaxrnn.stack_cells` of two or more ``"fused"`` layers
    (:func:`jaxrnn.unroll_path`) with no readout and the same weight shapes
    and dtype from layer 1 up (layer 0's input size may differ).
    """
    rec = cell.recurrence
    if fused.unroll_path(cell, params, training=training) != "fused" or not isinstance(rec, LayerStack):
        return False
    cells = rec.cells
    if len(cells) < 2 or not same_recurrence(cells, params):
        return False
    shapes = {cell.recurrence.weights(p)[0].shape for cell, p in zip(cells[1:], params[1:])}  # type: ignore[union-attr]
    _, wh, _ = cells[0].recurrence.weights(params[0])  # type: ignore[union-attr]
    # layer l's input is layer l-1's output, which must be what its Wh multiplies (width K)
    return shapes == {(wh.shape[0], wh.shape[1])} and cells[-1].output_size == wh.shape[0]


def same_recurrence(cells: Any, params: Any) -> bool:
    """Whether ``cells`` (each ``"fused"``) declare plain recurrences whose ``Wh`` have one shape and dtype.

    Then their recurrent GEMMs batch (the directions of a bidirectional layer).
    """
    weights = []
    for cell, p in zip(cells, params):
        rec = cell.recurrence
        if not isinstance(rec, Recurrence) or rec.readout is not None:
            return False
        weights.append(rec.weights(p))
    whs = {(wh.shape, wh.dtype) for _, wh, _ in weights}
    bs = {(b.shape, b.dtype) for _, _, b in weights}
    xs = {wx.dtype for wx, _, _ in weights}
    return len(whs) == 1 and len(bs) == 1 and xs == {weights[0][1].dtype}


def stack_unroll(
    cell: Cell, params: Params, xs: Array, state: State, lengths: Array | None, resets: Array | None = None
) -> tuple[State, Array]:
    """Run a stack for which :func:`stackable` holds over time-major ``xs``, masked, as a wavefront.

    Args:
      cell, params: the :func:`jaxrnn.stack_cells` cell and its parameters, one entry per layer.
      xs, state, lengths, resets: as in :func:`jaxrnn.fused.fused_unroll`.

    Returns:
      ``(final_state, outputs [T, B, K])``, the top layer's outputs.
    """
    rec = cell.recurrence
    assert isinstance(rec, LayerStack)
    recs = tuple(c.recurrence for c in rec.cells)
    states = tuple(rec.split(state))

    def forward(params, xs, states):
        return _lanes(recs, params, (xs,), states, lengths, resets, chained=True)

    def layered(params, xs, states):
        finals, ys = fused.fused_unroll(cell, params, xs, rec.join(states), lengths, resets=resets)
        return tuple(rec.split(finals)), ys

    finals, ys = _forward_with_vjp_of(forward, layered)(tuple(params), xs, states)
    return rec.join(finals), ys


def bidirectional_unroll(
    cells: tuple[Cell, Cell],
    params: tuple[Params, Params],
    xs: Array,
    states: tuple[State, State],
    lengths: Array | None,
    resets: Array | None = None,
) -> tuple[tuple[State, State], tuple[Array, Array]]:
    """Run a forward and a backward cell (:func:`same_recurrence`) over time-major ``xs`` in one loop.

    Args:
      cells, params, states: ``(cell_fw, cell_bw)``, each ``"fused"``, their params and initial carries.
      xs, lengths, resets: as in :func:`jaxrnn.fused.fused_unroll` (``xs`` in the original time order).

    Returns:
      ``((final_fw, final_bw), (outputs_fw, outputs_bw))``, outputs ``[T, B, K]``
      in the original time order, as ``dynamic_unroll`` (``reverse=True`` for the backward cell).
    """
    recs = tuple(c.recurrence for c in cells)

    def forward(params, xs, states):
        reversed_xs = masking.reverse_sequence(xs, lengths, resets)
        finals, (y_fw, y_bw) = _lanes(recs, params, (xs, reversed_xs), states, lengths, resets, chained=False)
        return finals, (y_fw, masking.reverse_sequence(y_bw, lengths, resets))

    def separate(params, xs, states):
        final_fw, y_fw = fused.fused_unroll(cells[0], params[0], xs, states[0], lengths, resets=resets)
        reversed_xs = masking.reverse_sequence(xs, lengths, resets)
        final_bw, y_bw = fused.fused_unroll(
            cells[1], params[1], reversed_xs, states[1], lengths, resets=resets
        )
        return (final_fw, final_bw), (y_fw, masking.reverse_sequence(y_bw, lengths, resets))

    return _forward_with_vjp_of(forward, separate)(tuple(params), xs, tuple(states))


def _forward_with_vjp_of(forward: Any, reference: Any) -> Any:
    """``forward(params, xs, states)`` with the reverse-mode derivative of ``reference`` (same function)."""

    @jax.custom_vjp
    def run(params, xs, states):
        return forward(params, xs, states)

    def run_fwd(params, xs, states):
        return jax.vjp(reference, params, xs, states)

    def run_bwd(vjp, cotangents):
        return vjp(cotangents)

    run.defvjp(run_fwd, run_bwd)
    return run


def _lanes(
    recs: tuple[Any, ...],
    params: tuple[Params, ...],
    inputs: tuple[Array, ...],
    states: tuple[State, ...],
    lengths: Array | None,
    resets: Array | None,
    *,
    chained: bool,
    batched: bool = False,
) -> tuple[tuple[State, ...], Any]:
    """The loop: ``L`` lanes (layers or directions) advancing together, one tick per iteration.

    ``chained``: lane ``l`` reads lane ``l - 1``'s output and runs step ``k - l``
    at tick ``k`` (a stack; ``inputs`` holds layer 0's only); otherwise lane
    ``l`` reads ``inputs[l]`` at step ``k``. Each lane's product is
    ``[input, h] @ [Wx; Wh]``, as ``L`` rank-2 GEMMs or, ``batched``, one
    ``[L, B, *] x [L, *, G]`` batched GEMM (the input lanes' products hoisted).

    Returns:
      The final states and the top lane's ``[T, B, K]`` outputs (chained) or a tuple of every lane's.
    """
    num_lanes, num_inputs = len(recs), len(inputs)
    weights = [rec.weights(p) for rec, p in zip(recs, params)]
    num_steps, batch = inputs[0].shape[:2]
    dtype = weights[0][1].dtype
    if batched:
        # lanes reading ``inputs``: the input product over all steps at once, the slot in the loop zeros
        xz = [matmul(x.astype(dtype), wx) for x, (wx, _, _) in zip(inputs, weights)]
        reads = [
            jnp.zeros_like(weights[0][1]) if i < num_inputs else wx for i, (wx, _, _) in enumerate(weights)
        ]
        w = jnp.stack([jnp.concatenate([r, wh]) for r, (_, wh, _) in zip(reads, weights)])
        bias = jnp.stack([b for _, _, b in weights]).astype(dtype)[:, None, :]
    else:
        lane_w = [jnp.concatenate([wx, wh]) for wx, wh, _ in weights]
    offsets = jnp.arange(num_lanes, dtype=jnp.int32) if chained else jnp.zeros((num_lanes,), jnp.int32)
    limit = jnp.full((batch,), num_steps, jnp.int32) if lengths is None else jnp.minimum(lengths, num_steps)
    limit = limit.astype(jnp.int32)
    initial = states

    def at(a, t):
        return lax.dynamic_index_in_dim(a, jnp.clip(t, 0, num_steps - 1), keepdims=False)

    def tick(carry, k):
        states, ys = carry
        steps = k - offsets
        if resets is not None:
            # a new segment reads the row's initial state (each lane at its own step; none in fill and drain)
            inside = (steps >= 0) & (steps < num_steps)
            flags = [at(resets, steps[i]) & inside[i] for i in range(num_lanes)]
            states = tuple(masking.restart(f, i, s) for f, i, s in zip(flags, initial, states))
        hidden = [rec.hidden(s) for rec, s in zip(recs, states)]
        if batched:
            reads = [jnp.zeros_like(h) if i < num_inputs else ys[i - 1] for i, h in enumerate(hidden)]
            lhs = jnp.stack([jnp.concatenate([r, h], axis=-1) for r, h in zip(reads, hidden)])
            zs = lax.dot_general(lhs.astype(dtype), w, (((2,), (1,)), ((0,), (0,)))) + bias
            z = [zs[i] + at(xz[i], k) if i < num_inputs else zs[i] for i in range(num_lanes)]
        else:
            reads = [at(inputs[i], k) if i < num_inputs else ys[i - 1] for i in range(num_lanes)]
            lhs = [jnp.concatenate([r, h.astype(r.dtype)], axis=-1) for r, h in zip(reads, hidden)]
            z = [matmul(a, wi) for a, wi in zip(lhs, lane_w)]
            z = [zi + row(b, zi) for zi, (_, _, b) in zip(z, weights)]
        new_states, new_ys = [], []
        for i, rec in enumerate(recs):
            state, y = rec.combine(z[i], jnp.zeros((), z[i].dtype), states[i])
            valid = (steps[i] >= 0) & (steps[i] < limit) if chained else k < limit
            state, y = masking.masked_step(valid, state, states[i], y)
            new_states.append(state)
            new_ys.append(y.astype(ys0[i].dtype))
        out = new_ys[-1] if chained else tuple(new_ys)
        return (tuple(new_states), tuple(new_ys)), out

    ticks = num_steps + (num_lanes - 1 if chained else 0)
    ys0 = tuple(jnp.zeros_like(rec.hidden(s)) for rec, s in zip(recs, states))
    (finals, _), outs = lax.scan(tick, (states, ys0), jnp.arange(ticks, dtype=jnp.int32))
    return finals, outs[num_lanes - 1 :] if chained else outs
