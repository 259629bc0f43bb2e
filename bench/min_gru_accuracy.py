"""minGRU vs GRU accuracy: the embedded Reber grammar and row-by-row MNIST.

Each model is two recurrent layers and a dense softmax on the last layer's
final state (the state after each sequence's last valid step). minGRU trains
with ``jaxrnn.associative_unroll``; the GRU with ``jaxrnn.dynamic_unroll``.
Both use Adam with gradient clipping, the same hidden size, steps and batches. The parameters kept
are those with the best validation accuracy (checked every ``--eval-every``
steps); the test set is scored once, with them.

* Reber: ``jaxrnn.data.reber.reber_dataset`` with different seeds for
  train, validation and test; strings of the validation and test sets that
  also occur in the training set are dropped, so held-out strings are unseen,
  then each class is cut to the rarer one's count: chance is 50%.
* MNIST: the last 5,000 training images are the validation set; 28 steps of
  28 pixels (scaled to [0, 1]); chance is about 10%.

Run: ``python -m bench.min_gru_accuracy [--tasks reber,mnist] [--steps 400] [--data-dir DIR]``.
Writes ``bench/out/min_gru_accuracy.json`` and ``.png`` (validation accuracy during training).
"""

from __future__ import annotations

import argparse
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm import tqdm

import jaxrnn
from bench import timing
from jaxrnn.data.mnist import load_mnist
from jaxrnn.data.reber import reber_dataset


def make_model(kind: str, hidden: int, input_size: int, classes: int, key: jax.Array):
    """``(params, logits(params, x, lengths))`` for two ``kind`` layers and a dense softmax layer."""
    k1, k2, k3 = jax.random.split(key, 3)
    if kind == "min_gru":
        rnns = [jaxrnn.min_gru(hidden), jaxrnn.min_gru(hidden)]
        layers = [rnns[0].cell.init(k1, input_size), rnns[1].cell.init(k2, hidden)]
    else:
        cells = [jaxrnn.gru_cell(hidden), jaxrnn.gru_cell(hidden)]
        layers = [cells[0].init(k1, input_size), cells[1].init(k2, hidden)]
    dense = jaxrnn.dense(classes)
    params = {"layers": layers, "dense": dense.init(k3, hidden)}

    def logits(params, x, lengths):
        h = x
        for i, p in enumerate(params["layers"]):
            if kind == "min_gru":
                h, state = jaxrnn.associative_unroll(rnns[i], p, h, sequence_length=lengths)
            else:
                h, state = jaxrnn.dynamic_unroll(cells[i], p, h, sequence_length=lengths)
        return dense.apply(params["dense"], state)

    return params, logits


def train(
    kind: str, data: dict[str, tuple], classes: int, args: argparse.Namespace, desc: str
) -> dict[str, Any]:
    """Train one model; return its curve, best validation accuracy and the test accuracy at that point."""
    x_train, len_train, y_train = data["train"]
    params, logits = make_model(kind, args.hidden, x_train.shape[-1], classes, jax.random.key(args.seed))
    optimizer = optax.chain(optax.clip_by_global_norm(args.clip_norm), optax.adam(args.learning_rate))
    opt_state = optimizer.init(params)

    @jax.jit
    def step(params, opt_state, x, lengths, y):
        def loss_fn(p):
            return optax.softmax_cross_entropy_with_integer_labels(logits(p, x, lengths), y).mean()

        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    @jax.jit
    def correct(params, x, lengths, y):
        return jnp.sum(jnp.argmax(logits(params, x, lengths), -1) == y)

    def accuracy(params, split):
        x, lengths, y = data[split]
        hits = sum(
            int(correct(params, x[i : i + 1000], lengths[i : i + 1000], y[i : i + 1000]))
            for i in range(0, len(y), 1000)
        )
        return hits / len(y)

    rng = np.random.default_rng(args.seed)
    curve, best = [], (-1.0, params, 0)
    for n in tqdm(range(1, args.steps + 1), desc=desc):
        idx = rng.integers(0, len(y_train), args.batch)
        params, opt_state, loss = step(params, opt_state, x_train[idx], len_train[idx], y_train[idx])
        if n % args.eval_every == 0 or n == args.steps:
            val = accuracy(params, "val")
            curve.append((n, float(loss), val))
            if val > best[0]:
                best = (val, params, n)
    return {"curve": curve, "best_val": best[0], "best_step": best[2], "test": accuracy(best[1], "test")}


