"""Levers that did not make the LSTM faster on this CPU, measured so nobody has to guess.

Same workload as ``bench.peers`` (LSTM B64 T100 F64 H256: a train step with
loss ``mean(outputs**2)`` + SGD, and forward-only inference), jaxrnn's default
fused scan, every variant compiled in this one process and timed taking turns:

* XLA:CPU's GEMM back ends, chosen per compilation with ``compiler_options``:
  the default, Eigen (YNNPACK fusions off), YNNPACK dot fusions with and
  without the elementwise gate math and reductions, XNNPACK graph fusion.
* Splitting the batch in halves / quarters and running independent scans, in
  case XLA runs independent loops on the two cores at once.

Run: ``python -m bench.levers [--repeats 9]``; writes ``bench/out/levers.json``.
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp

import jaxrnn
from bench import _timing

B, T, F, H = 64, 100, 64, 256
YNN = "xla_cpu_experimental_ynn_fusion_type"
LIB = "LIBRARY_FUSION_TYPE_"
COMPILER_OPTIONS = {
    "default": {},
    "eigen (YNNPACK off)": {YNN: ""},
    "YNNPACK dot": {YNN: f"{LIB}DOT"},
    "YNNPACK dot + eltwise": {YNN: f"{LIB}INDIVIDUAL_DOT,{LIB}ELTWISE"},
    "YNNPACK dot + eltwise + reduce": {YNN: f"{LIB}DOT,{LIB}ELTWISE,{LIB}REDUCE"},
    "XNNPACK greedy graph": {
        "xla_cpu_use_xnnpack": True,
        "xla_cpu_experimental_xnn_graph_fusion_mode": "XNN_GRAPH_FUSION_MODE_GREEDY",
        YNN: "",
    },
}


def _unroll(cell, params, x, splits: int):
    if splits == 1:
        return jaxrnn.dynamic_unroll(cell, params, x)[0]
    # independent scans over batch slices: nothing orders them, so XLA may run them concurrently
    return jnp.concatenate([jaxrnn.dynamic_unroll(cell, params, xi)[0] for xi in jnp.split(x, splits)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    cell = jaxrnn.lstm_cell(H)
    params = cell.init(jax.random.key(0), F)
    x = jax.random.normal(jax.random.key(1), (B, T, F))

    def train(p, x, splits=1):
        loss, grads = jax.value_and_grad(lambda p: jnp.mean(_unroll(cell, p, x, splits) ** 2))(p)
        return jax.tree.map(lambda a, g: a - 1e-3 * g, p, grads), loss

    def infer(p, x, splits=1):
        return _unroll(cell, p, x, splits)

    variants = {(name, 1): opts for name, opts in COMPILER_OPTIONS.items()}
    variants.update({(f"batch split in {k}", k): {} for k in (2, 4)})
    fns = {}
    for (name, splits), opts in variants.items():
        for workload, fn in (("train", train), ("infer", infer)):
            compiled = jax.jit(fn, static_argnums=2).lower(params, x, splits).compile(compiler_options=opts)
            fns[f"{workload}|{name}"] = lambda c=compiled: _timing.block(c(params, x))
    times = _timing.interleaved(fns, args.repeats)
    rows, results = [], {"environment": _timing.environment(), "repeats": args.repeats, "ms": {}}
    base = {w: _timing.median_ms(times[f"{w}|default"]) for w in ("train", "infer")}
    for name, _ in variants:
        ms = {w: _timing.median_ms(times[f"{w}|{name}"]) for w in ("train", "infer")}
        results["ms"][name] = ms
        rows.append(
            [name, ms["train"], base["train"] / ms["train"], ms["infer"], base["infer"] / ms["infer"]]
        )
    _timing.print_table(["variant", "train ms", "speed-up", "infer ms", "speed-up"], rows)
    print(f"wrote {_timing.write_json('levers', results)}")


if __name__ == "__main__":
    main()
