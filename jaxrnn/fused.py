"""The fast path of ``dynamic_unroll``, for cells that declare an additive :class:`~jaxrnn.cells.Recurrence`.

Forward: one ``[x, h] @ [Wx; Wh]`` GEMM per step when residuals are kept, the
cell's two GEMMs without them; inference with ``sequence_length`` and
``unroll=1`` stops at the longest sequence's end.
Backward: a custom VJP that does what cuDNN does: the reverse loop runs only
what is sequential (the gates' VJP and ``dz @ Wh.T``), the weight gradients
are one GEMM per window of steps (``window_rows`` rows) over ``dz``, which lives
for one window; the forward keeps the states and ``z(t)`` (only the states when
the activation's derivative is a function of its output). The ``readout`` runs
after the loop on all steps at once, under plain autodiff. A reset step of a
packed row reads the initial state, and its cotangent flows there.
Gradients equal autodiff of the plain scan up to float rounding
(``tests/test_fused.py``, ``tests/test_segments.py``).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax import lax
from jax.custom_derivatives import SymbolicZero
from jax.interpreters import ad

from jaxrnn import checks, masking
from jaxrnn.cells import Cell, LayerStack, Params, Recurrence, State, matmul, row

Array = jax.Array

# rows (steps x batch) of one window of the backward pass's weight-gradient GEMMs
WINDOW_ROWS = 512


def unroll_path(cell: Cell, params: Params, *, training: Any = False) -> str:
    """Which loop :func:`jaxrnn.dynamic_unroll` runs for ``cell`` by default: ``"fused"`` or ``"scan"``.

    ``"fused"`` when the cell declares an additive :class:`~jaxrnn.cells.Recurrence`
    valid for this ``training`` flag (the plain basic and LSTM cells; output
    projections, residuals and dropout at inference around them), or is a
    :func:`jaxrnn.stack_cells` whose every layer does; ``"scan"`` otherwise
    (peepholes, ``num_proj``, GRUs, dropout while training, custom cells).
    ``sequence_length`` and ``segment_ids`` do not change the path.
    """
    rec = cell.recurrence
    if rec is None or rec.apply is not cell.apply:
        return "scan"  # no recurrence, or apply was replaced after it was declared
    if isinstance(rec, Recurrence):
        ok = rec.additive and (rec.training or training is False)
        return "fused" if ok else "scan"
    if isinstance(rec, LayerStack) and isinstance(params, (tuple, list)) and len(params) == len(rec.cells):
        paths = {unroll_path(c, p, training=training) for c, p in zip(rec.cells, params)}
        return "fused" if paths == {"fused"} else "scan"
    return "scan"


def in_forward_mode(*trees: Any) -> bool:
    """Whether a leaf carries ``jax.jvp``/``jax.jacfwd`` tangents (``jax.grad`` uses linearize tracers).

    JAX refuses to push tangents through the fused ``custom_vjp``, so ``dynamic_unroll`` then runs the scan.
    """
    return any(isinstance(leaf, ad.JVPTracer) for leaf in jax.tree.leaves(trees))


def fused_unroll(
    cell: Cell,
    params: Params,
    xs: Array,
    state: State,
    lengths: Array | None,
    *,
    unroll: int = 1,
    window_rows: int = WINDOW_ROWS,
    resets: Array | None = None,
) -> tuple[State, Array]:
    """Run ``cell`` over time-major ``xs`` like ``lax.scan`` over its ``apply``, masked, with the fused VJP.

    Args:
      cell, params: a cell for which :func:`unroll_path` is ``"fused"``, and its parameters.
      xs: ``[T, B, F]`` inputs.
      state: the initial carry.
      lengths: ``[B]`` ints, or None; steps ``t >= lengths[b]`` freeze the carry and zero the output.
      unroll: passed to every ``lax.scan`` loop.
      window_rows: about how many (steps x batch) rows a backward window's GEMMs get (:func:`window_steps`).
      resets: ``[T, B]`` booleans (:func:`jaxrnn.masking.segment_resets`), or
        None; where True the step reads ``state`` instead of the previous step's.

    Returns:
      ``(final_state, outputs [T, B, output_size])``.
    """
    checks.positive_int("unroll", unroll)
    checks.positive_int("window_rows", window_rows)
    lengths = None if lengths is None else jnp.asarray(lengths, jnp.int32)
    rec = cell.recurrence
    if isinstance(rec, LayerStack):
        # layer after layer: the same numbers as the stack step by step (a layer's padded steps are
        # frozen and zero either way, so what the layer below sends there does not matter)
        finals = []
        for layer, p, s in zip(rec.cells, params, rec.split(state)):
            s, xs = fused_unroll(
                layer, p, xs, s, lengths, unroll=unroll, window_rows=window_rows, resets=resets
            )
            finals.append(s)
        return rec.join(tuple(finals)), xs
    assert isinstance(rec, Recurrence), "fused_unroll needs a cell whose unroll_path is 'fused'"
    wx, wh, b = rec.weights(params)
    final, ys = _make(rec, unroll, window_rows)(wx, wh, b, xs, state, lengths, resets)
    if rec.readout is not None:
        ys = masking.zero_invalid(masking.valid_steps(lengths, xs.shape[0]), rec.readout(params, xs, ys))
    return final, ys


def _make(rec: Recurrence, unroll: int, window_rows: int):
    """The custom-VJP loop ``(Wx, Wh, b, xs, state, lengths, resets) -> (final_state, ys)`` for ``rec``."""
    hidden, derivative, mdt = rec.hidden, rec.derivative_from_output, rec.matmul_dtype

    def gemm(a, b):
        # mixed precision (rec.matmul_dtype): both inputs cast, accumulated in a's dtype, as cell.apply does
        return a @ b if mdt is None else matmul(a, b, mdt)

    def masked_gates(z, state, valid):
        # additive: combine sees xz + hz only, so the summed z goes in as xz with hz = 0
        new_state, y = rec.combine(z, jnp.zeros((), z.dtype), state)
        return masking.masked_step(valid, new_state, state, y)

    def forward(wx, wh, b, xs, state, lengths, resets, keep):
        # with the residuals kept, one [x, h] x [Wx; Wh] GEMM per step, as Haiku and cuDNN do (~7% faster
        # on XLA:CPU); forward-only, the cell's two GEMMs are 8-11% faster (bench/RESULTS.md, lever a)
        concat = keep and len({a.dtype for a in (xs, hidden(state), wx, wh, b)}) == 1
        w = jnp.concatenate([wx, wh], axis=0) if concat else None
        if mdt is not None:
            # cast once per call, not once per step
            wx, wh, w = wx.astype(mdt), wh.astype(mdt), None if w is None else w.astype(mdt)
        # with the activation's derivative known from its output, the output is the state: keep only that
        outputs_are_states = keep and derivative is not None
        initial = state

        def cell_step(state, t, x, reset):
            state = masking.restart(reset, initial, state)
            if concat:
                z = matmul(jnp.concatenate([x, hidden(state)], axis=-1), w, mdt)
                z = z + row(b, z)
            else:
                # the same operations, in the same order, as the cell's apply
                xz = matmul(x, wx, mdt)
                z = (xz + row(b, xz)) + matmul(hidden(state), wh, mdt)
            new_state, y = masked_gates(z, state, masking.valid_at(t, lengths))
            return z, new_state, y

        def body(state, step):
            _, new_state, y = cell_step(state, *step)
            return new_state, (None, y)

        num_steps = xs.shape[0]
        steps = jnp.arange(num_steps, dtype=jnp.int32)
        if not keep:
            if lengths is not None and unroll == 1:
                return _until_longest(body, state, (xs, resets), lengths), None
            final, (_, ys) = lax.scan(body, state, (steps, xs, resets), unroll=unroll)
            return (final, ys), None

        def keeping_body(carry, t_and_x):
            # every state goes to row t + 1 of one [T + 1, ...] buffer whose row 0 is the initial state,
            # so the backward pass reads step t's previous states as rows [t, t + window) of it
            state, kept = carry
            z, new_state, y = cell_step(state, *t_and_x)
            index = t_and_x[0] + 1
            kept = jax.tree.map(lambda k, s: lax.dynamic_update_index_in_dim(k, s, index, 0), kept, new_state)
            return (new_state, kept), None if outputs_are_states else (z, y)

        kept = jax.tree.map(lambda s: jnp.zeros((num_steps + 1, *s.shape), s.dtype).at[0].set(s), state)
        (final, kept), per_step = lax.scan(keeping_body, (state, kept), (steps, xs, resets), unroll=unroll)
        if outputs_are_states:
            ys = masking.zero_invalid(masking.valid_steps(lengths, num_steps), kept[1:])
            return (final, ys), (None, kept)
        zs, ys = per_step
        return (final, ys), (zs, kept)

    @jax.custom_vjp
    def run(wx, wh, b, xs, state, lengths, resets):
        return forward(wx, wh, b, xs, state, lengths, resets, keep=False)[0]

    def run_fwd(*args):
        wx, wh, b, xs, state, lengths, resets = jax.tree.map(lambda p: p.value, args)
        out, (zs, states) = forward(wx, wh, b, xs, state, lengths, resets, keep=True)
        return out, (wx, wh, b, xs, lengths, resets, zs, states)

    def run_bwd(residuals, cotangents):
        p_wx, p_wh, p_b, xs, lengths, resets, zs, states = residuals
        # row 0 of the kept states is the initial state, which every reset step reads
        initial = jax.tree.map(lambda s: s[0], states)
        d_final, d_ys = cotangents
        zero = lambda x: isinstance(x, SymbolicZero)
        d_final = jax.tree.map(
            lambda d, s: jnp.zeros_like(s) if zero(d) else d, d_final, initial, is_leaf=zero
        )
        # no output cotangent at all when only the final state is used (a sequence classifier)
        d_ys = None if zero(d_ys) else d_ys
        dtype = jax.tree.leaves(states)[0].dtype if zs is None else zs.dtype
        gemm_dtype = dtype if mdt is None else mdt
        wx, wh_t = p_wx.astype(gemm_dtype), p_wh.astype(gemm_dtype).T
        num_steps = xs.shape[0]
        size = window_steps(xs.shape[1], num_steps, window_rows)
        windows = -(-num_steps // size)
        # the first window is [0, size) but owns only the steps before the second one's start
        first_end = num_steps - (windows - 1) * size
        partial = first_end != size

        def at(a, t):
            return None if a is None else lax.dynamic_index_in_dim(a, t, keepdims=False)

        def step(carry, t, end):
            d_state, d_initial = carry
            new_state = jax.tree.map(lambda s: at(s, t + 1), states)
            d_y = at(d_ys, t)
            valid = masking.valid_at(t, lengths)
            if partial:
                # a step of the first window that the second one owns: skip it like a step past the end
                valid = (t < end) if valid is None else valid & (t < end)
            reset = at(resets, t)
            if reset is not None and valid is not None:
                reset = reset & valid  # a skipped step must not send its cotangent to the initial state
            state = masking.restart(reset, initial, jax.tree.map(lambda s: at(s, t), states))
            if zs is None:
                # h = activation(z) is both the new state and the output, so dz comes from h alone
                d_h = d_state if d_y is None else d_state + d_y
                dz = d_h * derivative(new_state)
                d_prev = jnp.zeros_like(d_state)
                if valid is not None:
                    dz = masking.zero_invalid(valid, dz)
                    d_prev = masking.freeze(valid, d_prev, d_state)
            else:
                z = at(zs, t)
                _, gates_vjp = jax.vjp(lambda z, s: masked_gates(z, s, valid), z, state)
                y = jax.eval_shape(lambda: masked_gates(z, state, valid)[1])
                dz, d_prev = gates_vjp((d_state, jnp.zeros(y.shape, y.dtype) if d_y is None else d_y))
            # the recurrent GEMM's share: z depends on hidden(state) through hidden(state) @ Wh
            _, hidden_vjp = jax.vjp(hidden, state)
            (d_hidden,) = hidden_vjp(gemm(dz, wh_t))
            d_read = jax.tree.map(jnp.add, d_prev, d_hidden)
            if reset is None:
                return (d_read, d_initial), dz
            # a reset step read the initial state: its cotangent goes there, and none to step t - 1
            d_initial = jax.tree.map(jnp.add, d_initial, masking.zero_invalid(reset, d_read))
            d_read = masking.zero_invalid(~reset, d_read)
            return (d_read, d_initial), dz

        def window(carry, index):
            """The reverse loop over one window's steps, then its weight gradients in one GEMM each."""
            d_state, d_initial, d_wx, d_wh, d_b, d_xs = carry
            start = jnp.maximum(first_end + (index - 1) * size, 0)
            end = first_end + index * size
            steps = start + jnp.arange(size, dtype=jnp.int32)
            (d_state, d_initial), dzs = lax.scan(
                lambda d, t: step(d, t, end), (d_state, d_initial), steps, reverse=True, unroll=unroll
            )
            # summed over the window's steps and the batch; dz is 0 where a step was skipped
            dz2 = dzs.reshape(-1, dzs.shape[-1])
            x2 = lax.dynamic_slice_in_dim(xs, start, size).reshape(dz2.shape[0], -1)
            read = jax.tree.map(lambda s: lax.dynamic_slice_in_dim(s, start, size), states)
            if resets is not None:
                # the states the steps read: the initial state at a reset
                window_resets = lax.dynamic_slice_in_dim(resets, start, size)
                read = masking.restart(window_resets, jax.tree.map(lambda s: s[None], initial), read)
            h2 = hidden(read)
            d_wx = d_wx + gemm(x2.T.astype(dtype), dz2)
            d_wh = d_wh + gemm(h2.reshape(dz2.shape[0], -1).T, dz2)
            d_b = d_b + jnp.sum(dz2, axis=0)
            d_x = gemm(dz2, wx.T).reshape(size, *xs.shape[1:]).astype(xs.dtype)
            # added, not written: the partial first window overlaps the second one (with dz = 0 there)
            d_x = lax.dynamic_slice_in_dim(d_xs, start, size) + d_x
            d_xs = lax.dynamic_update_slice_in_dim(d_xs, d_x, start, 0)
            return (d_state, d_initial, d_wx, d_wh, d_b, d_xs), None

        d_initial = None if resets is None else jax.tree.map(jnp.zeros_like, d_final)
        d_weights = tuple(jnp.zeros(p.shape, dtype) for p in (p_wx, p_wh, p_b))
        carry = (d_final, d_initial, *d_weights, jnp.zeros_like(xs))
        (d_state0, d_initial, d_wx, d_wh, d_b, d_xs), _ = lax.scan(
            window, carry, jnp.arange(windows, dtype=jnp.int32), reverse=True
        )
        if d_initial is not None:
            d_state0 = jax.tree.map(jnp.add, d_state0, d_initial)
        grads = d_wx.astype(p_wx.dtype), d_wh.astype(p_wh.dtype), d_b.astype(p_b.dtype), d_xs, d_state0
        return (*grads, None, None)

    run.defvjp(run_fwd, run_bwd, symbolic_zeros=True)
    return run


