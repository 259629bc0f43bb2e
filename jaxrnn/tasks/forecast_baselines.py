"""Forecasting baselines and the scoring they share with the forecaster: seasonal-naive, linear AR, MAE.

All functions take the series as a gap-free float64 array ``y`` ``[T]`` (missing
steps already interpolated, :func:`jaxrnn.data.timeseries_real.interpolate_missing`)
and forecast from *origins*: the forecast of ``y[t + h]`` made at origin ``t``
reads only ``y[: t + 1]``. Scores skip targets that were missing in the data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _check_y(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y, np.float64)
    if y.ndim != 1 or np.isnan(y).any():
        raise ValueError(
            f"y must be a rank-1 [time] array without NaN (interpolate first); got shape {y.shape}"
        )
    return y


def scored_origins(span: tuple[int, int], horizon: int, observed: np.ndarray, *, history: int) -> np.ndarray:
    """The origins ``t`` whose target ``t + horizon`` lies in ``span`` ``[start, stop)`` and was observed,
    and that have ``history`` steps before them (``t >= history``)."""
    start, stop = span
    t = np.arange(max(start - horizon, history), stop - horizon)
    return t[observed[t + horizon]]


def seasonal_naive(y: np.ndarray, origins: np.ndarray, horizon: int, period: int) -> np.ndarray:
    """``ŷ(t + h) = y(t + h − P) + y(t) − y(t − P)``: last season's shape, shifted to today's level.

    Args:
      y: ``[T]`` the series.
      origins: ``[N]`` ints ``t`` with ``t >= period``.
      horizon: h, ``1 <= h <= period`` (beyond one period the formula would read the future).
      period: P.

    Returns:
      ``[N]`` forecasts of ``y[origins + horizon]``.
    """
    y = _check_y(y)
    origins = np.asarray(origins)
    if not 1 <= horizon <= period:
        raise ValueError(f"horizon must be in [1, period={period}]; got {horizon}")
    if origins.size and origins.min() < period:
        raise ValueError(f"origins must be >= period={period}; got min {origins.min()}")
    return y[origins + horizon - period] + y[origins] - y[origins - period]


def lag_matrix(y: np.ndarray, origins: np.ndarray, order: int) -> np.ndarray:
    """``[N, order + 1]``: a 1 (intercept) then ``y[t], y[t − 1], …, y[t − order + 1]`` per origin."""
    y = _check_y(y)
    origins = np.asarray(origins)
    if origins.size and origins.min() < order - 1:
        raise ValueError(f"origins must be >= order - 1 = {order - 1}; got min {origins.min()}")
    lags = np.stack([y[origins - i] for i in range(order)], axis=1)
    return np.concatenate([np.ones((len(origins), 1)), lags], axis=1)


def fit_linear_ar(y: np.ndarray, origins: np.ndarray, horizon: int, order: int) -> np.ndarray:
    """Least-squares direct AR: coefficients ``[order + 1]`` minimising ``Σ (y[t+h] − lags(t)·w)²``.

    "Direct": a separate regression for each horizon, so ``h``-step forecasts do not feed
    forecasts back in.
    """
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"order must be a positive int; got {order!r}")
    y = _check_y(y)
    origins = np.asarray(origins)
    if len(origins) <= order + 1:
        raise ValueError(f"need more than order + 1 = {order + 1} origins to fit; got {len(origins)}")
    w, *_ = np.linalg.lstsq(lag_matrix(y, origins, order), y[origins + horizon], rcond=None)
    return w


def predict_linear_ar(y: np.ndarray, origins: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Forecasts ``lags(t) · w`` ``[N]`` of a :func:`fit_linear_ar` fit."""
    return lag_matrix(y, origins, len(weights) - 1) @ weights


def mae(prediction: np.ndarray, target: np.ndarray) -> float:
    """Mean absolute error of two ``[N]`` arrays."""
    prediction, target = np.asarray(prediction), np.asarray(target)
    if prediction.shape != target.shape or prediction.size == 0:
        raise ValueError(
            "prediction and target must have one equal, non-empty shape; "
            f"got {prediction.shape}, {target.shape}"
        )
    return float(np.mean(np.abs(prediction - target)))


def choose_ar_order(
    y: np.ndarray,
    train_origins: np.ndarray,
    val_origins: np.ndarray,
    horizon: int,
    orders: Sequence[int],
) -> tuple[int, dict[int, float]]:
    """Fit each order on the train origins and return ``(best order on validation MAE, {order: val MAE})``."""
    scores = {}
    for order in orders:
        w = fit_linear_ar(y, train_origins[train_origins >= order - 1], horizon, order)
        scores[order] = mae(predict_linear_ar(y, val_origins, w), y[val_origins + horizon])
    return min(scores, key=scores.__getitem__), scores
