"""Validation-only sweep of forecaster settings: prints each setting's validation MAE, never the test's.

Usage: ``python -m bench.forecaster_sweep elnino DIR '{"ar_skip": true}' '{"ar_skip": false}'``
(each JSON object overrides :class:`jaxrnn.tasks.forecaster_run.ForecastConfig` fields).
"""

from __future__ import annotations

import json
import sys

from jaxrnn.tasks.forecaster_run import ForecastConfig, train_forecaster


def main(argv: list[str]) -> int:
    """Run each setting in ``argv[2:]`` on series ``argv[0]`` from folder ``argv[1]``."""
    series, data_dir = argv[0], argv[1]
    for spec in argv[2:]:
        overrides = json.loads(spec)
        r = train_forecaster(
            ForecastConfig(series=series, **overrides), data_dir=data_dir, out=None, quiet=True, plot=False
        )
        val = {
            h: {k: round(v, 4) for k, v in d.items() if k in ("lstm", "seasonal_naive", "linear_ar")}
            for h, d in r["val"].items()
        }
        members = {h: [round(v, 3) for v in d["lstm_members"]] for h, d in r["val"].items()}
        row = {"config": overrides, "val": val, "val_members": members}
        if r["skip_shrink_val"]:  # --skip-shrink auto: every factor's validation MAE and the choice
            row["shrink_val"] = {
                h: {a: round(m, 4) for a, m in d.items()} for h, d in r["skip_shrink_val"].items()
            }
            row["shrink"] = r["skip_shrink"]
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
