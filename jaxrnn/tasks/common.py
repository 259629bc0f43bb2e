"""Shared pieces of the tasks: cell names, run directories, JSON metrics."""

from __future__ import annotations

import json
import os
import pathlib
from typing import Any

import numpy as np

from jaxrnn.cells import Cell, basic_cell, gru_cell, lstm_cell

CELLS = {"basic": basic_cell, "lstm": lstm_cell, "gru": gru_cell}


def make_cell(name: str, num_units: int, **kwargs: Any) -> Cell:
    """``basic``/``lstm``/``gru`` -> the cell; other names raise a ValueError listing the choices."""
    if name not in CELLS:
        raise ValueError(f"cell must be one of {sorted(CELLS)}; got {name!r}")
    return CELLS[name](num_units, **kwargs)


def prepare_out(out: str | os.PathLike | None) -> pathlib.Path | None:
    if out is None:
        return None
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_json(path: pathlib.Path, data: Any) -> None:
    def default(x):
        if isinstance(x, (np.floating, np.integer)):
            return x.item()
        raise TypeError(f"cannot write {type(x).__name__} as JSON")

    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=default))
    os.replace(tmp, path)
