"""Real measured time series: Mauna Loa CO2 (weekly), El Niño 1+2 SST (monthly), or any date/value CSV.

The shipped series live in ``DATA_DIR/timeseries`` (``DATA_DIR`` is an argument
or ``$JAXRNN_DATA``); see that folder's ``SOURCE.md``. Missing values (CO2 has
59 empty weeks) are kept as NaN here: :func:`interpolate_missing` fills them
for model *inputs*, and the forecaster masks them out of every *target*, loss
and MAE, so no score is computed against an invented value.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import pathlib
from typing import NamedTuple

import numpy as np

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
# the year ranges: (first, last) year inclusive for train, validation, test
SPLITS = {
    "co2": ((1958, 1991), (1992, 1996), (1997, 2001)),
    "elnino": ((1950, 1995), (1996, 2002), (2003, 2010)),
}
PERIODS = {"co2": 52, "elnino": 12}


class Series(NamedTuple):
    """A regularly sampled series: ``dates`` ``[T]`` (``datetime64[D]``), ``values`` ``[T]`` float64
    (NaN where missing), the seasonal ``period`` in steps and a ``name``."""

    name: str
    dates: np.ndarray
    values: np.ndarray
    period: int


class Split(NamedTuple):
    """Half-open index ranges ``[start, stop)`` of the train, validation and test steps, in time order."""

    train: tuple[int, int]
    val: tuple[int, int]
    test: tuple[int, int]


def _parse_date(text: str, where: str) -> np.datetime64:
    text = text.strip().strip('"')
    for fmt in ("%Y%m%d", "%Y-%m-%d", "%Y/%m/%d", "%Y-%m", "%Y%m", "%Y"):
        try:
            return np.datetime64(dt.datetime.strptime(text, fmt).date(), "D")
        except ValueError:
            continue
    raise ValueError(f"{where}: date must look like YYYYMMDD, YYYY-MM-DD, YYYY-MM or YYYY; got {text!r}")


def _parse_value(text: str, where: str) -> float:
    text = text.strip().strip('"')
    if text in ("", "NA", "NaN", "nan", "."):
        return float("nan")
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{where}: value must be a number or empty (missing); got {text!r}") from None


def infer_period(dates: np.ndarray) -> int:
    """The seasonal period in steps from the median spacing: 52 (weekly), 12 (monthly), 4 (quarterly),
    7 (daily: the week) or 1 (yearly)."""
    if len(dates) < 2:
        raise ValueError(f"dates must hold at least 2 entries to infer a period; got {len(dates)}")
    days = float(np.median(np.diff(dates).astype(np.int64)))
    for upper, period in ((2, 7), (10, 52), (45, 12), (120, 4)):
        if days <= upper:
            return period
    return 1


def read_series_csv(
    path: str | os.PathLike,
    *,
    date_column: str | None = None,
    value_column: str | None = None,
    period: int | None = None,
    name: str | None = None,
) -> Series:
    """Read a CSV with a header, one date column and one value column (empty cells are missing).

    Args:
      path: the CSV file.
      date_column: the date column's name; default the first column.
      value_column: the value column's name; default the first column after the date.
      period: the seasonal period in steps; default :func:`infer_period` of the dates.
      name: the series' name; default the file's stem.

    Returns:
      A :class:`Series` sorted by date.

    Raises:
      ValueError: a missing column, an unparsable date or value, fewer than 3 rows, repeated dates.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"series CSV not found: {str(path)!r}")
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise ValueError(f"{path}: the CSV is empty; expected a header line and rows")
    header = [h.strip().strip('"') for h in rows[0]]
    date_col = header[0] if date_column is None else date_column
    if date_col not in header:
        raise ValueError(f"date_column must be one of {header}; got {date_col!r}")
    others = [h for h in header if h != date_col]
    value_col = (others[0] if others else None) if value_column is None else value_column
    if value_col not in others:
        raise ValueError(f"value_column must be one of {others}; got {value_col!r}")
    di, vi = header.index(date_col), header.index(value_col)
    body = [r for r in rows[1:] if any(c.strip() for c in r)]
    if len(body) < 3:
        raise ValueError(f"{path}: need at least 3 rows of data; got {len(body)}")
    dates = np.array([_parse_date(r[di], f"{path} line {i + 2}") for i, r in enumerate(body)])
    values = np.array(
        [_parse_value(r[vi] if vi < len(r) else "", f"{path} line {i + 2}") for i, r in enumerate(body)]
    )
    order = np.argsort(dates, kind="stable")
    dates, values = dates[order], values[order]
    if np.any(np.diff(dates).astype(np.int64) == 0):
        raise ValueError(f"{path}: dates must be distinct; got a repeated date")
    if np.all(np.isnan(values)):
        raise ValueError(f"{path}: column {value_col!r} has no values")
    period = infer_period(dates) if period is None else period
    if not isinstance(period, int) or isinstance(period, bool) or period < 1:
        raise ValueError(f"period must be a positive int; got {period!r}")
    return Series(name or path.stem, dates, values, period)


