"""Static (Python-loop) vs scan unrolling: compile time, forward and forward+backward time, backprop memory.

For each cell (basic, LSTM, GRU; batch 64, features 64, hidden 256) and each
sequence length, measures ``static_unroll``, ``dynamic_unroll(unroll=u)`` and
``dynamic_unroll(remat=True)``. The cells linear in the state, ``min_gru`` and
``min_lstm`` (not in the default ``--cells``), get a third way of unrolling
beside those, ``assoc``: ``associative_unroll`` (``lax.associative_scan``,
depth O(log T)), measured the same way:

* compile seconds of the forward and of the forward+backward step
  (``jit(f).lower(...).compile()``, tracing included);
* median forward and forward+backward ms, implementations taking turns;
* XLA's temporary bytes of the compiled forward+backward step, per time step
  (what backpropagation through time keeps live).

Static unrolling runs in a subprocess per (cell, length). The cap applies to each compile itself:
the child announces every compile's start and end, and the parent kills it when one compile has
run ``--cap`` seconds: that, and only that, is reported as "CAP HIT" (naming the compile). Once
static has hit the cap for a cell, its longer lengths are not attempted and say "not run". A child
killed for another reason (its whole run past ``--child-limit`` seconds with every compile done) is
reported as such. The subprocess also times ``dynamic_unroll(unroll=1)`` interleaved with static,
so the static/scan ratio comes from one process.

Run: ``python -m bench.static_vs_scan [--cells lstm,min_gru] [--lengths 10,25,50] [--cap 120]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

import jaxrnn
from bench import timing

BATCH, FEATURES, HIDDEN = 64, 64, 256


CLASSIC_CELLS: dict[str, Callable[[int], jaxrnn.Cell]] = {
    "basic": jaxrnn.basic_cell,
    "lstm": jaxrnn.lstm_cell,
    "gru": jaxrnn.gru_cell,
}
# recurrences linear in the state: these also run with associative_unroll
LINEAR_CELLS: dict[str, Callable[[int], jaxrnn.LinearRNN]] = {
    "min_gru": jaxrnn.min_gru,
    "min_lstm": jaxrnn.min_lstm,
}


def make_cell(kind: str) -> jaxrnn.Cell:
    """The benchmarked cell of each kind, hidden size 256 (a linear RNN's step-by-step cell)."""
    if kind in LINEAR_CELLS:
        return LINEAR_CELLS[kind](HIDDEN).cell
    return CLASSIC_CELLS[kind](HIDDEN)


def check_cells(cells: list[str]) -> None:
    """Raise ``ValueError`` naming ``--cells`` for an unknown kind, before any compile."""
    known = [*CLASSIC_CELLS, *LINEAR_CELLS]
    unknown = [k for k in cells if k not in known]
    if unknown:
        raise ValueError(f"--cells must be among {known}, got {unknown}")


def steps(kind: str, method: str, unroll: int = 1):
    """``(forward, forward_backward)`` functions of ``(params, x)`` for one unrolling method.

    ``method`` is ``static``, ``scan``, ``remat`` or, for a cell in ``LINEAR_CELLS``, ``assoc``.
    """
    if method == "assoc" and kind not in LINEAR_CELLS:
        raise ValueError(f"method 'assoc' needs a cell in {list(LINEAR_CELLS)}, got {kind!r}")
    rnn = LINEAR_CELLS[kind](HIDDEN) if kind in LINEAR_CELLS else None
    cell = make_cell(kind)

    def forward(params, x):
        if method == "static":
            return jaxrnn.static_unroll(cell, params, x)[0]
        if method == "assoc":
            return jaxrnn.associative_unroll(rnn, params, x)[0]
        return jaxrnn.dynamic_unroll(cell, params, x, unroll=unroll, remat=method == "remat")[0]

    def forward_backward(params, x):
        return jax.value_and_grad(lambda p: jnp.mean(forward(p, x) ** 2))(params)

    return cell, forward, forward_backward


COMPILE_START, COMPILE_END = "@compile-start", "@compile-end"


def _compile(f, params, x, label: str, announce: bool):
    """``timing.compile_seconds``, announced on stderr in a child so the parent can cap the compile alone."""
    if announce:
        print(f"{COMPILE_START} {label}", file=sys.stderr, flush=True)
    out = timing.compile_seconds(f, params, x)
    if announce:
        print(f"{COMPILE_END} {label}", file=sys.stderr, flush=True)
    return out


def measure(
    kind: str, length: int, methods: dict[str, tuple[str, int]], repeats: int, announce: bool = False
) -> dict[str, Any]:
    """Compile, time (interleaved) and size every method for one (cell, length)."""
    x = jax.random.normal(jax.random.key(0), (BATCH, length, FEATURES), jnp.float32)
    results, runs = {}, {}
    for name, (method, unroll) in methods.items():
        cell, fwd, fwd_bwd = steps(kind, method, unroll)
        params = cell.init(jax.random.key(1), FEATURES)
        c_fwd, t_fwd = _compile(fwd, params, x, f"{name} forward", announce)
        c_bwd, t_bwd = _compile(fwd_bwd, params, x, f"{name} forward+backward", announce)
        temp = timing.temp_bytes(c_bwd)
        results[name] = {
            "compile_forward_s": t_fwd,
            "compile_forward_backward_s": t_bwd,
            "temp_bytes_per_step": None if temp is None else temp / length,
        }
        runs[f"{name}/fwd"] = lambda c=c_fwd, p=params: timing.block(c(p, x))
        runs[f"{name}/fwd_bwd"] = lambda c=c_bwd, p=params: timing.block(c(p, x))
    times = timing.interleaved(runs, repeats)
    for name in methods:
        results[name]["forward_ms"] = timing.median_ms(times[f"{name}/fwd"])
        results[name]["forward_backward_ms"] = timing.median_ms(times[f"{name}/fwd_bwd"])
    return results


def run_static(kind: str, length: int, repeats: int, cap: float, child_limit: float) -> dict[str, Any]:
    """Measure static (and scan unroll 1 beside it) in a subprocess; kill it when one compile passes ``cap``.

    Returns the child's measurements, or ``{"cap_hit": True, "compile": <which>, "cap_s": cap}`` when a
    compile ran into the cap, ``{"killed": ..., "limit_s": child_limit}`` when the whole child ran past
    ``child_limit`` with no compile in progress, or ``{"error": <stderr tail>}``.
    """
    cmd = [sys.executable, "-m", "bench.static_vs_scan", "--child", kind, str(length), str(repeats)]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    compiling: dict[str, Any] = {"label": None, "since": 0.0}
    tail: list[str] = []

    def read_stderr() -> None:
        for line in child.stderr:
            if line.startswith(COMPILE_START):
                compiling.update(label=line[len(COMPILE_START) :].strip(), since=time.monotonic())
            elif line.startswith(COMPILE_END):
                compiling["label"] = None
            else:
                tail.append(line)

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    start = time.monotonic()
    while child.poll() is None:
        time.sleep(0.2)
        label = compiling["label"]
        if label is not None and time.monotonic() - compiling["since"] > cap:
            child.kill()
            child.wait()
            return {"cap_hit": True, "compile": label, "cap_s": cap}
        if label is None and time.monotonic() - start > child_limit:
            child.kill()
            child.wait()
            return {"killed": "whole child past its time limit, every compile done", "limit_s": child_limit}
    out = child.stdout.read()
    reader.join(timeout=5)
    if child.returncode != 0:
        return {"error": "".join(tail)[-2000:]}
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the sweep, print a table, write ``bench/out/static_vs_scan.{json,png}``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", default="basic,lstm,gru")
    parser.add_argument("--lengths", default="10,25,50,100,200,500")
    parser.add_argument("--unrolls", default="1,2,4,8,16")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cap", type=float, default=120.0, help="seconds one static compile may take")
    parser.add_argument(
        "--child-limit", type=float, default=1800.0, help="seconds a static subprocess may take in all"
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    check_cells(args.child[:1] if args.child else args.cells.split(","))
    if args.child:
        kind, length, repeats = args.child[0], int(args.child[1]), int(args.child[2])
        methods = {"static": ("static", 1), "scan_u1_beside_static": ("scan", 1)}
        res = measure(kind, length, methods, repeats, announce=True)
        print(json.dumps(res))
        return res
    methods = {f"scan_u{u}": ("scan", int(u)) for u in args.unrolls.split(",")}
    methods["remat"] = ("remat", 1)
    results: dict[str, Any] = {"env": timing.environment(), "args": vars(args), "cells": {}}
    rows = []
    static_dead: dict[str, int] = {}  # cell -> the length whose static compile hit the cap
    for kind in args.cells.split(","):
        results["cells"][kind] = {}
        # the third way of unrolling, for the cells that have it
        kind_methods = dict(methods, assoc=("assoc", 1)) if kind in LINEAR_CELLS else methods
        for length in map(int, args.lengths.split(",")):
            entry = measure(kind, length, kind_methods, args.repeats)
            if "assoc" in entry and "scan_u1" in entry:  # both timed in one interleaved loop
                entry["assoc"]["ratio_to_scan_u1"] = (
                    entry["assoc"]["forward_backward_ms"] / entry["scan_u1"]["forward_backward_ms"]
                )
            # once a static compile has hit the cap for a cell, longer sequences are not attempted
            entry["static"] = (
                {"not_run": True, "after_cap_hit_at": static_dead[kind]}
                if kind in static_dead
                else run_static(kind, length, args.repeats, args.cap, args.child_limit)
            )
            if entry["static"].get("cap_hit"):
                static_dead[kind] = length
            results["cells"][kind][length] = entry
            for name, r in list(entry.items()):
                if name == "static" and "static" in r:
                    beside = r["scan_u1_beside_static"]
                    ratio = r["static"]["forward_backward_ms"] / beside["forward_backward_ms"]
                    r = dict(r["static"], ratio_to_scan_u1=ratio)
                    entry["static_flat"] = r
                if "cap_hit" in r:
                    status = f"CAP HIT: {r['compile']} compile > {r['cap_s']:g} s"
                elif "not_run" in r:
                    status = f"not run (compile hit the cap at T={r['after_cap_hit_at']})"
                elif "killed" in r:
                    status = f"killed after {r['limit_s']:g} s (not a compile cap)"
                elif "error" in r:
                    status = "error"
                else:
                    status = None
                if status is not None:
                    rows.append([kind, length, name, status, "", "", "", ""])
                    continue
                rows.append(
                    [
                        kind,
                        length,
                        name,
                        r["compile_forward_s"],
                        r["compile_forward_backward_s"],
                        r["forward_ms"],
                        r["forward_backward_ms"],
                        "-" if r["temp_bytes_per_step"] is None else f"{r['temp_bytes_per_step'] / 1e6:.2f}",
                    ]
                )
            # write as we go, so a sweep stopped early still leaves every finished length on disk
            timing.write_json("static_vs_scan", results)
            print(f"done {kind} T={length}: {json.dumps(entry, default=str)}", file=sys.stderr, flush=True)
    timing.print_table(
        ["cell", "T", "method", "compile fwd s", "compile f+b s", "fwd ms", "f+b ms", "MB/step kept"], rows
    )
    path = timing.write_json("static_vs_scan", results)
    _plot(results)
    print(f"wrote {path} and {timing.figure_path('static_vs_scan')}")
    return results


def _plot(results: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for kind, by_len in results["cells"].items():
        lengths = sorted(by_len)
        for method, style in (("static_flat", "-o"), ("scan_u1", "--s"), ("remat", ":^"), ("assoc", "-.D")):
            pts = [(t, by_len[t].get(method)) for t in lengths]
            pts = [(t, r) for t, r in pts if r and "compile_forward_backward_s" in r]
            if not pts:
                continue
            ts = [t for t, _ in pts]
            label = f"{kind} {method.replace('_flat', '')}"
            axes[0].plot(ts, [r["compile_forward_backward_s"] for _, r in pts], style, label=label)
            axes[1].plot(ts, [r["forward_backward_ms"] for _, r in pts], style, label=label)
            axes[2].plot(ts, [r["temp_bytes_per_step"] / 1e6 for _, r in pts], style, label=label)
    for ax, title in zip(axes, ["compile fwd+bwd (s)", "fwd+bwd (ms)", "MB kept per time step"]):
        ax.set_xscale("log")
        ax.set_xlabel("sequence length")
        ax.set_title(title)
    axes[0].set_yscale("log")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(timing.figure_path("static_vs_scan"), dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
