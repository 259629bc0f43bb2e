"""PyTorch ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` state dicts to and from jaxrnn cells.

PyTorch stores ``weight_ih_l{k}[_reverse]: [G*H, F]``, ``weight_hh_l{k}: [G*H, H or P]``,
``bias_ih_l{k}``, ``bias_hh_l{k}: [G*H]`` and, with ``proj_size``, ``weight_hr_l{k}: [P, H]``.
Gate orders: LSTM i, f, g, o (jaxrnn's), GRU r, z, n as ``gru_cell(reset_after=True)``.
PyTorch's LSTM has no forget bias: imports use ``forget_bias=0.0``.
"""

from __future__ import annotations

import re
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn.cells import Cell, basic_cell, gru_cell, lstm_cell
from jaxrnn.interop.common import as_jax, check_kind, check_shape, to_numpy
from jaxrnn.wrappers import stack_cells

_GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}
_KEY = re.compile(r"^(weight_ih|weight_hh|weight_hr|bias_ih|bias_hh)_l(\d+)(_reverse)?$")


def _make_cell(kind: str, hidden: int, proj: int | None) -> Cell:
    if kind == "lstm":
        return lstm_cell(hidden, forget_bias=0.0, num_proj=proj)
    if kind == "gru":
        return gru_cell(hidden, reset_after=True)
    return basic_cell(hidden, jnp.tanh if kind == "rnn_tanh" else jax.nn.relu)


def _import_layer(sd: dict[str, np.ndarray], kind: str, layer: int, suffix: str, dtype: Any):
    gates = _GATES[kind]
    w_ih_key, w_hh_key = f"weight_ih_l{layer}{suffix}", f"weight_hh_l{layer}{suffix}"
    for key in (w_ih_key, w_hh_key):
        if key not in sd:
            raise ValueError(f"state_dict is missing key {key!r}; got keys {sorted(sd)}")
    w_ih, w_hh = sd[w_ih_key], sd[w_hh_key]
    if w_ih.ndim != 2 or w_ih.shape[0] % gates:
        raise ValueError(
            f"state_dict[{w_ih_key!r}] must have shape [{gates}*hidden, input] for kind={kind!r}; "
            f"got {w_ih.shape}"
        )
    hidden = w_ih.shape[0] // gates
    hr_key = f"weight_hr_l{layer}{suffix}"
    proj = None
    if hr_key in sd:
        if kind != "lstm":
            raise ValueError(f"state_dict key {hr_key!r} (proj_size) is only supported for kind='lstm'")
        proj = sd[hr_key].shape[0]
        check_shape(sd[hr_key], (proj, hidden), f"state_dict[{hr_key!r}]")
    check_shape(w_hh, (gates * hidden, proj or hidden), f"state_dict[{w_hh_key!r}]")
    biases = []
    for name in ("bias_ih", "bias_hh"):
        key = f"{name}_l{layer}{suffix}"
        if key in sd:
            check_shape(sd[key], (gates * hidden,), f"state_dict[{key!r}]")
            biases.append(sd[key])
        else:  # bias=False modules have neither bias
            biases.append(np.zeros((gates * hidden,), w_ih.dtype))
    params = {"Wx": as_jax(w_ih.T, dtype), "Wh": as_jax(w_hh.T, dtype)}
    if kind == "gru":  # r * (h W_hn + b_hn) needs the recurrent bias kept apart
        params["b"], params["bh"] = as_jax(biases[0], dtype), as_jax(biases[1], dtype)
    else:
        params["b"] = as_jax(biases[0] + biases[1], dtype)
    if proj is not None:
        params["W_proj"] = as_jax(sd[hr_key].T, dtype)
    return _make_cell(kind, hidden, proj), params


