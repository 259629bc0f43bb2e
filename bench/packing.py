"""Packed vs padded training throughput on the real translation corpus's sentence-length distribution.

The lengths are the English token counts (whitespace split) of
``translation/en-fr.tsv`` (a random subset of ``--sentences``; skewed: median 4,
max 20 tokens). Each sentence gets random ``[n, F]`` features and a per-token
target (the running mean of its first feature, so the model needs memory).
Two ways to train an LSTM (fused path) + dense readout on them, batches of
``--batch`` rows of T = the longest sentence:

* padded: one sentence per row, ``sequence_length`` masking;
* packed: :func:`jaxrnn.pack_sequences` (first fit) into rows of T, ``segment_ids``.

Both losses are the mean squared error over all real tokens; at the same
parameters they (and the full-data gradients) agree to float32 rounding
(checked and printed). Throughput is
real tokens per second of ``value_and_grad`` + Adam steps over one epoch
(compile excluded), the two taking turns, median of ``--repeats`` epochs.

Run: ``python -m bench.packing [--sentences 4096] [--repeats 3]`` (data from
``$JAXRNN_DATA``, else ``../shared/data``). Writes ``bench/out/packing.json``
and ``bench/out/packing.png``.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxrnn
from bench import timing
from jaxrnn.progress import progress_bar

# JAXRNN_DATA, else ../shared/data beside the repository
DATA = os.environ.get("JAXRNN_DATA", pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data")
FEATURES, HIDDEN = 16, 128


def english_lengths(data_dir: pathlib.Path, count: int, seed: int = 0) -> np.ndarray:
    """Token counts of ``count`` random English sentences of ``translation/en-fr.tsv``."""
    path = pathlib.Path(data_dir) / "translation" / "en-fr.tsv"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: set JAXRNN_DATA to the folder holding translation/en-fr.tsv"
        )
    lengths = np.array([max(1, len(line.split("\t")[0].split())) for line in path.open(encoding="utf-8")])
    rng = np.random.default_rng(seed)
    return lengths[rng.choice(len(lengths), size=min(count, len(lengths)), replace=False)]


def make_sequences(lengths: np.ndarray, seed: int = 1) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Random ``[n, F]`` features per sentence and the running mean of feature 0 as the ``[n, 1]`` target."""
    rng = np.random.default_rng(seed)
    xs = [rng.standard_normal((n, FEATURES)).astype(np.float32) for n in lengths]
    ys = [(np.cumsum(x[:, :1], axis=0) / np.arange(1, len(x) + 1)[:, None]).astype(np.float32) for x in xs]
    return xs, ys


def batches(x: np.ndarray, y: np.ndarray, mask_arg: np.ndarray, batch: int) -> list[tuple[Any, Any, Any]]:
    """Rows cut into batches of ``batch``; the last one filled with empty rows (length 0 / id 0)."""
    pad = -len(x) % batch
    x = np.concatenate([x, np.zeros((pad, *x.shape[1:]), x.dtype)])
    y = np.concatenate([y, np.zeros((pad, *y.shape[1:]), y.dtype)])
    mask_arg = np.concatenate([mask_arg, np.zeros((pad, *mask_arg.shape[1:]), mask_arg.dtype)])
    return [
        (jnp.asarray(x[i : i + batch]), jnp.asarray(y[i : i + batch]), jnp.asarray(mask_arg[i : i + batch]))
        for i in range(0, len(x), batch)
    ]


def padded_rows(xs: list[np.ndarray], ys: list[np.ndarray], num_steps: int):
    """One sentence per row, zero-padded to ``num_steps``; returns ``(x, y, lengths)``."""
    x = np.zeros((len(xs), num_steps, FEATURES), np.float32)
    y = np.zeros((len(xs), num_steps, 1), np.float32)
    for i, (a, b) in enumerate(zip(xs, ys)):
        x[i, : len(a)], y[i, : len(b)] = a, b
    return x, y, np.array([len(a) for a in xs], np.int32)


