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
  and ``db = sum_t dz(t)`` are three large GEMMs/reductions after the loop,
  instead of JAX's default of accumulating ``[H, G*H]`` and ``[F, G*H]``
  gradients in the loop carry at every step (a latency-bound small GEMM plus a
  read-modify-write of the whole gradient per step);
* the loop keeps ``z(t)`` (``[B, G*H]``) and the previous state for the
  backward pass and recomputes the gate nonlinearities from ``z``, so it keeps
  less memory than autodiff of the scan, which stores every gate activation.

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

from jaxrnn.cells import Additive, Cell, Params, State, _input_projection, _matmul, _row

Array = jax.Array

PARAM_KEYS = frozenset({"Wx", "Wh", "b"})


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
    gates, hidden = additive.gates, additive.hidden

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

        def body(state, t_and_x):
            t, x = t_and_x
            if concat:
                z = _matmul(jnp.concatenate([x, hidden(state)], axis=-1), w)
                z = z + _row(params["b"], z)
            else:
                # the same operations, in the same order, as cell.step(params, state, cell.project(params, x))
                z = project(params, x) + _matmul(hidden(state), wh)
            valid = None if lengths is None else t < lengths
            new_state, y = masked_gates(z, state, valid)
            return new_state, ((z, state) if keep else None, y)

        if not keep and lengths is not None and unroll == 1:
            final, ys = _until_longest(body, state, xs, lengths)
            return final, ys, None
        steps = jnp.arange(xs.shape[0], dtype=jnp.int32)
        final, (kept, ys) = lax.scan(body, state, (steps, xs), unroll=unroll)
        return final, ys, kept

    @jax.custom_vjp
    def run(params, xs, state, lengths):
        final, ys, _ = forward(params, xs, state, lengths, keep=False)
        return final, ys

    def run_fwd(params, xs, state, lengths):
        final, ys, kept = forward(params, xs, state, lengths, keep=True)
        return (final, ys), (params, xs, lengths, kept)

    def run_bwd(residuals, cotangents):
        params, xs, lengths, (zs, states) = residuals
        d_final, d_ys = cotangents
        wh_t = params["Wh"].astype(zs.dtype).T

        def body(d_state, inputs):
            t, z, state, d_y = inputs
            valid = None if lengths is None else t < lengths
            _, gates_vjp = jax.vjp(lambda z, s: masked_gates(z, s, valid), z, state)
            dz, d_prev = gates_vjp((d_state, d_y))
            # the recurrent GEMM's share: z depends on hidden(state) through hidden(state) @ Wh
            _, hidden_vjp = jax.vjp(hidden, state)
            (d_hidden,) = hidden_vjp(dz @ wh_t)
            return jax.tree.map(jnp.add, d_prev, d_hidden), dz

        steps = jnp.arange(xs.shape[0], dtype=jnp.int32)
        d_state0, dzs = lax.scan(body, d_final, (steps, zs, states, d_ys), reverse=True, unroll=unroll)
        # the weight gradients, summed over time and batch in one GEMM each
        num_steps, batch, gates_width = dzs.shape
        dz2 = dzs.reshape(num_steps * batch, gates_width)
        x2 = xs.reshape(num_steps * batch, xs.shape[-1])
        h2 = hidden(states)
        h2 = h2.reshape(num_steps * batch, h2.shape[-1])
        d_params = {
            "Wx": (x2.T @ dz2).astype(params["Wx"].dtype),
            "Wh": (h2.T @ dz2).astype(params["Wh"].dtype),
            "b": jnp.sum(dz2, axis=0).astype(params["b"].dtype),
        }
        d_xs = (dz2 @ params["Wx"].astype(dz2.dtype).T).reshape(xs.shape)
        return d_params, d_xs, d_state0, None

    run.defvjp(run_fwd, run_bwd)
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
