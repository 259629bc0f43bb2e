"""RNNs whose recurrence is linear in the state: minGRU, minLSTM and a diagonal LRU.

Each factory returns a :class:`~jaxrnn.assoc_scan.LinearRNN`: ``.cell`` runs
step by step (``jaxrnn.dynamic_unroll``, streaming, generation) and
:func:`jaxrnn.assoc_scan.associative_unroll` runs the same recurrence in
parallel over time for training. The gates read the input only, never the
previous state, which is what makes ``h(t) = a(t) * h(t-1) + b(t)`` and the
parallel scan possible (Feng et al. 2024, "Were RNNs All We Needed?";
Orvieto et al. 2023, "Resurrecting Recurrent Neural Networks for Long Sequences").
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxrnn import checks
from jaxrnn.assoc_scan import LinearRNN
from jaxrnn.cells import Cell, Params

Array = jax.Array


class LRUState(NamedTuple):
    """The LRU's complex state kept as two real arrays ``[batch, H]``, so every jaxrnn state check applies."""

    real: Array
    imag: Array


def _dense(params: Params, x: Array) -> Array:
    # fold leading axes into one rank-2 GEMM (XLA:CPU's fast path), as the classic cells do
    w, b = params["Wx"].astype(x.dtype), params["b"].astype(x.dtype)
    y = (x.reshape(-1, x.shape[-1]) @ w).reshape(*x.shape[:-1], w.shape[-1])
    return y + b.reshape((1,) * (y.ndim - 1) + b.shape)


def _gated_cell(num_units: int, gates: int, coefficients) -> LinearRNN:
    """A real-valued linear RNN with ``Wx: [F, gates*H], b: [gates*H]``; output = state."""

    def init(key: Array, input_size: int, dtype: Any = jnp.float32) -> Params:
        checks.positive_int("input_size", input_size)
        wx = jax.nn.initializers.glorot_uniform()(key, (input_size, gates * num_units), dtype)
        return {"Wx": wx, "b": jnp.zeros((gates * num_units,), dtype)}

    def zero_state(batch_size: int, dtype: Any = jnp.float32) -> Array:
        if not isinstance(batch_size, int) or batch_size < 0:
            raise ValueError(f"batch_size must be a non-negative int; got {batch_size!r}")
        return jnp.zeros((batch_size, num_units), dtype)

    def apply(params, state, x, *, key=None, training=False, time_step=0):
        a, b = coefficients(params, x)
        h = a * state + b
        return h, h

    cell = Cell(
        init=init,
        zero_state=zero_state,
        apply=apply,
        output_size=num_units,
        state_size=num_units,
        input_size=lambda params: params["Wx"].shape[0],
    )
    return LinearRNN(
        cell=cell,
        coefficients=coefficients,
        readout=lambda params, h, x: h,
        to_hidden=lambda state: state,
        from_hidden=lambda h: h,
    )


def min_gru(num_units: int) -> LinearRNN:
    """minGRU (Feng et al. 2024): a GRU whose gates read the input only.

    Gate order in ``Wx: [F, 2H]`` and ``b: [2H]`` is **z, candidate**::

        z(t) = sigmoid(x(t) Wx_z + b_z)
        g(t) = x(t) Wx_g + b_g
        h(t) = (1 - z(t)) * h(t-1) + z(t) * g(t)        (a = 1 - z, b = z * g)

    The output is ``h(t)``.

    Args:
      num_units: H.

    Returns:
      A :class:`~jaxrnn.assoc_scan.LinearRNN`; ``.cell`` has state ``[batch, H]``.
    """
    checks.positive_int("num_units", num_units)

    def coefficients(params, x):
        zg = _dense(params, x)
        z = jax.nn.sigmoid(zg[..., :num_units])
        return 1 - z, z * zg[..., num_units:]

    return _gated_cell(num_units, 2, coefficients)


def min_lstm(num_units: int) -> LinearRNN:
    """minLSTM (Feng et al. 2024): an LSTM whose gates read the input only, normalised to sum to 1.

    Gate order in ``Wx: [F, 3H]`` and ``b: [3H]`` is **f, i, candidate**::

        f(t) = sigmoid(x(t) Wx_f + b_f),   i(t) = sigmoid(x(t) Wx_i + b_i)
        f'(t) = f / (f + i),               i'(t) = i / (f + i)
        g(t) = x(t) Wx_g + b_g
        h(t) = f'(t) * h(t-1) + i'(t) * g(t)

    The output is ``h(t)`` (there is no separate cell state).

    Args:
      num_units: H.

    Returns:
      A :class:`~jaxrnn.assoc_scan.LinearRNN`; ``.cell`` has state ``[batch, H]``.
    """
    checks.positive_int("num_units", num_units)

    def coefficients(params, x):
        fig = _dense(params, x)
        f = jax.nn.sigmoid(fig[..., :num_units])
        i = jax.nn.sigmoid(fig[..., num_units : 2 * num_units])
        total = f + i
        return f / total, (i / total) * fig[..., 2 * num_units :]

    return _gated_cell(num_units, 3, coefficients)


def _complex_dtype(dtype: Any) -> Any:
    return jnp.complex128 if jnp.dtype(dtype) == jnp.float64 else jnp.complex64


def _matmul(x: Array, w: Array) -> Array:
    return (x.reshape(-1, x.shape[-1]) @ w.astype(x.dtype)).reshape(*x.shape[:-1], w.shape[-1])


