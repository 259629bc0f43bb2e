"""Execute the notebooks headless and save them with their outputs and a hash of their code.

Usage (from the repository root)::

    python notebooks/run.py                      # every notebooks/*.ipynb, full mode
    python notebooks/run.py notebooks/08_*.ipynb # some of them
    python notebooks/run.py --quick ...          # JAXRNN_QUICK=1 (tiny settings)

Each notebook runs in a fresh kernel whose working directory and ``$JAXRNN_NOTEBOOK_OUT`` are a
temporary folder (no run files land in the repository); ``$JAXRNN_DATA`` defaults to
``../shared/data`` beside the checkout when that folder exists (so ``02`` trains on MNIST rather than
its Reber fallback); figures are embedded at ``--dpi``; progress bars keep their last state. The
executed notebook is written back in place with ``metadata["jaxrnn"]``: ``code_sha256`` (see
:func:`code_hash`), ``mode``, ``executed`` (UTC), ``commit`` (``git rev-parse HEAD``, plus ``+dirty``
when the code cells differ from that commit's) and ``seconds``. ``tests/test_notebooks.py`` checks
that the stored hash equals the hash of the committed code cells, so an edited cell without a re-run
fails the suite.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import nbformat

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
META_KEY = "jaxrnn"


def code_hash(nb: nbformat.NotebookNode) -> str:
    """sha256 (hex) of the notebook's code-cell sources, in order; markdown and outputs do not count.

    Args:
      nb: a notebook (nbformat v4).

    Returns:
      A 64-character hex digest.
    """
    if not hasattr(nb, "cells"):
        raise TypeError(f"nb must be a notebook (nbformat NotebookNode); got {type(nb).__name__}")
    sources = [c.source for c in nb.cells if c.cell_type == "code"]
    return hashlib.sha256(json.dumps(sources, ensure_ascii=False).encode("utf-8")).hexdigest()


def collapse_progress(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Keep only what a terminal shows of each stream line: the text after its last carriage return.

    Consecutive stream outputs of one name are merged first: a progress bar arrives as one output per
    redraw, each starting with ``\\r``. Jupyter renders only the last state of a line, so the saved
    notebook need not hold the others. Changes ``nb`` in place and returns it.
    """
    for cell in nb.cells:
        merged: list = []
        for output in cell.get("outputs", []):  # a bar arrives as one stream output per redraw
            previous = merged[-1] if merged else None
            if (
                output.get("output_type") == "stream"
                and previous is not None
                and previous.get("output_type") == "stream"
                and previous.name == output.name
            ):
                previous.text += output.text
            else:
                merged.append(output)
        for output in merged:
            if output.get("output_type") == "stream" and "\r" in output.text:
                output.text = "\n".join(line.rsplit("\r", 1)[-1] for line in output.text.split("\n"))
        if cell.cell_type == "code":
            cell.outputs = merged
    return nb


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def _setup_source(dpi: int) -> str:
    # run before the notebook's own cells, then dropped: small PNGs, whatever the notebook plots
    rc = {"figure.dpi": dpi, "savefig.dpi": dpi}
    return f"%config InlineBackend.rc = {rc!r}\nimport matplotlib\nmatplotlib.rcParams.update({rc!r})"


def execute(path: str | os.PathLike, *, quick: bool = False, dpi: int = 80, timeout: int = 1800) -> dict:
    """Run one notebook top to bottom in a fresh kernel and write it back with outputs and metadata.

    Args:
      path: the ``.ipynb`` file (overwritten).
      quick: set ``JAXRNN_QUICK=1`` (tiny settings) instead of the full mode.
      dpi: resolution of the embedded figures.
      timeout: seconds allowed per cell.

    Returns:
      The ``metadata["jaxrnn"]`` dict written.
    """
    import nbclient

    path = pathlib.Path(path)
    nb = nbformat.read(path, as_version=4)
    digest = code_hash(nb)
    setup = nbformat.v4.new_code_cell(_setup_source(dpi))
    nb.cells.insert(0, setup)
    names = ("JAXRNN_QUICK", "JAXRNN_NOTEBOOK_OUT", "PYTHONPATH", "JAXRNN_DATA")
    env_before = {k: os.environ.get(k) for k in names}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="jaxrnn-nb-") as tmp:
        if quick:
            os.environ["JAXRNN_QUICK"] = "1"
        else:
            os.environ.pop("JAXRNN_QUICK", None)
        os.environ["JAXRNN_NOTEBOOK_OUT"] = tmp
        shared = REPO.parent / "shared" / "data"
        if env_before["JAXRNN_DATA"] is None and shared.is_dir():
            os.environ["JAXRNN_DATA"] = str(shared)
        # the kernel imports this checkout's jaxrnn, whatever is installed
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env_before["PYTHONPATH"]]))
        try:
            client = nbclient.NotebookClient(
                nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": tmp}}
            )
            client.execute()
        finally:
            for k, v in env_before.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    nb.cells.pop(0)
    for cell in nb.cells:  # count from 1 as if the setup cell had not run
        if cell.cell_type == "code" and cell.get("execution_count"):
            cell.execution_count -= 1
            for output in cell.outputs:
                if "execution_count" in output and output["execution_count"]:
                    output["execution_count"] -= 1
    commit = _git("rev-parse", "HEAD")
    rel = str(path.resolve().relative_to(REPO)) if path.resolve().is_relative_to(REPO) else str(path)
    committed = _git("show", f"HEAD:{rel}") if commit else ""
    # "+dirty": the code that ran is not the code of that commit (outputs alone do not count)
    if commit and (not committed or code_hash(nbformat.reads(committed, as_version=4)) != digest):
        commit += "+dirty"
    meta = {
        "code_sha256": digest,
        "mode": "quick" if quick else "full",
        "executed": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": commit,
        "seconds": round(time.perf_counter() - start, 1),
    }
    nb.metadata[META_KEY] = meta
    nbformat.write(collapse_progress(nb), path)
    return meta


def main(argv: list[str] | None = None) -> int:
    """Command line: execute the named notebooks (default: all of ``notebooks/``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="default: notebooks/*.ipynb")
    parser.add_argument("--quick", action="store_true", help="JAXRNN_QUICK=1 (tiny settings)")
    parser.add_argument("--dpi", type=int, default=80, help="figure resolution (default 80)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell (default 1800)")
    args = parser.parse_args(argv)
    paths = [pathlib.Path(p) for p in args.notebooks] or sorted(HERE.glob("*.ipynb"))
    for p in paths:
        if p.suffix != ".ipynb" or not p.is_file():
            raise ValueError(f"notebooks must be existing .ipynb files; got {str(p)!r}")
    for p in paths:
        meta = execute(p, quick=args.quick, dpi=args.dpi, timeout=args.timeout)
        size = p.stat().st_size / 1024
        print(f"{p.name}: {meta['mode']} mode, {meta['seconds']:.0f} s, {size:.0f} KiB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
