"""Keras ``LSTM`` / ``GRU`` / ``SimpleRNN`` weight lists to and from jaxrnn cells.

Keras keeps ``[kernel: [F, G*H], recurrent_kernel: [H, G*H], bias]`` (the order of
``layer.get_weights()``). LSTM gates are i, f, c, o (jaxrnn's order) with no
forget bias in the formula (``unit_forget_bias`` only initialises the bias),
so imports use ``forget_bias=0.0``. GRU gates are **z, r, h** (jaxrnn: r, z,
candidate), and with ``reset_after=True`` (the default) the bias is ``[2, 3H]``:
input bias, then recurrent bias. Only the default activations (tanh, sigmoid)
are supported for LSTM/GRU.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn.cells import Cell, basic_cell, gru_cell, lstm_cell
from jaxrnn.interop.common import as_jax, check_shape, to_numpy

_KINDS = ("lstm", "gru", "simple_rnn")
_GATES = {"lstm": 4, "gru": 3, "simple_rnn": 1}


def _check_kind(kind: Any) -> str:
    if not isinstance(kind, str) or kind.lower() not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}; got {kind!r}")
    return kind.lower()


def _zr_swap(w: np.ndarray, hidden: int) -> np.ndarray:
    # Keras z, r, h <-> jaxrnn r, z, candidate: swapping the first two blocks is its own inverse
    return np.concatenate([w[..., hidden : 2 * hidden], w[..., :hidden], w[..., 2 * hidden :]], axis=-1)


def from_keras(
    weights: Sequence[Any], kind: str, *, activation: str = "tanh", dtype: Any = None
) -> tuple[Cell, dict]:
    """Import a Keras recurrent layer's ``get_weights()`` list.

    Args:
      weights: ``[kernel, recurrent_kernel(, bias)]`` as ``layer.get_weights()``
        returns them (or the layer itself).
      kind: ``"lstm"``, ``"gru"`` or ``"simple_rnn"``.
      activation: for ``simple_rnn`` only: ``"tanh"`` or ``"relu"``.
      dtype: parameter dtype; default keeps the weights' dtype.

    Returns:
      ``(cell, params)``; for GRU the cell's ``reset_after`` follows the bias
      shape (``[2, 3H]`` means ``reset_after=True``).

    Raises:
      ValueError: wrong number of weights or wrong shapes, naming the entry.
    """
    kind = _check_kind(kind)
    if hasattr(weights, "get_weights"):
        weights = weights.get_weights()
    weights = [to_numpy(w, f"weights[{i}]") for i, w in enumerate(weights)]
    if len(weights) not in (2, 3):
        raise ValueError(
            f"weights must be [kernel, recurrent_kernel] or [kernel, recurrent_kernel, bias]; "
            f"got {len(weights)} arrays"
        )
    kernel, recurrent = weights[0], weights[1]
    gates = _GATES[kind]
    if kernel.ndim != 2 or kernel.shape[1] % gates:
        raise ValueError(f"weights[0] (kernel) must have shape [input, {gates}*units]; got {kernel.shape}")
    hidden = kernel.shape[1] // gates
    check_shape(recurrent, (hidden, gates * hidden), "weights[1] (recurrent_kernel)")
    bias = weights[2] if len(weights) == 3 else np.zeros((gates * hidden,), kernel.dtype)
    reset_after = kind == "gru" and bias.ndim == 2
    check_shape(bias, (2, 3 * hidden) if reset_after else (gates * hidden,), "weights[2] (bias)")
    if kind == "gru":
        params = {"Wx": _zr_swap(kernel, hidden), "Wh": _zr_swap(recurrent, hidden)}
        if reset_after:
            params["b"], params["bh"] = _zr_swap(bias[0], hidden), _zr_swap(bias[1], hidden)
        else:
            params["b"] = _zr_swap(bias, hidden)
        cell = gru_cell(hidden, reset_after=reset_after)
    else:
        params = {"Wx": kernel, "Wh": recurrent, "b": bias}
        if kind == "lstm":
            cell = lstm_cell(hidden, forget_bias=0.0)
        else:
            if activation not in ("tanh", "relu"):
                raise ValueError(f"activation must be 'tanh' or 'relu'; got {activation!r}")
            cell = basic_cell(hidden, jnp.tanh if activation == "tanh" else jax.nn.relu)
    return cell, {k: as_jax(v, dtype) for k, v in params.items()}


def to_keras(params: dict, kind: str, *, forget_bias: float = 0.0) -> list[np.ndarray]:
    """Export one jaxrnn layer's params as a Keras ``set_weights`` list.

    Args:
      params: ``{"Wx", "Wh", "b"(, "bh")}`` of a basic, LSTM (no peepholes or
        projection) or GRU cell.
      kind: ``"lstm"``, ``"gru"`` or ``"simple_rnn"``.
      forget_bias: the jaxrnn LSTM's ``forget_bias``, folded into Keras's bias.

    Returns:
      ``[kernel, recurrent_kernel, bias]``; a GRU with ``bh`` gives a ``[2, 3H]``
      bias (Keras ``reset_after=True``), one without gives ``[3H]``.
    """
    kind = _check_kind(kind)
    if not isinstance(params, dict) or not {"Wx", "Wh", "b"} <= set(params):
        raise ValueError(f"params must be a jaxrnn cell's dict with Wx, Wh, b; got {params!r:.80}")
    extra = sorted(set(params) - {"Wx", "Wh", "b", "bh"})
    if extra:
        raise ValueError(f"Keras layers have no counterpart for params keys {extra}")
    wx, wh, b = (np.array(params[k]) for k in ("Wx", "Wh", "b"))
    hidden = wh.shape[0]
    check_shape(wx, (wx.shape[0], _GATES[kind] * hidden), "params['Wx']")
    if kind == "gru":
        bias = _zr_swap(b, hidden)
        if "bh" in params:
            bias = np.stack([bias, _zr_swap(np.array(params["bh"]), hidden)])
        return [_zr_swap(wx, hidden), _zr_swap(wh, hidden), bias]
    if kind == "lstm" and forget_bias:
        b[hidden : 2 * hidden] += np.asarray(forget_bias, b.dtype)
    return [wx, wh, b]
