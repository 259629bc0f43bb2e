"""MNIST sequence classifier benchmark (Géron ch. 14): test accuracy per epoch and wall-clock minutes.

Each image is 28 steps of 28 pixels; one RNN layer of 150 units, a dense layer
of 10 on the last output, softmax cross-entropy, Adam 0.001, batches of 150 (the
book's setting). The run checkpoints after every epoch and stops at
``--epochs`` or after ``--minutes`` (counted over all runs), writing ``bench.json``,
``metrics.json`` and a PNG in ``--out``; running it again with the same ``--out``
continues where it stopped.

    JAXRNN_DATA=../shared/data/mnist nice -n 10 python bench/mnist_classifier.py --cell basic --minutes 40
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time

from jaxrnn.plots import plot_training_curves
from jaxrnn.tasks.classifier import train_classifier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", default="basic", choices=["basic", "lstm", "gru"])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--minutes", type=float, default=60.0, help="stop after the epoch that passes this")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=None)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--lr-decay", type=float, default=None, help="lr factor per epoch")
    parser.add_argument("--ema-decay", type=float, default=None, help="evaluate averaged weights")
    parser.add_argument("--clip-norm", type=float, default=None, help="clip gradients by global norm")
    parser.add_argument("--units", type=int, default=None, help="default 150 (the book)")
    parser.add_argument("--layers", type=int, default=1, help="stacked layers")
    parser.add_argument(
        "--keep-prob", type=float, default=1.0, help="output keep prob of each layer (training)"
    )
    parser.add_argument("--bidirectional", action="store_true", help="add a backward RNN")
    args = parser.parse_args()
    out = pathlib.Path(args.out or f"runs/bench_mnist_{args.cell}")
    start = time.perf_counter()
    rows = []
    bench_json = out / "bench.json"
    if bench_json.exists():
        # a rerun with the same --out continues: the trainer resumes from the last checkpoint
        rows = json.loads(bench_json.read_text())["rows"]
        start -= rows[-1]["minutes"] * 60 if rows else 0.0
    for epoch in range(len(rows) + 1, args.epochs + 1):
        # one epoch per call: it resumes from the previous epoch's checkpoint in out/checkpoints
        result = train_classifier(
            "mnist",
            cell=args.cell,
            epochs=epoch,
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
            quiet=True,
            plot=False,
        )
        minutes = (time.perf_counter() - start) / 60
        rows.append({"epoch": epoch, "test_accuracy": result["test_accuracy"], "minutes": round(minutes, 2)})
        print(
            f"{args.cell} epoch {epoch:3d}  test accuracy {result['test_accuracy']:.4f}  {minutes:6.1f} min",
            flush=True,
        )
        bench_json.write_text(json.dumps({"cell": args.cell, "rows": rows}, indent=1))
        if minutes > args.minutes:
            break
    plot_training_curves(result["history"], out / "mnist_curves.png", title=f"MNIST {args.cell}")
    best = max(rows, key=lambda r: r["test_accuracy"])
    print(f"best: {best['test_accuracy']:.4f} at epoch {best['epoch']} ({best['minutes']} min)")


if __name__ == "__main__":
    main()
