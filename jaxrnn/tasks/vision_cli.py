"""``jaxrnn train video`` and ``jaxrnn train spell``: flags derived from the tasks' config dataclasses."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import typing
from typing import Any

# task name -> (module, config class, train function, help); imported lazily so `jaxrnn --help` stays fast
TASKS = {
    "video": (
        "jaxrnn.tasks.video",
        "VideoConfig",
        "train_video",
        "exercise 3: moving-MNIST clips, digit + direction, CNN -> LSTM or ConvLSTM",
    ),
    "spell": (
        "jaxrnn.tasks.spell",
        "SpellConfig",
        "train_spell",
        "vector-to-sequence: spell an MNIST digit's English name letter by letter",
    ),
}


def _config_class(task: str) -> type:
    import importlib

    module, config, _, _ = TASKS[task]
    return getattr(importlib.import_module(module), config)


def _add_fields(parser: argparse.ArgumentParser, config: type) -> None:
    hints = typing.get_type_hints(config)
    for field in dataclasses.fields(config):
        flag = "--" + field.name.replace("_", "-")
        kind = hints[field.name]
        if kind is bool:
            parser.add_argument(flag, action="store_true", help=f"(default {field.default})")
            continue
        # `int | None` and the like: the flag takes the non-None type
        base = next((a for a in typing.get_args(kind) if a is not type(None)), kind)
        parser.add_argument(flag, type=base, default=field.default, help=f"default: {field.default}")


def add_parser(subparsers: Any) -> None:
    """Add the ``video`` and ``spell`` tasks to ``jaxrnn train``'s subparsers."""
    for task, (_, _, _, help_text) in TASKS.items():
        parser = subparsers.add_parser(task, help=help_text, description=help_text)
        _add_fields(parser, _config_class(task))


def run(args: argparse.Namespace) -> int:
    """Train the task named by ``args.task`` with the flags' config; print the held-out numbers."""
    import importlib
    import pathlib

    module, _, train_name, _ = TASKS[args.task]
    config_class = _config_class(args.task)
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(config_class)}
    if values["out"] is None:
        values["out"] = f"runs/{args.task}"
    config = config_class(**values)
    result = getattr(importlib.import_module(module), train_name)(config)
    shown = lambda metrics: ", ".join(f"{k} {v:.4f}" for k, v in sorted(metrics.items()))  # noqa: E731
    print(f"validation: {shown(result['validation'])}")
    print(f"test: {shown(result['test'])}")
    print(f"({result['seconds']:.0f} s); config.json, metrics.json and plots in {pathlib.Path(config.out)}")
    sys.stdout.flush()
    return 0
