"""The fused backward pass's window of steps: speed and backprop memory per window size.

The fused loop's backward pass (:mod:`jaxrnn.fused`) keeps ``dz`` for one
window of steps and adds the window's weight gradients with one GEMM of
``steps x batch`` rows. This measures, on ``bench.peers``' LSTM train and book
MNIST workloads, the default window (``WINDOW_ROWS`` rows) against windows of
about 1 and 2 steps (``window_rows`` = steps x batch) and one window of all
``T`` steps (one weight-gradient GEMM after the loop, as before windows), with
Haiku's scan as the memory reference.
Memory is XLA's temporary bytes of the train step: divided by ``T``, and per
added time step (the step compiled again at ``2T``; the difference over ``T``).

Run: ``python -m bench.windows [--repeats 15]``; writes ``bench/out/windows.json``.
"""

from __future__ import annotations

import argparse
import importlib.util
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from bench import peers, timing
from jaxrnn import fused


def _build(impl: Callable, window: int | None, shape: tuple, x: jax.Array, labels: Any) -> tuple[Any, int]:
    """Compile ``impl`` with windows of about ``window`` steps (None: the default rule)."""
    if window is None:
        return impl(*shape, x, labels)
    return impl(*shape, x, labels, window_rows=window * shape[1])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Time and size every window variant; print a table; write ``bench/out/windows.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--workloads", default="lstm_train,mnist")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"env": timing.environment(), "repeats": args.repeats}
    rows = []
    for name in args.workloads.split(","):
        kind, b, t, f, h, train = shape = peers.WORKLOADS[name]
        kx, kl = jax.random.split(jax.random.key(0))
        x = jax.random.normal(kx, (b, t, f), jnp.float32)
        labels = jax.random.randint(kl, (b,), 0, 10) if kind == "basic" else None
        variants: dict[str, tuple[Callable, int | None]] = {
            f"default ({fused.window_steps(b, t)} steps)": (peers.jaxrnn_impl, None),
            "1 step": (peers.jaxrnn_impl, 1),
            "2 steps": (peers.jaxrnn_impl, 2),
            f"all {t} steps": (peers.jaxrnn_impl, t),
        }
        if importlib.util.find_spec("haiku") is not None:
            variants["haiku (reference)"] = (peers.haiku_impl, None)
        runs, per_t, per_added = {}, {}, {}
        for label, (impl, window) in variants.items():
            runs[label], temp = _build(impl, window, shape, x, labels)
            long_shape = (kind, b, 2 * t, f, h, train)
            _, temp2 = _build(impl, window, long_shape, jnp.concatenate([x, x], axis=1), labels)
            per_t[label], per_added[label] = temp / t, (temp2 - temp) / t
        times = timing.interleaved(runs, args.repeats, warmup=2)
        base = timing.median_ms(times[next(iter(variants))])
        results[name] = {}
        for label in variants:
            ms = timing.median_ms(times[label])
            results[name][label] = {
                "median_ms": ms,
                "temp_bytes_per_step": per_t[label],
                "temp_bytes_per_added_step": per_added[label],
            }
            rows.append([name, label, ms, ms / base, per_t[label] / 1e6, per_added[label] / 1e6])
    header = ["workload", "window", "median ms", "ms / default", "MB kept / T", "MB / added step"]
    timing.print_table(header, rows)
    print(f"wrote {timing.write_json('windows', results)}")
    return results


if __name__ == "__main__":
    main()
