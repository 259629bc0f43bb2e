"""Unrolling a cell through time: a Python loop, ``lax.scan`` or :mod:`jaxrnn.fused`; one or both directions.

Every unroller masks and reverses as :mod:`jaxrnn.masking` says (TF's ``dynamic_rnn`` meaning).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from jaxrnn import checks, masking
from jaxrnn import fused as fused_module
from jaxrnn.cells import Cell, Params, State
from jaxrnn.masking import reverse_sequence

Array = jax.Array


def _masked_apply(
    cell: Cell, params: Params, lengths: Array | None, key: Array | None, training: Any, initial: State
):
    """A ``(state, (t, x, reset)) -> (state, y)`` scan body: ``cell.apply`` plus length and reset masks."""

    def body(state, step):
        t, x, reset = step
        state = masking.restart(reset, initial, state)
        new_state, y = cell.apply(params, state, x, key=key, training=training, time_step=t)
        # freeze the state past each sequence's end and zero its output, as TF's dynamic_rnn does
        return masking.masked_step(masking.valid_at(t, lengths), new_state, state, y)

    return body


def static_unroll(
    cell: Cell,
    params: Params,
    inputs: Array | Sequence[Array],
    *,
    sequence_length: Array | None = None,
    initial_state: State | None = None,
    time_major: bool = False,
    reverse: bool = False,
    key: Array | None = None,
    training: bool = False,
    segment_ids: Array | None = None,
) -> tuple[Array | list[Array], State]:
    """Unroll ``cell`` with a Python loop: one traced step per time step (TF ``static_rnn``).

    Args:
      cell: a :class:`~jaxrnn.Cell`.
      params: the cell's parameters (from ``cell.init``).
      inputs: ``[batch, time, features]`` (``[time, batch, features]`` when
        ``time_major``), or a list of ``time`` arrays ``[batch, features]``
        (the book's ``X0, X1`` form; then the outputs are a list too).
      sequence_length: ``[batch]`` ints in ``[0, time]``, or None for all valid.
      initial_state: a state like ``cell.zero_state(batch)``; default zeros in
        the inputs' dtype.
      time_major: array inputs and outputs are ``[time, batch, ...]``.
      reverse: process each sequence from its last valid step to its first.
      key: PRNG key for stochastic cells (dropout), passed to every step.
      training: passed to the cell; dropout is active only when True.
      segment_ids: ``[batch, time]`` ints for packed rows, instead of
        ``sequence_length``: where the id changes the state restarts from the
        initial state; id 0 marks trailing padding.

    Returns:
      ``(outputs, final_state)``: outputs ``[batch, time, output_size]`` (or a
      list of ``[batch, output_size]``), zero past each sequence's length; the
      state after each sequence's (row's) last valid step.

    Raises:
      ValueError, TypeError: on bad arguments, before tracing.
    """
    as_list = isinstance(inputs, (list, tuple))
    if as_list:
        if len(inputs) == 0:
            raise ValueError("inputs must be a non-empty list of [batch, features] arrays; got an empty list")
        for t, x in enumerate(inputs):
            checks.check_float_array(f"inputs[{t}]", x)
            checks.check_rank(f"inputs[{t}]", x, 2, "[batch, features]")
            if x.shape != inputs[0].shape or x.dtype != inputs[0].dtype:
                raise ValueError(
                    f"inputs[{t}] must match inputs[0] (shape {tuple(inputs[0].shape)}, "
                    f"dtype {inputs[0].dtype}); got shape {tuple(x.shape)}, dtype {x.dtype}"
                )
        inputs = jnp.stack(inputs)
        time_major = True
    xs, lengths, state = masking.prepare(
        cell, params, inputs, sequence_length=sequence_length, initial_state=initial_state,
        time_major=time_major, key=key, segment_ids=segment_ids,
    )  # fmt: skip
    resets = masking.segment_resets(segment_ids)
    if reverse:
        xs = reverse_sequence(xs, lengths, resets)
    body = _masked_apply(cell, params, lengths, key, training, state)
    outputs = []
    for t in range(xs.shape[0]):
        state, y = body(state, (jnp.int32(t), xs[t], None if resets is None else resets[t]))
        outputs.append(y)
    if reverse:
        outputs = list(reverse_sequence(jnp.stack(outputs), lengths, resets))
    if as_list:
        return list(outputs), state
    return masking.swap_time(jnp.stack(outputs), time_major), state


def dynamic_unroll(
    cell: Cell,
    params: Params,
    inputs: Array,
    *,
    sequence_length: Array | None = None,
    initial_state: State | None = None,
    time_major: bool = False,
    reverse: bool = False,
    unroll: int = 1,
    remat: bool = False,
    fused: bool = True,
    key: Array | None = None,
    training: bool = False,
    segment_ids: Array | None = None,
) -> tuple[Array, State]:
    """Unroll ``cell`` with ``lax.scan``: one traced step, compiled once (TF ``dynamic_rnn``).

    Same meaning and same numbers as :func:`static_unroll`; compile time does
    not grow with the sequence length.

    Args:
      cell, params, sequence_length, initial_state, time_major, reverse, key,
        training, segment_ids: as in :func:`static_unroll`.
      inputs: ``[batch, time, features]`` (``[time, batch, features]`` when ``time_major``).
      unroll: passed to ``lax.scan``: how many steps each loop iteration runs.
      remat: rematerialise each step in the backward pass (``jax.checkpoint``,
        JAX's answer to TF's ``swap_memory=True``): less memory, more compute.
      fused: run :func:`jaxrnn.fused.fused_unroll` for cells whose
        :func:`jaxrnn.unroll_path` is ``"fused"``: the same numbers up to float
        rounding, faster, less memory. Under ``jax.jvp``/``jax.jacfwd`` the
        plain scan runs (a ``jax.jvp`` of an already ``jit``-traced call cannot
        be detected: pass ``fused=False`` there). Ignored with ``remat``.

    Returns:
      ``(outputs, final_state)`` as in :func:`static_unroll`.

    Note:
      Under ``jit`` ``sequence_length`` is not range-checked; lengths above
      ``time`` act as ``time`` and negative lengths as 0.
    """
    if isinstance(inputs, (list, tuple)):
        raise TypeError(
            "dynamic_unroll takes inputs as one [batch, time, features] array; "
            "got a Python list (stack it, or use static_unroll for the list form)"
        )
    checks.positive_int("unroll", unroll)
    if not isinstance(fused, bool):
        raise TypeError(f"fused must be a bool; got {fused!r}")
    xs, lengths, state = masking.prepare(
        cell, params, inputs, sequence_length=sequence_length, initial_state=initial_state,
        time_major=time_major, key=key, segment_ids=segment_ids,
    )  # fmt: skip
    resets = masking.segment_resets(segment_ids)
    if reverse:
        xs = reverse_sequence(xs, lengths, resets)
    if (
        fused
        and not remat
        and fused_module.unroll_path(cell, params, training=training) == "fused"
        and not fused_module.in_forward_mode(params, xs, state)
    ):
        state, ys = fused_module.fused_unroll(cell, params, xs, state, lengths, unroll=unroll, resets=resets)
    else:
        # the input product stays inside the loop: on XLA:CPU the per-step [B, F] x [F, G*H] product
        # rides along the latency-bound recurrent GEMM almost for free, while a hoisted one with short
        # F is slow and its [T, B, G*H] result is kept for backprop (bench/RESULTS.md)
        body = _masked_apply(cell, params, lengths, key, training, state)
        if remat:
            body = jax.checkpoint(body)
        steps = jnp.arange(xs.shape[0], dtype=jnp.int32)
        state, ys = lax.scan(body, state, (steps, xs, resets), unroll=unroll)
    if reverse:
        ys = reverse_sequence(ys, lengths, resets)
    return masking.swap_time(ys, time_major), state


def bidirectional_unroll(
    cell_fw: Cell,
    cell_bw: Cell,
    params_fw: Params,
    params_bw: Params,
    inputs: Array,
    *,
    sequence_length: Array | None = None,
    initial_state_fw: State | None = None,
    initial_state_bw: State | None = None,
    time_major: bool = False,
    key: Array | None = None,
    training: bool = False,
    segment_ids: Array | None = None,
    unroll: int = 1,
    remat: bool = False,
    fused: bool = True,
) -> tuple[tuple[Array, Array], tuple[State, State]]:
    """Run a forward and a backward cell over the inputs (TF ``bidirectional_dynamic_rnn``).

    The backward cell reads each sequence (with ``segment_ids``: each segment)
    from its last valid step to its first; both outputs come back in the
    original time order. The directions run one after the other (a loop each);
    :func:`jaxrnn.wavefront.bidirectional_unroll` runs both in one loop, slower
    on XLA:CPU (bench/RESULTS.md, lever 1).

    Args:
      cell_fw, cell_bw: the two cells (may differ).
      params_fw, params_bw: their parameters.
      initial_state_fw, initial_state_bw: optional initial states.
      inputs, sequence_length, time_major, key, training, segment_ids, unroll,
        remat, fused: as in :func:`dynamic_unroll`; the directions get
        independent keys.

    Returns:
      ``((outputs_fw, outputs_bw), (final_state_fw, final_state_bw))``; concatenate
      the outputs on the last axis for the usual ``[batch, time, 2 * units]``.
    """
    checks.check_key(key)
    options: dict[str, Any] = dict(
        sequence_length=sequence_length, segment_ids=segment_ids, time_major=time_major,
        training=training, unroll=unroll, remat=remat, fused=fused,
    )  # fmt: skip
    keys = (None, None) if key is None else (jax.random.fold_in(key, 0), jax.random.fold_in(key, 1))
    out_fw, state_fw = dynamic_unroll(
        cell_fw, params_fw, inputs, initial_state=initial_state_fw, key=keys[0], **options
    )
    out_bw, state_bw = dynamic_unroll(
        cell_bw, params_bw, inputs, initial_state=initial_state_bw, reverse=True, key=keys[1], **options
    )
    return (out_fw, out_bw), (state_fw, state_bw)