def _until_longest(body: Any, state: State, xs: Any, lengths: Array) -> tuple[State, Array]:
    """Run ``body`` over ``xs`` (a pytree of ``[T, ...]``) like ``lax.scan``, but only up to ``max(lengths)``.

    Inference only (a ``while_loop`` has no reverse-mode derivative); the
    outputs past that are the zeros the mask would have written.
    """
    num_steps = jax.tree.leaves(xs)[0].shape[0]

    def at(t):
        return jax.tree.map(lambda a: lax.dynamic_index_in_dim(a, t, keepdims=False), xs)

    _, (_, y_shape) = jax.eval_shape(body, state, (jnp.int32(0), *at(jnp.int32(0))))
    ys = jnp.zeros((num_steps, *y_shape.shape), y_shape.dtype)
    stop = jnp.minimum(jnp.max(lengths, initial=0), num_steps).astype(jnp.int32)

    def step(carry):
        t, state, ys = carry
        state, (_, y) = body(state, (t, *at(t)))
        return t + 1, state, lax.dynamic_update_index_in_dim(ys, y, t, 0)

    _, final, ys = lax.while_loop(lambda carry: carry[0] < stop, step, (jnp.int32(0), state, ys))
    return final, ys


def window_steps(batch: int, num_steps: int, window_rows: int = WINDOW_ROWS) -> int:
    """Steps per window of the backward pass's weight-gradient GEMMs ``[H, steps*B] x [steps*B, G*H]``.

    About ``window_rows`` rows keep that GEMM near the large-GEMM speed; a
    divisor of ``T`` near that size avoids a partial first window.
    """
    target = max(1, min(num_steps, -(-window_rows // max(batch, 1))))
    return next((d for d in range(target, (target + 1) // 2 - 1, -1) if num_steps % d == 0), target)
