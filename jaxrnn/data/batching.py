"""Epoch-seeded shuffled minibatches, so the same epoch always gives the same batches (exact resume)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np


def shuffled_batches(
    arrays: tuple[np.ndarray, ...], batch_size: int, *, seed: int = 0, drop_remainder: bool = True
) -> Callable[[int], Iterator[tuple[np.ndarray, ...]]]:
    """A ``batches(epoch)`` function over aligned arrays, shuffled with ``(seed, epoch)``.

    Args:
      arrays: arrays sharing their first axis ``[N, ...]``.
      batch_size: B.
      seed: base seed of the shuffles.
      drop_remainder: drop the last, smaller batch (keeps shapes static: one compile).

    Returns:
      ``batches(epoch)`` yielding tuples of ``[B, ...]`` arrays.
    """
    n = len(arrays[0])
    for i, a in enumerate(arrays):
        if len(a) != n:
            raise ValueError(
                f"arrays must share their first axis; arrays[0] has {n}, arrays[{i}] has {len(a)}"
            )
    if not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive int; got {batch_size!r}")

    def batches(epoch: int) -> Iterator[tuple[np.ndarray, ...]]:
        order = np.random.default_rng([seed, epoch]).permutation(n)
        stop = n - n % batch_size if drop_remainder else n
        for start in range(0, stop, batch_size):
            idx = order[start : start + batch_size]
            yield tuple(a[idx] for a in arrays)

    return batches


def sequential_batches(arrays: tuple[np.ndarray, ...], batch_size: int) -> Iterator[tuple[np.ndarray, ...]]:
    """Batches in order, the last one possibly smaller (for evaluation)."""
    n = len(arrays[0])
    for start in range(0, n, batch_size):
        yield tuple(a[start : start + batch_size] for a in arrays)
