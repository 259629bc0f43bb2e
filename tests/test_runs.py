"""Run directories: config checks that name the differing fields, restarts that move (never delete)."""

from __future__ import annotations

import json

import jax.numpy as jnp
import pytest

from jaxrnn import checkpoint as ckpt
from jaxrnn import runs


def test_config_differences_ignore_the_training_length_and_compare_as_json():
    saved = {"num_units": 32, "epochs": 15, "sizes": [1, 2], "clip_norm": None}
    requested = {"num_units": 64, "epochs": 20, "sizes": (1, 2), "minutes": 30, "cell": "gru"}
    # written out by hand: epochs/minutes are the length; a tuple is the list JSON stores
    assert runs.config_differences(saved, requested) == {"cell": (None, "gru"), "num_units": (32, 64)}
    assert runs.config_differences(saved, requested, ignore=()) == {
        "cell": (None, "gru"),
        "epochs": (15, 20),
        "minutes": (None, 30),
        "num_units": (32, 64),
    }


def test_prepare_run_checks_only_runs_with_checkpoints(tmp_path):
    runs.prepare_run(tmp_path, {"num_units": 32})
    runs.prepare_run(tmp_path, {"num_units": 64})  # no checkpoint yet: nothing to lose, overwritten
    assert json.loads((tmp_path / "config.json").read_text()) == {"num_units": 64}
    ckpt.save_checkpoint(tmp_path / "checkpoints", 5, {"w": jnp.ones(2)})
    with pytest.raises(runs.ConfigMismatchError) as e:
        runs.prepare_run(tmp_path, {"num_units": 0})
    assert e.value.differences == {"num_units": (64, 0)}
    assert "num_units: saved 64, requested 0" in str(e.value) and "--out" in str(e.value)
    assert json.loads((tmp_path / "config.json").read_text()) == {"num_units": 64}  # untouched
    runs.prepare_run(tmp_path, {"num_units": 64, "epochs": 9})  # the length may change
    runs.prepare_run(tmp_path, {"num_units": 0}, restart=True)
    assert json.loads((tmp_path / "config.json").read_text()) == {"num_units": 0}


def test_archive_moves_checkpoints_aside(tmp_path):
    assert runs.archive_checkpoints(tmp_path) is None
    for step in (1, 2):
        ckpt.save_checkpoint(tmp_path, step, {"w": jnp.full(2, step)})
    first = runs.archive_checkpoints(tmp_path)
    assert ckpt.list_checkpoints(tmp_path) == [] and len(ckpt.list_checkpoints(first)) == 2
    ckpt.save_checkpoint(tmp_path, 1, {"w": jnp.zeros(2)})
    second = runs.archive_checkpoints(tmp_path)  # within the same second: a new name
    assert second != first and [p.name for p in ckpt.list_checkpoints(second)] == ["ckpt_0000000001.msgpack"]
    assert ckpt.restore_checkpoint(first)["w"].tolist() == [2.0, 2.0]


def test_bad_input(tmp_path):
    with pytest.raises(TypeError, match="config must be a mapping .*; got list"):
        runs.prepare_run(tmp_path, [1])
    with pytest.raises(TypeError, match="restart must be a bool; got 'yes'"):
        runs.prepare_run(tmp_path, {}, restart="yes")


def test_data_root_holds_one_folder_per_dataset(tmp_path, monkeypatch):
    from jaxrnn.data.root import dataset_dir

    (tmp_path / "translation").mkdir()
    monkeypatch.setenv("JAXRNN_DATA", str(tmp_path))
    assert dataset_dir("translation") == tmp_path / "translation"
    assert dataset_dir("mnist") == tmp_path  # files directly in the root are still accepted
    assert dataset_dir("translation", tmp_path / "elsewhere") == tmp_path / "elsewhere"
    monkeypatch.delenv("JAXRNN_DATA")
    with pytest.raises(ValueError, match=r"data_dir is not set: .* \$JAXRNN_DATA .* mnist/, timeseries/"):
        dataset_dir("mnist")
    with pytest.raises(ValueError, match=r"name must be one of \['mnist', .*\]; got 'cifar'"):
        dataset_dir("cifar", tmp_path)


def test_mnist_is_found_under_the_shared_root(shared_data):
    from jaxrnn.data.mnist import load_mnist

    # the shared root holds mnist/ beside translation/ etc.; the loader finds it there
    m = load_mnist(shared_data, verify=False)
    assert m.train_images.shape == (60000, 28, 28) and m.test_labels.shape == (10000,)