def reber_data(args: argparse.Namespace) -> dict[str, tuple]:
    train = reber_dataset(args.reber_train, seed=1)
    seen = set(train.strings)
    out = {"train": (train.inputs, train.sequence_length, train.labels)}
    for split, seed in (("val", 2), ("test", 3)):
        d = reber_dataset(args.reber_eval, seed=seed)
        unseen = np.flatnonzero([s not in seen for s in d.strings])
        # valid strings repeat far more often than near misses, so dropping the seen ones leaves mostly
        # invalid strings: keep as many of each class as the rarer one has, so chance stays 50%
        by_class = [unseen[d.labels[unseen] == c] for c in (0, 1)]
        n = min(len(idx) for idx in by_class)
        keep = np.sort(np.concatenate([idx[:n] for idx in by_class]))
        out[split] = (d.inputs[keep], d.sequence_length[keep], d.labels[keep])
    return out


def mnist_data(args: argparse.Namespace) -> dict[str, tuple]:
    m = load_mnist(args.data_dir)

    def prep(images, labels):
        x = images.astype(np.float32) / 255.0
        return x, np.full((len(x),), 28, np.int32), labels.astype(np.int32)

    return {
        "train": prep(m.train_images[:-5000], m.train_labels[:-5000]),
        "val": prep(m.train_images[-5000:], m.train_labels[-5000:]),
        "test": prep(m.test_images, m.test_labels),
    }


def plot(results: dict[str, dict[str, Any]], path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 4), squeeze=False)
    for ax, (task, by_kind) in zip(axes[0], results.items()):
        for kind, r in by_kind.items():
            steps, _, val = zip(*r["curve"])
            ax.plot(steps, val, "o-", label=f"{kind} (test {r['test']:.3f})")
        ax.set_title(task)
        ax.set_xlabel("training step")
        ax.set_ylabel("validation accuracy")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="reber,mnist")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--eval-every", type=int, default=50)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--reber-train", type=int, default=4000)
    parser.add_argument("--clip-norm", type=float, default=1.0)
    parser.add_argument("--reber-eval", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None, help="MNIST folder (default $JAXRNN_DATA)")
    args = parser.parse_args(argv)
    loaders = {"reber": (reber_data, 2), "mnist": (mnist_data, 10)}
    results: dict[str, dict[str, Any]] = {}
    majority: dict[str, float] = {}
    rows = []
    for task in args.tasks.split(","):
        load, classes = loaders[task]
        data = load(args)
        # what a model that ignores its input scores: always the most frequent test class
        majority[task] = float(np.bincount(data["test"][2], minlength=classes).max() / len(data["test"][2]))
        results[task] = {
            kind: train(kind, data, classes, args, f"{task} {kind}") for kind in ("min_gru", "gru")
        }
        rows += [[task, kind, r["best_val"], r["best_step"], r["test"]] for kind, r in results[task].items()]
        rows.append([task, "majority class", "", "", majority[task]])
    timing.print_table(["task", "model", "best val acc", "at step", "test acc"], rows)
    payload = {"config": vars(args), "results": results, "majority_class_test_accuracy": majority}
    print("wrote", timing.write_json("min_gru_accuracy", payload))
    path = timing.figure_path("min_gru_accuracy")
    plot(results, path)
    print("wrote", path)
    return results


if __name__ == "__main__":
    main()
