"""The scan behind ``dynamic_unroll`` for cells whose recurrence is one GEMM plus elementwise gates.

Such a cell's step is ``gates(projected + hidden(state) @ Wh, state)`` with a
``gates`` function that is elementwise and uses no parameters (the plain
basic and LSTM cells; see ``Additive`` in :mod:`jaxrnn.cells`). For them the
forward pass is the cell's step with one ``[x, h] @ [Wx; Wh]`` GEMM per step
instead of two (equal up to float rounding); without differentiation
(inference) and with ``sequence_length`` (and ``unroll=1``) it stops at the
longest sequence's end instead of running all ``T`` steps. The backward pass
is written here as a custom VJP that does what cuDNN does:

* the reverse loop runs only what is sequential, the gates' VJP and the
  ``dz @ Wh.T`` product that carries the gradient to the previous step;
* the weight gradients ``dWh = sum_t h(t-1).T dz(t)``, ``dWx = sum_t x(t).T dz(t)``
  and ``db = sum_t dz(t)`` are large GEMMs/reductions over windows of steps
  (``WINDOW_ROWS`` = steps x batch rows each), instead of JAX's default of
  accumulating ``[H, G*H]`` and ``[F, G*H]`` gradients in the loop carry at
  every step (a latency-bound small GEMM plus a read-modify-write of the whole
  gradient per step); ``dz`` is kept for one window only, not all ``T`` steps;
* the forward loop writes each state into one ``[T + 1, ...]`` buffer (row 0 the
  initial state) and keeps ``z(t)`` (``[B, G*H]``); the backward pass recomputes
  the gate nonlinearities from ``z``, so it keeps less memory than autodiff of
  the scan, which stores every gate activation. For the basic cell with an
  activation whose derivative is a function of its output (tanh, sigmoid,
  ReLU), it keeps only the states: one ``[B, H]`` per step.

Gradients equal JAX's autodiff of the plain scan up to float rounding
(checked in ``tests/test_fastpath2.py``). Forward-mode differentiation
(``jax.jvp``, ``jax.jacfwd``) is not defined for a custom VJP; ``dynamic_unroll(...,
fused=False)`` runs the plain scan for it.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax import lax
from jax.custom_derivatives import SymbolicZero

from jaxrnn.cells import Additive, Cell, Params, State, _input_projection, _matmul, _row

Array = jax.Array

PARAM_KEYS = frozenset({"Wx", "Wh", "b"})
# rows (steps x batch) of one window of the backward pass's weight-gradient GEMMs
WINDOW_ROWS = 512


def applies(cell: Cell, params: Params) -> bool:
    """Whether the fused scan can run ``cell`` (an additive recurrence with params ``Wx, Wh, b`` only)."""
    return (
        isinstance(getattr(cell.step, "additive", None), Additive)
        # the backward pass assumes projected = x @ Wx + b; a wrapper that changes project must not get it
        and cell.project is _input_projection
        and isinstance(params, dict)
        and set(params) == PARAM_KEYS
    )


def fused_scan(
    cell: Cell,
    params: Params,
    xs: Array,
    state: State,
    lengths: Array | None,
    unroll: int,
) -> tuple[State, Array]:
    """Run ``cell`` over time-major ``xs: [T, B, F]`` like ``lax.scan`` over its step, with the fused VJP.

    Args:
      cell: a cell for which :func:`applies` is True.
      params: ``{"Wx": [F, G*H], "Wh": [H, G*H], "b": [G*H]}``.
      xs: ``[T, B, F]`` inputs.
      state: the initial state.
      lengths: ``[B]`` ints, or None; steps ``t >= lengths[b]`` freeze the state and zero the output.
      unroll: passed to both ``lax.scan`` loops.

    Returns:
      ``(final_state, outputs [T, B, output_size])``.
    """
    run = _make(cell.project, cell.step.additive, unroll)
    return run(params, xs, state, lengths)


def _make(project: Any, additive: Additive, unroll: int):
    gates, hidden, derivative = additive.gates, additive.hidden, additive.derivative_from_output

    def masked_gates(z, state, valid):
        new_state, y = gates(z, state)
        if valid is None:
            return new_state, y
        # freeze the state past each sequence's end and zero its output, as dynamic_rnn does
        new_state = jax.tree.map(lambda n, o: jnp.where(_col(valid, n), n, o), new_state, state)
        return new_state, jnp.where(_col(valid, y), y, jnp.zeros_like(y))

    def forward(params, xs, state, lengths, keep):
        wh = params["Wh"]
        # one [x, h] x [Wx; Wh] GEMM per step, as Haiku and cuDNN do: on XLA:CPU ~15% faster than
        # cell.step's two GEMMs forward-only, ~7% with the residuals kept; equal up to float rounding
        concat = _same_dtype(xs, hidden(state), params["Wx"], wh, params["b"])
        w = jnp.concatenate([params["Wx"], wh], axis=0) if concat else None
        # with the activation's derivative known from its output, the output is the state: keep only that
        outputs_are_states = keep and derivative is not None

        def cell_step(state, t, x):
            if concat:
                z = _matmul(jnp.concatenate([x, hidden(state)], axis=-1), w)
                z = z + _row(params["b"], z)
            else:
                # the same operations, in the same order, as cell.step(params, state, cell.project(params, x))
                z = project(params, x) + _matmul(hidden(state), wh)
            valid = None if lengths is None else t < lengths
            new_state, y = masked_gates(z, state, valid)
            return z, new_state, y

        def body(state, t_and_x):
            _, new_state, y = cell_step(state, *t_and_x)
            return new_state, (None, y)

        num_steps = xs.shape[0]
        steps = jnp.arange(num_steps, dtype=jnp.int32)
        if not keep:
            if lengths is not None and unroll == 1:
                return _until_longest(body, state, xs, lengths), None
            final, (_, ys) = lax.scan(body, state, (steps, xs), unroll=unroll)
            return (final, ys), None

        def keeping_body(carry, t_and_x):
            # every state goes to row t + 1 of one [T + 1, ...] buffer whose row 0 is the initial state,
            # so the backward pass reads step t's previous states as rows [t, t + window) of it
            state, kept = carry
            z, new_state, y = cell_step(state, *t_and_x)
            row = t_and_x[0] + 1
            kept = jax.tree.map(lambda k, s: lax.dynamic_update_index_in_dim(k, s, row, 0), kept, new_state)
            return (new_state, kept), None if outputs_are_states else (z, y)

        kept = jax.tree.map(lambda s: jnp.zeros((num_steps + 1, *s.shape), s.dtype).at[0].set(s), state)
        (final, kept), per_step = lax.scan(keeping_body, (state, kept), (steps, xs), unroll=unroll)
        if outputs_are_states:
            ys = kept[1:]
            if lengths is not None:
                ys = jnp.where(_valid_mask(lengths, num_steps, ys), ys, 0)
            return (final, ys), (None, kept)
        zs, ys = per_step
        return (final, ys), (zs, kept)

    @jax.custom_vjp
    def run(params, xs, state, lengths):
        return forward(params, xs, state, lengths, keep=False)[0]

    def run_fwd(params, xs, state, lengths):
        params, xs, state, lengths = jax.tree.map(lambda p: p.value, (params, xs, state, lengths))
        out, (zs, states) = forward(params, xs, state, lengths, keep=True)
        return out, (params, xs, lengths, zs, states)

    def run_bwd(residuals, cotangents):
        params, xs, lengths, zs, states = residuals
        d_final, d_ys = cotangents
        d_final = jax.tree.map(_instantiate, d_final, jax.tree.map(lambda s: s[0], states), is_leaf=_is_zero)
        # no output cotangent at all when only the final state is used (a sequence classifier)
        d_ys = None if _is_zero(d_ys) else d_ys
        dtype = jax.tree.leaves(states)[0].dtype if zs is None else zs.dtype
        wx, wh_t = params["Wx"].astype(dtype), params["Wh"].astype(dtype).T
        num_steps = xs.shape[0]
        size = _window_steps(xs.shape[1], num_steps)
        windows = -(-num_steps // size)
        # the first window is [0, size) but owns only the steps before the second one's start
        first_end = num_steps - (windows - 1) * size
        partial = first_end != size

        def at(a, t):
            return None if a is None else lax.dynamic_index_in_dim(a, t, keepdims=False)

        def step(d_state, t, end):
            state = jax.tree.map(lambda s: at(s, t), states)
            new_state = jax.tree.map(lambda s: at(s, t + 1), states)
            d_y = at(d_ys, t)
            valid = None if lengths is None else t < lengths
            if partial:
                # a step of the first window that the second one owns: skip it like a step past the end
                valid = (t < end) if valid is None else valid & (t < end)
            if zs is None:
                # h = activation(z) is both the new state and the output, so dz comes from h alone
                d_h = d_state if d_y is None else d_state + d_y
                dz = d_h * derivative(new_state)
                d_prev = jnp.zeros_like(d_state)
                if valid is not None:
                    dz = jnp.where(_col(valid, dz), dz, 0)
                    d_prev = jnp.where(_col(valid, d_state), 0, d_state)
            else:
                z = at(zs, t)
                _, gates_vjp = jax.vjp(lambda z, s: masked_gates(z, s, valid), z, state)
                y = jax.eval_shape(lambda: masked_gates(z, state, valid)[1])
                dz, d_prev = gates_vjp((d_state, jnp.zeros(y.shape, y.dtype) if d_y is None else d_y))
            # the recurrent GEMM's share: z depends on hidden(state) through hidden(state) @ Wh
            _, hidden_vjp = jax.vjp(hidden, state)
            (d_hidden,) = hidden_vjp(dz @ wh_t)
            return jax.tree.map(jnp.add, d_prev, d_hidden), dz

        def window(carry, index):
            """The reverse loop over one window's steps, then its weight gradients in one GEMM each."""
            d_state, d_wx, d_wh, d_b, d_xs = carry
            start = jnp.maximum(first_end + (index - 1) * size, 0)
            end = first_end + index * size
            steps = start + jnp.arange(size, dtype=jnp.int32)
            d_state, dzs = lax.scan(lambda d, t: step(d, t, end), d_state, steps, reverse=True, unroll=unroll)
            # summed over the window's steps and the batch; dz is 0 where a step was skipped
            dz2 = dzs.reshape(-1, dzs.shape[-1])
            x2 = lax.dynamic_slice_in_dim(xs, start, size).reshape(dz2.shape[0], -1)
            h2 = hidden(jax.tree.map(lambda s: lax.dynamic_slice_in_dim(s, start, size), states))
            d_wx = d_wx + x2.T.astype(dtype) @ dz2
            d_wh = d_wh + h2.reshape(dz2.shape[0], -1).T @ dz2
            d_b = d_b + jnp.sum(dz2, axis=0)
            d_x = (dz2 @ wx.T).reshape(size, *xs.shape[1:]).astype(xs.dtype)
            # added, not written: the partial first window overlaps the second one (with dz = 0 there)
            d_x = lax.dynamic_slice_in_dim(d_xs, start, size) + d_x
            d_xs = lax.dynamic_update_slice_in_dim(d_xs, d_x, start, 0)
            return (d_state, d_wx, d_wh, d_b, d_xs), None

        gates_width = params["b"].shape[-1]
        carry = (
            d_final,
            jnp.zeros((xs.shape[-1], gates_width), dtype),
            jnp.zeros((params["Wh"].shape[0], gates_width), dtype),
            jnp.zeros((gates_width,), dtype),
            jnp.zeros_like(xs),
        )
        (d_state0, d_wx, d_wh, d_b, d_xs), _ = lax.scan(
            window, carry, jnp.arange(windows, dtype=jnp.int32), reverse=True
        )
        d_params = {
            "Wx": d_wx.astype(params["Wx"].dtype),
            "Wh": d_wh.astype(params["Wh"].dtype),
            "b": d_b.astype(params["b"].dtype),
        }
        return d_params, d_xs, d_state0, None

    run.defvjp(run_fwd, run_bwd, symbolic_zeros=True)
    return run


