"""``jaxrnn.load_classifier`` and ``jaxrnn predict``: float64 NumPy references, bad inputs, exit codes."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from numpy_reference import basic_step, gru_step, np64

import jaxrnn
from jaxrnn import checkpoint, cli
from jaxrnn.data import mnist
from jaxrnn.predict import BadInputError
from jaxrnn.tasks import classifier

STRINGS = ["BTBTXSETE", "BPBTXSEPE", "BPBTXSETE", "BTBPTTVPXVPXTTTVVETE", "BTBPVVEPE"]


@pytest.fixture(scope="module")
def reber_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("reber")
    result = classifier.train_classifier(
        "reber", num_units=8, epochs=2, train_size=200, validation_size=100, test_size=100,
        out=out, quiet=True, plot=False,
    )  # fmt: skip
    return out, result


@pytest.fixture(scope="module")
def mnist_run(tmp_path_factory):
    rng = np.random.default_rng(0)
    fake = mnist.Mnist(
        rng.integers(0, 256, (60, 28, 28), dtype=np.uint8),
        np.arange(60, dtype=np.int32) % 10,
        rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
        np.arange(10, dtype=np.int32),
    )
    with pytest.MonkeyPatch.context() as m:
        m.setattr(mnist, "load_mnist", lambda data_dir: fake)
        out = tmp_path_factory.mktemp("mnist")
        classifier.train_classifier(
            "mnist", num_units=6, epochs=1, batch_size=10, validation_size=20, out=out, quiet=True, plot=False
        )
    return out, fake


def _softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def _saved_params(run):
    """The kept weights, read from the checkpoint file by the checkpoint reader, not by load_classifier."""
    (best,) = (run / "checkpoints" / "best").glob("ckpt_*.msgpack")
    return checkpoint.restore_checkpoint(best)["params"]


def _reference_reber(params, s):
    h = np.zeros(params["rnn"]["Wh"].shape[0])
    for c in s:
        h, _ = gru_step(np64(params["rnn"]), h, np.eye(7)["BEPSTVX".index(c)])
    p = _softmax(h @ np.float64(params["logits"]["W"]) + np.float64(params["logits"]["b"]))
    return int(p.argmax()), float(p.max())


def test_load_classifier_matches_a_numpy_gru_on_the_saved_weights(reber_run):
    run, result = reber_run
    classify = jaxrnn.load_classifier(run)
    got = classify(STRINGS)
    params = _saved_params(run)
    for (label, prob), s in zip(got, STRINGS):
        ref_label, ref_prob = _reference_reber(params, s)
        assert label == ref_label
        np.testing.assert_allclose(prob, ref_prob, rtol=1e-5)
    # the run's kept (validation-best) weights, the ones train_classifier returned
    for a, b in zip(
        jaxrnn.restore_checkpoint(next((run / "checkpoints" / "best").iterdir()))["params"]["rnn"].values(),
        result["params"]["rnn"].values(),
    ):
        np.testing.assert_array_equal(a, b)


def test_predict_command_prints_label_tab_probability_in_order(reber_run, monkeypatch, capsys):
    run, _ = reber_run
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(STRINGS) + "\n"))
    assert cli.main(["predict", "--checkpoint", str(run)]) == 0
    captured = capsys.readouterr()
    params = _saved_params(run)
    lines = captured.out.splitlines()
    assert len(lines) == len(STRINGS) and captured.err == ""
    for line, s in zip(lines, STRINGS):
        label, prob = line.split("\t")
        ref_label, ref_prob = _reference_reber(params, s)
        assert int(label) == ref_label and abs(float(prob) - ref_prob) < 1e-4


def test_bad_lines_print_nothing_and_exit_2(reber_run, monkeypatch, capsys):
    run, _ = reber_run
    monkeypatch.setattr(sys, "stdin", io.StringIO("BTBTXSETE\n\nBTBAXSETE\nBPBTXSEPE\nbtbtxsete\n"))
    assert cli.main(["predict", "--checkpoint", str(run)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "line 2: '' is empty; expected a string of the letters BEPSTVX",
        "line 3: 'BTBAXSETE' has letters outside the alphabet BEPSTVX: 'A'",
        "line 5: 'btbtxsete' has letters outside the alphabet BEPSTVX: 'bestx'",
    ]
    with pytest.raises(BadInputError, match=r"inputs\[1\]: 'BQ' has letters outside") as e:
        jaxrnn.load_classifier(run)(["BTBTXSETE", "BQ"])
    assert e.value.problems == [(1, "'BQ' has letters outside the alphabet BEPSTVX: 'Q'")]


def test_a_run_directory_that_is_not_a_classifier_exits_2(tmp_path, monkeypatch, capsys):
    (tmp_path / "reg").mkdir()
    (tmp_path / "reg" / "config.json").write_text(json.dumps({"task": "regressor"}))
    for run, message in (
        (tmp_path / "reg", "must come from `jaxrnn train classifier`; .* holds a 'regressor' run"),
        (tmp_path / "none", "must be a classifier run directory holding config.json .*none'"),
    ):
        monkeypatch.setattr(sys, "stdin", io.StringIO("BTBTXSETE\n"))
        assert cli.main(["predict", "--checkpoint", str(run)]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.startswith("jaxrnn predict: error: --checkpoint: ")
        assert len(captured.err.splitlines()) == 1 and re.search(message, captured.err)


def _reference_mnist(params, image):
    h = np.zeros(params["rnn"]["Wh"].shape[0])
    for row in np.float64(image):
        h, _ = basic_step(np64(params["rnn"]), h, row)
    p = _softmax(h @ np.float64(params["logits"]["W"]) + np.float64(params["logits"]["b"]))
    return int(p.argmax()), float(p.max())


def test_mnist_run_reads_png_and_npy_images(mnist_run, tmp_path, monkeypatch, capsys):
    from PIL import Image

    run, fake = mnist_run
    images = fake.test_images[:3]
    Image.fromarray(images[0], mode="L").save(tmp_path / "a.png")
    np.save(tmp_path / "b.npy", images[1])  # uint8 0-255
    np.save(tmp_path / "c.npy", images[2].astype(np.float32) / 255)  # float 0-1
    paths = [str(tmp_path / n) for n in ("a.png", "b.npy", "c.npy")]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(paths) + "\n"))
    assert cli.main(["predict", "--checkpoint", str(run)]) == 0
    params = _saved_params(run)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    for line, image in zip(lines, images):
        label, prob = line.split("\t")
        ref_label, ref_prob = _reference_mnist(params, image.astype(np.float64) / 255)
        assert int(label) == ref_label and abs(float(prob) - ref_prob) < 1e-4
    # the Python twin takes arrays as well as paths
    twin = jaxrnn.load_classifier(run)([images[0], images[1].astype(np.float32) / 255, paths[2]])
    assert [f"{label}\t{prob:.4f}" for label, prob in twin] == lines


def test_mnist_bad_images_are_named(mnist_run, tmp_path, monkeypatch, capsys):
    run, _ = mnist_run
    np.save(tmp_path / "small.npy", np.zeros((27, 28), np.uint8))
    np.save(tmp_path / "bright.npy", np.full((28, 28), 2.0, np.float32))
    (tmp_path / "text.png").write_text("not an image")
    lines = [tmp_path / "small.npy", tmp_path / "bright.npy", tmp_path / "text.png", tmp_path / "missing.png"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(map(str, lines)) + "\n"))
    assert cli.main(["predict", "--checkpoint", str(run)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.splitlines()
    assert len(err) == 4
    assert (
        err[0].startswith("line 1: ")
        and "small.npy' must be a [28, 28] grayscale image; got shape (27, 28)" in err[0]
    )
    assert (
        err[1].startswith("line 2: ")
        and "bright.npy' must be uint8 0-255 or float 0-1; got float32 in [2.0, 2.0]" in err[1]
    )
    assert err[2].startswith("line 3: ") and "text.png' cannot be read as a PNG or .npy image" in err[2]
    assert err[3].startswith("line 4: ") and "missing.png' is not a readable file" in err[3]


def test_the_installed_command_exits_2_on_a_bad_line(reber_run):
    run, _ = reber_run
    proc = subprocess.run(
        [sys.executable, "-m", "jaxrnn", "predict", "--checkpoint", str(run)],
        input="BTBTXSETE\nBTBTXSETEX?\n",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip() == "line 2: 'BTBTXSETEX?' has letters outside the alphabet BEPSTVX: '?'"


def test_a_run_without_a_best_checkpoint_uses_its_latest_weights(reber_run, tmp_path):
    import shutil

    run, _ = reber_run
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    shutil.rmtree(copy / "checkpoints" / "best")  # as written by runs before keep_best existed
    latest = checkpoint.restore_checkpoint(copy / "checkpoints")["train_state"]["params"]
    params = {"rnn": latest["rnn"], "logits": latest["logits"]}
    got = jaxrnn.load_classifier(copy)(STRINGS)
    for (label, prob), s in zip(got, STRINGS):
        ref_label, ref_prob = _reference_reber(params, s)
        assert label == ref_label
        np.testing.assert_allclose(prob, ref_prob, rtol=1e-5)
