"""Rolling-origin backtest of the El Niño forecaster on the years before the test years.

    python -m bench.forecaster_backtest [--data-dir DIR] [--configs default,shrink]

Runs ``jaxrnn train forecaster --series elnino`` on three earlier train / validation / pseudo-test
year splits (``--years``), each pseudo-test span 7 years ending no later than 2002, so the issue's test
years (2003-2010) are never read as targets. Each fold chooses everything on its own validation years,
as the command does, and scores its pseudo-test once: it shows how the LSTM ensemble and the linear AR
compare at 1 and 12 months over several periods, instead of one validation span.

Configs: ``default`` (the command's El Niño default) and ``shrink`` (``--skip-shrink auto
--stop-per-horizon on``, the variant the validation years preferred). Writes
``bench/out/forecaster_backtest.json`` (with provenance) and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import pathlib

from bench.timing import write_json
from jaxrnn.tasks.forecaster_run import ForecastConfig, train_forecaster

DATA = pathlib.Path(
    os.environ.get("JAXRNN_DATA", pathlib.Path(__file__).resolve().parents[2] / "shared" / "data")
)
# (train, validation, pseudo-test) years; the last pseudo-test is the validation span
FOLDS = (
    ((1950, 1974), (1975, 1981), (1982, 1988)),
    ((1950, 1981), (1982, 1988), (1989, 1995)),
    ((1950, 1988), (1989, 1995), (1996, 2002)),
)
TEST_YEARS_START = 2003  # the El Niño test years, never scored here
CONFIGS = {
    "default": {},
    "shrink": {"skip_shrink": "auto", "stop_per_horizon": True},
}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=str(DATA / "timeseries"))
    parser.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated, from {list(CONFIGS)}")
    args = parser.parse_args(argv)
    names = [n for n in args.configs.split(",") if n]
    if not names or any(n not in CONFIGS for n in names):
        raise SystemExit(f"--configs: expected names from {list(CONFIGS)}; got {args.configs!r}")
    assert all(fold[2][1] < TEST_YEARS_START for fold in FOLDS)
    rows = []
    for name in names:
        for years in FOLDS:
            config = ForecastConfig(series="elnino", years=years, **CONFIGS[name])
            r = train_forecaster(config, data_dir=args.data_dir, out=None, quiet=True, plot=False)
            row = {"config": name, "years": years, "split_dates": r["split_dates"], "seconds": r["seconds"]}
            for split in ("val", "test"):
                row[split] = {
                    h: {k: d[k] for k in ("lstm", "seasonal_naive", "linear_ar", "count")}
                    for h, d in r[split].items()
                }
            row["skip_shrink"] = r["skip_shrink"]
            rows.append(row)
            print(row, flush=True)
    print("\n| config | pseudo-test years | h | LSTM | seasonal-naive | linear AR | LSTM / AR", end="")
    print(" | (validation LSTM / AR) |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        for h, d in row["test"].items():
            v = row["val"][h]
            print(
                f"| {row['config']} | {row['years'][2][0]}–{row['years'][2][1]} | {h} | {d['lstm']:.3f} | "
                f"{d['seasonal_naive']:.3f} | {d['linear_ar']:.3f} | {d['lstm'] / d['linear_ar']:.2f} | "
                f"({v['lstm']:.3f} / {v['linear_ar']:.3f}) |"
            )
    path = write_json("forecaster_backtest", {"folds": FOLDS, "rows": rows})
    print(f"wrote {path}")
    return {"rows": rows}


if __name__ == "__main__":
    main()
