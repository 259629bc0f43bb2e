"""Levers that did not make the LSTM faster on this CPU, measured so nobody has to guess.

Same workloads as ``bench.peers`` (LSTM and reset-after GRU, B64 T100 F64 H256: a train step with
loss ``mean(outputs**2)`` + SGD, and forward-only inference), jaxrnn's default
paths, every variant compiled in this one process and timed taking turns:

* XLA:CPU's GEMM back ends, chosen per compilation with ``compiler_options``
  (the flag names are those of jax 0.10.2's XLA, found with ``strings`` on
  ``jaxlib/libjax_common.so``): the default, Eigen (YNNPACK fusions off),
  YNNPACK dot fusions with and without the elementwise gate math and
  reductions, XNNPACK graph fusion and dot fusion, oneDNN dot fusion and
  oneDNN custom calls, 512-bit vectors, the concurrency-optimized scheduler.
  A variant this XLA refuses to compile is reported as such.
* Splitting the batch in halves / quarters and running independent scans, in
  case XLA runs independent loops on the two cores at once.
* Mixed precision (``matmul_dtype=jnp.bfloat16``) under the default options,
  for scale.

Run: ``python -m bench.levers [--repeats 9] [--cells lstm,gru] [--variants "oneDNN dot,XNNPACK dot"]``;
writes ``bench/out/levers.json``.
"""

from __future__ import annotations

import argparse
import functools

import jax
import jax.numpy as jnp

import jaxrnn
from bench import timing

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
    "XNNPACK dot": {"xla_cpu_experimental_xnn_fusion_type": f"{LIB}DOT", YNN: ""},
    "oneDNN dot": {"xla_cpu_experimental_onednn_fusion_type": f"{LIB}DOT", YNN: ""},
    "oneDNN custom call": {
        "xla_cpu_use_onednn": True,
        "xla_cpu_experimental_onednn_custom_call": True,
        YNN: "",
    },
    "512-bit vectors": {"xla_cpu_prefer_vector_width": 512},
    "concurrency scheduler": {"xla_cpu_enable_concurrency_optimized_scheduler": True},
}
CELLS = {"lstm": jaxrnn.lstm_cell, "gru": functools.partial(jaxrnn.gru_cell, reset_after=True)}


def _unroll(cell, params, x, splits: int) -> jax.Array:
    if splits == 1:
        return jaxrnn.dynamic_unroll(cell, params, x)[0]
    # independent scans over batch slices: nothing orders them, so XLA may run them concurrently
    return jnp.concatenate([jaxrnn.dynamic_unroll(cell, params, xi)[0] for xi in jnp.split(x, splits)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--cells", default="lstm,gru")
    parser.add_argument("--variants", default=None, help="comma-separated variant names (default: all)")
    args = parser.parse_args()
    x = jax.random.normal(jax.random.key(1), (B, T, F))
    variants = {(name, 1, None): opts for name, opts in COMPILER_OPTIONS.items()}
    variants.update({(f"batch split in {k}", k, None): {} for k in (2, 4)})
    variants[("bf16 matmuls", 1, jnp.bfloat16)] = {}
    if args.variants is not None:
        keep = {"default", *args.variants.split(",")}
        variants = {v: opts for v, opts in variants.items() if v[0] in keep}
    fns, failed, names = {}, {}, [name for name, _, _ in variants]
    for kind in args.cells.split(","):
        params = CELLS[kind](H).init(jax.random.key(0), F)
        for (name, splits, dtype), opts in variants.items():
            cell = CELLS[kind](H, matmul_dtype=dtype)

            def train(p, x, cell=cell, splits=splits):
                loss, grads = jax.value_and_grad(lambda p: jnp.mean(_unroll(cell, p, x, splits) ** 2))(p)
                return jax.tree.map(lambda a, g: a - 1e-3 * g, p, grads), loss

            def infer(p, x, cell=cell, splits=splits):
                return _unroll(cell, p, x, splits)

            for workload, fn in (("train", train), ("infer", infer)):
                label = f"{kind} {workload}|{name}"
                try:
                    compiled = jax.jit(fn).lower(params, x).compile(compiler_options=opts)
                except Exception as e:  # an option this XLA does not know or cannot apply here
                    failed[label] = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
                    continue
                fns[label] = lambda c=compiled, p=params: timing.block(c(p, x))
    times = timing.interleaved(fns, args.repeats)
    rows, results = (
        [],
        {"environment": timing.environment(), "repeats": args.repeats, "ms": {}, "failed": failed},
    )
    for kind in args.cells.split(","):
        for name in names:
            ms = {}
            for w in ("train", "infer"):
                label = f"{kind} {w}|{name}"
                ms[w] = timing.median_ms(times[label]) if label in times else None
            results["ms"][f"{kind}|{name}"] = ms
            base = {w: timing.median_ms(times[f"{kind} {w}|default"]) for w in ("train", "infer")}
            cells = []
            for w in ("train", "infer"):
                cells += ["failed", "-"] if ms[w] is None else [ms[w], base[w] / ms[w]]
            rows.append([kind, name, *cells])
    timing.print_table(["cell", "variant", "train ms", "speed-up", "infer ms", "speed-up"], rows)
    for label, why in failed.items():
        print(f"failed to compile: {label}: {why}")
    print(f"wrote {timing.write_json('levers', results)}")


if __name__ == "__main__":
    main()
