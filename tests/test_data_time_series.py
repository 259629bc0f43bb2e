"""Time-series windows: values from the book's formula, targets one step ahead."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jaxrnn.data import time_series


def test_windows_follow_the_formula_and_shift():
    x, y = time_series.next_batch(np.random.default_rng(0), 4, 20)
    assert x.shape == y.shape == (4, 20, 1) and x.dtype == np.float32
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
    # recover each window's start by brute force on the 0.1 grid of the book and check by math.sin
    for row in x[:, :, 0]:
        grid = np.arange(0, 28.0, 0.001)
        f = lambda t: t * math.sin(t) / 3 + 2 * math.sin(5 * t)
        t0 = grid[
            np.argmin(
                [abs(f(t) - row[0]) + abs(f(t + 0.1) - row[1]) + abs(f(t + 0.2) - row[2]) for t in grid]
            )
        ]
        np.testing.assert_allclose(row, [f(t0 + 0.1 * k) for k in range(20)], atol=0.02)


def test_bad_input():
    with pytest.raises(ValueError, match="batch_size must be a positive int; got 0"):
        time_series.next_batch(np.random.default_rng(0), 0)
    with pytest.raises(ValueError, match="n_steps must be a positive int; got -1"):
        time_series.next_batch(np.random.default_rng(0), 2, -1)
