"""ConvLSTM forward+backward under ``static_unroll`` vs ``dynamic_unroll`` (``lax.scan``).

On XLA:CPU a convolution's gradients inside a scan's loop body run far slower
than the same convolutions unrolled into straight-line code; this measures the
ConvLSTM cell's forward and forward+backward under both unrollers, taking turns,
on the shapes of ``jaxrnn train video --model convlstm`` (B64, 8x8 maps, 16
input channels, 16 filters) for a few clip lengths, and checks first that both
give the same loss and gradients.

Run: ``python -m bench.conv_lstm [--repeats 7] [--lengths 4,8,16]``.
"""

from __future__ import annotations

import argparse
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn
from bench import timing

BATCH, SIDE, CHANNELS, FILTERS = 64, 8, 16, 16


def steps() -> dict[str, Any]:
    """``{unroller: (forward loss, its value_and_grad)}``, functions of ``(params, x)``."""
    cell = jaxrnn.conv_lstm_cell(FILTERS, (SIDE, SIDE))

    def loss(unroll):
        def f(params, x):
            outputs, state = unroll(cell, params, x)
            return jnp.mean(jnp.tanh(outputs)) + jnp.mean(state.c**2)

        return f

    return {
        name: (loss(unroll), jax.value_and_grad(loss(unroll)))
        for name, unroll in (("static", jaxrnn.static_unroll), ("scan", jaxrnn.dynamic_unroll))
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Time both unrollers per length, print a table, write ``bench/out/conv_lstm.{json,png}``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--lengths", default="4,8,16")
    args = parser.parse_args(argv)
    lengths = [int(v) for v in args.lengths.split(",")]
    cell = jaxrnn.conv_lstm_cell(FILTERS, (SIDE, SIDE))
    params = cell.init(jax.random.key(0), SIDE * SIDE * CHANNELS)
    results: dict[str, Any] = {"env": timing.environment(), "repeats": args.repeats, "lengths": lengths}
    rows = []
    for length in lengths:
        x = jax.random.normal(jax.random.key(1), (BATCH, length, SIDE * SIDE * CHANNELS), jnp.float32)
        runs: dict[str, Any] = {}
        compile_s: dict[str, float] = {}
        values: dict[str, Any] = {}
        for unroller, (forward, backward) in steps().items():
            for mode, fn in (("forward", forward), ("forward+backward", backward)):
                name = f"{unroller} {mode}"
                compiled, compile_s[name] = timing.compile_seconds(fn, params, x)
                values[name] = compiled(params, x)
                runs[name] = lambda c=compiled, x=x: timing.block(c(params, x))
        # same maths: loss and gradients must agree before the times mean anything
        static, scan = values["static forward+backward"], values["scan forward+backward"]
        np.testing.assert_allclose(static[0], scan[0], rtol=1e-5)
        for a, b in zip(jax.tree.leaves(static[1]), jax.tree.leaves(scan[1])):
            np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-6)
        times = timing.interleaved(runs, args.repeats, warmup=1)
        med = {n: timing.median_ms(v) for n, v in times.items()}
        results[str(length)] = {n: {"median_ms": med[n], "compile_s": compile_s[n]} for n in runs}
        for mode in ("forward", "forward+backward"):
            ratio = med[f"scan {mode}"] / med[f"static {mode}"]
            rows.append([length, mode, med[f"static {mode}"], med[f"scan {mode}"], ratio])
    timing.print_table(["T", "mode", "static ms", "scan ms", "scan / static"], rows)
    path = timing.write_json("conv_lstm", results)
    _plot(results, lengths)
    print(f"wrote {path} and {timing.figure_path('conv_lstm')}")
    return results


def _plot(results: dict[str, Any], lengths: list[int]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name in ("static forward", "scan forward", "static forward+backward", "scan forward+backward"):
        ax.plot(lengths, [results[str(t)][name]["median_ms"] for t in lengths], "o-", label=name)
    ax.set_xlabel("clip length T")
    ax.set_ylabel("median ms")
    ax.set_yscale("log")
    ax.set_title(f"ConvLSTM B{BATCH} {SIDE}x{SIDE}x{CHANNELS} -> {FILTERS}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(timing.figure_path("conv_lstm"), dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
