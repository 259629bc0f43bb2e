"""The accuracy cost of mixed precision: float32 vs ``matmul_dtype=jnp.bfloat16``, same seed, same settings.

Trains the same classifier twice, once per matmul dtype, with the same initial weights, batches and
optimizer, and scores each on the validation set (its validation-best epoch) and once on the test set:

* Reber: the ``jaxrnn train classifier`` defaults (GRU 32 units, Adam 0.01, clip 1, 4,000 strings,
  a quarter long), ``--reber-epochs`` epochs.
* MNIST row by row: the book's basic tanh cell of 150 units, batches of 150, Adam 0.001, the
  55,000/5,000 training/validation split (or the first ``--mnist-train-size`` training images),
  ``--mnist-epochs`` epochs.

Writes ``bench/out/mixed_precision.json``.

    JAXRNN_DATA=../shared/data nice -n 5 python -m bench.mixed_precision --reber-epochs 5 \
        --mnist-epochs 2 --mnist-train-size 10000
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import jax
import jax.numpy as jnp

import jaxrnn
from bench import timing
from jaxrnn import train
from jaxrnn.data.batching import sequential_batches, shuffled_batches
from jaxrnn.tasks.classifier import DEFAULTS, classifier_loss, load_splits, sequence_classifier

CELLS = {"reber": jaxrnn.gru_cell, "mnist": jaxrnn.basic_cell}


def run(dataset: str, matmul_dtype: Any, epochs: int, sets: dict, seed: int = 42) -> dict[str, float]:
    """Train one classifier; its validation-best epoch's validation and test accuracy and the minutes."""
    d = DEFAULTS[dataset]
    model = sequence_classifier(
        CELLS[dataset](d["num_units"], matmul_dtype=matmul_dtype), 10 if dataset == "mnist" else 2
    )
    key = jax.random.key(seed)
    params = model.init(jax.random.fold_in(key, 0), sets["train"]["inputs"].shape[-1])
    names = tuple(sets["train"])
    batches = shuffled_batches(tuple(sets["train"].values()), d["batch_size"], seed=seed)
    evaluate = classifier_loss(model)
    eval_fn = jax.jit(lambda p, b: {"accuracy": evaluate(p, b, key)[1]["accuracy"]})

    def eval_batches(name):
        return (dict(zip(sets[name], b)) for b in sequential_batches(tuple(sets[name].values()), 500))

    start = time.perf_counter()
    state, history = train.fit(
        classifier_loss(model, training=True),
        params,
        lambda epoch: (dict(zip(names, b)) for b in batches(epoch)),
        key=jax.random.fold_in(key, 1),
        epochs=epochs,
        optimizer=train.make_optimizer(d["learning_rate"], clip_norm=d["clip_norm"]),
        eval_fn=eval_fn,
        eval_batches=lambda: eval_batches("validation"),
        quiet=True,
        keep_best="accuracy",
    )
    best = history["best_epoch"][0]
    return {
        "validation_accuracy": history["eval_accuracy"][best - 1],
        "best_epoch": best,
        "test_accuracy": train.evaluate(eval_fn, state.eval_params, eval_batches("test"))["accuracy"],
        "minutes": (time.perf_counter() - start) / 60,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reber-epochs", type=int, default=8)
    parser.add_argument("--mnist-epochs", type=int, default=2)
    parser.add_argument("--datasets", default="reber,mnist")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--mnist-train-size", type=int, default=None, help="the first N training images")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"environment": timing.environment()}
    rows = []
    for dataset in args.datasets.split(","):
        size = args.mnist_train_size if dataset == "mnist" else None
        sets = load_splits(dataset, args.data_dir, train_size=size)
        epochs = args.reber_epochs if dataset == "reber" else args.mnist_epochs
        results[dataset] = {"epochs": epochs, "train_size": len(sets["train"]["labels"])}
        for name, dtype in (("float32", None), ("bfloat16", jnp.bfloat16)):
            r = run(dataset, dtype, epochs, sets)
            results[dataset][name] = r
            rows.append(
                [dataset, name, epochs, r["best_epoch"], r["validation_accuracy"], r["test_accuracy"]]
            )
            print(dataset, name, r, flush=True)
    timing.print_table(["dataset", "matmul dtype", "epochs", "best", "validation acc", "test acc"], rows)
    print(f"wrote {timing.write_json('mixed_precision', results)}")
    return results


if __name__ == "__main__":
    main()
