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


def _load_runner():
    """notebooks/run.py as a module (notebooks/ is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("notebooks_run", REPO / "notebooks" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


runner = _load_runner()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_committed_outputs_come_from_committed_code(path):
    nb = nbformat.read(path, as_version=4)
    rerun = f"re-execute it: python notebooks/run.py {path.relative_to(REPO)}"
    meta = nb.metadata.get(runner.META_KEY)
    assert meta, f"{path.name} has no metadata['{runner.META_KEY}']; {rerun}"
    assert meta["mode"] == "full", f"{path.name} was executed in {meta['mode']!r} mode; {rerun}"
    assert meta["code_sha256"] == runner.code_hash(nb), f"{path.name}'s code changed since it ran; {rerun}"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code), f"{path.name} has cells that did not run; {rerun}"
    assert any(c.outputs for c in code), f"{path.name} has no outputs; {rerun}"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path.name} was saved with an error: {errors[0].get('ename')}"
    assert path.stat().st_size < 2_000_000, f"{path.name} is {path.stat().st_size} bytes; keep figures small"


def _tiny_notebook(code: str, markdown: str = "# title"):
    return nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell(markdown), nbformat.v4.new_code_cell(code)]
    )


def test_code_hash_follows_code_cells_only():
    import hashlib
    import json

    base = runner.code_hash(_tiny_notebook("x = 1"))
    # the reference: sha256 of the JSON list of code sources, computed here by hand
    assert base == hashlib.sha256(json.dumps(["x = 1"]).encode()).hexdigest()
    assert runner.code_hash(_tiny_notebook("x = 2")) != base
    assert runner.code_hash(_tiny_notebook("x = 1", markdown="# another title")) == base
    with_output = _tiny_notebook("x = 1")
    with_output.cells[1].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    with_output.cells[1].execution_count = 3
    assert runner.code_hash(with_output) == base
    two = _tiny_notebook("a = 1")
    two.cells.append(nbformat.v4.new_code_cell("b = 2"))
    swapped = _tiny_notebook("b = 2")
    swapped.cells.append(nbformat.v4.new_code_cell("a = 1"))
    assert runner.code_hash(two) != runner.code_hash(swapped)  # order counts
    with pytest.raises(TypeError, match="nb must be a notebook"):
        runner.code_hash({"cells": []})


def test_runner_writes_outputs_and_hash(tmp_path):
    path = tmp_path / "tiny.ipynb"
    nb = _tiny_notebook("import os\nprint(6 * 7, os.environ.get('JAXRNN_QUICK'))")
    nbformat.write(nb, path)
    meta = runner.execute(path, quick=True, timeout=120)
    done = nbformat.read(path, as_version=4)
    assert done.metadata["jaxrnn"] == meta
    assert meta["mode"] == "quick" and meta["code_sha256"] == runner.code_hash(nb)
    assert len(done.cells) == 2  # the runner's setup cell is not saved
    assert done.cells[1].execution_count == 1
    assert done.cells[1].outputs[0]["text"] == "42 1\n"
    assert "JAXRNN_QUICK" not in os.environ or os.environ["JAXRNN_QUICK"] == "1"


def test_collapse_progress_keeps_what_a_terminal_shows():
    nb = _tiny_notebook("pass")
    nb.cells[1].outputs = [
        nbformat.v4.new_output("stream", name="stderr", text=" 10%\r 50%\r100%\ndone\n"),
        nbformat.v4.new_output("stream", name="stdout", text="plain\n"),
    ]
    runner.collapse_progress(nb)
    assert [o.text for o in nb.cells[1].outputs] == ["100%\ndone\n", "plain\n"]


def test_collapse_progress_merges_redraws_split_over_outputs():
    nb = _tiny_notebook("pass")
    texts = ["\r0step", "\r1step", "\r100%| 2/2", "\n", "after\n"]
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stderr", text=t) for t in texts]
    nb.cells[1].outputs.append(nbformat.v4.new_output("stream", name="stdout", text="out\n"))
    runner.collapse_progress(nb)
    assert [(o.name, o.text) for o in nb.cells[1].outputs] == [
        ("stderr", "100%| 2/2\nafter\n"),
        ("stdout", "out\n"),
    ]