def lru(
    num_units: int,
    output_size: int | None = None,
    *,
    r_min: float = 0.0,
    r_max: float = 1.0,
    max_phase: float = 2 * math.pi,
) -> LinearRNN:
    """A diagonal linear recurrent unit (LRU, Orvieto et al. 2023) with a complex state.

    With ``lambda = exp(-exp(nu_log) + i exp(theta_log))`` (so ``|lambda| < 1``
    for any parameters: the recurrence is stable by construction) and
    ``gamma = exp(gamma_log)``, initialised to ``sqrt(1 - |lambda|^2)``::

        h(t) = lambda * h(t-1) + gamma * (x(t) (B_re + i B_im))      h complex [B, H]
        y(t) = Re(h(t) (C_re + i C_im)) + x(t) D                     y real [B, O]

    ``D: [F, O]`` generalises the paper's diagonal skip ``D`` (``F = O`` there).
    The state is kept as :class:`LRUState` ``(real, imag)``; complex numbers
    exist only inside the step and the scan.

    Args:
      num_units: H, the number of complex state units.
      output_size: O; default ``H``.
      r_min, r_max: ``|lambda|`` is initialised uniformly on the ring
        ``r_min <= |lambda| <= r_max`` (``0 <= r_min < r_max <= 1``).
      max_phase: ``arg(lambda)`` is initialised uniformly in ``[0, max_phase]``.

    Returns:
      A :class:`~jaxrnn.assoc_scan.LinearRNN` with params ``{"nu_log", "theta_log",
      "gamma_log": [H], "B_re", "B_im": [F, H], "C_re", "C_im": [H, O], "D": [F, O]}``.
    """
    checks.positive_int("num_units", num_units)
    out_size = num_units if output_size is None else output_size
    checks.positive_int("output_size", out_size)
    if not (0.0 <= r_min < r_max <= 1.0):
        raise ValueError(
            f"r_min and r_max must satisfy 0 <= r_min < r_max <= 1; got r_min={r_min}, r_max={r_max}"
        )
    if not max_phase > 0:
        raise ValueError(f"max_phase must be positive; got {max_phase!r}")

    def init(key: Array, input_size: int, dtype: Any = jnp.float32) -> Params:
        checks.positive_int("input_size", input_size)
        k_r, k_p, k_b, k_c, k_d = jax.random.split(key, 5)
        u1 = jax.random.uniform(k_r, (num_units,), dtype)
        u2 = jax.random.uniform(k_p, (num_units,), dtype)
        # the paper's ring initialisation: |lambda|^2 uniform in [r_min^2, r_max^2]
        nu_log = jnp.log(-0.5 * jnp.log(u1 * (r_max**2 - r_min**2) + r_min**2))
        theta_log = jnp.log(max_phase * u2)
        modulus = jnp.exp(-jnp.exp(nu_log))
        b_re, b_im = jax.random.normal(k_b, (2, input_size, num_units), dtype) / math.sqrt(2 * input_size)
        c_re, c_im = jax.random.normal(k_c, (2, num_units, out_size), dtype) / math.sqrt(num_units)
        return {
            "nu_log": nu_log,
            "theta_log": theta_log,
            "gamma_log": jnp.log(jnp.sqrt(1 - modulus**2)),
            "B_re": b_re,
            "B_im": b_im,
            "C_re": c_re,
            "C_im": c_im,
            "D": jax.nn.initializers.glorot_uniform()(k_d, (input_size, out_size), dtype),
        }

    def zero_state(batch_size: int, dtype: Any = jnp.float32) -> LRUState:
        if not isinstance(batch_size, int) or batch_size < 0:
            raise ValueError(f"batch_size must be a non-negative int; got {batch_size!r}")
        return LRUState(jnp.zeros((batch_size, num_units), dtype), jnp.zeros((batch_size, num_units), dtype))

    def coefficients(params, x):
        if x.dtype not in (jnp.float32, jnp.float64):
            # complex64/128 have no bfloat16/float16 counterpart; a silent upcast would change the state dtype
            raise TypeError(f"lru inputs must be float32 or float64 (complex state); got {x.dtype}")
        # explicit complex casts: jaxrnn's tests run with strict dtype promotion
        cdt = _complex_dtype(x.dtype)
        nu, theta = jnp.exp(params["nu_log"].astype(x.dtype)), jnp.exp(params["theta_log"].astype(x.dtype))
        lam = jnp.exp(jax.lax.complex(-nu, theta))
        gamma = jnp.exp(params["gamma_log"].astype(x.dtype))
        bx = jax.lax.complex(_matmul(x, params["B_re"]), _matmul(x, params["B_im"]))
        b = bx * gamma.astype(cdt).reshape((1,) * (x.ndim - 1) + gamma.shape)
        a = jnp.broadcast_to(lam.reshape((1,) * (x.ndim - 1) + lam.shape), b.shape)
        return a, b

    def readout(params, h, x):
        y = _matmul(h.real, params["C_re"]) - _matmul(h.imag, params["C_im"])
        return y + _matmul(x, params["D"])

    def to_hidden(state: LRUState) -> Array:
        return jax.lax.complex(state.real, state.imag)

    def from_hidden(h: Array) -> LRUState:
        return LRUState(h.real, h.imag)

    def apply(params, state, x, *, key=None, training=False, time_step=0):
        a, b = coefficients(params, x)
        h = a * to_hidden(state) + b
        return from_hidden(h), readout(params, h, x)

    cell = Cell(
        init=init,
        zero_state=zero_state,
        apply=apply,
        output_size=out_size,
        state_size=LRUState(num_units, num_units),  # type: ignore[arg-type]  # sizes, as LSTMState
        input_size=lambda params: params["B_re"].shape[0],
    )
    return LinearRNN(cell, coefficients, readout, to_hidden, from_hidden)
