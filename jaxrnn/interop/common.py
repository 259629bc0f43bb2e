"""Helpers shared by the interop converters: array coercion and shape checks."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np


def to_numpy(value: Any, name: str) -> np.ndarray:
    """Convert a torch tensor, NumPy array or JAX array to a NumPy array."""
    if hasattr(value, "detach"):  # a torch tensor, without importing torch
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except Exception as err:  # pragma: no cover - message only
        raise TypeError(f"{name} must be an array; got {type(value).__name__}") from err


def check_shape(array: np.ndarray, expected: tuple[int, ...], name: str) -> None:
    """Raise a ValueError naming ``name`` when ``array`` has the wrong shape."""
    if tuple(array.shape) != tuple(expected):
        raise ValueError(f"{name} must have shape {tuple(expected)}; got {tuple(array.shape)}")


def as_jax(array: np.ndarray, dtype: Any) -> jnp.ndarray:
    """Make a JAX array, in ``dtype`` if given, else in the array's own dtype."""
    return jnp.asarray(array, dtype=dtype)


KINDS = ("lstm", "gru", "rnn_tanh", "rnn_relu")


def check_kind(kind: Any) -> str:
    """Normalise and validate the ``kind`` argument."""
    if not isinstance(kind, str) or kind.lower() not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
    return kind.lower()
