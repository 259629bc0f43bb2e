"""Parallel-in-time unrolling of recurrences linear in the state, with ``jax.lax.associative_scan``.

A recurrence ``h(t) = a(t) * h(t-1) + b(t)`` (elementwise; ``a`` and ``b``
depend on the inputs only) composes associatively: two steps ``(a1, b1)`` then
``(a2, b2)`` are the one step ``(a2 * a1, a2 * b1 + b2)``. So all ``T`` states
come out of a scan of depth O(log T) instead of a loop of ``T`` dependent
steps (Blelloch 1990; Martin & Cundy 2018). minGRU, minLSTM and the LRU
(:mod:`jaxrnn.linear_rnn`) are built this way.

Masking keeps the meaning of the rest of jaxrnn, written into the coefficients
before the scan:

* past a row's ``sequence_length`` or where ``segment_ids == 0``: ``a = 1,
  b = 0`` (the state is frozen) and the output is zero;
* where ``segment_ids`` changes: ``a = 0, b = a * h0 + b``, i.e. the step
  reads the row's initial state ``h0`` instead of the previous state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from jaxrnn import checks
from jaxrnn.cells import Cell, Params, State
from jaxrnn.segments import check_masking

Array = jax.Array


class LinearRNN(NamedTuple):
    """A cell whose recurrence is ``h(t) = a(t) * h(t-1) + b(t)``, runnable step by step or in parallel.

    Attributes:
      cell: the step-by-step :class:`~jaxrnn.Cell` (for ``dynamic_unroll``,
        streaming and generation); its step computes exactly the recurrence below.
      coefficients: ``coefficients(params, x: [..., F]) -> (a, b)``, each
        ``[..., H]`` (complex for the LRU).
      readout: ``readout(params, h: [..., H], x: [..., F]) -> y: [..., output_size]``.
      to_hidden: ``to_hidden(state) -> h: [B, H]`` (the cell's state as one array).
      from_hidden: ``from_hidden(h) -> state``, the inverse.
    """

    cell: Cell
    coefficients: Callable[[Params, Array], tuple[Array, Array]]
    readout: Callable[[Params, Array, Array], Array]
    to_hidden: Callable[[State], Array]
    from_hidden: Callable[[Array], State]


def _combine(earlier: tuple[Array, Array], later: tuple[Array, Array]) -> tuple[Array, Array]:
    a1, b1 = earlier
    a2, b2 = later
    return a2 * a1, a2 * b1 + b2


def linear_scan(
    a: Array,
    b: Array,
    h0: Array,
    *,
    valid: Array | None = None,
    reset: Array | None = None,
) -> Array:
    """All states of ``h(t) = a(t) * h(t-1) + b(t)`` by an associative scan over time (axis 0).

    Args:
      a, b: ``[time, batch, H]`` coefficients (real or complex, same dtype).
      h0: ``[batch, H]``, the state before step 0 and after every reset.
      valid: ``[time, batch]`` bool; where False the state is carried unchanged.
      reset: ``[time, batch]`` bool; where True the step reads ``h0`` instead of ``h(t-1)``.

    Returns:
      ``h: [time, batch, H]``, ``h[t]`` the state after step ``t``.
    """
    if reset is not None:
        r = reset[..., None]
        b = jnp.where(r, a * h0[None] + b, b)
        a = jnp.where(r, jnp.zeros_like(a), a)
    if valid is not None:
        v = valid[..., None]
        a = jnp.where(v, a, jnp.ones_like(a))
        b = jnp.where(v, b, jnp.zeros_like(b))
    # fold h0 into step 0, so the scan's b component is the state itself
    b = b.at[0].add(a[0] * h0)
    _, h = lax.associative_scan(_combine, (a, b), axis=0)
    return h


def _prepare(rnn: LinearRNN, params: Params, inputs: Any, initial_state: Any, time_major: bool):
    if not isinstance(rnn, LinearRNN):
        raise TypeError(
            f"rnn must be a LinearRNN (e.g. jaxrnn.linear_rnn.min_gru(64)); got {type(rnn).__name__}"
        )
    checks.check_float_array("inputs", inputs)
    checks.check_rank(
        "inputs", inputs, 3, "[time, batch, features]" if time_major else "[batch, time, features]"
    )
    xs = inputs if time_major else jnp.swapaxes(inputs, 0, 1)
    num_steps, batch_size, features = xs.shape
    if num_steps == 0:
        raise ValueError(f"inputs must have at least one time step; got shape {tuple(inputs.shape)}")
    checks.check_params("inputs", rnn.cell, params, features)
    expected = jax.eval_shape(lambda: rnn.cell.zero_state(batch_size, xs.dtype))
    if initial_state is None:
        state = rnn.cell.zero_state(batch_size, xs.dtype)
    else:
        checks.check_state("initial_state", initial_state, expected)
        state = initial_state
    return xs, state


def associative_unroll(
    rnn: LinearRNN,
    params: Params,
    inputs: Array,
    *,
    sequence_length: Array | None = None,
    segment_ids: Array | None = None,
    initial_state: State | None = None,
    time_major: bool = False,
) -> tuple[Array, State]:
    """Unroll a :class:`LinearRNN` with ``lax.associative_scan``: depth O(log T), same numbers as the loop.

    Equal (to float rounding) to ``jaxrnn.dynamic_unroll(rnn.cell, params, inputs,
    sequence_length=...)``, with the masking of :mod:`jaxrnn.unroll` and the
    ``segment_ids`` resets described in :mod:`jaxrnn.segments`.

    Args:
      rnn: a :class:`LinearRNN` (``min_gru``, ``min_lstm``, ``lru``).
      params: from ``rnn.cell.init``.
      inputs: ``[batch, time, features]`` (``[time, batch, features]`` when ``time_major``).
      sequence_length: ``[batch]`` ints in ``[0, time]``; steps past it give
        zero outputs and leave the state frozen.
      segment_ids: ``[batch, time]`` ints, packed sequences: where the id
        changes the state restarts from ``initial_state``; id 0 is trailing
        padding (zero outputs, frozen state). Not together with ``sequence_length``.
      initial_state: like ``rnn.cell.zero_state(batch)``; default zeros.
      time_major: inputs and outputs are ``[time, batch, ...]``.

    Returns:
      ``(outputs, final_state)``: outputs ``[batch, time, output_size]``, zero
      at masked steps; the final state after each row's last valid step.

    Raises:
      ValueError, TypeError: bad shapes, dtypes, lengths or ids, or both
        masking keywords, before tracing.

    >>> from jaxrnn.linear_rnn import min_gru
    >>> rnn = min_gru(8)
    >>> params = rnn.cell.init(jax.random.key(0), 3)
    >>> ids = jnp.array([[1, 1, 2, 2, 0]] * 2)
    >>> ys, h = associative_unroll(rnn, params, jnp.ones((2, 5, 3)), segment_ids=ids)
    >>> ys.shape
    (2, 5, 8)
    """
    xs, state = _prepare(rnn, params, inputs, initial_state, time_major)
    num_steps, batch_size, _ = xs.shape
    masks = check_masking(sequence_length, segment_ids, batch_size, num_steps)
    a, b = rnn.coefficients(params, xs)
    h0 = rnn.to_hidden(state)
    if masks is None:
        h = linear_scan(a, b, h0)
    else:
        h = linear_scan(a, b, h0, valid=masks.valid, reset=masks.reset)
    ys = rnn.readout(params, h, xs)
    if masks is not None:
        ys = jnp.where(masks.valid[..., None], ys, jnp.zeros_like(ys))
    final = rnn.from_hidden(h[-1])
    return (ys if time_major else jnp.swapaxes(ys, 0, 1)), final
