"""A deep-LSTM forecaster for real measured series (Géron ch. 14, exercise 8).

Two stacked LSTMs read a window of per-step features and a dense head emits,
at every step ``t``, the ``H`` changes ``y(t + h) − y(t)`` for ``h = 1 … H`` at
once (a **direct** multi-horizon forecast, nothing fed back). Inputs are
translation-free (first and seasonal differences, the phase of the year, and
optionally the standardised level) so that a series with a trend (CO2) is not
asked to extrapolate a level it never saw. Missing steps are **linearly
interpolated in the inputs** and **masked out of every target**: the loss, the
validation score and the test MAE never compare with an interpolated value.

Training windows lie entirely in the training years (inputs and targets);
validation picks the epoch (early stopping) and any setting; the test years
are scored once, beside the seasonal-naive and linear-AR baselines.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn import train
from jaxrnn.cells import lstm_cell
from jaxrnn.data.timeseries_real import Series, Split
from jaxrnn.layers import dense, time_distributed
from jaxrnn.tasks import forecast_baselines as base
from jaxrnn.unroll import dynamic_unroll
from jaxrnn.wrappers import stack_cells

Array = jax.Array


class Features(NamedTuple):
    """Model-ready arrays of one series.

    ``inputs`` ``[T, F]`` float32; ``targets`` ``[T, H]`` float32, the scaled changes
    ``(y(t+h) − y(t) − offset[t, h]) / scale[h]``; ``observed`` ``[T, H]`` bool, False where
    ``t + h`` is past the end or was missing; ``offset`` ``[T, H]`` float64, the seasonal
    profile's change ``s(t+h) − s(t)`` (zeros without seasonal adjustment); ``scale`` ``[H]``
    float64; ``filled`` ``[T]`` float64, the interpolated series the forecasts start from.
    """

    inputs: np.ndarray
    targets: np.ndarray
    observed: np.ndarray
    offset: np.ndarray
    scale: np.ndarray
    filled: np.ndarray


def phase_of_year(series: Series) -> np.ndarray:
    """``[T]`` in ``[0, 1)``: the day of the year / 365.25 for weekly/monthly/quarterly series, else
    ``(t mod period) / period``."""
    if series.period in (4, 12, 52):
        days = (series.dates - series.dates.astype("datetime64[Y]")).astype(np.int64)
        return days / 365.25
    return (np.arange(len(series.dates)) % series.period) / series.period


def seasonal_profile(series: Series, filled: np.ndarray, train: tuple[int, int]) -> np.ndarray:
    """``[T]``: the mean seasonal cycle, measured on the training steps only.

    The series minus its centred moving average over one period (which removes trend and slow
    swings) is averaged per phase bin (``period`` bins of :func:`phase_of_year`) over the
    training years, then centred to mean zero; the result is read at every step's bin.
    """
    p = series.period
    bins = np.minimum((phase_of_year(series) * p).astype(np.int64), p - 1)
    kernel = np.ones(p + 1 - p % 2)
    kernel[[0, -1]] = 0.5 if p % 2 == 0 else 1.0  # a 2xP moving average for an even period
    smooth = np.convolve(filled, kernel / kernel.sum(), mode="same")
    half = len(kernel) // 2
    lo, hi = train[0] + half, train[1] - half
    detrended = filled[lo:hi] - smooth[lo:hi]
    profile = np.array(
        [detrended[bins[lo:hi] == b].mean() if np.any(bins[lo:hi] == b) else 0.0 for b in range(p)]
    )
    return (profile - profile.mean())[bins]


def make_features(
    series: Series,
    filled: np.ndarray,
    observed: np.ndarray,
    split: Split,
    horizon: int,
    *,
    level: bool,
    seasonal: bool = True,
    skip: np.ndarray | None = None,
) -> Features:
    """Inputs and targets, with every statistic measured on the training steps only.

    Args:
      series: the series (its ``dates`` and ``period``).
      filled: ``[T]`` the interpolated values; observed: ``[T]`` bool, False where missing.
      split: the train/val/test ranges (statistics come from ``split.train``).
      horizon: H.
      level: add the standardised (seasonally adjusted) level as an input: lets a stationary
        series revert to its mean; a trending one would see levels it never saw in training.
      seasonal: subtract the training years' :func:`seasonal_profile` from the inputs and add its
        change back to the forecast, so the network models only the non-seasonal part.
      skip: ``[T, H]`` or None: a linear model's forecast changes ``ŷ_h(t) − y(t)``
        (:func:`linear_ar_skip`; NaN where it has no forecast). When given they replace the
        seasonal change as ``offset``, so the network learns the **residual** of the linear
        forecast (a linear skip connection around the LSTM); targets where it is NaN are masked.
    """
    p = series.period
    lo, hi = split.train
    season = seasonal_profile(series, filled, split.train) if seasonal else np.zeros_like(filled)
    z = filled - season
    d1 = np.concatenate([[0.0], np.diff(z)])
    dp = np.concatenate([np.zeros(p), filled[p:] - filled[:-p]])
    cols = [d1 / np.std(d1[lo + 1 : hi]), dp / np.std(dp[max(lo, p) : hi])]
    angle = 2 * np.pi * phase_of_year(series)
    cols += [np.sin(angle), np.cos(angle)]
    if level:
        cols.append((z - z[lo:hi].mean()) / z[lo:hi].std())
    T = len(filled)
    changes = np.zeros((T, horizon))
    offset = np.zeros((T, horizon))
    valid = np.zeros((T, horizon), bool)
    for h in range(1, horizon + 1):
        changes[: T - h, h - 1] = filled[h:] - filled[:-h]
        offset[: T - h, h - 1] = season[h:] - season[:-h]
        valid[: T - h, h - 1] = observed[h:]
    if skip is not None:
        skip = np.asarray(skip, np.float64)
        if skip.shape != (T, horizon):
            raise ValueError(f"skip must have shape (T, H) = {(T, horizon)}; got {skip.shape}")
        valid &= np.isfinite(skip)
        offset = skip
    residual = changes - offset
    # each horizon scaled to unit spread, so the loss weighs h = 1 and h = H alike
    scale = np.array([np.nanstd(residual[lo : hi - h, h - 1]) for h in range(1, horizon + 1)])
    residual, offset = np.nan_to_num(residual), np.nan_to_num(offset)
    return Features(
        np.stack(cols, axis=1).astype(np.float32),
        (residual / scale).astype(np.float32),
        valid,
        offset,
        scale,
        filled,
    )


def linear_ar_skip(
    y: np.ndarray,
    observed: np.ndarray,
    split: Split,
    horizon: int,
    orders: tuple[int, ...] | list[int],
    *,
    history: int,
) -> tuple[np.ndarray, list[int]]:
    """The direct linear AR's forecast changes at every step, for :func:`make_features`'s ``skip``.

    For each ``h = 1 … H`` an AR with intercept (:func:`forecast_baselines.fit_linear_ar`) is
    fitted on the training origins, its order chosen among ``orders`` on the validation origins
    (the same choice as the linear-AR baseline); the test years are never read.

    Args:
      y: ``[T]`` the interpolated series; observed: ``[T]`` bool, False where missing.
      split: the train/val/test ranges.
      horizon: H.
      orders: the candidate AR orders.
      history: validation origins need this many earlier steps (as the baselines' scoring).

    Returns:
      ``(changes [T, H], orders [H])``: ``ŷ_h(t) − y(t)``, NaN where ``t < order − 1`` or
      ``t + h`` is past the end; and the order chosen for each horizon.
    """
    T = len(y)
    changes = np.full((T, horizon), np.nan)
    chosen = []
    for h in range(1, horizon + 1):
        train = base.scored_origins(split.train, h, observed, history=0)
        val = base.scored_origins(split.val, h, observed, history=history)
        order, _ = base.choose_ar_order(y, train, val, h, orders)
        w = base.fit_linear_ar(y, train[train >= order - 1], h, order)
        t = np.arange(order - 1, T - h)
        changes[t, h - 1] = base.predict_linear_ar(y, t, w) - y[t]
        chosen.append(order)
    return changes, chosen


def shrink_toward(
    forecast: np.ndarray, anchor: np.ndarray, truth: np.ndarray, grid: tuple[float, ...] | list[float]
) -> tuple[float, dict[float, float]]:
    """The factor ``a`` in ``grid`` whose blend ``anchor + a · (forecast − anchor)`` has the least MAE.

    With ``anchor`` the linear AR's forecast and ``forecast`` the LSTM-with-skip's, ``a`` scales
    the residual the network adds (0: the AR alone; 1: the full network); call it on the
    validation years only. Ties go to the smaller factor (the simpler forecast).

    Args:
      forecast, anchor, truth: ``[N]`` arrays.
      grid: the candidate factors.

    Returns:
      ``(a, {factor: MAE})``.
    """
    forecast, anchor, truth = (np.asarray(a, np.float64) for a in (forecast, anchor, truth))
    if not forecast.shape == anchor.shape == truth.shape or forecast.ndim != 1:
        raise ValueError(
            f"forecast, anchor and truth must be [N] arrays of one shape; got "
            f"{forecast.shape}, {anchor.shape}, {truth.shape}"
        )
    if len(grid) == 0:
        raise ValueError("grid must hold at least one factor; got none")
    by_factor = {float(a): float(np.mean(np.abs(anchor + a * (forecast - anchor) - truth))) for a in grid}
    best = min(sorted(by_factor), key=lambda a: by_factor[a])
    return best, by_factor


class Forecaster(NamedTuple):
    """``init(key, num_features) -> params``; ``apply(params, inputs [B, W, F]) -> [B, W, H]``."""

    init: Callable[..., Any]
    apply: Callable[..., Array]
    horizon: int


def deep_lstm_forecaster(num_units: int = 32, num_layers: int = 2, horizon: int = 12) -> Forecaster:
    """``num_layers`` stacked LSTMs of ``num_units`` and a dense head to ``horizon`` outputs per step."""
    cell = stack_cells([lstm_cell(num_units) for _ in range(num_layers)])
    head = time_distributed(dense(horizon))

    def init(key: Array, num_features: int) -> dict:
        k1, k2 = jax.random.split(key)
        return {"rnn": cell.init(k1, num_features), "head": head.init(k2, num_units)}

    def apply(params: dict, inputs: Array) -> Array:
        outputs, _ = dynamic_unroll(cell, params["rnn"], inputs)
        return head.apply(params["head"], outputs)

    return Forecaster(init, apply, horizon)


def windows(features: Features, ends: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The windows of ``window`` steps ending at each of ``ends`` ``[N]`` (inclusive).

    Returns:
      ``(inputs [N, W, F], targets [N, W, H], observed [N, W, H])``.
    """
    ends = np.asarray(ends)
    if ends.size and ends.min() < window - 1:
        raise ValueError(f"ends must be >= window - 1 = {window - 1}; got min {ends.min()}")
    index = ends[:, None] + np.arange(1 - window, 1)[None, :]
    return features.inputs[index], features.targets[index], features.observed[index]


def train_window_ends(split: Split, window: int, horizon: int) -> np.ndarray:
    """Ends ``e`` of every training window: its inputs ``[e − W + 1, e]`` and all its targets (up to
    ``e + H``) lie in the training years, so validation and test values are never read in training."""
    lo, hi = split.train
    ends = np.arange(lo + window - 1, hi - horizon)
    if ends.size == 0:
        raise ValueError(
            f"the training range {split.train} is too short for window={window}, horizon={horizon}"
        )
    return ends


def masked_mae_loss(model: Forecaster, burn_in: int) -> train.LossFn:
    """``loss_fn(params, (inputs, targets, observed), key)``: the MAE (scaled units) over the steps
    after ``burn_in`` of each window, counting only observed targets."""

    def loss_fn(params: Any, batch: tuple, key: Array) -> tuple[Array, dict]:
        inputs, targets, observed = batch
        pred = model.apply(params, inputs)[:, burn_in:]
        weight = observed[:, burn_in:].astype(pred.dtype)
        loss = jnp.sum(jnp.abs(pred - targets[:, burn_in:]) * weight) / jnp.maximum(jnp.sum(weight), 1.0)
        return loss, {}

    return loss_fn


class FitResult(NamedTuple):
    """The best-on-validation params, their epoch and validation score, and the training history.

    ``by_horizon`` maps each horizon of ``fit_forecaster(track=...)`` to ``(params, epoch, score)``:
    the epoch best on validation at that horizon alone (per-horizon early stopping).
    """

    params: Any
    best_epoch: int
    best_val: float
    history: dict
    by_horizon: dict


def fit_forecaster(
    model: Forecaster,
    features: Features,
    split: Split,
    *,
    window: int,
    burn_in: int,
    epochs: int,
    batch_size: int = 64,
    learning_rate: float = 3e-3,
    clip_norm: float | None = 1.0,
    seed: int = 0,
    quiet: bool = True,
    track: tuple[int, ...] = (),
) -> FitResult:
    """Train with :func:`jaxrnn.fit` on shuffled training windows; keep the epoch best on validation.

    The validation score is the mean absolute error, in scaled units over all horizons, of the
    forecasts made at the last step of each window whose targets fall in the validation years.

    Args:
      model: a :func:`deep_lstm_forecaster`.
      features: from :func:`make_features`.
      split: the train/val/test index ranges; only ``train`` and ``val`` are read.
      window: W, steps per training window (and per forecast's input).
      burn_in: the first steps of each window left out of the loss, so that the state has warmed up.
      epochs: passes over the training windows (shuffled by ``seed`` and the epoch).
      batch_size: windows per step (fewer when there are fewer windows).
      learning_rate, clip_norm: of Adam (:func:`jaxrnn.make_optimizer`).
      seed: of the initial params, the shuffling and the step keys.
      quiet: no progress bar.
      track: horizons ``h`` (1-based) whose own best epoch on validation (scored at ``h`` alone)
        is also kept, in ``FitResult.by_horizon``.

    Returns:
      A :class:`FitResult`; its ``params`` are None when no epoch had a finite validation score.
    """
    if not 0 <= burn_in < window:
        raise ValueError(f"burn_in must be in [0, window={window}); got {burn_in}")
    if any(not 1 <= h <= model.horizon for h in track):
        raise ValueError(f"track must hold horizons in [1, {model.horizon}]; got {track}")
    ends = train_window_ends(split, window, model.horizon)
    batch_size = min(batch_size, len(ends))
    data = windows(features, ends, window)
    val_ends = np.arange(max(split.val[0] - model.horizon, window - 1), split.val[1])
    vx, vt, vo = windows(features, val_ends, window)
    in_val = (val_ends[:, None] + np.arange(1, model.horizon + 1)) < split.val[1]
    val_batch = (jnp.asarray(vx), vt[:, -1], vo[:, -1] & in_val)

    def batches(epoch: int):
        order = np.random.default_rng([seed, epoch]).permutation(len(ends))
        for i in range(0, len(order) - batch_size + 1, batch_size):
            take = order[i : i + batch_size]
            yield tuple(jnp.asarray(a[take]) for a in data)

    predict_last = jax.jit(lambda params, x: model.apply(params, x)[:, -1])
    best: dict[str, Any] = {"val": np.inf, "params": None, "epoch": 0, "count": 0}
    by_horizon: dict[int, tuple[Any, int, float]] = {h: (None, 0, np.inf) for h in track}

    def eval_fn(params: Any, batch: tuple) -> dict:
        # fit calls this once per epoch: remember the params best on validation (early stopping)
        x, t, o = batch
        err = np.abs(np.asarray(predict_last(params, x)) - t)
        score = float(err[o].mean())
        best["count"] += 1
        if score < best["val"]:
            best.update(val=score, params=params, epoch=best["count"])
        scores = {"val_mae": score}
        for h in track:
            scores[f"val_mae_h{h}"] = at_h = float(err[:, h - 1][o[:, h - 1]].mean())
            if at_h < by_horizon[h][2]:
                by_horizon[h] = (params, best["count"], at_h)
        return scores

    params = model.init(jax.random.key(seed), features.inputs.shape[1])
    _, history = train.fit(
        masked_mae_loss(model, burn_in),
        params,
        batches,
        key=jax.random.key(seed + 1),
        epochs=epochs,
        optimizer=train.make_optimizer(learning_rate, clip_norm=clip_norm),
        eval_fn=eval_fn,
        eval_batches=lambda: [val_batch],
        quiet=quiet,
    )
    return FitResult(best["params"], int(best["epoch"]), float(best["val"]), history, by_horizon)


def predict(
    model: Forecaster, params: Any, features: Features, origins: np.ndarray, window: int
) -> np.ndarray:
    """Forecasts ``[N, H]`` of ``y(t + h)`` at each origin ``t`` (``origins`` ``[N]``), in data units."""
    x = windows(features, origins, window)[0]
    apply = jax.jit(model.apply)
    out = np.concatenate(
        [np.asarray(apply(params, jnp.asarray(x[i : i + 512])))[:, -1] for i in range(0, len(x), 512)]
    )
    return features.filled[origins, None] + features.offset[origins] + out * features.scale[None, :]
