"""The ``jaxrnn`` command: help, bad names and missing data give messages and non-zero exits, train + generate."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from jaxrnn import checkpoint, cli


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "train" in out and "generate" in out and "demo" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "sorter"], "invalid choice: 'sorter'"),
        (["train", "translator", "--attention", "dot"], "argument --attention: invalid choice: 'dot'"),
        (["train", "classifier", "--cell", "rnn"], "argument --cell: invalid choice: 'rnn'"),
        (["train", "classifier", "--dataset", "cifar"], "argument --dataset: invalid choice: 'cifar'"),
        (["generate", "--checkpoint", "x", "--seed", "ones"], "argument --seed: invalid choice: 'ones'"),
        (
            ["train", "classifier", "--unroll", "0"],
            "argument --unroll: must be a positive int or 'auto'; got '0'",
        ),
        (["train", "classifier", "--unroll", "fast"], "argument --unroll: must be a positive int or 'auto'"),
    ],
)
def test_unknown_names_exit_2_with_message(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_missing_and_corrupted_data_exit_1_without_traceback(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("JAXRNN_DATA", raising=False)
    assert (
        cli.main(["train", "classifier", "--dataset", "mnist", "--out", str(tmp_path / "r"), "--quiet"]) == 1
    )
    assert "jaxrnn: error: data_dir is not set" in capsys.readouterr().err
    (tmp_path / "d").mkdir()
    assert (
        cli.main(
            [
                "train",
                "classifier",
                "--dataset",
                "mnist",
                "--data-dir",
                str(tmp_path / "d"),
                "--out",
                str(tmp_path / "r"),
                "--quiet",
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert "train-images-idx3-ubyte.gz not found in" in err and "Traceback" not in err
    for name in (
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ):
        (tmp_path / "d" / name).write_bytes(b"garbage")
    assert (
        cli.main(
            [
                "train",
                "classifier",
                "--dataset",
                "mnist",
                "--data-dir",
                str(tmp_path / "d"),
                "--out",
                str(tmp_path / "r"),
                "--quiet",
            ]
        )
        == 1
    )
    assert "is corrupted" in capsys.readouterr().err
    assert cli.main(["generate", "--checkpoint", str(tmp_path / "nowhere")]) == 1
    assert "must be a regressor run directory holding config.json" in capsys.readouterr().err


def test_entry_point_process_exit_code():
    proc = subprocess.run(
        [sys.executable, "-m", "jaxrnn", "train", "classifier", "--cell", "rnn"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "invalid choice: 'rnn'" in proc.stderr and "Traceback" not in proc.stderr


def test_train_regressor_then_generate(tmp_path, capsys):
    run = tmp_path / "reg"
    assert (
        cli.main(["train", "regressor", "--iterations", "60", "--units", "8", "--out", str(run), "--quiet"])
        == 0
    )
    metrics = json.loads((run / "metrics.json").read_text())
    assert len(metrics["history"]["loss"]) == 60
    assert checkpoint.checkpoint_step(checkpoint.latest_checkpoint(run / "checkpoints")) == 60
    assert cli.main(["generate", "--checkpoint", str(run), "--seed", "zeros", "--steps", "25"]) == 0
    seq = json.loads((run / "generated-zeros.json").read_text())["sequence"]
    assert len(seq) == 20 + 25 and (run / "generated-zeros.png").stat().st_size > 0
    # reference: the same params read back independently and fed back step by step in float64 NumPy
    p = checkpoint.restore_checkpoint(run / "checkpoints")["train_state"]["params"]
    cell = {k: np.asarray(v, np.float64) for k, v in p["cell"].items()}
    W, b = np.asarray(p["projection"]["W"], np.float64), np.asarray(p["projection"]["b"], np.float64)
    h, values = np.zeros(8), [0.0] * 20
    for t in range(20 + 25 - 1):
        h = np.maximum(np.array([values[t]]) @ cell["Wx"] + h @ cell["Wh"] + cell["b"], 0)
        if t >= 19:
            values.append(float((h @ W + b)[0]))
    np.testing.assert_allclose(seq, values, rtol=1e-4, atol=1e-5)
    # a classifier run is refused by generate
    (tmp_path / "clf").mkdir()
    (tmp_path / "clf" / "config.json").write_text(json.dumps({"task": "classifier"}))
    capsys.readouterr()
    assert cli.main(["generate", "--checkpoint", str(tmp_path / "clf")]) == 1
    assert "must come from `jaxrnn train regressor`" in capsys.readouterr().err


def test_nan_loss_stops_with_step_and_exit_1(tmp_path, capsys):
    run = tmp_path / "nan"
    argv = ["train", "regressor", "--learning-rate", "1e6", "--iterations", "100", "--units", "8"]
    assert cli.main([*argv, "--out", str(run), "--quiet", "--checkpoint-every", "1"]) == 1
    err = capsys.readouterr().err
    assert "jaxrnn: error: loss became nan at step 2" in err and "Traceback" not in err
    assert checkpoint.checkpoint_step(checkpoint.latest_checkpoint(run / "checkpoints")) == 1
