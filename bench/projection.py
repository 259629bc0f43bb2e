"""Per-step output projection vs one time-distributed projection (the book's Figure 14-10 claim).

``output_projection(cell, O)`` applies the dense layer inside every step of the
loop (TF's ``OutputProjectionWrapper``); the book's alternative stacks all
outputs ``[B*T, H]`` and applies the dense layer once, outside the loop
(``time_distributed(dense(O))``). Both give the same numbers; this measures the
forward+backward step of each, taking turns, for the book's time-series model
(basic ReLU cell, B50 T20 F1 H100 O1) and a larger LSTM (B64 T100 F64 H256 O64).

Run: ``python -m bench.projection [--repeats 15]``.
"""

from __future__ import annotations

import argparse
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn
from bench import timing

SHAPES = {
    # name: (cell factory, batch, time, features, hidden, outputs)
    "book_time_series": (lambda h: jaxrnn.basic_cell(h, jax.nn.relu), 50, 20, 1, 100, 1),
    "lstm_B64_T100_H256_O64": (jaxrnn.lstm_cell, 64, 100, 64, 256, 64),
}


def variants(make, b, t, f, h, o):
    """``{name: (step(params, x, y) -> (loss, grads), params)}`` with identical initial weights."""
    cell = make(h)
    wrapped = jaxrnn.output_projection(cell, o)
    params = wrapped.init(jax.random.key(1), f)
    layer = jaxrnn.time_distributed(jaxrnn.dense(o))

    def per_step(p, x):
        return jaxrnn.dynamic_unroll(wrapped, p, x)[0]

    def stacked(p, x):
        outputs = jaxrnn.dynamic_unroll(cell, p["cell"], x)[0]
        return layer.apply(p["projection"], outputs)

    def loss_step(forward):
        return lambda p, x, y: jax.value_and_grad(lambda q: jnp.mean((forward(q, x) - y) ** 2))(p)

    return {"per_step": (loss_step(per_step), params), "time_distributed": (loss_step(stacked), params)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Time both projections per shape, print a table, write ``bench/out/projection.{json,png}``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"env": timing.environment(), "repeats": args.repeats}
    rows = []
    for shape, (make, b, t, f, h, o) in SHAPES.items():
        kx, ky = jax.random.split(jax.random.key(0))
        x = jax.random.normal(kx, (b, t, f), jnp.float32)
        y = jax.random.normal(ky, (b, t, o), jnp.float32)
        runs, losses, compile_s = {}, {}, {}
        for name, (step, params) in variants(make, b, t, f, h, o).items():
            compiled, compile_s[name] = timing.compile_seconds(step, params, x, y)
            losses[name] = float(compiled(params, x, y)[0])
            runs[name] = lambda c=compiled, p=params, x=x, y=y: timing.block(c(p, x, y))
        # same weights, same maths: the two losses must agree before their times mean anything
        np.testing.assert_allclose(losses["per_step"], losses["time_distributed"], rtol=1e-4)
        times = timing.interleaved(runs, args.repeats, warmup=2)
        med = {n: timing.median_ms(v) for n, v in times.items()}
        results[shape] = {
            n: {"median_ms": med[n], "times_ms": [1e3 * s for s in times[n]], "compile_s": compile_s[n]}
            for n in runs
        }
        results[shape]["speedup_time_distributed"] = med["per_step"] / med["time_distributed"]
        for n in runs:
            rows.append([shape, n, med[n], med["per_step"] / med[n], compile_s[n]])
    timing.print_table(["shape", "projection", "f+b median ms", "speedup vs per_step", "compile s"], rows)
    path = timing.write_json("projection", results)
    _plot(results)
    print(f"wrote {path} and {timing.figure_path('projection')}")
    return results


def _plot(results: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    shapes = list(SHAPES)
    for i, name in enumerate(("per_step", "time_distributed")):
        medians = [results[s][name]["median_ms"] for s in shapes]
        ax.bar(np.arange(len(shapes)) + 0.4 * i, medians, 0.4, label=name)
    ax.set_xticks(np.arange(len(shapes)) + 0.2, shapes, fontsize=8)
    ax.set_ylabel("forward+backward median ms")
    ax.legend()
    fig.tight_layout()
    fig.savefig(timing.figure_path("projection"), dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