def read_elnino(path: str | os.PathLike) -> Series:
    """Read NOAA's wide El Niño table (``YEAR, JAN … DEC``, one row per year) as a monthly series."""
    path = pathlib.Path(path)
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header = [h.strip().strip('"').upper() for h in rows[0]]
    if header[:1] != ["YEAR"] or tuple(header[1:13]) != MONTHS:
        raise ValueError(f"{path}: header must be YEAR, JAN … DEC; got {header}")
    dates, values = [], []
    for i, row in enumerate(r for r in rows[1:] if r):
        year = int(row[0])
        for m in range(12):
            dates.append(np.datetime64(dt.date(year, m + 1, 1), "D"))
            values.append(_parse_value(row[m + 1], f"{path} line {i + 2}"))
    return Series("elnino", np.array(dates), np.array(values), 12)


def data_dir_of(data_dir: str | os.PathLike | None) -> pathlib.Path:
    """``data_dir``, else ``$JAXRNN_DATA/timeseries``; a clear error when neither is set."""
    if data_dir is not None:
        return pathlib.Path(data_dir)
    root = os.environ.get("JAXRNN_DATA")
    if not root:
        raise ValueError("data_dir must be given (or $JAXRNN_DATA set) to find co2.csv/elnino.csv; got None")
    return pathlib.Path(root) / "timeseries"


def load_series(series: str, data_dir: str | os.PathLike | None = None) -> Series:
    """``"co2"``, ``"elnino"`` (from ``data_dir``, default ``$JAXRNN_DATA/timeseries``) or a CSV path."""
    if series == "co2":
        return read_series_csv(data_dir_of(data_dir) / "co2.csv", period=52, name="co2")
    if series == "elnino":
        path = data_dir_of(data_dir) / "elnino.csv"
        if not path.is_file():
            raise FileNotFoundError(f"El Niño CSV not found: {str(path)!r}")
        return read_elnino(path)
    if not series.lower().endswith(".csv"):
        raise ValueError(f"series must be 'co2', 'elnino' or a path to a .csv file; got {series!r}")
    return read_series_csv(series)


def interpolate_missing(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fill NaNs by linear interpolation in time (constant before the first / after the last value).

    Args:
      values: ``[T]`` with NaN where missing.

    Returns:
      ``(filled [T], observed [T] bool)``.
    """
    values = np.asarray(values, np.float64)
    if values.ndim != 1:
        raise ValueError(f"values must have rank 1 [time]; got shape {values.shape}")
    observed = ~np.isnan(values)
    if not observed.any():
        raise ValueError("values must hold at least one observed (non-NaN) value; got none")
    t = np.arange(len(values))
    return np.interp(t, t[observed], values[observed]), observed


def split_by_years(
    dates: np.ndarray, years: tuple[tuple[int, int], tuple[int, int], tuple[int, int]]
) -> Split:
    """Index ranges of consecutive year ranges (first, last inclusive).

    E.g. ``((1958, 1991), (1992, 1996), (1997, 2001))`` for train, validation and test.
    """
    year = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    bounds = []
    for name, (first, last) in zip(("train", "val", "test"), years):
        index = np.flatnonzero((year >= first) & (year <= last))
        if index.size == 0:
            raise ValueError(
                f"the {name} years {first}-{last} hold no dates; the data spans {year[0]}-{year[-1]}"
            )
        bounds.append((int(index[0]), int(index[-1]) + 1))
    if not (bounds[0][1] <= bounds[1][0] and bounds[1][1] <= bounds[2][0]):
        raise ValueError(f"years must be consecutive, non-overlapping ranges in time order; got {years}")
    return Split(*bounds)


def split_by_fraction(length: int, fractions: tuple[float, float] = (0.7, 0.15)) -> Split:
    """The first ``fractions[0]`` of the steps for training, the next ``fractions[1]`` for validation."""
    a = int(round(length * fractions[0]))
    b = int(round(length * (fractions[0] + fractions[1])))
    if not 0 < a < b < length:
        raise ValueError(f"fractions {fractions} leave an empty split of {length} steps")
    return Split((0, a), (a, b), (b, length))


def default_split(series: Series) -> Split:
    """The issue's year ranges for ``co2``/``elnino``; 70/15/15 % in time order for any other series."""
    if series.name in SPLITS:
        return split_by_years(series.dates, SPLITS[series.name])
    return split_by_fraction(len(series.values))