def _until_longest(body: Any, state: State, xs: Array, lengths: Array) -> tuple[State, Array]:
    """Run ``body`` over ``xs: [T, ...]`` like ``lax.scan``, but only up to the longest sequence's end.

    Inference only (a ``while_loop`` has no reverse-mode derivative): a batch
    padded to ``T`` whose sequences all end by ``max(lengths)`` costs
    ``max(lengths)`` steps, not ``T``. The outputs past that are the zeros the
    mask would have written.
    """
    num_steps = xs.shape[0]
    _, (_, y_shape) = jax.eval_shape(body, state, (jnp.int32(0), xs[0]))
    ys = jnp.zeros((num_steps, *y_shape.shape), y_shape.dtype)
    stop = jnp.minimum(jnp.max(lengths, initial=0), num_steps).astype(jnp.int32)

    def step(carry):
        t, state, ys = carry
        state, (_, y) = body(state, (t, lax.dynamic_index_in_dim(xs, t, keepdims=False)))
        return t + 1, state, lax.dynamic_update_index_in_dim(ys, y, t, 0)

    _, final, ys = lax.while_loop(lambda carry: carry[0] < stop, step, (jnp.int32(0), state, ys))
    return final, ys


def _col(valid: Array, like: Array) -> Array:
    return valid.reshape(valid.shape + (1,) * (like.ndim - 1))


