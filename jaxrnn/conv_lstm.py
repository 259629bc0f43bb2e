"""A convolutional LSTM cell (Shi et al. 2015), the LSTM with its matmuls replaced by convolutions.

Keras's ``ConvLSTM2D`` and Flax's ``ConvLSTMCell`` compute the same thing; the
state is a pair of feature maps ``[batch, height, width, filters]`` instead of
vectors, so the recurrence keeps the spatial layout of video frames.

Today's unrollers take ``[batch, time, features]`` inputs, so the cell accepts
each frame flattened to ``[batch, height * width * channels]`` (and returns its
output flattened the same way); it also accepts image-shaped frames
``[batch, height, width, channels]`` when called directly, and then returns
image-shaped outputs. The state stays rank 4 in both cases: the unrollers'
length mask broadcasts over any trailing shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from jaxrnn.cells import Cell, Params

Array = jax.Array
Initializer = Callable[..., Array]

# NHWC images, HWIO kernels: the layout of Keras, Flax's Conv and TF
_DIMENSIONS = ("NHWC", "HWIO", "NHWC")


class ConvLSTMState(NamedTuple):
    """ConvLSTM state, cell ``c`` then hidden ``h``, each ``[batch, height, width, filters]``."""

    c: Array
    h: Array


def _positive_int(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive int; got {value!r}")


def _pair(name: str, value: Any) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) and not isinstance(value, bool) else value
    if (
        not isinstance(pair, (tuple, list))
        or len(pair) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in pair)
    ):
        raise ValueError(f"{name} must be a positive int or a pair of positive ints; got {value!r}")
    return int(pair[0]), int(pair[1])


def conv_lstm_step(
    params: Params,
    state: ConvLSTMState,
    x: Array,
    *,
    filters: int,
    spatial_shape: tuple[int, int],
    forget_bias: float = 1.0,
) -> tuple[ConvLSTMState, Array]:
    """One ConvLSTM step; ``*`` is a 'same'-padded, stride-1 2-D convolution (cross-correlation).

    Gate order in ``Wx``, ``Wh`` and ``b`` is **i, f, g, o**, as in
    :func:`jaxrnn.lstm_cell` and Keras (Flax's ``ConvLSTMCell`` uses i, g, f, o)::

        z = x * Wx + h(t-1) * Wh + b                  split into zi, zf, zg, zo
        c(t) = sigmoid(zf + forget_bias) * c(t-1) + sigmoid(zi) * tanh(zg)
        h(t) = sigmoid(zo) * tanh(c(t))

    Args:
      params: ``{"Wx": [kh, kw, C, 4F], "Wh": [kh, kw, F, 4F], "b": [4F]}``.
      state: :class:`ConvLSTMState`, each ``[B, H, W, F]``.
      x: ``[B, H * W * C]`` (flattened frame) or ``[B, H, W, C]``.
      filters: F.
      spatial_shape: ``(H, W)``.
      forget_bias: added to the forget gate's pre-activation.

    Returns:
      ``(new_state, y)``: ``y = h(t)`` in the layout of ``x`` (``[B, H * W * F]`` or ``[B, H, W, F]``).
    """
    height, width = spatial_shape
    flat = x.ndim == 2
    image = x.reshape(x.shape[0], height, width, -1) if flat else x
    h_prev = state.h.astype(image.dtype)
    # one convolution over [x, h] with the kernels stacked on the input-channel axis costs less than two
    kernel = jnp.concatenate([params["Wx"], params["Wh"]], axis=2).astype(image.dtype)
    z = lax.conv_general_dilated(
        jnp.concatenate([image, h_prev], axis=-1),
        kernel,
        window_strides=(1, 1),
        padding="SAME",
        dimension_numbers=_DIMENSIONS,
    )
    z = z + params["b"].astype(z.dtype).reshape(1, 1, 1, 4 * filters)
    zi, zf, zg, zo = jnp.split(z, 4, axis=-1)
    c = jax.nn.sigmoid(zf + jnp.asarray(forget_bias, z.dtype)) * state.c.astype(z.dtype)
    c = c + jax.nn.sigmoid(zi) * jnp.tanh(zg)
    h = jax.nn.sigmoid(zo) * jnp.tanh(c)
    y = h.reshape(h.shape[0], -1) if flat else h
    return ConvLSTMState(c, h), y


def conv_lstm_cell(
    filters: int,
    spatial_shape: int | tuple[int, int],
    kernel_size: int | tuple[int, int] = 3,
    forget_bias: float = 1.0,
    *,
    initializer: Initializer | None = None,
    recurrent_initializer: Initializer | None = None,
) -> Cell:
    """A convolutional LSTM cell (Shi et al. 2015; Keras ``ConvLSTM2D``, Flax ``ConvLSTMCell``).

    The equations are :func:`conv_lstm_step`'s: the LSTM's ``x @ Wx`` and
    ``h @ Wh`` become 'same'-padded stride-1 convolutions, so the state keeps the
    frames' height and width. ``forget_bias=1.0`` matches Flax (which adds 1) and
    Keras's ``unit_forget_bias=True`` at initialisation (Keras stores it in ``b``).

    Args:
      filters: F, the channels of the state ``c`` and ``h``.
      spatial_shape: ``(H, W)`` of the frames (an int for square frames).
      kernel_size: ``(kh, kw)`` of both convolutions (an int for square kernels).
      forget_bias: added to the forget gate's pre-activation at every step.
      initializer: for ``Wx``; default Glorot uniform (fans include the kernel window, as Keras's).
      recurrent_initializer: for ``Wh``, per gate block; default orthogonal, as Keras's.

    Returns:
      A :class:`~jaxrnn.Cell` with params ``{"Wx": [kh, kw, C, 4F], "Wh": [kh, kw, F, 4F],
      "b": [4F]}``, state :class:`ConvLSTMState` of ``[B, H, W, F]`` maps (``state_size``
      holds their shapes ``(H, W, F)``), inputs ``[B, H * W * C]`` and outputs
      ``[B, H * W * F]`` (``init`` takes ``input_size = H * W * C``).

    Raises:
      ValueError: on non-positive sizes, here; from ``init`` when ``input_size`` is not a
        multiple of ``H * W``.

    >>> cell = conv_lstm_cell(4, (6, 5))
    >>> params = cell.init(jax.random.key(0), 6 * 5 * 2)
    >>> outputs, state = jaxrnn.dynamic_unroll(cell, params, jnp.ones((3, 7, 6 * 5 * 2)))
    >>> outputs.shape, state.h.shape
    ((3, 7, 120), (3, 6, 5, 4))
    """
    _positive_int("filters", filters)
    height, width = _pair("spatial_shape", spatial_shape)
    kh, kw = _pair("kernel_size", kernel_size)
    pixels = height * width
    shape = (height, width, filters)

    def init(key: Array, input_size: int, dtype: Any = jnp.float32) -> Params:
        _positive_int("input_size", input_size)
        if input_size % pixels:
            raise ValueError(
                f"input_size must be height * width * channels, a multiple of {height} * {width} = "
                f"{pixels}; got {input_size}"
            )
        channels = input_size // pixels
        kx, kh_key = jax.random.split(key)
        init_x = initializer or jax.nn.initializers.glorot_uniform()
        init_h = recurrent_initializer or jax.nn.initializers.orthogonal()
        blocks = [init_h(k, (kh, kw, filters, filters), dtype) for k in jax.random.split(kh_key, 4)]
        return {
            "Wx": init_x(kx, (kh, kw, channels, 4 * filters), dtype),
            "Wh": jnp.concatenate(blocks, axis=-1),
            "b": jnp.zeros((4 * filters,), dtype),
        }

    def zero_state(batch_size: int, dtype: Any = jnp.float32) -> ConvLSTMState:
        """Zeros ``[batch_size, H, W, F]`` for ``c`` and ``h``."""
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 0:
            raise ValueError(f"batch_size must be a non-negative int; got {batch_size!r}")
        return ConvLSTMState(jnp.zeros((batch_size, *shape), dtype), jnp.zeros((batch_size, *shape), dtype))

    def apply(params, state, x, *, key=None, training=False, time_step=0):
        return conv_lstm_step(
            params, state, x, filters=filters, spatial_shape=(height, width), forget_bias=forget_bias
        )

    return Cell(
        init=init,
        zero_state=zero_state,
        apply=apply,
        output_size=pixels * filters,
        # the state's structure holding each leaf's shape, as lstm_cell's LSTMState holds sizes
        state_size=ConvLSTMState(shape, shape),  # type: ignore[arg-type]
        input_size=lambda params: pixels * params["Wx"].shape[2],
    )
