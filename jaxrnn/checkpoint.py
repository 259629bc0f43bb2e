"""Checkpoints: flax msgpack files written atomically, so an interrupted write never hurts the last good one.

A checkpoint directory holds ``ckpt_<step>.msgpack`` files. Each file is
written to a temporary name, flushed, fsynced and then renamed over (``os.replace``
is atomic on POSIX), so a crash mid-write leaves at most a stray ``.tmp`` file
that :func:`latest_checkpoint` ignores. A file that fails to decode is skipped
in favour of the previous one.
"""

from __future__ import annotations

import os
import pathlib
import re
from typing import Any

import jax
import numpy as np

_PATTERN = re.compile(r"^ckpt_(\d{10})\.msgpack$")


def _to_numpy(tree: Any) -> Any:
    def leaf(x):
        if isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            raise TypeError("typed PRNG keys cannot be saved; store jax.random.key_data(key) instead")
        return np.asarray(x) if isinstance(x, (jax.Array, np.ndarray)) else x

    return jax.tree.map(leaf, tree)


def save_checkpoint(
    directory: str | os.PathLike, step: int, tree: Any, *, max_to_keep: int | None = 3
) -> pathlib.Path:
    """Write ``tree`` (any pytree of arrays, numbers and strings) as the checkpoint of ``step``.

    Args:
      directory: the checkpoint directory (created when missing).
      step: a non-negative int; names the file ``ckpt_<step>.msgpack``.
      tree: the pytree to save, e.g. ``{"params": ..., "opt_state": ...}``.
      max_to_keep: keep this many newest checkpoints and delete older ones (None keeps all).

    Returns:
      The path of the written file.
    """
    if not isinstance(step, (int, np.integer)) or isinstance(step, bool) or step < 0:
        raise ValueError(f"step must be a non-negative int; got {step!r}")
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    from flax import serialization  # imported here so that `import jaxrnn` stays light

    data = serialization.msgpack_serialize(serialization.to_state_dict(_to_numpy(tree)))
    path = directory / f"ckpt_{int(step):010d}.msgpack"
    tmp = directory / f".{path.name}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)  # atomic: readers see the old file set or the new one, never half a file
    if max_to_keep is not None:
        for old in list_checkpoints(directory)[:-max_to_keep]:
            old.unlink(missing_ok=True)
    return path


def list_checkpoints(directory: str | os.PathLike) -> list[pathlib.Path]:
    """The complete checkpoint files in ``directory``, oldest step first (empty when none)."""
    directory = pathlib.Path(directory)
    if not directory.is_dir():
        return []
    steps = {p: m for p in directory.iterdir() if (m := _PATTERN.match(p.name))}
    return sorted(steps, key=lambda p: int(steps[p].group(1)))


def checkpoint_step(path: str | os.PathLike) -> int:
    """The step encoded in a checkpoint file name."""
    match = _PATTERN.match(pathlib.Path(path).name)
    if not match:
        raise ValueError(f"path must name a checkpoint file ckpt_<step>.msgpack; got {str(path)!r}")
    return int(match.group(1))


def _read(path: pathlib.Path) -> Any:
    from flax import serialization

    return serialization.msgpack_restore(path.read_bytes())


def latest_checkpoint(directory: str | os.PathLike) -> pathlib.Path | None:
    """The newest checkpoint in ``directory`` that decodes, or None."""
    for path in reversed(list_checkpoints(directory)):
        try:
            _read(path)
        except Exception:  # a damaged file (e.g. truncated by a full disk): fall back to the previous one
            continue
        return path
    return None


def restore_checkpoint(path: str | os.PathLike, target: Any = None) -> Any:
    """Read a checkpoint file, or the latest good one when ``path`` is a directory.

    Args:
      path: a ``ckpt_<step>.msgpack`` file or a checkpoint directory.
      target: a pytree with the saved structure (e.g. freshly initialised
        params and optimizer state); the result then has its structure
        (tuples, NamedTuples). None returns the raw nested dicts.

    Returns:
      The restored pytree, with NumPy array leaves.

    Raises:
      FileNotFoundError: no checkpoint at ``path``.
      ValueError: the file is damaged or does not match ``target``.
    """
    path = pathlib.Path(path)
    if path.is_dir():
        found = latest_checkpoint(path)
        if found is None:
            raise FileNotFoundError(f"no checkpoint (ckpt_<step>.msgpack) found in {str(path)!r}")
        path = found
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file {str(path)!r} does not exist")
    try:
        raw = _read(path)
    except Exception as e:
        raise ValueError(f"checkpoint {str(path)!r} is damaged and cannot be decoded: {e}") from e
    return raw if target is None else structure_like(target, raw, path)


def structure_like(target: Any, raw: Any, path: str | os.PathLike = "<memory>") -> Any:
    """Give ``raw`` (a checkpoint read without a target: nested dicts) the structure of ``target``.

    Args:
      target: a pytree with the saved structure (tuples, NamedTuples, dicts).
      raw: what :func:`restore_checkpoint` returns without a target.
      path: where ``raw`` came from, for the error message.

    Raises:
      ValueError: ``raw`` does not match ``target``.
    """
    from flax import serialization

    try:
        return serialization.from_state_dict(_to_numpy(target), raw)
    except Exception as e:
        raise ValueError(f"checkpoint {str(path)!r} does not match the expected structure: {e}") from e
