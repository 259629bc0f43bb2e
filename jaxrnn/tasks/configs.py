"""Each training task as a config dataclass, ``train(config)``, and the command-line flags derived from it.

A field is one keyword argument of the task's training function and one flag:
``num_units`` is ``--num-units``; its metadata holds the help text, the choices,
aliases (``--units``) and a parser where ``type`` is not enough. The fields
shared by every task (where the run lives, how long it may take, the seed)
come from :class:`RunConfig`. ``train_classifier(**asdict(config))`` is then
the whole bridge, and a test checks each config names exactly its function's
keyword arguments, so a new argument cannot be forgotten on the command line.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any

from jaxrnn import runs
from jaxrnn.tasks.common import CELLS


def option(
    default: Any,
    help: str = "",
    *,
    choices: Sequence[Any] | None = None,
    aliases: Sequence[str] = (),
    flag: str | None = None,
    parse: Callable[[str], Any] | None = None,
) -> Any:
    """A config field with its flag's help, choices, aliases, name (default ``--field-name``) and parser."""
    return dataclasses.field(
        default=default,
        metadata={"help": help, "choices": choices, "aliases": tuple(aliases), "flag": flag, "parse": parse},
    )


_ITSELF = object()  # keyword_or's default: the keyword parses to itself


def keyword_or(
    keyword: str,
    convert: Callable[[str], Any],
    valid: Callable[[Any], bool],
    expected: str,
    meaning: Any = _ITSELF,
) -> Callable[[str], Any]:
    """An argparse ``type`` for a flag taking a keyword or a number (``--unroll auto|4``).

    Args:
      keyword: the word accepted as is, e.g. ``"auto"``; it parses to ``meaning`` (default: itself).
      convert: ``str -> number`` (``int``, ``float``); ``valid``: whether the number is allowed.
      expected: the error's description of both, e.g. ``"a positive int or 'auto'"``.
    """

    def parse(value: str) -> Any:
        if value == keyword:
            return keyword if meaning is _ITSELF else meaning
        try:
            number = convert(value)
        except ValueError:
            number = None
        if number is None or not valid(number):
            raise argparse.ArgumentTypeError(f"must be {expected}; got {value!r}")
        return number

    return parse


unroll_value = keyword_or("auto", int, lambda n: n >= 1, "a positive int or 'auto'")


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """What every training task shares: the run directory, restarts, time budget, seed, output."""

    out: str | None = option(None, "run directory: checkpoints, config.json, metrics.json, plots")
    restart: bool = option(
        False, "start over in --out, ignoring its checkpoints (they are moved to checkpoints/replaced-*)"
    )
    minutes: float | None = option(None, "time budget of the run, in total over resumes")
    checkpoint_every: int | None = option(None, "also checkpoint every N steps")
    seed: int = option(42, "PRNG seed (an integer)")
    quiet: bool = option(False, "no progress bar")


@dataclasses.dataclass(frozen=True)
class ClassifierConfig(RunConfig):
    """:func:`jaxrnn.tasks.classifier.train_classifier`'s arguments; None means the dataset's default."""

    dataset: str = option("reber", "embedded Reber grammar or MNIST", choices=("reber", "mnist"))
    cell: str | None = option(None, "default: gru (reber), basic (mnist)", choices=sorted(CELLS))
    num_units: int | None = option(None, "default: 32 (reber), 150 (mnist)", aliases=("--units",))
    num_layers: int = option(1, "stacked RNN layers", aliases=("--layers",))
    keep_prob: float = option(1.0, "dropout keep probability of each layer's output")
    bidirectional: bool = option(False, "add a backward RNN; the head reads both ends")
    epochs: int | None = option(None, "default: 15 (reber), 100 (mnist)")
    batch_size: int | None = option(None, "default: 50 (reber), 150 (mnist)")
    learning_rate: float | None = option(None, "default: 0.01 (reber), 0.001 (mnist)")
    clip_norm: float | None = option(None, "clip gradients by global norm (default: 1 (reber), none (mnist))")
    lr_decay: float | None = option(
        None, "multiply the learning rate by this each epoch (default: 0.97 mnist, none reber; 1: constant)"
    )
    ema_decay: float | None = option(None, "evaluate a moving average of the weights (e.g. 0.999)")
    unroll: int | str = option(
        1,
        "steps per lax.scan iteration, or 'auto' to time the candidates once (jaxrnn.tune_unroll)",
        parse=unroll_value,
    )
    train_size: int | None = option(None, "use only the first N training examples")
    validation_size: int | None = option(
        None, "validation examples (default: the last 5,000 MNIST training images; 500 Reber strings)"
    )
    data_dir: str | None = option(None, "MNIST directory, or a root holding mnist/ (default: $JAXRNN_DATA)")


@dataclasses.dataclass(frozen=True)
class RegressorConfig(RunConfig):
    """:func:`jaxrnn.tasks.regressor.train_regressor`'s arguments."""

    cell: str = option("basic", choices=sorted(CELLS))
    num_units: int = option(100, aliases=("--units",))
    iterations: int = option(1500, "training steps", flag="--steps", aliases=("--iterations",))
    batch_size: int = option(50)
    variant: str = option("projection", choices=("projection", "time_distributed"))
    learning_rate: float = option(1e-3)
    clip_norm: float | None = option(None, "clip gradients by global norm")


