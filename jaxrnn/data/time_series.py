"""The book's time series ``t·sin(t)/3 + 2·sin(5t)`` and random training windows shifted one step ahead."""

from __future__ import annotations

import numpy as np

T_MIN, T_MAX, RESOLUTION = 0.0, 30.0, 0.1


def time_series(t: np.ndarray) -> np.ndarray:
    """``t * sin(t) / 3 + 2 * sin(5 t)`` (Géron ch. 14, "Training to Predict Time Series")."""
    return t * np.sin(t) / 3 + 2 * np.sin(t * 5)


def next_batch(rng: np.random.Generator, batch_size: int, n_steps: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Random windows of ``n_steps`` from ``[0, 30]`` at resolution 0.1, targets one step ahead.

    Args:
      rng: a NumPy generator.
      batch_size: B.
      n_steps: T.

    Returns:
      ``(inputs, targets)``, each ``[B, T, 1]`` float32; ``targets[:, t] = inputs[:, t + 1]``.
    """
    if not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive int; got {batch_size!r}")
    if not isinstance(n_steps, int) or n_steps <= 0:
        raise ValueError(f"n_steps must be a positive int; got {n_steps!r}")
    t0 = rng.random((batch_size, 1)) * (T_MAX - T_MIN - n_steps * RESOLUTION)
    ts = t0 + np.arange(0.0, n_steps + 1) * RESOLUTION
    ys = time_series(ts).astype(np.float32)
    return ys[:, :-1, None], ys[:, 1:, None]
