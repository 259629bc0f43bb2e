"""Checkpoint files: round trip, atomic writes, damaged files, bad input."""

from __future__ import annotations

import os

import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxrnn import checkpoint as ckpt


def _tree():
    params = {"W": jnp.arange(6.0, dtype=jnp.float32).reshape(2, 3), "layers": (jnp.ones(2), jnp.zeros(1))}
    return {"params": params, "opt": optax.adam(1e-3).init(params), "step": 7, "note": "hi"}


def test_round_trip_restores_structure_and_bits(tmp_path):
    tree = _tree()
    tree["params"]["W"] = tree["params"]["W"] / 3.0  # values that are not exact in decimal
    path = ckpt.save_checkpoint(tmp_path, 7, tree)
    assert path.name == "ckpt_0000000007.msgpack"
    restored = ckpt.restore_checkpoint(tmp_path, _tree())
    assert isinstance(restored["opt"][0], optax.ScaleByAdamState)
    assert isinstance(restored["params"]["layers"], tuple)
    np.testing.assert_array_equal(restored["params"]["W"], np.asarray(tree["params"]["W"]))
    assert restored["params"]["W"].tobytes() == np.asarray(tree["params"]["W"]).tobytes()
    assert restored["step"] == 7 and restored["note"] == "hi"


def test_max_to_keep_and_latest(tmp_path):
    for step in (1, 5, 10, 20):
        ckpt.save_checkpoint(tmp_path, step, _tree(), max_to_keep=2)
    assert [ckpt.checkpoint_step(p) for p in ckpt.list_checkpoints(tmp_path)] == [10, 20]
    assert ckpt.checkpoint_step(ckpt.latest_checkpoint(tmp_path)) == 20


def test_interrupted_write_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    good = ckpt.save_checkpoint(tmp_path, 1, _tree())
    before = good.read_bytes()

    real_fsync = os.fsync

    def crash(fd):  # the process dies after part of the file is on disk
        real_fsync(fd)
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(KeyboardInterrupt):
        ckpt.save_checkpoint(tmp_path, 2, _tree())
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert good.read_bytes() == before
    assert ckpt.latest_checkpoint(tmp_path) == good
    assert ckpt.restore_checkpoint(tmp_path, _tree())["step"] == 7


def test_damaged_newest_file_falls_back_to_previous(tmp_path):
    good = ckpt.save_checkpoint(tmp_path, 1, _tree())
    bad = ckpt.save_checkpoint(tmp_path, 2, _tree())
    bad.write_bytes(bad.read_bytes()[:20])  # truncated, e.g. by a full disk
    assert ckpt.latest_checkpoint(tmp_path) == good
    with pytest.raises(ValueError, match="damaged"):
        ckpt.restore_checkpoint(bad)


def test_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        ckpt.restore_checkpoint(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ckpt.restore_checkpoint(tmp_path / "ckpt_0000000003.msgpack")
    with pytest.raises(ValueError, match="step must be a non-negative int; got -1"):
        ckpt.save_checkpoint(tmp_path, -1, _tree())
    ckpt.save_checkpoint(tmp_path, 1, {"a": jnp.ones(2)})
    with pytest.raises(ValueError, match="does not match"):
        ckpt.restore_checkpoint(tmp_path, {"b": {"c": jnp.ones(2)}})
