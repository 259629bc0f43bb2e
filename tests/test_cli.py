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
        (["generate", "--checkpoint", "x", "--start", "ones"], "argument --start: invalid choice: 'ones'"),
        (["train", "regressor", "--seed", "zeros"], "argument --seed: invalid int value: 'zeros'"),
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
    assert cli.main(["generate", "--checkpoint", str(run), "--start", "zeros", "--steps", "25"]) == 0
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


TINY = ["train", "classifier", "--train-size", "100", "--num-units", "4", "--batch-size", "50", "--quiet"]


def test_a_run_is_never_overwritten_by_another_configuration(tmp_path, capsys):
    run = tmp_path / "clf"
    assert cli.main([*TINY, "--epochs", "1", "--out", str(run)]) == 0
    first = checkpoint.latest_checkpoint(run / "checkpoints")
    saved = first.read_bytes()
    capsys.readouterr()
    # another learning rate on the same directory: refused, naming the field and the ways out
    assert cli.main([*TINY, "--epochs", "2", "--learning-rate", "0.5", "--out", str(run)]) == 1
    err = capsys.readouterr().err
    assert "learning_rate: saved 0.01, requested 0.5" in err and "--out" in err and "--restart" in err
    assert checkpoint.latest_checkpoint(run / "checkpoints") == first and first.read_bytes() == saved
    assert json.loads((run / "config.json").read_text())["learning_rate"] == 0.01
    # more epochs: the same run, resumed (2 steps per epoch)
    assert cli.main([*TINY, "--epochs", "2", "--out", str(run)]) == 0
    out = capsys.readouterr().out
    assert "of 2), test accuracy" in out and "(4 steps" in out
    assert checkpoint.checkpoint_step(checkpoint.latest_checkpoint(run / "checkpoints")) == 4
    # --restart: a new run in the same directory; the old checkpoints are moved, not deleted
    assert cli.main([*TINY, "--epochs", "1", "--learning-rate", "0.5", "--restart", "--out", str(run)]) == 0
    assert checkpoint.checkpoint_step(checkpoint.latest_checkpoint(run / "checkpoints")) == 2
    (replaced,) = (run / "checkpoints").glob("replaced-*")
    assert checkpoint.checkpoint_step(checkpoint.latest_checkpoint(replaced)) == 4
    assert json.loads((run / "config.json").read_text())["learning_rate"] == 0.5


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--units", "0"], "num_units must be a positive int; got 0"),
        (["--num-units", "-3"], "num_units must be a positive int; got -3"),
        (["--learning-rate", "0"], "learning_rate must be a positive number; got 0.0"),
        (["--batch-size", "0"], "batch_size must be a positive int; got 0"),
        (["--epochs", "0"], "epochs must be a positive int; got 0"),
        (["--clip-norm", "0"], "clip_norm must be a positive number; got 0.0"),
        (["--minutes", "0"], "minutes must be a positive number; got 0.0"),
    ],
)
def test_explicit_zero_or_negative_is_an_error_not_a_default(flags, message, tmp_path, capsys):
    run = tmp_path / "r"
    assert cli.main([*TINY, *flags, "--out", str(run)]) == 1
    assert f"jaxrnn: error: {message}" in capsys.readouterr().err
    assert not run.exists()  # refused before anything was written


def test_regressor_flags_are_the_shared_ones(tmp_path, capsys):
    run = tmp_path / "reg"
    argv = ["train", "regressor", "--num-units", "4", "--steps", "3", "--out", str(run), "--quiet"]
    assert cli.main([*argv, "--seed", "1"]) == 0
    assert "after 3 steps" in capsys.readouterr().out
    assert json.loads((run / "config.json").read_text())["num_units"] == 4
    assert cli.main([*argv, "--seed", "2"]) == 1
    assert "seed: saved 1, requested 2" in capsys.readouterr().err
    assert cli.main(["train", "regressor", "--units", "0", "--out", str(tmp_path / "z"), "--quiet"]) == 1
    assert "num_units must be a positive int; got 0" in capsys.readouterr().err


@pytest.mark.parametrize(
    "config_type, function, not_on_the_command_line",
    [
        ("ClassifierConfig", "jaxrnn.tasks.classifier:train_classifier", {"test_size", "plot"}),
        ("RegressorConfig", "jaxrnn.tasks.regressor:train_regressor", {"n_steps", "plot"}),
    ],
)
def test_each_config_names_exactly_its_training_function_arguments(
    config_type, function, not_on_the_command_line
):
    import dataclasses
    import importlib
    import inspect

    from jaxrnn.tasks import configs

    module, name = function.split(":")
    parameters = inspect.signature(getattr(importlib.import_module(module), name)).parameters
    fields = {f.name: f.default for f in dataclasses.fields(getattr(configs, config_type))}
    assert set(fields) == set(parameters) - not_on_the_command_line
    for field, default in fields.items():  # the same defaults, so the CLI and Python agree
        assert default == parameters[field].default, field


def test_flags_come_from_the_config_with_aliases(capsys):
    from jaxrnn.tasks.configs import ClassifierConfig, RegressorConfig, config_from_arguments

    parser = cli.build_parser()
    args = parser.parse_args(["train", "classifier", "--units", "7", "--layers", "2", "--unroll", "auto"])
    config = config_from_arguments(ClassifierConfig, args)
    assert config == ClassifierConfig(num_units=7, num_layers=2, unroll="auto")
    args = parser.parse_args(["train", "regressor", "--iterations", "9", "--restart", "--minutes", "1.5"])
    assert config_from_arguments(RegressorConfig, args) == RegressorConfig(
        iterations=9, restart=True, minutes=1.5
    )
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "regressor", "--help"])
    text = capsys.readouterr().out
    for flag in (
        "--num-units",
        "--units",
        "--steps",
        "--iterations",
        "--out",
        "--restart",
        "--minutes",
        "--seed",
    ):
        assert flag in text, flag
    with pytest.raises(
        TypeError,
        match="config must be a ClassifierConfig, RegressorConfig, VideoConfig or SpellConfig; got dict",
    ):
        from jaxrnn.tasks.configs import train

        train({"epochs": 1})


def test_a_budget_that_ends_before_the_first_epoch_is_reported(tmp_path, capsys):
    run = tmp_path / "clf"
    # 1e-4 minutes: the budget is spent after the first step, long before the epoch's end
    assert cli.main([*TINY, "--epochs", "3", "--minutes", "0.0001", "--out", str(run)]) == 0
    out = capsys.readouterr().out
    assert "no epoch finished; test accuracy" in out and "(1 steps" in out
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["history"]["step"] == [1]
    # the budget is spent: running it again does nothing; a larger one continues the same run
    assert cli.main([*TINY, "--epochs", "3", "--minutes", "0.0001", "--out", str(run)]) == 0
    assert "(1 steps" in capsys.readouterr().out
