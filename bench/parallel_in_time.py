"""Parallel in time: training-step time vs sequence length for static, scan and associative-scan unrolling.

For minGRU (Feng et al. 2024) it times one forward+backward step
(``value_and_grad`` of a mean-square loss) three ways:

* ``static``: ``jaxrnn.static_unroll`` of ``min_gru(H).cell`` (one traced step
  per time step); run only up to ``--static-cap`` steps, "not run" past it,
  because its compile time grows with the length;
* ``scan``: ``jaxrnn.dynamic_unroll`` of the same cell (``lax.scan``, T dependent steps);
* ``assoc``: ``jaxrnn.associative_unroll`` (``lax.associative_scan``, depth O(log T));

and, beside them, the classic GRU with ``dynamic_unroll`` (``gru_scan``), whose
recurrence is not linear and has no parallel form. Implementations take turns
(``bench.timing.interleaved``); compile time is measured separately.

Each shape ``--configs`` (batch x features x hidden) gets its own sweep: the
associative scan does more arithmetic than the loop (about twice the
elementwise work, plus its strided slices) and saves the per-step overhead of
T dependent steps, so it wins when a step is small (narrow models, small
batches, inference on one stream) and, on CPU, loses when a step is wide.

Run: ``python -m bench.parallel_in_time [--lengths 100,300,1000,3000,10000] [--static-cap 300]
[--configs 1x8x16,16x32x64]``.
Writes ``bench/out/parallel_in_time.json`` and ``.png``.
"""

from __future__ import annotations

import argparse
from typing import Any

import jax
import jax.numpy as jnp
from tqdm import tqdm

import jaxrnn
from bench import timing

METHODS = ("static", "scan", "assoc", "gru_scan")


def step_fn(method: str, hidden: int):
    """``(cell, loss_and_grad(params, x))`` for one method."""
    rnn = jaxrnn.min_gru(hidden)
    cell = jaxrnn.gru_cell(hidden) if method == "gru_scan" else rnn.cell

    def forward(params, x):
        if method == "static":
            return jaxrnn.static_unroll(cell, params, x)[0]
        if method == "assoc":
            return jaxrnn.associative_unroll(rnn, params, x)[0]
        return jaxrnn.dynamic_unroll(cell, params, x)[0]

    return cell, jax.value_and_grad(lambda p, x: jnp.mean(forward(p, x) ** 2))


def measure(
    length: int, methods: list[str], batch: int, features: int, hidden: int, repeats: int
) -> dict[str, Any]:
    """Compile and time (interleaved) every method at one length."""
    x = jax.random.normal(jax.random.key(0), (batch, length, features), jnp.float32)
    compiled, row = {}, {}
    for method in methods:
        cell, fn = step_fn(method, hidden)
        params = cell.init(jax.random.key(1), features)
        exe, seconds = timing.compile_seconds(fn, params, x)
        compiled[method] = (exe, params)
        row[method] = {"compile_s": seconds}
    times = timing.interleaved(
        {m: (lambda e=e, p=p: timing.block(e(p, x))) for m, (e, p) in compiled.items()}, repeats
    )
    for method, t in times.items():
        row[method]["step_ms"] = timing.median_ms(t)
    return row


def plot(results: dict[str, dict[int, dict[str, Any]]], path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5.5 * len(results), 4), squeeze=False)
    for ax, (config, by_length) in zip(axes[0], results.items()):
        for method in METHODS:
            points = [(n, r[method]["step_ms"]) for n, r in by_length.items() if method in r]
            if points:
                ax.plot(*zip(*points), "o-", label=method)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("sequence length T")
        ax.set_ylabel("training step (ms, median)")
        ax.set_title(f"minGRU, batch x features x hidden = {config}")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, dict[int, dict[str, Any]]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="100,300,1000,3000,10000")
    parser.add_argument("--static-cap", type=int, default=300, help="longest T for static_unroll")
    parser.add_argument(
        "--configs", default="1x8x16,16x32x64", help="comma-separated batch x features x hidden shapes"
    )
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args(argv)
    lengths = [int(n) for n in args.lengths.split(",")]
    results: dict[str, dict[int, dict[str, Any]]] = {}
    rows = []
    for config in args.configs.split(","):
        batch, features, hidden = (int(v) for v in config.split("x"))
        results[config] = {}
        for length in tqdm(lengths, desc=config):
            methods = [m for m in METHODS if m != "static" or length <= args.static_cap]
            r = measure(length, methods, batch, features, hidden, args.repeats)
            results[config][length] = r
            step = [(f"{r[m]['step_ms']:.3g}" if m in r else "not run") for m in METHODS]
            rows.append([config, length, *step, r["scan"]["step_ms"] / r["assoc"]["step_ms"]])
    timing.print_table(["BxFxH", "T", *(f"{m} ms" for m in METHODS), "scan/assoc"], rows)
    payload = {"config": vars(args), "environment": timing.environment(), "results": results}
    print("wrote", timing.write_json("parallel_in_time", payload))
    path = timing.figure_path("parallel_in_time")
    plot(results, path)
    print("wrote", path)
    return results


if __name__ == "__main__":
    main()
