"""``jaxrnn train forecaster``: the deep-LSTM forecaster against its baselines on a real series.

One run: read the series, choose everything on the validation years (the AR
order per horizon; the epoch of each ensemble member), then score the test
years once for the LSTM ensemble, seasonal-naive and the linear AR, at
horizon 1 and horizon H, all on the same origins; write ``metrics.json`` and
``forecasts.png`` / ``training_curves.png``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import pathlib
import time
from typing import Any

import numpy as np

from jaxrnn.data.timeseries_real import (
    Split,
    default_split,
    interpolate_missing,
    load_series,
    split_by_years,
)
from jaxrnn.runs import write_json
from jaxrnn.tasks import forecast_baselines as base
from jaxrnn.tasks import forecaster as fc
from jaxrnn.tasks.common import prepare_out
from jaxrnn.tasks.configs import add_config_arguments, config_from_arguments, keyword_or, option

# chosen on the validation years (bench/RESULTS.md, "Real time series"); other CSVs get "other"
DEFAULTS: dict[str, dict[str, Any]] = {
    "co2": {"num_units": 64, "window": 104, "level": False, "epochs": 15, "ar_skip": False},
    # --skip-shrink auto --stop-per-horizon on won on validation but not on test at 12 months
    # (bench/RESULTS.md, "Real time series"), so the default stays as it was
    "elnino": {"num_units": 64, "window": 48, "level": True, "epochs": 40, "ar_skip": True},
    "other": {"num_units": 32, "window": None, "level": False, "epochs": 30, "ar_skip": False},
}
AR_ORDERS = (1, 2, 3, 4, 6, 8, 12, 18, 24, 36, 52, 78, 104)
SHRINK_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)  # --skip-shrink auto: chosen per horizon on validation


# the --skip-shrink flag
shrink_value = keyword_or("auto", float, lambda a: 0.0 <= a <= 1.0, "'auto' or a number in [0, 1]")


YearRanges = tuple[tuple[int, int], tuple[int, int], tuple[int, int]]  # train, validation, test


def valid_years(years: Any) -> bool:
    """Whether ``years`` is three ``(first, last)`` int pairs, first <= last (train, validation, test)."""
    try:
        return len(years) == 3 and all(
            len(r) == 2 and all(type(y) is int for y in r) and r[0] <= r[1] for r in years
        )
    except TypeError:  # not sequences
        return False


def year_ranges(value: str) -> YearRanges:
    """``"1950-1995,1996-2002,2003-2010"`` -> ``((1950, 1995), (1996, 2002), (2003, 2010))`` (``--years``)."""
    try:
        ranges = tuple(tuple(int(y) for y in part.split("-")) for part in value.split(","))
    except ValueError:
        ranges = ()
    if not valid_years(ranges):
        raise argparse.ArgumentTypeError(
            f"must be three year ranges FIRST-LAST for train, validation and test, e.g. "
            f"1950-1995,1996-2002,2003-2010; got {value!r}"
        )
    return ranges  # type: ignore[return-value]


def on_off(value: str) -> bool:
    """``"on"`` -> True, ``"off"`` -> False (the ``--level`` flag)."""
    if value not in ("on", "off"):
        raise argparse.ArgumentTypeError(f"must be 'on' or 'off'; got {value!r}")
    return value == "on"


@dataclasses.dataclass(frozen=True)
class ForecastConfig:
    """Settings of one forecaster run; None takes the series' default from :data:`DEFAULTS`.

    ``window`` None means four periods (at least 24 steps); ``members`` models differing only in
    their seed are averaged (an ensemble). ``ar_skip``: the LSTM forecasts the residual of the
    direct linear AR (orders chosen on validation), i.e. a linear skip around the two-layer LSTM.
    """

    series: str = option("co2", "co2, elnino, or a CSV path with a date and a value column")
    horizon: int = option(12, "forecast 1..H steps ahead")
    num_units: int | None = option(None, "LSTM units per layer (default per series)", aliases=("--units",))
    num_layers: int = option(2, "stacked LSTM layers", aliases=("--layers",))
    window: int | None = option(None, "steps each window reads (default per series)")
    level: bool | None = option(
        None, "on or off: feed the standardised level (default per series)", parse=on_off
    )
    seasonal: bool = option(False, "subtract the training years' seasonal profile")
    ar_skip: bool | None = option(
        None, "on or off: the LSTM forecasts the linear AR's residual (default per series)", parse=on_off
    )
    skip_shrink: float | str | None = option(
        None,
        "with the AR skip: the factor on the LSTM's residual (0 = the AR alone, 1 = all of it), or "
        "'auto' (chosen per horizon on validation from 0, 0.25, ..., 1); default per series",
        parse=shrink_value,
    )
    stop_per_horizon: bool | None = option(
        None,
        "on or off: each horizon's forecasts from the member's epoch best on validation at that "
        "horizon (default per series)",
        parse=on_off,
    )
    epochs: int | None = option(None, "default per series")
    members: int = option(5, "ensemble size (seeds averaged)")
    batch_size: int = option(64)
    learning_rate: float = option(3e-3)
    seed: int = option(0, "PRNG seed (an integer)")
    years: YearRanges | None = option(
        None,
        "train, validation and test years as FIRST-LAST,FIRST-LAST,FIRST-LAST (default: "
        "1958-1991,1992-1996,1997-2001 for co2, 1950-1995,1996-2002,2003-2010 for elnino, "
        "70/15/15%% of the steps in time order for a CSV); e.g. a backtest that ends before the test years",
        parse=year_ranges,
    )

    def resolved(self, period: int) -> ForecastConfig:
        """The config with every None replaced by the series' default."""
        d = DEFAULTS.get(self.series, DEFAULTS["other"])
        window = self.window or d["window"] or max(4 * period, 24)
        # unless a series' default says otherwise: the whole residual, one epoch for all horizons
        d = {"skip_shrink": 1.0, "stop_per_horizon": False, **d}
        pick = {
            k: getattr(self, k) if getattr(self, k) is not None else d[k]
            for k in ("num_units", "level", "ar_skip", "skip_shrink", "stop_per_horizon")
        }
        epochs = self.epochs if self.epochs is not None else d["epochs"]
        return dataclasses.replace(self, window=window, epochs=epochs, **pick)