def make_step(masking: str, total_tokens: int, optimizer: optax.GradientTransformation):
    """Jitted ``step(params, opt_state, x, y, mask) -> (params, opt_state, loss)``, ``sse`` and ``init``."""
    cell = jaxrnn.lstm_cell(HIDDEN)
    readout = jaxrnn.dense(1)

    def sse(params, x, y, mask):
        keyword = {"sequence_length": mask} if masking == "padded" else {"segment_ids": mask}
        h, _ = jaxrnn.dynamic_unroll(cell, params["cell"], x, **keyword)
        valid = (jnp.arange(x.shape[1])[None, :] < mask[:, None]) if masking == "padded" else mask != 0
        err = readout.apply(params["readout"], h) - y
        return jnp.sum(jnp.where(valid[:, :, None], err**2, 0.0))

    def step(params, opt_state, x, y, mask):
        # the epoch's loss is the mean over all real tokens: each batch adds its share
        loss, grads = jax.value_and_grad(lambda p: sse(p, x, y, mask) / total_tokens)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    def init(key):
        k1, k2 = jax.random.split(key)
        return {"cell": cell.init(k1, FEATURES), "readout": readout.init(k2, HIDDEN)}

    return jax.jit(step), jax.jit(sse), init


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=pathlib.Path, default=pathlib.Path(DATA))
    parser.add_argument("--sentences", type=int, default=4096)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    lengths = english_lengths(args.data_dir, args.sentences)
    num_steps = int(lengths.max())
    xs, ys = make_sequences(lengths)
    total = int(lengths.sum())
    px, py, plen = padded_rows(xs, ys, num_steps)
    kx, ids = jaxrnn.pack_sequences(xs, num_steps)
    ky, _ = jaxrnn.pack_sequences(ys, num_steps)  # same lengths, same first-fit plan
    data = {
        "padded": batches(px, py, plen, args.batch),
        "packed": batches(kx, ky, ids, args.batch),
    }
    print(
        f"{len(lengths)} sentences, {total} tokens, lengths median {np.median(lengths):.0f} max {num_steps}; "
        f"padded {len(px)} rows ({total / px.shape[0] / num_steps:.0%} real), "
        f"packed {len(kx)} rows ({total / kx.shape[0] / num_steps:.0%} real)"
    )
    optimizer = optax.adam(1e-3)
    fns = {name: make_step(name, total, optimizer) for name in data}
    params0 = fns["padded"][2](jax.random.key(0))

    # the same loss at the same parameters, to float32 rounding
    losses = {
        name: float(sum(fns[name][1](params0, *b) for b in data[name]) / total) for name in data
    }  # fmt: skip
    rel = abs(losses["packed"] - losses["padded"]) / losses["padded"]
    print(
        f"loss at init: padded {losses['padded']:.7f}, packed {losses['packed']:.7f} "
        f"(relative diff {rel:.1e})"
    )

    # and the same full-data gradient (what makes an epoch of either layout the same training signal)
    grads = {
        name: jax.tree.map(
            lambda *g: sum(g), *[jax.grad(fns[name][1])(params0, *b) for b in data[name]]
        )
        for name in data
    }  # fmt: skip
    flat = {name: np.concatenate([np.ravel(g) for g in jax.tree.leaves(grads[name])]) for name in data}
    grad_rel = float(np.linalg.norm(flat["packed"] - flat["padded"]) / np.linalg.norm(flat["padded"]))
    print(f"full-data gradient at init: relative difference {grad_rel:.1e}")

    def epoch(name: str) -> float:
        step = fns[name][0]
        params, opt_state = params0, optimizer.init(params0)
        start = time.perf_counter()
        for b in data[name]:
            params, opt_state, loss = step(params, opt_state, *b)
        loss.block_until_ready()
        return time.perf_counter() - start

    for name in data:  # compile, outside the timing
        fns[name][0](params0, optimizer.init(params0), *data[name][0])[2].block_until_ready()
    times: dict[str, list[float]] = {name: [] for name in data}
    with progress_bar(total=args.repeats * len(data), desc="epochs") as bar:
        for r in range(args.repeats):
            for name in data if r % 2 == 0 else reversed(list(data)):  # take turns
                times[name].append(epoch(name))
                bar.update(1)
    rows: list[list[Any]] = []
    result: dict[str, Any] = {
        "environment": timing.environment(),
        "losses": losses,
        "relative_loss_diff": rel,
        "relative_grad_diff": grad_rel,
    }
    for name in data:
        seconds = statistics.median(times[name])
        result[name] = {
            "epoch_seconds": times[name],
            "tokens_per_second": total / seconds,
            "batches": len(data[name]),
        }
        rows.append([name, len(data[name]), 1e3 * seconds, total / seconds])
    ratio = result["packed"]["tokens_per_second"] / result["padded"]["tokens_per_second"]
    result["packed_over_padded"] = ratio
    timing.print_table(["layout", "batches", "epoch ms (median)", "tokens/s"], rows)
    print(f"packed / padded throughput: {ratio:.2f}x")
    print("wrote", timing.write_json("packing", result))
    _plot(lengths, num_steps, result)
    return result


def _plot(lengths: np.ndarray, num_steps: int, result: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    left.hist(lengths, bins=np.arange(1, num_steps + 2) - 0.5)
    left.set(xlabel="English tokens per sentence", ylabel="sentences", title="en-fr.tsv lengths (sample)")
    names = ["padded", "packed"]
    right.bar(names, [result[n]["tokens_per_second"] for n in names])
    right.set(
        ylabel="real tokens / s (train step)", title=f"packed / padded = {result['packed_over_padded']:.2f}x"
    )
    fig.tight_layout()
    path = timing.figure_path("packing")
    fig.savefig(path, dpi=100)
    print("wrote", path)


if __name__ == "__main__":
    main()
