"""Where a published number came from: the commit (and whether the tree was clean), date, CPU, versions."""

from __future__ import annotations

import os
import pathlib
import platform
import subprocess
import time
from typing import Any

REPO = pathlib.Path(__file__).resolve().parents[1]


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else ``platform.processor()``)."""
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def provenance() -> dict[str, Any]:
    """Commit, ``dirty`` (uncommitted changes in ``jaxrnn/``, ``bench/``), date, CPU, load and versions.

    ``load_average`` (1, 5 and 15 minutes, when the OS reports it) says how quiet the machine was.
    """
    import jax
    import numpy as np
    import optax

    status = _git("status", "--porcelain", "--", "jaxrnn", "bench")
    return {
        "commit": _git("rev-parse", "HEAD"),
        "dirty": None if status is None else bool(status),
        "utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": cpu_model(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "jax": jax.__version__,
        "numpy": np.__version__,
        "optax": optax.__version__,
    }
