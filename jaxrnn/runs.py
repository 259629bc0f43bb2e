"""Run directories: ``config.json`` beside the checkpoints, so that no run is overwritten by accident.

A run directory holds ``config.json`` (what was asked for), ``checkpoints/``,
``metrics.json`` and PNG plots. Running the same command again resumes it;
running a *different* command on the same directory is refused with the
fields that differ, unless only the training length changed (``epochs``,
``steps``, ``minutes``, ...), which is how a finished run is trained further.
``restart=True`` starts over without deleting anything: the old checkpoints
are moved into ``checkpoints/replaced-<time>/``.
"""

from __future__ import annotations

import json
import os
import pathlib
import time
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from jaxrnn import checkpoint as ckpt

# the fields a resumed run may change: they only say how long to train
TRAINING_LENGTH = frozenset({"epochs", "steps", "iterations", "max_steps", "minutes"})


class ConfigMismatchError(ValueError):
    """A run directory's saved ``config.json`` differs from the requested config.

    ``differences`` maps each differing field to ``(saved, requested)``.
    """

    def __init__(self, message: str, differences: dict[str, tuple[Any, Any]]):
        super().__init__(message)
        self.differences = differences


def write_json(path: str | os.PathLike, data: Any) -> pathlib.Path:
    """Write ``data`` as indented JSON through a temporary file and a rename (never half a file).

    NumPy scalars are written as numbers.
    """

    def default(x: Any) -> Any:
        if isinstance(x, (np.floating, np.integer)):
            return x.item()
        raise TypeError(f"cannot write {type(x).__name__} as JSON")

    path = pathlib.Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=default))
    os.replace(tmp, path)
    return path


def config_differences(
    saved: Mapping[str, Any], requested: Mapping[str, Any], *, ignore: Iterable[str] = TRAINING_LENGTH
) -> dict[str, tuple[Any, Any]]:
    """The fields whose values differ, as ``{name: (saved, requested)}``; a missing field is ``None``.

    Values are compared as JSON would store them (a tuple equals a list).
    """
    ignore = set(ignore)
    differences = {}
    for name in sorted(set(saved) | set(requested)):
        if name in ignore:
            continue
        a, b = saved.get(name), requested.get(name)
        if json.loads(json.dumps(a, default=str)) != json.loads(json.dumps(b, default=str)):
            differences[name] = (a, b)
    return differences


def check_config(run_dir: str | os.PathLike, config: Mapping[str, Any]) -> None:
    """Refuse to resume ``run_dir`` with a config that differs from its saved one in more than length.

    Nothing is checked when the run has no checkpoint yet (nothing to lose) or no ``config.json``.

    Raises:
      ConfigMismatchError: naming each differing field, the saved and the requested value, and the
        ways out (another ``--out``/``out``, or ``--restart``/``restart=True``).
    """
    run_dir = pathlib.Path(run_dir)
    path = run_dir / "config.json"
    if not path.is_file() or not ckpt.list_checkpoints(run_dir / "checkpoints"):
        return
    saved = json.loads(path.read_text())
    differences = config_differences(saved, json.loads(json.dumps(dict(config), default=str)))
    if differences:
        listed = "; ".join(f"{name}: saved {a!r}, requested {b!r}" for name, (a, b) in differences.items())
        raise ConfigMismatchError(
            f"{str(run_dir)!r} holds a run with another configuration ({listed}); refusing to resume it "
            "with different settings. Choose another directory (--out / out=) for a new run, or pass "
            "--restart (restart=True) to start this one over (its checkpoints are kept in "
            "checkpoints/replaced-*); only the training length "
            f"({', '.join(sorted(TRAINING_LENGTH))}) may change on resume",
            differences,
        )


def prepare_run(
    run_dir: str | os.PathLike, config: Mapping[str, Any], *, restart: bool = False
) -> pathlib.Path:
    """Create ``run_dir``, check ``config`` against its saved one unless ``restart``, save ``config.json``.

    Call it before loading data or compiling, so a refused run costs nothing. Idempotent.

    Args:
      run_dir: the run directory.
      config: a JSON-able mapping of everything that defines the run.
      restart: the run will start over (see :func:`archive_checkpoints`): skip the check.

    Returns:
      ``run_dir`` as a ``pathlib.Path``.

    Raises:
      ConfigMismatchError: see :func:`check_config`.
      TypeError: ``config`` is not a mapping or ``restart`` not a bool.
    """
    if not isinstance(config, Mapping):
        raise TypeError(f"config must be a mapping (e.g. a dict); got {type(config).__name__}")
    if not isinstance(restart, bool):
        raise TypeError(f"restart must be a bool; got {restart!r}")
    run_dir = pathlib.Path(run_dir)
    if not restart:
        check_config(run_dir, config)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / "config.json", dict(config))
    return run_dir


def archive_checkpoints(checkpoint_dir: str | os.PathLike) -> pathlib.Path | None:
    """Move the checkpoints of ``checkpoint_dir`` into a new ``replaced-<UTC time>`` subdirectory.

    A restarted run then starts from step 0 without deleting anything: the old files stay
    readable there (``restore_checkpoint(that_dir)``) and are no longer seen as the latest.

    Returns:
      The subdirectory, or None when there was no checkpoint to move.
    """
    checkpoint_dir = pathlib.Path(checkpoint_dir)
    found = list(ckpt.list_checkpoints(checkpoint_dir))
    # fit(keep_best=...) keeps the validation-best params in checkpoint_dir/best: they go too,
    # or a restarted run would compare its epochs with the old run's best
    best = checkpoint_dir / "best"
    if best.is_dir():
        found.append(best)
    if not found:
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    target = checkpoint_dir / f"replaced-{stamp}"
    n = 1
    while target.exists():  # two restarts within one second
        n += 1
        target = checkpoint_dir / f"replaced-{stamp}-{n}"
    target.mkdir()
    for path in found:
        os.replace(path, target / path.name)
    return target


def check_positive(
    config: Mapping[str, Any], *, ints: Iterable[str] = (), numbers: Iterable[str] = ()
) -> None:
    """Check that the named fields of ``config`` are positive ints / numbers (None allowed: unset).

    An explicit 0 or negative value is an error, never replaced by a default.

    Raises:
      ValueError: naming the field, what was expected and the value.
    """
    for name in ints:
        value = config.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
            raise ValueError(f"{name} must be a positive int; got {value!r}")
    for name in numbers:
        value = config.get(name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0
        ):
            raise ValueError(f"{name} must be a positive number; got {value!r}")
