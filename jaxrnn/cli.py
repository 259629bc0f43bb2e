"""The ``jaxrnn`` command line: demo, train classifier|regressor|translator, predict, generate, translate."""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

from jaxrnn.seq2seq.cli import add_train_arguments, add_translate_arguments
from jaxrnn.tasks import forecaster_run
from jaxrnn.tasks import word2vec as word2vec_task
from jaxrnn.tasks.configs import (
    ClassifierConfig,
    RegressorConfig,
    SpellConfig,
    VideoConfig,
    add_config_arguments,
    config_from_arguments,
    train,
)


def build_parser() -> argparse.ArgumentParser:
    """The ``jaxrnn`` command's argument parser, with every sub-command."""
    parser = argparse.ArgumentParser(prog="jaxrnn", description="Recurrent neural networks in JAX.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser("demo", help="run the book's 2-step, 4-instance example")
    demo.add_argument("--seed", type=int, default=42, help="PRNG seed for the weights")

    trainer = commands.add_parser("train", help="train a model (classifier, regressor or translator)")
    tasks = trainer.add_subparsers(dest="task", metavar="TASK")
    # the classifier's and regressor's flags are derived from their config dataclasses
    add_config_arguments(
        tasks.add_parser("classifier", help="sequence classifier: embedded Reber grammar (default) or MNIST"),
        ClassifierConfig,
    )
    add_config_arguments(
        tasks.add_parser(
            "regressor", help="time-series regressor t*sin(t)/3 + 2*sin(5t), then generation plots"
        ),
        RegressorConfig,
    )

    for task, config_type, help_text in (
        ("video", VideoConfig, "exercise 3: moving-MNIST clips, digit + direction, CNN -> LSTM or ConvLSTM"),
        ("spell", SpellConfig, "vector-to-sequence: spell an MNIST digit's English name letter by letter"),
    ):
        add_config_arguments(tasks.add_parser(task, help=help_text, description=help_text), config_type)
    add_train_arguments(
        tasks.add_parser(
            "translator", help="encoder-decoder translation: embedded numbers corpus or Tatoeba file"
        )
    )
    forecaster_run.add_parser(tasks)
    word2vec_task.add_parser(tasks)
    add_translate_arguments(
        commands.add_parser("translate", help="translate sentences with a trained translator")
    )

    from jaxrnn.predict import add_parser as add_predict_parser  # the predict command lives in jaxrnn.predict

    add_predict_parser(commands)

    gen = commands.add_parser("generate", help="generate a sequence from a trained regressor (creative RNN)")
    gen.add_argument("--checkpoint", required=True, help="a regressor run directory (or its checkpoint file)")
    gen.add_argument(
        "--start", choices=["zeros", "instance"], default="zeros", help="what the generation starts from"
    )
    gen.add_argument("--steps", type=int, default=300, help="values to generate")
    gen.add_argument(
        "--out", default=None, help="where to write generated.json and generated.png (default: the run)"
    )
    return parser


def _summary(result: dict) -> str:
    history = result["history"]
    seconds = history.get("seconds") or [0.0]
    return f"{len(history['loss'])} steps, {seconds[-1]:.0f} s of training in total"


def _train(args: argparse.Namespace) -> int:
    if args.task == "translator":
        from jaxrnn.seq2seq.cli import train_command

        return train_command(args)
    if args.task == "word2vec":
        return word2vec_task.run(args)
    if args.task == "forecaster":
        return forecaster_run.run(args)
    if args.task in ("video", "spell"):
        config_type = VideoConfig if args.task == "video" else SpellConfig
        config = config_from_arguments(config_type, args, out=args.out or f"runs/{args.task}")
        result = train(config)
        for name in ("validation", "test"):
            print(f"{name}: {', '.join(f'{k} {v:.4f}' for k, v in sorted(result[name].items()))}")
        print(f"({result['seconds']:.0f} s); config.json, metrics.json and plots in {config.out}")
        return 0
    if args.task == "classifier":
        out = pathlib.Path(args.out or f"runs/classifier-{args.dataset}-{args.cell or 'default'}")
        result = train(config_from_arguments(ClassifierConfig, args, out=str(out)))
        from jaxrnn.tasks.classifier import summary

        print(
            f"{summary(result)} ({_summary(result)}); "
            f"checkpoints, metrics.json and training_curves.png in {out}"
        )
    else:
        out = pathlib.Path(args.out or f"runs/regressor-{args.variant}")
        result = train(config_from_arguments(RegressorConfig, args, out=str(out)))
        print(
            f"MSE {result['final_mse']:.4f} after {_summary(result)}; "
            f"checkpoints, metrics.json, training_curves.png, prediction.png, generated.png in {out}"
        )
    return 0


def _generate(args: argparse.Namespace) -> int:
    import jax
    import jax.numpy as jnp
    import numpy as np
    from flax import serialization

    from jaxrnn import checkpoint
    from jaxrnn.data.time_series import RESOLUTION, time_series
    from jaxrnn.plots import plot_generated
    from jaxrnn.runs import write_json
    from jaxrnn.tasks.regressor import build_regressor, generate

    path = pathlib.Path(args.checkpoint)
    run = path.parent.parent if path.is_file() else (path.parent if path.name == "checkpoints" else path)
    if not (run / "config.json").is_file():
        raise FileNotFoundError(
            f"--checkpoint must be a regressor run directory holding config.json; got {str(path)!r}"
        )
    config = json.loads((run / "config.json").read_text())
    if config.get("task") != "regressor":
        raise ValueError(
            f"--checkpoint must come from `jaxrnn train regressor`; {str(run)!r} holds a {config.get('task')}"
        )
    if args.steps < 1:
        raise ValueError(f"--steps must be a positive int; got {args.steps}")
    model = build_regressor(config)
    template = model.init(jax.random.key(0), 1)
    saved = checkpoint.restore_checkpoint(path if path.is_file() else run / "checkpoints")
    params = serialization.from_state_dict(template, saved["train_state"]["params"])
    n = config["n_steps"]
    if args.start == "zeros":
        start = jnp.zeros((n, 1), jnp.float32)
    else:
        start = jnp.asarray(time_series(np.arange(n) * RESOLUTION + 12.2).astype(np.float32)[:, None])
    sequence = np.asarray(generate(model, params, start, args.steps))[:, 0]
    out = pathlib.Path(args.out) if args.out else run
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / f"generated-{args.start}.json", {"start": args.start, "sequence": sequence.tolist()})
    plot_generated(
        {f"started from {args.start}": sequence}, out / f"generated-{args.start}.png", seed_length=n
    )
    print(
        f"generated {args.steps} steps from a {args.start} start: "
        f"{out / f'generated-{args.start}.json'}, .png"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``jaxrnn`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "demo":
        from jaxrnn.demo import run_demo

        run_demo(seed=args.seed)
        return 0
    if args.command == "predict":
        from jaxrnn.predict import run as run_predict

        return run_predict(args)
    if args.command == "train" and args.task is None:
        parser.parse_args(["train", "--help"])
    from jaxrnn.train import NonFiniteLossError

    try:
        if args.command == "translate":
            from jaxrnn.seq2seq.cli import translate_command

            return translate_command(args)
        return _train(args) if args.command == "train" else _generate(args)
    except (ValueError, TypeError, FileNotFoundError, NonFiniteLossError) as e:
        # a clear one-line message instead of a traceback: these are the user's inputs or data
        print(f"jaxrnn: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
