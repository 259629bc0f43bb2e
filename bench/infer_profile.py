"""Where jaxrnn's LSTM inference step spends its time (issue 21, lever 4), and what was tried to cut it.

LSTM B64 T100 F64 H256 forward only, every variant compiled in this one process
and timed taking turns (ratios to ``full`` are what to read on a shared machine):

* ``full``: ``jaxrnn.dynamic_unroll`` (the fused path: one ``[x, h] @ [Wx; Wh]`` GEMM per step).
* ``gemm only``: the same loop with the gate math replaced by a slice (``h = z[:, :H]``).
* ``gates only``: the gate math on ``z = [h, h, h, h] + x Wx`` precomputed, no recurrent GEMM.
* ``bare loop``: a scan carrying ``(c, h)`` that adds the step's input, nothing else.
* levers: ``unroll`` 2 and 4; ``x Wx`` hoisted as one GEMM over all steps (only ``h Wh`` in the
  loop); the gates as one sigmoid over ``[i, f, o]`` (3H) and one tanh (the weights' columns reordered).

Run: ``python -m bench.infer_profile [--repeats 9]``; writes ``bench/out/infer_profile.json``.
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
from jax import lax

import jaxrnn
from bench import _timing

B, T, F, H = 64, 100, 64, 256


def _gates(z, c):
    i, f, g, o = jnp.split(z, 4, axis=-1)
    c = jax.nn.sigmoid(f + 1.0) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
    return c, jax.nn.sigmoid(o) * jnp.tanh(c)


def _fused_gates(z, c):
    # columns [i, f, o, g]: one sigmoid over 3H, one tanh over H
    ifo = jax.nn.sigmoid(z[:, : 3 * H] + jnp.concatenate([jnp.zeros(H), jnp.ones(H), jnp.zeros(H)]))
    c = ifo[:, H : 2 * H] * c + ifo[:, :H] * jnp.tanh(z[:, 3 * H :])
    return c, ifo[:, 2 * H :] * jnp.tanh(c)


def variants(cell, params):
    """``name -> fn(params, xs [B, T, F]) -> outputs``."""
    w = jnp.concatenate([params["Wx"], params["Wh"]])
    b = params["b"]

    def loop(body, xs, hoisted=False):
        xs = jnp.swapaxes(xs, 0, 1)
        if hoisted:
            xs = (xs.reshape(T * B, F) @ params["Wx"]).reshape(T, B, 4 * H) + b
        zero = jnp.zeros((B, H), xs.dtype)
        return lax.scan(body, (zero, zero), xs)[1]

    def gemm_only(p, xs):
        return loop(lambda s, x: ((s[0], (jnp.concatenate([x, s[1]], -1) @ w + b)[:, :H]),) * 2, xs)

    def gates_only(p, xs):
        def body(s, xz):
            c, h = _gates(jnp.concatenate([s[1]] * 4, -1) + xz, s[0])
            return (c, h), h

        return loop(body, xs, hoisted=True)

    def bare(p, xs):
        return loop(lambda s, x: ((s[0], s[1] + x[:, :1]),) * 2, xs)

    def hoisted(p, xs):
        def body(s, xz):
            c, h = _gates(xz + s[1] @ params["Wh"], s[0])
            return (c, h), h

        return loop(body, xs, hoisted=True)

    order = jnp.concatenate([jnp.arange(0, 2 * H), jnp.arange(3 * H, 4 * H), jnp.arange(2 * H, 3 * H)])
    w_ifog, b_ifog = w[:, order], b[order]

    def one_sigmoid(p, xs):
        def body(s, x):
            c, h = _fused_gates(jnp.concatenate([x, s[1]], -1) @ w_ifog + b_ifog, s[0])
            return (c, h), h

        return loop(body, xs)

    def full(unroll):
        return lambda p, xs: jaxrnn.dynamic_unroll(cell, p, xs, unroll=unroll)[0]

    return {
        "full": full(1),
        "gemm only": gemm_only,
        "gates only": gates_only,
        "bare loop": bare,
        "unroll 2": full(2),
        "unroll 4": full(4),
        "x Wx hoisted": hoisted,
        "one sigmoid (3H) + tanh": one_sigmoid,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    cell = jaxrnn.lstm_cell(H)
    params = cell.init(jax.random.key(0), F)
    x = jax.random.normal(jax.random.key(1), (B, T, F))
    fns = {}
    for name, fn in variants(cell, params).items():
        compiled = jax.jit(fn).lower(params, x).compile()
        fns[name] = lambda c=compiled: _timing.block(c(params, x))
    times = _timing.interleaved(fns, args.repeats)
    base = _timing.median_ms(times["full"])
    rows, results = [], {"environment": _timing.environment(), "repeats": args.repeats, "ms": {}}
    for name in fns:
        ms = _timing.median_ms(times[name])
        results["ms"][name] = ms
        rows.append([name, ms, ms / base])
    _timing.print_table(["variant", "median ms", "/ full"], rows)
    print(f"wrote {_timing.write_json('infer_profile', results)}")


if __name__ == "__main__":
    main()
