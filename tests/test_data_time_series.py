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


def test_windows_stay_inside_their_time_range_and_the_ranges_do_not_meet():
    assert time_series.TRAIN_RANGE[1] <= time_series.HELD_OUT_RANGE[0]
    for t_range in (time_series.TRAIN_RANGE, time_series.HELD_OUT_RANGE):
        x, y = time_series.next_batch(np.random.default_rng(1), 200, 20, t_range=t_range)
        # every window is the formula on a 0.1 grid inside the range: find t0 on a fine grid of the range
        grid = np.arange(t_range[0], t_range[1] - 2.0 + 1e-9, 0.0005)
        f = lambda t: t * np.sin(t) / 3 + 2 * np.sin(5 * t)
        windows = np.stack([f(grid + 0.1 * k) for k in range(21)], axis=1)
        for row_x, row_y in zip(x[:, :, 0], y[:, :, 0]):
            full = np.concatenate([row_x, row_y[-1:]])
            assert np.abs(windows - full).max(axis=1).min() < 0.02


def test_bad_time_range():
    with pytest.raises(ValueError, match=r"t_range must span at least n_steps \* 0.1 = 2; got \(0.0, 1.0\)"):
        time_series.next_batch(np.random.default_rng(0), 2, 20, t_range=(0.0, 1.0))
