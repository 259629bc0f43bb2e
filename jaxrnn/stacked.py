"""Stacked bidirectional RNNs in one call (PyTorch `bidirectional=True, num_layers=N`; Keras merge modes).

Layer ``l`` runs a forward and a backward cell over layer ``l - 1``'s merged
outputs; the backward cell reads each sequence from its last valid step
(``sequence_length``), as ``jaxrnn.bidirectional_unroll`` does. The merge is
Keras's ``merge_mode``: ``concat`` (PyTorch's only choice), ``sum``, ``mul``
or ``ave``. Padded steps give zero outputs in every mode.

Weights of ``torch.nn.LSTM(..., bidirectional=True, num_layers=N)`` come in
through ``jaxrnn.interop.from_torch``; :func:`split_layers` turns its list into
the ``(layers, params)`` this module takes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from jaxrnn.cells import Cell, Params, State
from jaxrnn.unroll import bidirectional_unroll

Array = jax.Array
MERGE_MODES = ("concat", "sum", "mul", "ave")


def _check_merge_mode(merge_mode: Any) -> None:
    if merge_mode not in MERGE_MODES:
        raise ValueError(f"merge_mode must be one of {MERGE_MODES}; got {merge_mode!r}")


def _check_layers(layers: Any, merge_mode: str) -> list[tuple[Cell, Cell]]:
    layers = list(layers) if isinstance(layers, (list, tuple)) else layers
    if not isinstance(layers, list) or not layers:
        raise ValueError(f"layers must be a non-empty list of (cell_fw, cell_bw) pairs; got {layers!r}")
    for i, pair in enumerate(layers):
        if not (
            isinstance(pair, (tuple, list)) and len(pair) == 2 and all(isinstance(c, Cell) for c in pair)
        ):
            raise TypeError(f"layers[{i}] must be a (cell_fw, cell_bw) pair of jaxrnn Cells; got {pair!r}")
        if merge_mode != "concat" and pair[0].output_size != pair[1].output_size:
            raise ValueError(
                f"merge_mode={merge_mode!r} needs equal output sizes; layers[{i}] has "
                f"{pair[0].output_size} (forward) and {pair[1].output_size} (backward)"
            )
    return layers


def merged_size(pair: tuple[Cell, Cell], merge_mode: str = "concat") -> int:
    """The feature size of one layer's merged outputs: the sum of both sizes for ``concat``, else one."""
    _check_merge_mode(merge_mode)
    return pair[0].output_size + pair[1].output_size if merge_mode == "concat" else pair[0].output_size


def merge(y_fw: Array, y_bw: Array, merge_mode: str = "concat") -> Array:
    """Merge the two directions' outputs ``[..., H]`` as Keras's ``Bidirectional(merge_mode=...)``."""
    _check_merge_mode(merge_mode)
    if merge_mode == "concat":
        return jnp.concatenate([y_fw, y_bw], axis=-1)
    if merge_mode == "sum":
        return y_fw + y_bw
    if merge_mode == "mul":
        return y_fw * y_bw
    return (y_fw + y_bw) / 2


def init_stacked_bidirectional(
    layers: Sequence[tuple[Cell, Cell]],
    key: Array,
    input_size: int,
    *,
    merge_mode: str = "concat",
    dtype: Any = jnp.float32,
) -> list[tuple[Params, Params]]:
    """Parameters for every layer, each reading the previous layer's merged size.

    Returns:
      ``[(params_fw, params_bw), ...]``, one pair per layer.
    """
    _check_merge_mode(merge_mode)
    pairs = _check_layers(layers, merge_mode)
    params, size = [], input_size
    for i, (cell_fw, cell_bw) in enumerate(pairs):
        k_fw, k_bw = jax.random.split(jax.random.fold_in(key, i))
        params.append((cell_fw.init(k_fw, size, dtype), cell_bw.init(k_bw, size, dtype)))
        size = merged_size((cell_fw, cell_bw), merge_mode)
    return params