def from_torch(state_dict: Any, kind: str, *, dtype: Any = None) -> Any:
    """Import a PyTorch ``nn.LSTM``/``nn.GRU``/``nn.RNN`` state dict.

    The number of layers and the direction are read from the keys.

    Args:
      state_dict: the module's ``state_dict()`` (tensors or arrays), or the
        module itself.
      kind: ``"lstm"``, ``"gru"``, ``"rnn_tanh"`` or ``"rnn_relu"`` (``nn.RNN``'s
        ``nonlinearity``).
      dtype: parameter dtype; default keeps the state dict's dtype.

    Returns:
      Unidirectional: ``(cell, params)``, ``stack_cells`` of the layers for
      more than one. Bidirectional: a list with one ``((cell_fw, cell_bw),
      (params_fw, params_bw))`` per layer, for :func:`jaxrnn.bidirectional_unroll`.

    Raises:
      ValueError: unknown ``kind``, missing or unexpected keys, wrong shapes.

    >>> cell, params = from_torch(torch.nn.LSTM(3, 5).state_dict(), "lstm")  # doctest: +SKIP
    """
    kind = check_kind(kind)
    if hasattr(state_dict, "state_dict") and callable(state_dict.state_dict):
        state_dict = state_dict.state_dict()
    if not hasattr(state_dict, "items"):
        raise TypeError(f"state_dict must be a mapping of names to tensors; got {type(state_dict).__name__}")
    sd = {str(k): to_numpy(v, f"state_dict[{k!r}]") for k, v in state_dict.items()}
    layers, reverse = set(), False
    for key in sd:
        match = _KEY.match(key)
        if match is None:
            raise ValueError(f"state_dict has unexpected key {key!r} for a PyTorch {kind} module")
        layers.add(int(match.group(2)))
        reverse = reverse or match.group(3) is not None
    if not layers:
        raise ValueError("state_dict has no weight_ih_l0 / weight_hh_l0 keys; got an empty state dict")
    num_layers = max(layers) + 1
    if reverse:
        pairs = [[_import_layer(sd, kind, i, s, dtype) for s in ("", "_reverse")] for i in range(num_layers)]
        return [((fw[0], bw[0]), (fw[1], bw[1])) for fw, bw in pairs]
    imported = [_import_layer(sd, kind, layer, "", dtype) for layer in range(num_layers)]
    if num_layers == 1:
        return imported[0]
    return stack_cells([c for c, _ in imported]), tuple(p for _, p in imported)


def _export_layer(params: Any, kind: str, name: str, forget_bias: float) -> dict[str, np.ndarray]:
    """One direction of one layer as PyTorch arrays, ``name`` e.g. ``"_l0_reverse"``."""
    if not isinstance(params, dict) or not {"Wx", "Wh", "b"} <= set(params):
        raise ValueError(f"params must be a jaxrnn cell's dict with Wx, Wh, b; got {type(params).__name__}")
    unsupported = sorted(k for k in params if k.startswith("peephole"))
    if unsupported:
        raise ValueError(f"PyTorch has no LSTM peepholes; params has unsupported keys {unsupported}")
    wx, wh, b = (np.asarray(params[k]) for k in ("Wx", "Wh", "b"))
    gates = _GATES[kind]
    if wx.shape[1] % gates:
        raise ValueError(f"params['Wx'] must have {gates}*hidden columns for kind={kind!r}; got {wx.shape}")
    hidden = wx.shape[1] // gates
    b_ih = b.copy()
    if kind == "lstm" and forget_bias:  # fold the constant into the f block, which torch lacks
        b_ih[hidden : 2 * hidden] += np.asarray(forget_bias, b.dtype)
    if kind == "gru" and "bh" not in params:
        raise ValueError("params has no 'bh': PyTorch's GRU needs gru_cell(reset_after=True)")
    b_hh = np.asarray(params["bh"]) if kind == "gru" else np.zeros_like(b)
    out = {"weight_ih": wx.T, "weight_hh": wh.T, "bias_ih": b_ih, "bias_hh": b_hh}
    if "W_proj" in params:
        out["weight_hr"] = np.asarray(params["W_proj"]).T
    return {f"{k}{name}": np.ascontiguousarray(v) for k, v in out.items()}


def to_torch(params: Any, kind: str, *, bidirectional: bool = False, forget_bias: float = 0.0) -> dict:
    """Export jaxrnn params as a PyTorch state dict of ``torch.Tensor`` (imports torch).

    Args:
      params: one layer's params dict, a tuple of them (``stack_cells``), or,
        with ``bidirectional=True``, a sequence of ``(params_fw, params_bw)``.
      kind: ``"lstm"``, ``"gru"``, ``"rnn_tanh"`` or ``"rnn_relu"``.
      bidirectional: whether ``params`` holds forward/backward pairs.
      forget_bias: the jaxrnn LSTM's ``forget_bias`` (``lstm_cell``'s default is
        1.0); it is folded into ``bias_ih``'s forget block.

    Returns:
      A dict for ``nn.LSTM/GRU/RNN(..., batch_first=...).load_state_dict``.
    """
    import torch

    kind = check_kind(kind)
    layers = [params] if isinstance(params, dict) else list(params)
    out: dict[str, Any] = {}
    for layer, p in enumerate(layers):
        if bidirectional and not (isinstance(p, (tuple, list)) and len(p) == 2):
            raise ValueError(f"params[{layer}] must be a (params_fw, params_bw) pair when bidirectional")
        for p_d, suffix in zip(p, ("", "_reverse")) if bidirectional else [(p, "")]:
            for k, v in _export_layer(p_d, kind, f"_l{layer}{suffix}", forget_bias).items():
                out[k] = torch.from_numpy(np.array(v))
    return out
