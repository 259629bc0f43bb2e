"""The ``jaxrnn`` command line: demo, train classifier|regressor|translator, generate, translate."""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

from jaxrnn.seq2seq.cli import add_train_arguments, add_translate_arguments
from jaxrnn.tasks import word2vec as word2vec_task
from jaxrnn.tasks.common import CELLS


def _unroll_arg(value: str) -> int | str:
    if value == "auto":
        return value
    try:
        unroll = int(value)
    except ValueError:
        unroll = 0
    if unroll < 1:
        raise argparse.ArgumentTypeError(f"must be a positive int or 'auto'; got {value!r}")
    return unroll


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jaxrnn", description="Recurrent neural networks in JAX.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser("demo", help="run the book's 2-step, 4-instance example")
    demo.add_argument("--seed", type=int, default=42, help="PRNG seed for the weights")

    train = commands.add_parser("train", help="train a model (classifier, regressor or translator)")
    tasks = train.add_subparsers(dest="task", metavar="TASK")
    clf = tasks.add_parser(
        "classifier", help="sequence classifier: embedded Reber grammar (default) or MNIST"
    )
    clf.add_argument("--dataset", choices=["reber", "mnist"], default="reber")
    clf.add_argument(
        "--cell", choices=sorted(CELLS), default=None, help="default: gru (reber), basic (mnist)"
    )
    clf.add_argument("--units", type=int, default=None, help="default: 32 (reber), 150 (mnist)")
    clf.add_argument("--layers", type=int, default=1, help="stacked RNN layers (default 1)")
    clf.add_argument(
        "--keep-prob", type=float, default=1.0, help="dropout keep probability of each layer's output"
    )
    clf.add_argument(
        "--bidirectional", action="store_true", help="add a backward RNN; the head reads both ends"
    )
    clf.add_argument("--epochs", type=int, default=None, help="default: 15 (reber), 100 (mnist)")
    clf.add_argument("--batch-size", type=int, default=None, help="default: 50 (reber), 150 (mnist)")
    clf.add_argument("--learning-rate", type=float, default=None, help="default: 0.01 (reber), 0.001 (mnist)")
    clf.add_argument("--clip-norm", type=float, default=None, help="clip gradients by global norm")
    clf.add_argument(
        "--lr-decay", type=float, default=None, help="multiply the learning rate by this each epoch"
    )
    clf.add_argument(
        "--ema-decay", type=float, default=None, help="evaluate a moving average of the weights (e.g. 0.999)"
    )
    clf.add_argument(
        "--unroll",
        type=_unroll_arg,
        default=1,
        help="steps per lax.scan iteration, or 'auto' to time the candidates once (jaxrnn.tune_unroll)",
    )
    clf.add_argument("--train-size", type=int, default=None, help="use only the first N training examples")
    clf.add_argument("--data-dir", default=None, help="MNIST directory (default: $JAXRNN_DATA)")
    reg = tasks.add_parser(
        "regressor", help="time-series regressor t*sin(t)/3 + 2*sin(5t), then generation plots"
    )
    reg.add_argument("--cell", choices=sorted(CELLS), default="basic")
    reg.add_argument("--units", type=int, default=100)
    reg.add_argument("--iterations", type=int, default=1500)
    reg.add_argument("--batch-size", type=int, default=50)
    reg.add_argument("--variant", choices=["projection", "time_distributed"], default="projection")
    reg.add_argument("--learning-rate", type=float, default=1e-3)
    reg.add_argument("--clip-norm", type=float, default=None)
    for p in (clf, reg):
        p.add_argument(
            "--out", default=None, help="directory for checkpoints, metrics.json, plots (default runs/...)"
        )
        p.add_argument("--checkpoint-every", type=int, default=None, help="also checkpoint every N steps")
        p.add_argument("--restart", action="store_true", help="ignore checkpoints already in --out")
        p.add_argument("--seed", type=int, default=42)
        p.add_argument("--quiet", action="store_true", help="no progress bar")

    add_train_arguments(
        tasks.add_parser(
            "translator", help="encoder-decoder translation: embedded numbers corpus or Tatoeba file"
        )
    )
    word2vec_task.add_parser(tasks)
    add_translate_arguments(
        commands.add_parser("translate", help="translate sentences with a trained translator")
    )

    gen = commands.add_parser("generate", help="generate a sequence from a trained regressor (creative RNN)")
    gen.add_argument("--checkpoint", required=True, help="a regressor run directory (or its checkpoint file)")
    gen.add_argument(
        "--seed", choices=["zeros", "instance"], default="zeros", help="what the generation starts from"
    )
    gen.add_argument("--steps", type=int, default=300)
    gen.add_argument(
        "--out", default=None, help="where to write generated.json and generated.png (default: the run)"
    )
    return parser


