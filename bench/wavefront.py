"""Stacked and bidirectional LSTMs in one loop (``jaxrnn.wavefront``) vs a loop per layer (issue 21, lever 1).

LSTM B64 T100 F64 H256 forward only (gradients are the layered fused path's by
construction), every variant compiled in this one process and timed taking turns:

* a 4-layer stack: ``layered`` (``jaxrnn.fused.fused_unroll``: one loop per layer),
  ``wavefront`` (one loop of T + 3 ticks, four rank-2 GEMMs per tick), ``wavefront batched``
  (the four as one ``[4, B, 2H] x [4, 2H, 4H]`` batched GEMM, layer 0's input product hoisted).
* a bidirectional layer: ``two loops`` (``dynamic_unroll`` forward and reversed), ``one loop``
  (both directions per step, two rank-2 GEMMs), ``one loop batched`` (one ``[2, B, H] x [2, H, 4H]``).

Run: ``python -m bench.wavefront [--repeats 9]``; writes ``bench/out/wavefront.json``.
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp

import jaxrnn
from bench import timing
from jaxrnn import fused, masking, wavefront

B, T, F, H, L = 64, 100, 64, 256, 4


def variants() -> dict[str, tuple]:
    """``name -> (fn, params, xs)``, ``xs`` time-major."""
    x = jax.random.normal(jax.random.key(1), (T, B, F))
    stack = jaxrnn.stack_cells([jaxrnn.lstm_cell(H) for _ in range(L)])
    p = stack.init(jax.random.key(0), F)
    s0 = stack.zero_state(B)
    recs = tuple(c.recurrence for c in stack.recurrence.cells)
    fw, bw = jaxrnn.lstm_cell(H), jaxrnn.lstm_cell(H)
    pb = (fw.init(jax.random.key(2), F), bw.init(jax.random.key(3), F))
    zb = (fw.zero_state(B), bw.zero_state(B))

    def two_loops(p, x):
        y_fw = fused.fused_unroll(fw, p[0], x, zb[0], None)[1]
        return y_fw, jnp.flip(fused.fused_unroll(bw, p[1], jnp.flip(x, 0), zb[1], None)[1], 0)

    def one_loop_batched(p, x):
        lanes = (x, masking.reverse_sequence(x, None))
        return wavefront._lanes(
            (fw.recurrence, bw.recurrence), p, lanes, zb, None, None, chained=False, batched=True
        )  # noqa: SLF001

    return {
        "stack|layered": (lambda p, x: fused.fused_unroll(stack, p, x, s0, None)[1], p, x),
        "stack|wavefront": (lambda p, x: wavefront.stack_unroll(stack, p, x, s0, None)[1], p, x),
        "stack|wavefront batched": (
            lambda p, x: wavefront._lanes(recs, p, (x,), s0, None, None, chained=True, batched=True)[1],  # noqa: SLF001
            p,
            x,
        ),
        "bidirectional|two loops": (two_loops, pb, x),
        "bidirectional|one loop": (
            lambda p, x: wavefront.bidirectional_unroll((fw, bw), p, x, zb, None)[1],
            pb,
            x,
        ),
        "bidirectional|one loop batched": (one_loop_batched, pb, x),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    fns = {}
    for name, (fn, p, x) in variants().items():
        compiled = jax.jit(fn).lower(p, x).compile()
        fns[name] = lambda c=compiled, p=p, x=x: timing.block(c(p, x))
    times = timing.interleaved(fns, args.repeats)
    rows, results = [], {"environment": timing.environment(), "repeats": args.repeats, "ms": {}}
    for name in fns:
        ms = timing.median_ms(times[name])
        base = timing.median_ms(
            times[name.split("|")[0] + ("|layered" if name.startswith("stack") else "|two loops")]
        )
        results["ms"][name] = ms
        rows.append([name, ms, ms / base])
    timing.print_table(["variant", "median ms", "/ baseline"], rows)
    print(f"wrote {timing.write_json('wavefront', results)}")


if __name__ == "__main__":
    main()
