"""The book's time series ``t·sin(t)/3 + 2·sin(5t)`` and random windows shifted one step ahead.

Training windows come from ``TRAIN_RANGE`` and held-out windows from ``HELD_OUT_RANGE``, two time ranges
that do not overlap, so a held-out window never shares a value with a training window.
"""

from __future__ import annotations

import numpy as np

T_MIN, T_MAX, RESOLUTION = 0.0, 30.0, 0.1
TRAIN_RANGE = (0.0, 25.0)
HELD_OUT_RANGE = (25.0, 30.0)


def time_series(t: np.ndarray) -> np.ndarray:
    """``t * sin(t) / 3 + 2 * sin(5 t)`` (Géron ch. 14, "Training to Predict Time Series")."""
    return t * np.sin(t) / 3 + 2 * np.sin(t * 5)


def next_batch(
    rng: np.random.Generator,
    batch_size: int,
    n_steps: int = 20,
    *,
    t_range: tuple[float, float] = (T_MIN, T_MAX),
) -> tuple[np.ndarray, np.ndarray]:
    """Random windows of ``n_steps + 1`` values at resolution 0.1 inside ``t_range``, targets one step ahead.

    Args:
      rng: a NumPy generator.
      batch_size: B.
      n_steps: T.
      t_range: ``(start, stop)``: every value of every window has ``start <= t <= stop``
        (``TRAIN_RANGE`` for training, ``HELD_OUT_RANGE`` for evaluation; the book uses ``[0, 30]``).

    Returns:
      ``(inputs, targets)``, each ``[B, T, 1]`` float32; ``targets[:, t] = inputs[:, t + 1]``.
    """
    if not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive int; got {batch_size!r}")
    if not isinstance(n_steps, int) or n_steps <= 0:
        raise ValueError(f"n_steps must be a positive int; got {n_steps!r}")
    start, stop = t_range
    span = stop - start - n_steps * RESOLUTION
    if span < 0:
        raise ValueError(
            f"t_range must span at least n_steps * {RESOLUTION} = {n_steps * RESOLUTION:g}; got {t_range!r}"
        )
    t0 = start + rng.random((batch_size, 1)) * span
    ts = t0 + np.arange(0.0, n_steps + 1) * RESOLUTION
    ys = time_series(ts).astype(np.float32)
    return ys[:, :-1, None], ys[:, 1:, None]
