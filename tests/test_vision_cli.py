"""``jaxrnn train video`` and ``jaxrnn train spell``: flags from the config dataclasses, clear errors."""

from __future__ import annotations

import dataclasses

import pytest

from jaxrnn.cli import main
from jaxrnn.tasks.spell import SpellConfig
from jaxrnn.tasks.video import VideoConfig


@pytest.mark.parametrize("task, config", [("video", VideoConfig), ("spell", SpellConfig)])
def test_every_config_field_is_a_flag(task, config, capsys):
    with pytest.raises(SystemExit):
        main(["train", task, "--help"])
    text = capsys.readouterr().out
    for field in dataclasses.fields(config):
        assert "--" + field.name.replace("_", "-") in text


def test_bad_model_is_a_one_line_error_before_any_data_is_read(capsys, tmp_path):
    # --data-dir points nowhere: the model check must come first
    code = main(["train", "video", "--model", "gru", "--data-dir", str(tmp_path), "--out", str(tmp_path)])
    assert code == 1
    assert "model must be one of ['lstm', 'convlstm']; got 'gru'" in capsys.readouterr().err


def test_missing_mnist_says_where_to_put_it(capsys, tmp_path):
    code = main(["train", "spell", "--data-dir", str(tmp_path / "none"), "--out", str(tmp_path / "run")])
    assert code == 1
    assert "MNIST file train-images-idx3-ubyte.gz not found" in capsys.readouterr().err


@pytest.mark.parametrize("task", ["classifier", "regressor", "video", "spell"])
def test_every_fit_task_has_the_shared_flags(task, capsys):
    with pytest.raises(SystemExit):
        main(["train", task, "--help"])
    text = capsys.readouterr().out
    for flag in ("--num-units", "--units", "--out", "--restart", "--minutes", "--seed", "--quiet"):
        assert flag in text, flag


@pytest.mark.parametrize(
    "flags, message",
    [
        (["spell", "--units", "0"], "units must be a positive int; got 0"),
        (["video", "--minutes", "-1"], "minutes must be a positive number; got -1.0"),
        (["video", "--learning-rate", "0"], "learning_rate must be a positive number; got 0.0"),
        (["spell", "--eval-size", "-5"], "eval_size must be a positive int; got -5"),
    ],
)
def test_explicit_zero_or_negative_is_refused_before_any_data_is_read(flags, message, capsys, tmp_path):
    # --data-dir points nowhere: the value check must come first, and no default replaces the value
    code = main(["train", *flags, "--data-dir", str(tmp_path / "none"), "--out", str(tmp_path / "run")])
    assert code == 1
    assert message in capsys.readouterr().err
