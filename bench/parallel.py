"""Step time of data parallelism and of the layer-per-device pipeline on 1, 2, 4, 8 devices.

Run::

    nice -n 10 python bench/parallel.py            # forces 8 CPU devices unless XLA_FLAGS is set
    python bench/parallel.py --repeats 5 --quick    # smaller, for a smoke run

* data parallel: one training step (GRU + dense head, MSE, optax SGD) on a
  fixed global batch split over D devices, against the same step on 1 device.
* pipeline: forward + backward of a D-layer GRU stack with layer l on device l
  (:func:`jaxrnn.pipelined_unroll`), against ``dynamic_unroll(stack_cells(...))``
  of the same D layers on one device.

Compile time (``lower().compile()``) is reported apart from the steady-state
step time (median of ``--repeats`` runs, ``block_until_ready``). Ratios are
measured side by side in one run. Writes ``bench/parallel.json`` and
``bench/parallel.png``.

What forced CPU devices do and do not predict: ``--xla_force_host_platform_device_count``
splits ONE host's CPU into D logical devices that share the same cores and
memory bandwidth, and collectives are memory copies. The numbers show that
the schemes compile and scale their bookkeeping (collective counts, the L-1
warm-up ticks), and how much overhead the partitioning adds; they do NOT show
a GPU/TPU speedup: D forced devices cannot compute faster than the host's
cores, so a ratio near (or above) 1 is expected here. On real accelerators
each device adds its own compute, the data-parallel step should approach
1/D of the time for large batches (plus an all-reduce of the gradients over
NVLink/ICI), and a pipeline of L layers over T steps approaches
``T * L / (T + L - 1)`` times the throughput of one device when a layer step
is large enough to hide the ``ppermute`` latency.
"""

from __future__ import annotations

import os
import sys

if "--xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"

import argparse  # noqa: E402
import json  # noqa: E402
import pathlib  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import jaxrnn  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent


def _time(fn, args, repeats):
    start = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    compile_s = time.perf_counter() - start
    jax.block_until_ready(compiled(*args))  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(compiled(*args))
        times.append(time.perf_counter() - start)
    return compile_s, statistics.median(times)


def bench_data_parallel(devices, batch, steps, hidden, repeats):
    cell = jaxrnn.output_projection(jaxrnn.gru_cell(hidden), 1)
    params = cell.init(jax.random.key(0), 8)
    data = {
        "x": jax.random.normal(jax.random.key(1), (batch, steps, 8)),
        "y": jax.random.normal(jax.random.key(2), (batch, steps, 1)),
    }

    def loss_fn(p, b, key):
        out, _ = jaxrnn.dynamic_unroll(cell, p, b["x"])
        return jnp.mean((out - b["y"]) ** 2), {}

    opt = optax.sgd(1e-2)
    mesh = jaxrnn.make_mesh(devices)
    step = jaxrnn.data_parallel_train_step(loss_fn, opt, mesh)
    state = jaxrnn.replicate(jaxrnn.TrainState(params, opt.init(params), jnp.zeros((), jnp.int32)), mesh)
    b = jaxrnn.shard_batch(data, mesh)
    key = jax.random.key(0)
    start = time.perf_counter()
    jax.block_until_ready(step(state, b, key))  # first call compiles
    compile_s = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(step(state, b, key))
        times.append(time.perf_counter() - start)
    return compile_s, statistics.median(times)


def bench_pipeline(num_layers, batch, steps, hidden, repeats, pipelined):
    cells = [jaxrnn.gru_cell(hidden)] * num_layers
    stack = jaxrnn.stack_cells(cells)
    params = stack.init(jax.random.key(0), hidden)
    x = jax.random.normal(jax.random.key(1), (batch, steps, hidden))
    mesh = jaxrnn.make_mesh(jax.devices()[:num_layers], "layer")

    def loss(p, x):
        if pipelined:
            out, _ = jaxrnn.pipelined_unroll(cells, p, x, mesh=mesh)
        else:
            out, _ = jaxrnn.dynamic_unroll(stack, p, x)
        return jnp.mean(out**2)

    return _time(jax.grad(loss), (params, x), repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    counts = [d for d in (1, 2, 4, 8) if d <= len(jax.devices())]
    dp_size = dict(batch=64, steps=16, hidden=32) if args.quick else dict(batch=256, steps=32, hidden=128)
    pp_size = dict(batch=8, steps=16, hidden=32) if args.quick else dict(batch=32, steps=64, hidden=128)
    print(
        f"devices: {jax.devices()[0].platform} x {len(jax.devices())}",
        f"data parallel {dp_size}  pipeline {pp_size}",
    )
    rows = []
    base = None
    for d in counts:
        c, t = bench_data_parallel(jax.devices()[:d], repeats=args.repeats, **dp_size)
        base = t if d == 1 else base
        rows.append(
            dict(scheme="data_parallel", devices=d, compile_s=c, step_ms=1e3 * t, ratio_to_1=t / base)
        )
    for d in counts:
        c1, t1 = bench_pipeline(d, repeats=args.repeats, pipelined=False, **pp_size)
        c, t = bench_pipeline(d, repeats=args.repeats, pipelined=True, **pp_size)
        rows.append(
            dict(scheme="pipeline", devices=d, compile_s=c, step_ms=1e3 * t, ratio_to_1=t / t1,
                 single_device_step_ms=1e3 * t1, single_device_compile_s=c1)
        )  # fmt: skip
    print(f"{'scheme':<14} {'devices':>7} {'compile s':>9} {'step ms':>9} {'ratio to 1 device':>18}")
    for r in rows:
        print(
            f"{r['scheme']:<14} {r['devices']:>7} {r['compile_s']:>9.2f}",
            f"{r['step_ms']:>9.2f} {r['ratio_to_1']:>18.2f}",
        )
    print("pipeline ratio: D-layer stack on D devices / the same D-layer stack on one device")
    meta = dict(platform=jax.devices()[0].platform, device_count=len(jax.devices()), cpu_count=os.cpu_count(),
                data_parallel=dp_size, pipeline=pp_size, repeats=args.repeats)  # fmt: skip
    (HERE / "parallel.json").write_text(json.dumps(dict(meta=meta, rows=rows), indent=2))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for scheme in ("data_parallel", "pipeline"):
        rs = [r for r in rows if r["scheme"] == scheme]
        ax.plot([r["devices"] for r in rs], [r["ratio_to_1"] for r in rs], "o-", label=scheme)
    ax.plot(counts, [1 / d for d in counts], "k:", label="ideal data parallel (1/D)")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("devices")
    ax.set_ylabel("step time / one device")
    ax.set_title(f"jaxrnn parallel step time ({meta['platform']}, {meta['cpu_count']} cores)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(HERE / "parallel.png", dpi=100)
    print(f"wrote {HERE / 'parallel.json'} and {HERE / 'parallel.png'}")


if __name__ == "__main__":
    main()
