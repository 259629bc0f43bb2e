"""MNIST sequence classifier (Géron ch. 14): validation per epoch, the validation-best epoch, test once.

Each image is 28 steps of 28 pixels. The defaults are the book's setting (one basic RNN layer of 150
units, a dense layer of 10 on the last output, Adam 0.001, batches of 150, 100 epochs), i.e. the
command ``jaxrnn train classifier --dataset mnist``. Validation is the last 5,000 of the 60,000
training images; every epoch is scored on it, the run ends on its validation-best weights and only
those are scored on the test set, once. Writes ``bench.json`` (with the exact command, commit, date,
CPU and versions) and ``mnist_curves.png`` in ``--out``.

    JAXRNN_DATA=../shared/data nice -n 10 python -m bench.mnist_classifier --cell basic
"""

from __future__ import annotations

import argparse
import json
import pathlib
import shlex

from bench.provenance import provenance
from jaxrnn.plots import plot_training_curves
from jaxrnn.tasks.classifier import summary, train_classifier


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", default="basic", choices=["basic", "lstm", "gru"])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=None)
    parser.add_argument("--learning-rate", type=float, default=None, help="default 0.001 (the book)")
    parser.add_argument("--lr-decay", type=float, default=None, help="lr factor per epoch")
    parser.add_argument("--ema-decay", type=float, default=None, help="evaluate averaged weights")
    parser.add_argument("--clip-norm", type=float, default=None, help="clip gradients by global norm")
    parser.add_argument("--units", type=int, default=None, help="default 150 (the book)")
    parser.add_argument("--layers", type=int, default=1, help="stacked layers")
    parser.add_argument("--keep-prob", type=float, default=1.0, help="output keep prob of each layer")
    parser.add_argument("--bidirectional", action="store_true", help="add a backward RNN")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out or f"runs/bench_mnist_{args.cell}")
    info = provenance()
    result = train_classifier(
        "mnist",
        cell=args.cell,
        epochs=args.epochs,
        data_dir=args.data_dir,
        out=out,
        learning_rate=args.learning_rate,
        lr_decay=args.lr_decay,
        ema_decay=args.ema_decay,
        clip_norm=args.clip_norm,
        num_units=args.units,
        num_layers=args.layers,
        keep_prob=args.keep_prob,
        bidirectional=args.bidirectional,
        quiet=False,
        plot=False,
    )
    flags = {
        "--cell": args.cell, "--epochs": args.epochs, "--learning-rate": args.learning_rate,
        "--lr-decay": args.lr_decay, "--ema-decay": args.ema_decay, "--clip-norm": args.clip_norm,
        "--units": args.units, "--layers": args.layers if args.layers != 1 else None,
        "--keep-prob": args.keep_prob if args.keep_prob != 1.0 else None,
    }  # fmt: skip
    command = "jaxrnn train classifier --dataset mnist " + " ".join(
        f"{k} {shlex.quote(str(v))}" for k, v in flags.items() if v is not None
    )
    command += " --bidirectional" if args.bidirectional else ""
    report = {
        "command": command,
        **info,
        "validation_accuracy": result["validation_accuracy"],
        "best_epoch": result["best_epoch"],
        "test_accuracy": result["test_accuracy"],
        "minutes": result["seconds"] / 60,
        "validation_per_epoch": result["history"].get("eval_accuracy"),
        "config": result["config"],
    }
    (out / "bench.json").write_text(json.dumps(report, indent=1))
    plot_training_curves(
        result["history"], out / "mnist_curves.png", title=f"MNIST {args.cell} (eval = validation)"
    )
    print(
        f"{command}\n{summary(result)} in {report['minutes']:.1f} min; commit {info['commit']}, {info['utc']}"
    )
    return report


if __name__ == "__main__":
    main()
