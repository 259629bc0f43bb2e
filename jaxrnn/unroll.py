"""Unrolling a cell through time: a Python loop (static) or ``lax.scan`` (dynamic).

Both unrollers share one meaning, TF's ``dynamic_rnn`` semantics:

* the input projection (``cell.project``) is computed once before the loop
  by ``static_unroll`` and inside each step by ``dynamic_unroll`` (faster on
  XLA:CPU, see ``bench/RESULTS.md``); the numbers are the same;
* with ``sequence_length``, step ``t`` of instance ``b`` is valid when
  ``t < sequence_length[b]``; past that, outputs are exactly zero and the state
  is frozen, so the final state is the state after the last valid step (the
  initial state when the length is 0) and no gradient reaches padded inputs;
* ``reverse=True`` reverses each sequence within its own valid length (TF's
  ``reverse_sequence``), not across the padding, and returns outputs in the
  original time order.

They differ only in how the loop is built: ``static_unroll`` traces one step
per time step (TF ``static_rnn``; compile time grows with the length),
``dynamic_unroll`` traces one step and loops with ``lax.scan``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from jaxrnn import _checks, _fused_scan
from jaxrnn.cells import Cell, Params, State

Array = jax.Array


def reverse_sequence(x: Array, sequence_length: Array | None) -> Array:
    """Reverse each sequence of a time-major array within its own length (TF ``reverse_sequence``).

    Args:
      x: ``[time, batch, ...]``.
      sequence_length: ``[batch]`` ints, or None to flip the whole time axis.

    Returns:
      ``[time, batch, ...]`` where ``out[t, b] = x[len_b - 1 - t, b]`` for
      ``t < len_b`` and ``out[t, b] = x[t, b]`` past it.
    """
    if sequence_length is None:
        return jnp.flip(x, axis=0)
    num_steps = x.shape[0]
    t = jnp.arange(num_steps, dtype=jnp.int32)[:, None]
    lengths = sequence_length[None, :]
    index = jnp.where(t < lengths, lengths - 1 - t, t)
    index = index.reshape(index.shape + (1,) * (x.ndim - 2))
    return jnp.take_along_axis(x, index, axis=0)


def _mask_like(valid: Array, leaf: Array) -> Array:
    return valid.reshape(valid.shape + (1,) * (leaf.ndim - 1))


def _step_fn(cell: Cell, params: Params, lengths: Array | None, key: Array | None, training: bool):
    """A ``(state, (t, projected)) -> (state, y)`` step that applies the length mask."""

    def body(state, t_and_projected):
        t, projected = t_and_projected
        new_state, y = cell.step(params, state, projected, key=key, training=training, time_step=t)
        if lengths is not None:
            # freeze the state past each sequence's end and zero its output, as TF's dynamic_rnn does
            valid = t < lengths
            new_state = jax.tree.map(
                lambda new, old: jnp.where(_mask_like(valid, new), new, old), new_state, state
            )
            y = jax.tree.map(lambda a: jnp.where(_mask_like(valid, a), a, jnp.zeros_like(a)), y)
        return new_state, y

    return body


def _prepare(
    cell: Cell,
    params: Params,
    inputs: Array,
    sequence_length: Any,
    initial_state: Any,
    time_major: bool,
):
    """Check everything eagerly; return time-major inputs, lengths and the initial state."""
    if not isinstance(cell, Cell):
        raise TypeError(f"cell must be a jaxrnn Cell (e.g. jaxrnn.lstm_cell(64)); got {type(cell).__name__}")
    _checks.check_float_array("inputs", inputs)
    layout = "[time, batch, features]" if time_major else "[batch, time, features]"
    _checks.check_rank("inputs", inputs, 3, layout)
    xs = inputs if time_major else jnp.swapaxes(inputs, 0, 1)
    num_steps, batch_size, features = xs.shape
    if num_steps == 0:
        raise ValueError(f"inputs must have at least one time step; got shape {tuple(inputs.shape)}")
    _checks.check_params_input_size("inputs", cell, params, features)
    lengths = _checks.check_sequence_length(sequence_length, batch_size, num_steps)
    if initial_state is None:
        state = cell.zero_state(batch_size, xs.dtype)
    else:
        expected = jax.eval_shape(lambda: cell.zero_state(batch_size, xs.dtype))
        _checks.check_state("initial_state", initial_state, expected)
        state = initial_state
    return xs, lengths, state


def _check_key(key: Any) -> None:
    if key is not None and not (hasattr(key, "dtype") and hasattr(key, "shape")):
        raise TypeError(f"key must be a PRNG key from jax.random.key; got {type(key).__name__}")


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
) -> tuple[Array | list[Array], State]:
    """Unroll ``cell`` with a Python loop: one traced step per time step (TF ``static_rnn``).

    Equivalent to::

        state = initial_state
        for t in range(time):
            state, outputs[t] = cell.apply(params, state, inputs[t])

    plus the ``sequence_length`` masking described in :mod:`jaxrnn.unroll`.

    Args:
      cell: a :class:`~jaxrnn.Cell`.
      params: the cell's parameters (from ``cell.init``).
      inputs: ``[batch, time, features]`` (``[time, batch, features]`` when
        ``time_major``), or a Python list of ``time`` arrays ``[batch, features]``
        (the book's ``X0, X1`` form), in which case outputs are a list too.
      sequence_length: ``[batch]`` ints in ``[0, time]``, or None for all valid.
      initial_state: a state like ``cell.zero_state(batch)``; default zeros in
        the inputs' dtype.
      time_major: array inputs and outputs are ``[time, batch, ...]``.
      reverse: process each sequence from its last valid step to its first.
      key: PRNG key for stochastic cells (dropout); each step receives it with
        its ``time_step`` and folds it in as it needs.
      training: passed to the cell; dropout is active only when True.

    Returns:
      ``(outputs, final_state)``: outputs ``[batch, time, output_size]`` (or a
      list of ``[batch, output_size]``), zero past each sequence's length; the
      final state is the state after each sequence's last valid step.

    Raises:
      ValueError, TypeError: on bad shapes, dtypes or lengths, before tracing.
    """
    as_list = isinstance(inputs, (list, tuple))
    if as_list:
        if len(inputs) == 0:
            raise ValueError("inputs must be a non-empty list of [batch, features] arrays; got an empty list")
        for t, x in enumerate(inputs):
            _checks.check_float_array(f"inputs[{t}]", x)
            _checks.check_rank(f"inputs[{t}]", x, 2, "[batch, features]")
            if x.shape != inputs[0].shape or x.dtype != inputs[0].dtype:
                raise ValueError(
                    f"inputs[{t}] must match inputs[0] (shape {tuple(inputs[0].shape)}, "
                    f"dtype {inputs[0].dtype}); got shape {tuple(x.shape)}, dtype {x.dtype}"
                )
        inputs = jnp.stack(inputs)
        time_major = True
    _check_key(key)
    xs, lengths, state = _prepare(cell, params, inputs, sequence_length, initial_state, time_major)
    if reverse:
        xs = reverse_sequence(xs, lengths)
    projected = cell.project(params, xs)
    body = _step_fn(cell, params, lengths, key, training)
    outputs = []
    for t in range(xs.shape[0]):
        state, y = body(state, (jnp.int32(t), jax.tree.map(lambda p, t=t: p[t], projected)))
        outputs.append(y)
    if reverse:
        outputs = list(reverse_sequence(jnp.stack(outputs), lengths))
    if as_list:
        return list(outputs), state
    ys = jnp.stack(outputs)
    return (ys if time_major else jnp.swapaxes(ys, 0, 1)), state


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
) -> tuple[Array, State]:
    """Unroll ``cell`` with ``lax.scan``: one traced step, compiled once (TF ``dynamic_rnn``).

    Same meaning and same numbers as :func:`static_unroll`; compile time does
    not grow with the sequence length.

    Args:
      cell, params, sequence_length, initial_state, time_major, reverse, key,
        training: as in :func:`static_unroll`.
      inputs: ``[batch, time, features]`` (``[time, batch, features]`` when
        ``time_major``).
      unroll: passed to ``lax.scan``: how many steps each loop iteration runs.
      remat: rematerialise each step in the backward pass (``jax.checkpoint``)
        instead of storing its intermediates, JAX's answer to TF's
        ``swap_memory=True``: less memory for backpropagation through time,
        about one more forward step of compute.
      fused: for the plain basic and LSTM cells (no peepholes, no ``num_proj``,
        not wrapped), differentiate through a hand-written backward pass that
        sums the weight gradients in one GEMM per window of steps instead of at
        every step and keeps ``dz`` for one window only (:mod:`jaxrnn._fused_scan`;
        the tanh/sigmoid/ReLU basic cell keeps one state per step); runs one ``[x, h] @ [Wx; Wh]``
        GEMM per step instead of two; and for inference stops at
        ``max(sequence_length)`` when ``unroll=1`` (a batch padded to ``time``
        costs only its longest sequence): outputs and gradients equal up to
        float rounding, faster and less memory. It defines reverse mode only;
        pass ``fused=False`` for ``jax.jvp``/``jax.jacfwd``. Ignored with
        ``remat=True`` and for other cells.

    Returns:
      ``(outputs, final_state)`` as in :func:`static_unroll`.

    Note:
      Under ``jit`` the values of ``sequence_length`` are tracers and are not
      range-checked; lengths above ``time`` act as ``time`` and negative
      lengths as 0.

    >>> cell = jaxrnn.gru_cell(8)
    >>> params = cell.init(jax.random.key(0), 3)
    >>> outputs, state = dynamic_unroll(cell, params, jnp.ones((2, 5, 3)), sequence_length=jnp.array([5, 2]))
    >>> outputs.shape, float(abs(outputs[1, 2:]).max())
    ((2, 5, 8), 0.0)
    """
    if isinstance(inputs, (list, tuple)):
        raise TypeError(
            "dynamic_unroll takes inputs as one [batch, time, features] array; "
            "got a Python list (stack it, or use static_unroll for the list form)"
        )
    if not isinstance(unroll, int) or isinstance(unroll, bool) or unroll < 1:
        raise ValueError(f"unroll must be a positive int; got {unroll!r}")
    if not isinstance(fused, bool):
        raise TypeError(f"fused must be a bool; got {fused!r}")
    _check_key(key)
    xs, lengths, state = _prepare(cell, params, inputs, sequence_length, initial_state, time_major)
    if reverse:
        xs = reverse_sequence(xs, lengths)
    if fused and not remat and _fused_scan.applies(cell, params):
        state, ys = _fused_scan.fused_scan(cell, params, xs, state, lengths, unroll)
        if reverse:
            ys = reverse_sequence(ys, lengths)
        return (ys if time_major else jnp.swapaxes(ys, 0, 1)), state
    masked_step = _step_fn(cell, params, lengths, key, training)

    def body(state, t_and_x):
        # project inside the loop, not hoisted as static_unroll does: on XLA:CPU the per-step
        # [B, F] x [F, G*H] product rides along the latency-bound recurrent GEMM almost for free,
        # while a hoisted [T*B, F] x [F, G*H] GEMM with short F is slow and its [T, B, G*H] result
        # (and cotangent) is kept for backprop; same numbers, 1.6x faster forward and 2.3x
        # faster forward+backward for the LSTM in bench/RESULTS.md
        t, x = t_and_x
        return masked_step(state, (t, cell.project(params, x)))

    if remat:
        body = jax.checkpoint(body)
    steps = jnp.arange(xs.shape[0], dtype=jnp.int32)
    state, ys = lax.scan(body, state, (steps, xs), unroll=unroll)
    if reverse:
        ys = reverse_sequence(ys, lengths)
    return (ys if time_major else jnp.swapaxes(ys, 0, 1)), state


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
    **scan_options: Any,
) -> tuple[tuple[Array, Array], tuple[State, State]]:
    """Run a forward and a backward cell over the inputs (TF ``bidirectional_dynamic_rnn``).

    The backward cell reads each sequence from its last valid step to its
    first; both output sequences come back in the original time order.

    Args:
      cell_fw, cell_bw: the two cells (may differ).
      params_fw, params_bw: their parameters.
      inputs, sequence_length, time_major, key, training: as in
        :func:`dynamic_unroll`; the two directions get independent keys.
      initial_state_fw, initial_state_bw: optional initial states.
      **scan_options: ``unroll`` / ``remat`` / ``fused`` for :func:`dynamic_unroll`.

    Returns:
      ``((outputs_fw, outputs_bw), (final_state_fw, final_state_bw))``; concatenate
      the outputs on the last axis for the usual ``[batch, time, 2 * units]``.
    """
    _check_key(key)
    key_fw = None if key is None else jax.random.fold_in(key, 0)
    key_bw = None if key is None else jax.random.fold_in(key, 1)
    common = dict(sequence_length=sequence_length, time_major=time_major, training=training, **scan_options)
    out_fw, state_fw = dynamic_unroll(
        cell_fw, params_fw, inputs, initial_state=initial_state_fw, key=key_fw, **common
    )
    out_bw, state_bw = dynamic_unroll(
        cell_bw, params_bw, inputs, initial_state=initial_state_bw, reverse=True, key=key_bw, **common
    )
    return (out_fw, out_bw), (state_fw, state_bw)
