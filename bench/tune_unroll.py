"""What ``jaxrnn.tune_unroll`` picks for ``bench.peers``' workloads on this machine, and what it is worth.

For each workload: the tuner's median ms per candidate (its own probe: ``jax.grad``
of the summed outputs, or the forward pass), then ``bench.peers``' full jaxrnn
step (loss, gradients, SGD) with the chosen ``unroll`` against ``unroll=1``,
timed taking turns in this run.

Run: ``python -m bench.tune_unroll [--repeats 7]``; writes ``bench/out/tune_unroll.json``.
"""

from __future__ import annotations

import argparse
from typing import Any

import jax
import jax.numpy as jnp

import jaxrnn
from bench import peers, timing

CELLS = {
    "lstm": jaxrnn.lstm_cell,
    "gru": lambda n: jaxrnn.gru_cell(n, reset_after=True),
    "basic": jaxrnn.basic_cell,
}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Tune every workload; print a table; write ``bench/out/tune_unroll.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--candidates", default="1,2,4,8,16")
    args = parser.parse_args(argv)
    candidates = tuple(int(c) for c in args.candidates.split(","))
    results: dict[str, Any] = {"env": timing.environment(), "repeats": args.repeats}
    rows = []
    for name, (kind, b, t, f, h, train) in peers.WORKLOADS.items():
        if kind not in CELLS:  # tune_unroll tunes one cell; the multi-layer workloads are stacks of them
            continue
        cell = CELLS[kind](h)
        params = cell.init(jax.random.key(0), f)
        choice = jaxrnn.tune_unroll(
            cell, params, jnp.zeros((b, t, f)), candidates=candidates, train=train, repeats=args.repeats
        )
        x = jax.random.normal(jax.random.key(1), (b, t, f))
        labels = jax.random.randint(jax.random.key(2), (b,), 0, 10) if kind == "basic" else None
        steps = {
            u: peers.jaxrnn_impl(kind, b, t, f, h, train, x, labels, unroll=u)[0] for u in {1, choice.unroll}
        }
        times = timing.interleaved(steps, 2 * args.repeats + 1, warmup=2)
        step_ms = {u: timing.median_ms(ts) for u, ts in times.items()}
        results[name] = {"unroll": choice.unroll, "median_ms": choice.median_ms, "step_ms": step_ms}
        ms = choice.median_ms
        rows.append(
            [
                name,
                choice.unroll,
                *(ms[c] / ms[1] if 1 in ms else ms[c] for c in candidates),
                step_ms[1],
                step_ms[choice.unroll] / step_ms[1],
            ]
        )
    header = ["workload", "chosen", *(f"{c} / 1" for c in candidates), "step ms (1)", "step chosen / 1"]
    timing.print_table(header, rows)
    print(f"wrote {timing.write_json('tune_unroll', results)}")
    return results


if __name__ == "__main__":
    main()