def split_layers(imported: Sequence[Any]) -> tuple[list[tuple[Cell, Cell]], list[tuple[Params, Params]]]:
    """Split ``from_torch``'s bidirectional list into ``(layers, params)``.

    Args:
      imported: ``[((cell_fw, cell_bw), (params_fw, params_bw)), ...]``.

    Returns:
      ``([(cell_fw, cell_bw), ...], [(params_fw, params_bw), ...])``.
    """
    if not isinstance(imported, (list, tuple)) or not imported:
        raise ValueError(
            f"imported must be from_torch's non-empty list of bidirectional layers; got {imported!r}"
        )
    return [tuple(cells) for cells, _ in imported], [tuple(p) for _, p in imported]  # type: ignore[misc]


def stacked_bidirectional_unroll(
    layers: Sequence[tuple[Cell, Cell]],
    params: Sequence[tuple[Params, Params]],
    inputs: Array,
    *,
    merge_mode: str = "concat",
    sequence_length: Array | None = None,
    initial_states: Sequence[tuple[State | None, State | None]] | None = None,
    time_major: bool = False,
    key: Array | None = None,
    training: bool = False,
    **scan_options: Any,
) -> tuple[Array, list[tuple[State, State]]]:
    """Run ``N`` bidirectional layers, layer ``l + 1`` reading layer ``l``'s merged outputs.

    Args:
      layers: ``[(cell_fw, cell_bw), ...]``, one pair per layer.
      params: ``[(params_fw, params_bw), ...]`` (e.g. from
        :func:`init_stacked_bidirectional` or :func:`split_layers`).
      inputs: ``[batch, time, features]`` (``[time, batch, features]`` when ``time_major``).
      merge_mode: ``"concat"`` (default, PyTorch), ``"sum"``, ``"mul"`` or ``"ave"``.
      sequence_length: ``[batch]`` ints; padded steps give zero outputs and the
        backward cell starts at each sequence's last valid step.
      initial_states: optional ``[(state_fw, state_bw), ...]`` per layer.
      time_major, training, **scan_options: as in ``jaxrnn.dynamic_unroll``.
      key: PRNG key for stochastic cells; layer ``l`` gets ``fold_in(key, l)``.

    Returns:
      ``(outputs, final_states)``: the last layer's merged outputs
      ``[batch, time, merged size]`` and ``[(final_fw, final_bw), ...]`` per
      layer. PyTorch's ``h_n[2 * l + d]`` is ``final_states[l][d]`` (``.h`` for an LSTM).

    Raises:
      ValueError, TypeError: bad ``merge_mode``, layers, params or initial
        states count, and everything ``bidirectional_unroll`` checks, before tracing.
    """
    _check_merge_mode(merge_mode)
    pairs = _check_layers(layers, merge_mode)
    if not isinstance(params, (list, tuple)) or len(params) != len(pairs):
        got = len(params) if isinstance(params, (list, tuple)) else type(params).__name__
        raise ValueError(f"params must be a list of {len(pairs)} (params_fw, params_bw) pairs; got {got}")
    if initial_states is not None and len(initial_states) != len(pairs):
        raise ValueError(
            f"initial_states must have one pair per layer ({len(pairs)}); got {len(initial_states)}"
        )
    h, finals = inputs, []
    for i, ((cell_fw, cell_bw), layer_params) in enumerate(zip(pairs, params)):
        if not (isinstance(layer_params, (tuple, list)) and len(layer_params) == 2):
            raise ValueError(
                f"params[{i}] must be a (params_fw, params_bw) pair; got {type(layer_params).__name__}"
            )
        init_fw, init_bw = (None, None) if initial_states is None else initial_states[i]
        (y_fw, y_bw), state = bidirectional_unroll(
            cell_fw,
            cell_bw,
            layer_params[0],
            layer_params[1],
            h,
            sequence_length=sequence_length,
            initial_state_fw=init_fw,
            initial_state_bw=init_bw,
            time_major=time_major,
            key=None if key is None else jax.random.fold_in(key, i),
            training=training,
            **scan_options,
        )
        h = merge(y_fw, y_bw, merge_mode)
        finals.append(state)
    return h, finals