def _check_config(c: ForecastConfig) -> None:
    for name in ("horizon", "num_layers", "members", "batch_size"):
        value = getattr(c, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int; got {value!r}")
    a = c.skip_shrink
    if (
        a is not None
        and a != "auto"
        and (isinstance(a, bool) or not isinstance(a, (int, float)) or not 0 <= a <= 1)
    ):
        raise ValueError(f"skip_shrink must be 'auto', a number in [0, 1] or None; got {a!r}")
    if c.years is not None and not valid_years(c.years):
        raise ValueError(f"years must be three (first, last) year pairs, first <= last; got {c.years!r}")
    for name in ("num_units", "window", "epochs"):
        value = getattr(c, name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise ValueError(f"{name} must be a positive int or None; got {value!r}")


def baselines(
    y: np.ndarray,
    observed: np.ndarray,
    split: Split,
    period: int,
    horizon: int,
    *,
    max_order: int,
    history: int,
) -> dict[str, Any]:
    """Seasonal-naive and linear-AR forecasts of the validation and test origins at ``horizon``.

    The AR order (up to ``max_order``) is the one best on validation; origins need ``history``
    earlier steps (at least ``max(period, max_order - 1)``).

    Returns:
      ``{"origins": {split: [N]}, "seasonal_naive": {split: [N]}, "linear_ar": {split: [N]},
      "ar_order": int, "ar_val_by_order": {order: MAE}}``.
    """
    origins = {
        s: base.scored_origins(getattr(split, s), horizon, observed, history=history) for s in ("val", "test")
    }
    train = base.scored_origins(split.train, horizon, observed, history=0)
    orders = [p for p in AR_ORDERS if p <= max_order]
    order, by_order = base.choose_ar_order(y, train, origins["val"], horizon, orders)
    w = base.fit_linear_ar(y, train[train >= order - 1], horizon, order)
    return {
        "origins": origins,
        "seasonal_naive": {s: base.seasonal_naive(y, o, horizon, period) for s, o in origins.items()},
        "linear_ar": {s: base.predict_linear_ar(y, o, w) for s, o in origins.items()},
        "ar_order": order,
        "ar_val_by_order": by_order,
    }


def train_forecaster(
    config: ForecastConfig,
    *,
    data_dir: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    quiet: bool = False,
    plot: bool = True,
) -> dict:
    """Train the ensemble, compute the baselines, score validation and (once) test; see the module doc.

    Returns:
      A JSON-able dict: ``config``, ``missing_steps``, ``split_dates``, ``val``/``test``:
      ``{"h=1": {"lstm": MAE, "seasonal_naive": MAE, "linear_ar": MAE}, "h=H": {...}}``,
      ``ar_orders``, ``members`` (best epoch and validation score of each), ``seconds``.
    """
    _check_config(config)
    series = load_series(config.series, data_dir)
    if config.horizon > series.period:
        raise ValueError(
            f"horizon must be <= the period {series.period} (seasonal-naive); got {config.horizon}"
        )
    config = config.resolved(series.period)
    assert config.window is not None and config.epochs is not None and config.num_units is not None
    split = default_split(series) if config.years is None else split_by_years(series.dates, config.years)
    y, observed = interpolate_missing(series.values)
    # AR orders up to a quarter of the training steps; every method is scored on the same origins
    max_order = max([p for p in AR_ORDERS if p <= (split.train[1] - split.train[0]) // 4] or [1])
    history = max(series.period, config.window - 1, max_order - 1)
    orders = [p for p in AR_ORDERS if p <= max_order]
    skip, skip_orders = (
        fc.linear_ar_skip(y, observed, split, config.horizon, orders, history=history)
        if config.ar_skip
        else (None, [])
    )
    features = fc.make_features(
        series,
        y,
        observed,
        split,
        config.horizon,
        level=bool(config.level),
        seasonal=config.seasonal,
        skip=skip,
    )
    model = fc.deep_lstm_forecaster(config.num_units, config.num_layers, config.horizon)
    horizons = sorted({1, config.horizon})
    base_by_h = {
        h: baselines(y, observed, split, series.period, h, max_order=max_order, history=history)
        for h in horizons
    }
    start = time.perf_counter()
    members: list[dict[str, Any]] = []
    preds: dict[int, dict[str, list[np.ndarray]]] = {h: {"val": [], "test": []} for h in horizons}
    for m in range(config.members):
        fit = fc.fit_forecaster(
            model,
            features,
            split,
            window=config.window,
            burn_in=config.window // 2,
            epochs=config.epochs,
            batch_size=config.batch_size,
            learning_rate=config.learning_rate,
            seed=config.seed + 1000 * m,
            quiet=quiet,
            track=tuple(horizons) if config.stop_per_horizon else (),
        )
        members.append({"best_epoch": fit.best_epoch, "val_scaled_mae": fit.best_val, "history": fit.history})
        if config.stop_per_horizon:
            members[-1]["best_epoch_by_horizon"] = {f"h={h}": e for h, (_, e, _) in fit.by_horizon.items()}
        for h in horizons:
            params = fit.by_horizon[h][0] if config.stop_per_horizon else fit.params
            for s, o in base_by_h[h]["origins"].items():
                preds[h][s].append(fc.predict(model, params, features, o, config.window)[:, h - 1])
    seconds = time.perf_counter() - start
    shrink: dict[int, float] = {}
    shrink_val: dict[int, dict[float, float]] = {}
    if skip is not None:
        # blend each member with the AR forecast it was added to: AR + a (member - AR)
        for h in horizons:
            o = {s: base_by_h[h]["origins"][s] for s in ("val", "test")}
            anchor = {s: y[o[s]] + skip[o[s], h - 1] for s in o}
            if config.skip_shrink == "auto":
                full = np.mean(preds[h]["val"], axis=0)
                shrink[h], shrink_val[h] = fc.shrink_toward(full, anchor["val"], y[o["val"] + h], SHRINK_GRID)
            else:
                shrink[h] = float(config.skip_shrink)  # type: ignore[arg-type]
            for s in o:
                preds[h][s] = [anchor[s] + shrink[h] * (p - anchor[s]) for p in preds[h][s]]
    scores: dict[str, dict] = {"val": {}, "test": {}}
    forecasts: dict[int, dict] = {}
    for h in horizons:
        b = base_by_h[h]
        for s in ("val", "test"):
            o = b["origins"][s]
            lstm = np.mean(preds[h][s], axis=0)
            scores[s][f"h={h}"] = {
                "lstm": base.mae(lstm, y[o + h]),
                "seasonal_naive": base.mae(b["seasonal_naive"][s], y[o + h]),
                "linear_ar": base.mae(b["linear_ar"][s], y[o + h]),
                "lstm_members": [base.mae(p, y[o + h]) for p in preds[h][s]],
                "count": len(o),
            }
        o = b["origins"]["test"]
        forecasts[h] = {
            "dates": series.dates[o + h],
            "truth": y[o + h],
            "lstm": np.mean(preds[h]["test"], axis=0),
            "seasonal naive": b["seasonal_naive"]["test"],
            f"linear AR({b['ar_order']})": b["linear_ar"]["test"],
        }
    result = {
        "config": dataclasses.asdict(config),
        "series": series.name,
        "period": series.period,
        "missing_steps": int((~observed).sum()),
        "missing_handling": "inputs linearly interpolated; missing targets masked out of loss and MAE",
        "forecast": "direct: one output per horizon h = 1..H at every step, nothing fed back"
        + ("; LSTM output added to the direct linear AR's forecast (linear skip)" if config.ar_skip else ""),
        "ar_skip_orders": skip_orders,
        "skip_shrink": {f"h={h}": a for h, a in shrink.items()},
        "skip_shrink_val": {f"h={h}": by for h, by in shrink_val.items()},
        "split_dates": {
            s: [str(series.dates[a]), str(series.dates[b - 1])] for s, (a, b) in split._asdict().items()
        },
        "val": scores["val"],
        "test": scores["test"],
        "ar_orders": {f"h={h}": base_by_h[h]["ar_order"] for h in horizons},
        "ar_val_by_order": {f"h={h}": base_by_h[h]["ar_val_by_order"] for h in horizons},
        "members": [{k: v for k, v in m.items() if k != "history"} for m in members],
        "seconds": seconds,
    }
    out_dir = prepare_out(out)
    if out_dir is not None:
        write_json(out_dir / "metrics.json", result)
        if plot:
            from jaxrnn.plots import plot_training_curves

            plot_forecasts(forecasts, out_dir / "forecasts.png", title=f"{series.name}: test years")
            plot_training_curves(
                members[0]["history"], out_dir / "training_curves.png", title=f"{series.name} (member 0)"
            )
    return result


def plot_forecasts(forecasts: dict[int, dict], path: pathlib.Path, *, title: str) -> pathlib.Path:
    """One panel per horizon: the observed test values and each method's forecast of them."""
    from jaxrnn.plots import new_figure

    fig, axes = new_figure(len(forecasts), 1, figsize=(11, 3.6 * len(forecasts)), squeeze=False)
    for ax, (h, f) in zip(axes[:, 0], sorted(forecasts.items())):
        dates = f["dates"].astype("datetime64[D]").astype(object)
        ax.plot(dates, f["truth"], "k.", markersize=3, label="observed")
        for (name, values), style in zip(
            [(k, v) for k, v in f.items() if k not in ("dates", "truth")], ("r-", "b--", "g:")
        ):
            mae = float(np.mean(np.abs(values - f["truth"])))
            ax.plot(dates, values, style, lw=1.2, label=f"{name} (MAE {mae:.3f})")
        ax.set_title(f"{title}, {h}-step-ahead forecasts")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return pathlib.Path(path)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``forecaster`` to the ``jaxrnn train`` sub-commands."""
    p = subparsers.add_parser(
        "forecaster", help="deep-LSTM forecaster of a real series (co2, elnino or a date,value CSV)"
    )
    add_config_arguments(p, ForecastConfig)
    p.add_argument(
        "--data-dir", default=None, help="folder of co2.csv/elnino.csv (default $JAXRNN_DATA/timeseries)"
    )
    p.add_argument(
        "--out", default=None, help="run directory for metrics.json and PNGs (default runs/forecaster-SERIES)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``jaxrnn train forecaster`` and print the validation and test table."""
    config = config_from_arguments(ForecastConfig, args)
    out = args.out or f"runs/forecaster-{pathlib.Path(args.series).stem}"
    result = train_forecaster(config, data_dir=args.data_dir, out=out, quiet=args.quiet)
    print(
        f"{result['series']}: MAE by horizon (LSTM ensemble of {config.members} / seasonal-naive / linear AR)"
    )
    for s in ("val", "test"):
        for h, r in result[s].items():
            print(f"  {s:4s} {h:5s} {r['lstm']:.4f} / {r['seasonal_naive']:.4f} / {r['linear_ar']:.4f}")
    print(f"metrics.json, forecasts.png, training_curves.png in {out} ({result['seconds']:.0f} s)")
    return 0
