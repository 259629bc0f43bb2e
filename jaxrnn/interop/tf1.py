"""TensorFlow 1 ``BasicRNNCell`` / ``BasicLSTMCell`` / ``LSTMCell`` / ``GRUCell`` variables to jaxrnn.

TF1 cells keep one ``kernel: [F + H, G*H]`` over the concatenation ``[x, h]``
and a ``bias: [G*H]``. LSTM gates are **i, j, f, o** (j is the candidate;
jaxrnn: i, f, g, o) and ``forget_bias`` (default 1.0) is added in the formula.
``LSTMCell`` adds peephole diagonals ``w_i_diag``, ``w_f_diag``, ``w_o_diag``
and a ``projection/kernel: [H, P]`` (then the kernel has ``F + P`` rows).
``GRUCell`` has ``gates/kernel: [F + H, 2H]`` (r, u), ``gates/bias``,
``candidate/kernel: [F + H, H]`` and ``candidate/bias``. TensorFlow is not
needed: pass the variables as arrays, e.g. from ``tf.train.load_checkpoint``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn.cells import Cell, basic_cell, gru_cell, lstm_cell
from jaxrnn.interop.common import as_jax, check_shape, to_numpy

_KINDS = ("basic_rnn", "basic_lstm", "lstm", "gru")


def _get(variables: Mapping[str, np.ndarray], scope: str, name: str) -> np.ndarray:
    key = scope + name
    if key not in variables:
        raise ValueError(f"variables is missing key {key!r}; got keys {sorted(variables)}")
    return variables[key]


def from_tf1(
    variables: Mapping[str, Any],
    kind: str,
    *,
    scope: str = "",
    forget_bias: float = 1.0,
    cell_clip: float | None = None,
    activation: str = "tanh",
    dtype: Any = None,
) -> tuple[Cell, dict]:
    """Import one TF1 cell's variables.

    Args:
      variables: names to arrays, e.g. ``{"rnn/lstm_cell/kernel": ..., ...}``.
      kind: ``"basic_rnn"``, ``"basic_lstm"``, ``"lstm"`` (``LSTMCell``) or ``"gru"``.
      scope: the cell's variable scope with a trailing slash, e.g.
        ``"rnn/multi_rnn_cell/cell_0/lstm_cell/"``.
      forget_bias: the TF1 cell's ``forget_bias`` (TF1's default 1.0).
      cell_clip: ``LSTMCell``'s ``cell_clip``.
      activation: ``"tanh"`` or ``"relu"``, for ``basic_rnn``.
      dtype: parameter dtype; default keeps the variables' dtype.

    Returns:
      ``(cell, params)``. Peepholes and projection are detected from the keys.

    Raises:
      ValueError: unknown ``kind``, a missing key or a wrong shape, naming the key.
    """
    if not isinstance(kind, str) or kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}; got {kind!r}")
    if not isinstance(variables, Mapping):
        raise TypeError(f"variables must be a mapping of names to arrays; got {type(variables).__name__}")
    v = {str(k): to_numpy(a, f"variables[{k!r}]") for k, a in variables.items()}

    if kind == "gru":
        kernel_key = scope + "gates/kernel"
        gates_k, gates_b = _get(v, scope, "gates/kernel"), _get(v, scope, "gates/bias")
        cand_k, cand_b = _get(v, scope, "candidate/kernel"), _get(v, scope, "candidate/bias")
        hidden = cand_b.shape[0]
        rows = gates_k.shape[0]
        if rows <= hidden:
            raise ValueError(
                f"variables[{kernel_key!r}] must have input + {hidden} rows; got {gates_k.shape}"
            )
        check_shape(gates_k, (rows, 2 * hidden), f"variables[{kernel_key!r}]")
        check_shape(gates_b, (2 * hidden,), f"variables[{scope + 'gates/bias'!r}]")
        check_shape(cand_k, (rows, hidden), f"variables[{scope + 'candidate/kernel'!r}]")
        f = rows - hidden
        params = {
            "Wx": np.concatenate([gates_k[:f], cand_k[:f]], axis=1),
            "Wh": np.concatenate([gates_k[f:], cand_k[f:]], axis=1),
            "b": np.concatenate([gates_b, cand_b]),
        }
        return gru_cell(hidden), {k: as_jax(a, dtype) for k, a in params.items()}

    kernel_key = scope + "kernel"
    kernel, bias = _get(v, scope, "kernel"), _get(v, scope, "bias")
    gates = 1 if kind == "basic_rnn" else 4
    if bias.ndim != 1 or bias.shape[0] % gates:
        raise ValueError(f"variables[{scope + 'bias'!r}] must have shape [{gates}*units]; got {bias.shape}")
    hidden = bias.shape[0] // gates
    proj_key = scope + "projection/kernel"
    proj = v.get(proj_key) if kind == "lstm" else None
    h_rows = hidden if proj is None else proj.shape[1]
    if proj is not None:
        check_shape(proj, (hidden, h_rows), f"variables[{proj_key!r}]")
    if kernel.ndim != 2 or kernel.shape[0] <= h_rows:
        raise ValueError(f"variables[{kernel_key!r}] must have input + {h_rows} rows; got {kernel.shape}")
    check_shape(kernel, (kernel.shape[0], gates * hidden), f"variables[{kernel_key!r}]")
    f = kernel.shape[0] - h_rows
    wx, wh = kernel[:f], kernel[f:]
    if kind == "basic_rnn":
        if activation not in ("tanh", "relu"):
            raise ValueError(f"activation must be 'tanh' or 'relu'; got {activation!r}")
        cell = basic_cell(hidden, jnp.tanh if activation == "tanh" else jax.nn.relu)
        return cell, {k: as_jax(a, dtype) for k, a in {"Wx": wx, "Wh": wh, "b": bias}.items()}

    def reorder(w: np.ndarray) -> np.ndarray:  # i, j, f, o -> i, f, g(=j), o
        i, j, f_, o = np.split(w, 4, axis=-1)
        return np.concatenate([i, f_, j, o], axis=-1)

    params = {"Wx": reorder(wx), "Wh": reorder(wh), "b": reorder(bias)}
    peep_keys = [scope + f"w_{g}_diag" for g in "ifo"]
    present = [k in v for k in peep_keys]
    if kind == "lstm" and any(present):
        if not all(present):
            missing = [k for k, p in zip(peep_keys, present) if not p]
            raise ValueError(f"variables has some peephole diagonals but is missing {missing}")
        for g, k in zip("ifo", peep_keys):
            check_shape(v[k], (hidden,), f"variables[{k!r}]")
            params[f"peephole_{g}"] = v[k]
    if proj is not None:
        params["W_proj"] = proj
    cell = lstm_cell(
        hidden,
        forget_bias=forget_bias,
        use_peepholes=kind == "lstm" and all(present),
        cell_clip=cell_clip if kind == "lstm" else None,
        num_proj=None if proj is None else h_rows,
    )
    return cell, {k: as_jax(a, dtype) for k, a in params.items()}