def _same_dtype(*arrays: Array) -> bool:
    return len({a.dtype for a in arrays}) == 1


def _valid_mask(lengths: Array, num_steps: int, like: Array) -> Array:
    """``[T, B, 1, ...]`` booleans, True where step ``t`` is inside sequence ``b``."""
    valid = jnp.arange(num_steps, dtype=jnp.int32)[:, None] < lengths[None, :]
    return valid.reshape(valid.shape + (1,) * (like.ndim - 2))


def _is_zero(x: Any) -> bool:
    return isinstance(x, SymbolicZero)


def _instantiate(x: Any, like: Array) -> Array:
    return jnp.zeros_like(like) if _is_zero(x) else x


def _window_steps(batch: int, num_steps: int) -> int:
    """Steps per window of the backward pass's weight-gradient GEMMs.

    The reverse loop keeps ``dz`` for one window only (not all ``T`` steps) and
    adds the window's weight gradients with one ``[H, steps*B] x [steps*B, G*H]``
    GEMM. About ``WINDOW_ROWS`` rows keep that GEMM near the large-GEMM speed; a
    divisor of ``T`` near that size avoids a partial first window.
    """
    target = max(1, min(num_steps, -(-WINDOW_ROWS // max(batch, 1))))
    divisors = [d for d in range(target, (target + 1) // 2 - 1, -1) if d and num_steps % d == 0]
    return divisors[0] if divisors else target
