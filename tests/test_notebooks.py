"""Every notebook in notebooks/ runs top to bottom, headless, in quick mode."""

from __future__ import annotations

import os

import nbclient  # the [test] extra installs nbclient and nbformat: a missing one is a broken install
import nbformat
import pytest
from conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ must hold the chapter's notebooks"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, monkeypatch):
    monkeypatch.setenv("JAXRNN_QUICK", "1")
    # 02 must exercise its no-download fallback wherever the suite runs
    monkeypatch.delenv("JAXRNN_DATA", raising=False)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("JAXRNN_NOTEBOOK_OUT", str(tmp_path))
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, with the failing cell, on any error
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"
    ]
    assert not errors
    assert os.environ["JAXRNN_QUICK"] == "1"