@dataclasses.dataclass(frozen=True)
class MnistTaskConfig(RunConfig):
    """What the MNIST image tasks (``video``, ``spell``) share: data, epochs, Adam and its schedule."""

    seed: int = option(0, "PRNG seed (an integer)")
    data_dir: str | None = option(None, "MNIST directory, or a root holding mnist/ (default: $JAXRNN_DATA)")
    train_size: int | None = option(None, "use only the first N training digits")
    eval_size: int | None = option(None, "use only the first N validation and test digits")
    epochs: int = option(4)
    batch_size: int = option(64)
    learning_rate: float = option(2e-3)
    schedule: str = option("cosine", "cosine: decay to 0 over the run", choices=("cosine", "constant"))

    def __post_init__(self) -> None:
        # an explicit 0 or negative value is refused when the config is made, before any model or data
        check_positive_fields(self)


@dataclasses.dataclass(frozen=True)
class VideoConfig(MnistTaskConfig):
    """:func:`jaxrnn.tasks.video.train_video`'s settings: moving-MNIST clips, digit and direction."""

    # no argparse choices: the model's own check names them (before any data is read)
    model: str = option("lstm", "lstm (per-frame CNN -> LSTM) or convlstm (CNN -> ConvLSTM)")
    num_frames: int = option(4, "frames per clip")
    canvas: int = option(64, "canvas side in pixels")
    min_speed: int = option(3, "pixels per frame")
    max_speed: int = option(6, "pixels per frame")
    units: int = option(128, "LSTM units (lstm)", flag="--num-units", aliases=("--units",))
    filters: int = option(16, "ConvLSTM filters (convlstm)")


@dataclasses.dataclass(frozen=True)
class SpellConfig(MnistTaskConfig):
    """:func:`jaxrnn.tasks.spell.train_spell`'s settings: spell an MNIST digit's name letter by letter."""

    epochs: int = option(3)
    units: int = option(64, "decoder LSTM units", flag="--num-units", aliases=("--units",))
    embed_size: int = option(16, "letter embedding size")


def check_positive_fields(config: RunConfig) -> None:
    """Every int or float field of ``config`` but ``seed`` must be positive (None: unset); else ValueError."""
    hints = typing.get_type_hints(type(config))
    kinds = {f.name: _flag_type(hints[f.name]) for f in dataclasses.fields(config) if f.name != "seed"}
    runs.check_positive(
        dataclasses.asdict(config),
        ints=[name for name, kind in kinds.items() if kind is int],
        numbers=[name for name, kind in kinds.items() if kind is float],
    )


def _train_function(config: RunConfig) -> Callable[..., dict]:
    if isinstance(config, ClassifierConfig):
        from jaxrnn.tasks.classifier import train_classifier

        return train_classifier
    if isinstance(config, RegressorConfig):
        from jaxrnn.tasks.regressor import train_regressor

        return train_regressor
    raise TypeError(
        "config must be a ClassifierConfig, RegressorConfig, VideoConfig or SpellConfig; "
        f"got {type(config).__name__}"
    )


def train(config: RunConfig) -> dict:
    """Train the task ``config`` describes; returns its training function's result dict.

    >>> result = train(ClassifierConfig(epochs=1, train_size=100, quiet=True))  # doctest: +SKIP
    """
    if isinstance(config, VideoConfig):
        from jaxrnn.tasks.video import train_video

        return train_video(config)
    if isinstance(config, SpellConfig):
        from jaxrnn.tasks.spell import train_spell

        return train_spell(config)
    return _train_function(config)(**dataclasses.asdict(config))


def _flag_type(annotation: Any) -> Any:
    """``int | None`` -> ``int``: the non-None member of an optional annotation."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        return members[0] if len(members) == 1 else str
    return annotation


def add_config_arguments(
    parser: argparse.ArgumentParser, config_type: type, choices: dict[str, Sequence[Any]] | None = None
) -> None:
    """Add one flag per field of the dataclass ``config_type`` to ``parser`` (dest = the field's name).

    Fields made with :func:`option` bring their help, choices, aliases, flag name and parser;
    ``choices`` gives (or replaces) the choices of named fields.
    """
    hints = typing.get_type_hints(config_type)
    for field in dataclasses.fields(config_type):
        meta = {"help": "", "choices": None, "aliases": (), "flag": None, "parse": None, **field.metadata}
        meta["choices"] = (choices or {}).get(field.name, meta["choices"])
        names = [meta["flag"] or "--" + field.name.replace("_", "-"), *meta["aliases"]]
        kind = _flag_type(hints[field.name])
        if kind is bool and meta["parse"] is None:
            parser.add_argument(*names, dest=field.name, action="store_true", help=meta["help"])
            continue
        parser.add_argument(
            *names,
            dest=field.name,
            type=meta["parse"] or kind,
            default=field.default,
            choices=meta["choices"],
            help=meta["help"] or None,
        )


def config_from_arguments(config_type: type, args: argparse.Namespace, **overrides: Any) -> Any:
    """The ``config_type`` the parsed flags describe (``overrides`` replace fields)."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(config_type)}
    return config_type(**{**values, **overrides})
