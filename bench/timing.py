"""Shared timing helpers: interleaved medians, compile time, XLA memory analysis, matmul peak, output files.

Every benchmark measures its implementations in one process, taking turns
(A, B, C, A, B, C, ...), so that load from other processes on a shared machine
hits all of them alike; ratios of medians from one run are what we report.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn.tuning import interleaved_times

OUT_DIR = Path(__file__).resolve().parent / "out"


def block(x: Any) -> Any:
    """Wait for every array leaf of ``x`` (JAX or torch) to be computed."""
    return jax.tree.map(lambda a: a.block_until_ready() if hasattr(a, "block_until_ready") else a, x)


def interleaved(fns: dict[str, Callable[[], Any]], repeats: int, warmup: int = 1) -> dict[str, list[float]]:
    """Time each zero-argument function ``repeats`` times, taking turns in a rotating order; seconds per call.

    The loop is :func:`jaxrnn.tuning.interleaved_times` (the one ``tune_unroll`` uses): rotating
    the order matters here because whoever runs right after PyTorch shares the CPU with its OpenMP
    threads still spin-waiting, so no implementation may always take that seat.
    """
    return interleaved_times(fns, repeats, warmup)


def median_ms(times: list[float]) -> float:
    """Median of a list of seconds, in milliseconds."""
    return 1e3 * statistics.median(times)


def compile_seconds(fn: Callable, *args: Any) -> tuple[Any, float]:
    """Lower and compile ``jax.jit(fn)`` for ``args``; return ``(compiled, seconds)`` (tracing included)."""
    start = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    return compiled, time.perf_counter() - start


def temp_bytes(compiled: Any) -> int | None:
    """XLA's temporary buffer size for a compiled function (what backprop keeps live), or None."""
    analysis = compiled.memory_analysis()
    if analysis is None:
        return None
    return int(analysis.temp_size_in_bytes)


def matmul_peak_gflops(n: int = 2048, repeats: int = 5) -> float:
    """Measured float32 matmul throughput of one large ``[n, n] x [n, n]`` ``jnp.dot``, in GFLOP/s."""
    a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
    f = jax.jit(jnp.dot)
    f(a, a).block_until_ready()
    best = min(_time_once(lambda: f(a, a).block_until_ready()) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _time_once(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def environment() -> dict[str, Any]:
    """Versions and machine facts to store next to every result."""
    env = {
        "python": platform.python_version(),
        "jax": jax.__version__,
        "numpy": np.__version__,
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "load_average_at_start": os.getloadavg(),
        "utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
    }
    for name in ("flax", "haiku", "torch", "keras"):
        try:
            module = __import__(name)
            env[name] = module.__version__
        except ImportError:
            env[name] = None
    return env


def write_json(name: str, payload: dict[str, Any]) -> Path:
    """Write ``payload`` with its provenance (commit, CPU, load) to ``bench/out/<name>.json``."""
    from bench.provenance import provenance

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{name}.json"
    path.write_text(json.dumps({"provenance": provenance(), **payload}, indent=2, default=str))
    return path


def figure_path(name: str) -> Path:
    """Where ``bench/out/<name>.png`` goes (folder created)."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    return OUT_DIR / f"{name}.png"


def print_table(header: list[str], rows: list[list[Any]]) -> None:
    """Print a plain-text table, columns padded to fit."""
    cells = [header] + [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for i, row in enumerate(cells):
        print("  ".join(c.rjust(w) for c, w in zip(row, widths)))
        if i == 0:
            print("  ".join("-" * w for w in widths))


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"
    return str(v)
