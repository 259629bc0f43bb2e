"""Shared pieces of the tasks: cell names, run directories."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable
from typing import Any

from jaxrnn.cells import Cell, basic_cell, gru_cell, lstm_cell

CELLS: dict[str, Callable[..., Cell]] = {"basic": basic_cell, "lstm": lstm_cell, "gru": gru_cell}


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