def _train(args: argparse.Namespace) -> int:
    import shutil

    if args.task == "translator":
        from jaxrnn.seq2seq.cli import train_command

        return train_command(args)
    if args.task == "word2vec":
        return word2vec_task.run(args)
    if args.task == "classifier":
        from jaxrnn.tasks.classifier import train_classifier

        out = pathlib.Path(args.out or f"runs/classifier-{args.dataset}-{args.cell or 'default'}")
        if args.restart:
            shutil.rmtree(out / "checkpoints", ignore_errors=True)
        result = train_classifier(
            args.dataset,
            cell=args.cell,
            num_units=args.units,
            num_layers=args.layers,
            keep_prob=args.keep_prob,
            bidirectional=args.bidirectional,
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            clip_norm=args.clip_norm,
            lr_decay=args.lr_decay,
            ema_decay=args.ema_decay,
            unroll=args.unroll,
            data_dir=args.data_dir,
            train_size=args.train_size,
            out=out,
            checkpoint_every=args.checkpoint_every,
            seed=args.seed,
            quiet=args.quiet,
        )
        print(
            f"test accuracy {result['test_accuracy']:.4f} after {result['config']['epochs']} epochs "
            f"({result['seconds']:.0f} s); checkpoints, metrics.json and training_curves.png in {out}"
        )
    else:
        from jaxrnn.tasks.regressor import train_regressor

        out = pathlib.Path(args.out or f"runs/regressor-{args.variant}")
        if args.restart:
            shutil.rmtree(out / "checkpoints", ignore_errors=True)
        result = train_regressor(
            iterations=args.iterations,
            batch_size=args.batch_size,
            num_units=args.units,
            cell=args.cell,
            variant=args.variant,
            learning_rate=args.learning_rate,
            clip_norm=args.clip_norm,
            out=out,
            checkpoint_every=args.checkpoint_every,
            seed=args.seed,
            quiet=args.quiet,
        )
        print(
            f"MSE {result['final_mse']:.4f} after {args.iterations} iterations ({result['seconds']:.0f} s); "
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
    from jaxrnn.tasks.common import write_json
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
    if args.seed == "zeros":
        seed = jnp.zeros((n, 1), jnp.float32)
    else:
        seed = jnp.asarray(time_series(np.arange(n) * RESOLUTION + 12.2).astype(np.float32)[:, None])
    sequence = np.asarray(generate(model, params, seed, args.steps))[:, 0]
    out = pathlib.Path(args.out) if args.out else run
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / f"generated-{args.seed}.json", {"seed": args.seed, "sequence": sequence.tolist()})
    plot_generated({f"seeded with {args.seed}": sequence}, out / f"generated-{args.seed}.png", seed_length=n)
    print(
        f"generated {args.steps} steps from a {args.seed} seed: {out / f'generated-{args.seed}.json'}, .png"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``jaxrnn`` command; returns the exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "demo":
        from jaxrnn.demo import run_demo

        run_demo(seed=args.seed)
        return 0
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
