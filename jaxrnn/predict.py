"""Apply a trained classifier to new inputs: ``jaxrnn.load_classifier(run_dir)`` and ``jaxrnn predict``.

A Reber run reads letter strings such as ``BTSSXXTVVETE`` (label 1: embedded Reber, 0: not); an MNIST
run reads paths to 28x28 grayscale PNGs or ``.npy`` arrays of shape [28, 28] (uint8 0-255 or float
0-1, a white digit on black; labels 0-9). Every input is checked before any is classified.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn import checkpoint
from jaxrnn.data.reber import SYMBOLS, one_hot_strings
from jaxrnn.tasks.classifier import SequenceClassifier, build_classifier
from jaxrnn.train import best_params_path

INPUT_SIZE = {"reber": len(SYMBOLS), "mnist": 28}


class BadInputError(ValueError):
    """Some inputs are bad; ``problems`` lists ``(index, message)`` for each, index from 0."""

    def __init__(self, problems: list[tuple[int, str]]):
        super().__init__("; ".join(f"inputs[{i}]: {m}" for i, m in problems))
        self.problems = problems


class LoadedClassifier(NamedTuple):
    """A trained classifier: call it on a list of inputs to get ``[(label, probability), ...]``."""

    dataset: str
    config: dict
    model: SequenceClassifier
    params: Any

    def __call__(self, inputs: Sequence[Any]) -> list[tuple[int, float]]:
        """Classify ``inputs`` (strings for Reber; paths or ``[28, 28]`` arrays for MNIST).

        Returns:
          One ``(label, probability of that label)`` per input, in order.

        Raises:
          BadInputError: one or more inputs are bad (all are checked first; nothing is classified).
        """
        return classify(self, inputs)


def _run_dir(run_dir: str | os.PathLike) -> pathlib.Path:
    path = pathlib.Path(run_dir)
    config_file = path / "config.json"
    if not config_file.is_file():
        raise ValueError(
            f"run_dir must be a classifier run directory holding config.json "
            f"(e.g. runs/classifier-reber-default); got {str(path)!r}"
        )
    return path


def load_classifier(run_dir: str | os.PathLike) -> LoadedClassifier:
    """Load the classifier that ``jaxrnn train classifier --out RUN_DIR`` trained.

    The weights are the run's validation-best ones (``checkpoints/best``), else its latest checkpoint's
    (its moving average when the run used one).

    Args:
      run_dir: the run directory (holding ``config.json`` and ``checkpoints/``).

    Returns:
      A :class:`LoadedClassifier`; ``classify(["BTSSXXTVVETE"])`` gives ``[(1, 0.99...)]``.

    Raises:
      ValueError: ``run_dir`` is not a classifier run, or its checkpoint does not match its config.
      FileNotFoundError: the run has no checkpoint.
    """
    path = _run_dir(run_dir)
    config = json.loads((path / "config.json").read_text())
    if config.get("task") != "classifier" or config.get("dataset") not in INPUT_SIZE:
        raise ValueError(
            f"run_dir must come from `jaxrnn train classifier`; {str(path)!r} holds a "
            f"{config.get('task')!r} run (dataset {config.get('dataset')!r})"
        )
    model = build_classifier(config)
    template = model.init(jax.random.key(0), INPUT_SIZE[config["dataset"]])
    best = best_params_path(path / "checkpoints")
    if best is not None:
        raw = checkpoint.restore_checkpoint(best)["params"]
    else:
        state = checkpoint.restore_checkpoint(path / "checkpoints")["train_state"]
        raw = state["ema_params"] if state.get("ema_params") is not None else state["params"]
    params = checkpoint.structure_like(template, raw, path / "checkpoints")
    return LoadedClassifier(config["dataset"], config, model, jax.tree.map(jnp.asarray, params))


def _parse_reber(item: Any) -> str:
    if not isinstance(item, str):
        raise ValueError(f"expected a string of the letters {SYMBOLS}; got {type(item).__name__}")
    if item == "":
        raise ValueError(f"'' is empty; expected a string of the letters {SYMBOLS}")
    bad = sorted({c for c in item if c not in SYMBOLS})
    if bad:
        raise ValueError(f"{item!r} has letters outside the alphabet {SYMBOLS}: {''.join(bad)!r}")
    return item


def _parse_image(item: Any) -> np.ndarray:
    """A path (``.png``/``.npy``) or an array -> ``float32 [28, 28]`` in [0, 1]."""
    if isinstance(item, np.ndarray):
        image = item
    elif isinstance(item, (str, os.PathLike)):
        if str(item) == "":
            raise ValueError("'' is empty; expected the path of a 28x28 PNG or .npy file")
        path = pathlib.Path(item)
        if not path.is_file():
            raise ValueError(f"{str(path)!r} is not a readable file")
        try:
            if path.suffix.lower() == ".npy":
                image = np.load(path, allow_pickle=False)
            else:
                import matplotlib.image

                image = matplotlib.image.imread(path)  # PNG: float32 in [0, 1]
        except Exception as e:
            raise ValueError(f"{str(path)!r} cannot be read as a PNG or .npy image: {e}") from e
        if image.ndim == 3 and image.shape[-1] in (3, 4) and np.ptp(image[..., :3], axis=-1).max() == 0:
            image = image[..., 0]  # a gray image saved as RGB(A)
    else:
        raise ValueError(f"expected a path or a [28, 28] array; got {type(item).__name__}")
    if image.shape != (28, 28):
        raise ValueError(f"{_name(item)} must be a [28, 28] grayscale image; got shape {image.shape}")
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    if not np.issubdtype(image.dtype, np.floating) or not (0 <= image.min() and image.max() <= 1):
        raise ValueError(
            f"{_name(item)} must be uint8 0-255 or float 0-1; "
            f"got {image.dtype} in [{image.min()}, {image.max()}]"
        )
    return image.astype(np.float32)


def _name(item: Any) -> str:
    return "the array" if isinstance(item, np.ndarray) else repr(str(item))


def check_inputs(dataset: str, inputs: Sequence[Any]) -> tuple[list[Any], list[tuple[int, str]]]:
    """Parse every input; returns ``(parsed, problems)`` with ``problems`` as ``[(index, message)]``."""
    parse: Callable[[Any], Any] = _parse_reber if dataset == "reber" else _parse_image
    parsed, problems = [], []
    for i, item in enumerate(inputs):
        try:
            parsed.append(parse(item))
        except ValueError as e:
            problems.append((i, str(e)))
    return parsed, problems


def classify(
    classifier: LoadedClassifier, inputs: Sequence[Any], batch_size: int = 256
) -> list[tuple[int, float]]:
    """``[(label, probability)]`` per input; see :meth:`LoadedClassifier.__call__`."""
    parsed, problems = check_inputs(classifier.dataset, inputs)
    if problems:
        raise BadInputError(problems)
    apply = jax.jit(classifier.model.apply)
    out: list[tuple[int, float]] = []
    for start in range(0, len(parsed), batch_size):
        chunk = parsed[start : start + batch_size]
        if classifier.dataset == "reber":
            # pad to a multiple of 16 steps: few distinct shapes, so few compiles
            width = -(-max(len(s) for s in chunk) // 16) * 16
            x, lengths = one_hot_strings(chunk, width)
            logits = apply(classifier.params, jnp.asarray(x), jnp.asarray(lengths))
        else:
            logits = apply(classifier.params, jnp.asarray(np.stack(chunk)))
        probs = np.asarray(jax.nn.softmax(logits.astype(jnp.float32), axis=-1))
        out += [(int(p.argmax()), float(p.max())) for p in probs]
    return out


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``predict`` subcommand to the ``jaxrnn`` command line."""
    parser = subparsers.add_parser(
        "predict",
        help="classify inputs read from standard input (one per line) with a trained classifier",
        description="Reads one input per line (a Reber string, or the path of a 28x28 PNG/.npy for MNIST) "
        "and prints 'label<TAB>probability' per line. Bad lines: 'line N: ...' on standard error, "
        "nothing on standard output, exit status 2.",
    )
    parser.add_argument(
        "--checkpoint", required=True, help="a classifier run directory (holding config.json)"
    )
    return parser


def run(args: argparse.Namespace, stdin: Any = None) -> int:
    """``jaxrnn predict``: 0 when every line was classified, 2 when the run or any line is bad."""
    stdin = sys.stdin if stdin is None else stdin
    try:
        classifier = load_classifier(args.checkpoint)
    except (ValueError, FileNotFoundError) as e:
        print(f"jaxrnn predict: error: --checkpoint: {e}", file=sys.stderr)
        return 2
    lines = [line.strip() for line in stdin.read().splitlines()]
    _, problems = check_inputs(classifier.dataset, lines)
    if problems:
        for i, message in problems:
            print(f"line {i + 1}: {message}", file=sys.stderr)
        return 2
    for label, probability in classify(classifier, lines):
        print(f"{label}\t{probability:.4f}")
    return 0
