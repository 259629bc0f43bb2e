"""The code base stays ruff clean (ruff is part of the test extra)."""

from __future__ import annotations

import shutil
import subprocess
import sys

from conftest import REPO


def test_ruff_clean():
    ruff = shutil.which("ruff") or str(__import__("pathlib").Path(sys.executable).parent / "ruff")
    result = subprocess.run([ruff, "check", "."], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_clean():
    # mypy is pinned in the test extra; its configuration (pyproject.toml) lists the modules not yet clean
    mypy = shutil.which("mypy") or str(__import__("pathlib").Path(sys.executable).parent / "mypy")
    result = subprocess.run([mypy, "jaxrnn/"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
