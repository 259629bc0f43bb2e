"""A small strided convolutional encoder for images and video frames (``jax.lax.conv_general_dilated``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from jaxrnn.layers import Layer

Array = jax.Array


def conv_encoder(
    channels: Sequence[int], kernels: Sequence[int], strides: Sequence[int], *, padding: str = "SAME"
) -> Layer:
    """A stack of ReLU convolutions, one per entry of ``channels`` (He-normal weights, zero biases).

    Args:
      channels: output channels of each convolution.
      kernels: square kernel side of each.
      strides: stride of each (a kernel equal to its stride "patchifies" the image cheaply).
      padding: ``"SAME"`` or ``"VALID"``.

    Returns:
      A :class:`~jaxrnn.Layer` whose ``init(key, input_channels)`` makes ``[{"w": [k, k, C_in, C_out],
      "b": [C_out]}, ...]`` and whose ``apply(params, images)`` maps ``[..., H, W, C]`` to
      ``[..., H', W', channels[-1]]`` (leading axes such as batch and time are folded for the convolution).
      ``output_size`` is ``channels[-1]``.
    """
    if not (len(channels) == len(kernels) == len(strides) >= 1):
        raise ValueError(
            "channels, kernels and strides must be non-empty and of one length; "
            f"got {len(channels)}, {len(kernels)}, {len(strides)}"
        )
    for name, values in (("channels", channels), ("kernels", kernels), ("strides", strides)):
        if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values):
            raise ValueError(f"{name} must be positive ints; got {list(values)!r}")
    if padding not in ("SAME", "VALID"):
        raise ValueError(f"padding must be 'SAME' or 'VALID'; got {padding!r}")

    def init(key: Array, input_channels: int, dtype: Any = jnp.float32) -> list[dict[str, Array]]:
        params = []
        c_in = input_channels
        for i, (c_out, k) in enumerate(zip(channels, kernels)):
            w = jax.nn.initializers.he_normal()(jax.random.fold_in(key, i), (k, k, c_in, c_out), dtype)
            params.append({"w": w, "b": jnp.zeros((c_out,), dtype)})
            c_in = c_out
        return params

    def apply(params: list[dict[str, Array]], images: Array) -> Array:
        if images.ndim < 4:
            raise ValueError(f"images must have rank >= 4 [..., height, width, channels]; got {images.shape}")
        lead = images.shape[:-3]
        y = images.reshape(-1, *images.shape[-3:])
        for layer, s in zip(params, strides):
            y = lax.conv_general_dilated(
                y,
                layer["w"].astype(y.dtype),
                window_strides=(s, s),
                padding=padding,
                dimension_numbers=("NHWC", "HWIO", "NHWC"),
            )
            y = jax.nn.relu(y + layer["b"].astype(y.dtype).reshape(1, 1, 1, -1))
        return y.reshape(*lead, *y.shape[1:])

    return Layer(init=init, apply=apply, output_size=channels[-1])
