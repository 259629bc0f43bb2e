"""Where each ``bench.peers`` workload's jaxrnn step spends its time (issue 21): GEMM, gates, loop, backward.

For every workload of ``bench.peers`` (its shapes and its jaxrnn step, imported from there), the
step and variants of it that swap the cell (every layer's, in the stacks), all compiled in this one
process and timed taking turns; read the ratios to ``full`` on a shared machine:

* ``full``: the step ``bench.peers`` times as row ``jaxrnn`` (loss, gradients and SGD when training).
* ``gemm only``: the same step with the gate math replaced by a cheap mix of the product's column
  blocks (the new state is their mean, so no column of the GEMM is dead code): the same GEMMs, forward
  and backward, on the same path (fused for the LSTM and basic cells, the plain scan for the GRU).
* ``gates only``: the cell's own gate math (the library's ``combine`` for the LSTM and basic cells,
  the reset-after GRU's equations) on ``z = [h, .., h] + x[:, :1] * b``: no GEMM at all.
* ``bare loop``: the loop carrying the state and adding ``x[:, :1] * b[:H]``, nothing else.
* ``forward`` (training rows): the training step's forward pass alone, with the residuals its
  backward reads (``jax.vjp``'s forward); the backward's share is ``1 - forward``.
* with ``--levers``, for the LSTM rows: other forms of the gate math (issue 21's levers b and c,
  :data:`LSTM_GATE_FORMS`, each on the fused path, forward and backward) and, for ``lstm_infer``,
  the no-residual forward's GEMM forms (lever a: :func:`forward_forms`); for the GRU, one sigmoid
  over ``[r, u]`` (:func:`gru_one_sigmoid_cell`).

Fractions are medians over rounds of each round's variant time / ``full`` time. The parts overlap
(an elementwise pass can run while a GEMM waits for memory), so the fractions need not add to 1.
"% of peak": the row's matmul FLOPs (``bench.peers.flops``) over the measured peak
(``gemm only``: the same FLOPs in that variant's time, the GEMMs' own efficiency).

Run: ``python -m bench.step_profile [--workloads lstm_infer,gru_train] [--repeats 9] [--levers]
[--json OUT]``; prints a markdown table, writes ``bench/out/step_profile.json`` (or OUT).
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

import jaxrnn
from bench import peers, timing
from jaxrnn.cells import Cell, LSTMState, Recurrence, matmul, row

Array = jax.Array


def library_cell(kind: str, h: int) -> Cell:
    """The cell of ``bench.peers``'s ``jaxrnn`` row for a kind: ``lstm``, ``gru`` (reset-after), ``basic``."""
    cells = {"lstm": jaxrnn.lstm_cell, "gru": lambda n: jaxrnn.gru_cell(n, reset_after=True)}
    return cells.get(kind, jaxrnn.basic_cell)(h)


def _weights(params: Any) -> tuple[Array, Array, Array]:
    return params["Wx"], params["Wh"], params["b"]


def _like(full: Cell, apply: Callable, recurrence: Recurrence | None = None) -> Cell:
    """``full`` with another ``apply`` (params, state and sizes unchanged); fused when ``recurrence``."""
    rec = None if recurrence is None else recurrence._replace(apply=apply)
    return full._replace(apply=apply, recurrence=rec)


def _mix(z: Array, gates: int) -> Array:
    # the mean of the G column blocks: every column is read, and the recurrence stays bounded
    return sum(jnp.split(z, gates, axis=-1)) * (1.0 / gates)


def gemm_only_cell(kind: str, h: int) -> Cell:
    """The ``kind`` cell's GEMMs with the gate math replaced by :func:`_mix` (same path, fused or scan)."""
    full = library_cell(kind, h)
    if kind == "gru":

        def gru_apply(params, state, x, *, key=None, training=False, time_step=0):
            xz = matmul(x, params["Wx"])
            hh = matmul(state, params["Wh"])
            new = _mix(xz + row(params["b"], xz) + hh + row(params["bh"], hh), 3)
            return new, new

        return _like(full, gru_apply)
    gates = 4 if kind == "lstm" else 1

    def combine(xz, hz, state):
        new = _mix(xz + hz, gates)
        return (LSTMState(new, new) if kind == "lstm" else new), new

    hidden = full.recurrence.hidden  # type: ignore[union-attr]
    identity = None if kind == "lstm" else jnp.ones_like  # basic: keep only the states, as tanh does
    rec = Recurrence(_weights, hidden, combine, derivative_from_output=identity)

    def apply(params, state, x, *, key=None, training=False, time_step=0):
        xz = matmul(x, params["Wx"])
        return combine(xz + row(params["b"], xz), matmul(hidden(state), params["Wh"]), state)

    return _like(full, apply, rec)


def _gru_gates(xz: Array, hh: Array, h_prev: Array) -> Array:
    """The reset-after GRU's gate math (``jaxrnn.gru_cell(reset_after=True)``) on its two products."""
    xr, xu, xg = jnp.split(xz, 3, axis=-1)
    hr, hu, hg = jnp.split(hh, 3, axis=-1)
    r, u = jax.nn.sigmoid(xr + hr), jax.nn.sigmoid(xu + hu)
    g = jnp.tanh(xg + r * hg)
    return u * h_prev + (1 - u) * g


def gates_only_cell(kind: str, h: int) -> Cell:
    """The ``kind`` cell's gate math on ``z = [h, .., h] + x[:, :1] * b``: no GEMM (the plain scan)."""
    full = library_cell(kind, h)
    gates = {"lstm": 4, "gru": 3}.get(kind, 1)

    def apply(params, state, x, *, key=None, training=False, time_step=0):
        h_prev = state.h if kind == "lstm" else state
        xz = x[:, :1] * row(params["b"], x)
        hz = jnp.concatenate([h_prev] * gates, axis=-1)
        if kind == "gru":
            new = _gru_gates(xz, hz + row(params["bh"], hz), h_prev)
            return new, new
        return full.recurrence.combine(xz, hz, state)  # type: ignore[union-attr]

    return _like(full, apply)


def bare_loop_cell(kind: str, h: int) -> Cell:
    """A loop carrying the ``kind`` cell's state and adding ``x[:, :1] * b[:H]`` (the plain scan)."""
    full = library_cell(kind, h)

    def apply(params, state, x, *, key=None, training=False, time_step=0):
        new = jax.tree.map(lambda s: s + x[:, :1] * row(params["b"][:h], s), state)
        return new, (new.h if kind == "lstm" else new)

    return _like(full, apply)


def lstm_gates(form: str, forget_bias: float = 1.0) -> Callable:
    """An LSTM ``combine`` computing ``jaxrnn.lstm_cell``'s gate equations in another form (levers b, c).

    The library's own form is a sigmoid or tanh per gate block; ``"four passes"`` repeats it (a placebo:
    its ratio to ``full`` shows the noise).
    """

    def combine(xz, hz, state):
        z = xz + hz
        h = state.c.shape[-1]
        if form == "one sigmoid":
            # tanh(g) = 2 sigmoid(2g) - 1: one sigmoid over all 4H columns, the i, f, g, o layout unchanged
            scale = jnp.repeat(jnp.array([1, 1, 2, 1], z.dtype), h)
            shift = jnp.repeat(jnp.array([0, forget_bias, 0, 0], z.dtype), h)
            i, f, g, o = jnp.split(jax.nn.sigmoid(z * row(scale, z) + row(shift, z)), 4, axis=-1)
            g = 2 * g - 1
        elif form == "one tanh":
            # sigmoid(v) = (tanh(v / 2) + 1) / 2: one tanh over all 4H columns
            scale = jnp.repeat(jnp.array([0.5, 0.5, 1, 0.5], z.dtype), h)
            shift = jnp.repeat(jnp.array([0, 0.5 * forget_bias, 0, 0], z.dtype), h)
            i, f, g, o = jnp.split(jnp.tanh(z * row(scale, z) + row(shift, z)), 4, axis=-1)
            i, f, o = 0.5 * i + 0.5, 0.5 * f + 0.5, 0.5 * o + 0.5
        else:
            # a pass per gate; "sigmoid by tanh" with sigmoid(v) = (tanh(v / 2) + 1) / 2
            zi, zf, zg, zo = jnp.split(z, 4, axis=-1)
            if form == "four passes":
                i, f, o = (jax.nn.sigmoid(v) for v in (zi, zf + forget_bias, zo))
            else:
                i, f, o = (0.5 * jnp.tanh(0.5 * v) + 0.5 for v in (zi, zf + forget_bias, zo))
            g = jnp.tanh(zg)
        c = f * state.c + i * g
        h_new = o * jnp.tanh(c)
        return LSTMState(c, h_new), h_new

    return combine


LSTM_GATE_FORMS = ("four passes", "one sigmoid", "one tanh", "sigmoid by tanh")


def lstm_gate_form_cell(form: str, h: int) -> Cell:
    """``jaxrnn.lstm_cell(h)`` with its gate math in ``form`` (:data:`LSTM_GATE_FORMS`), on the fused path."""
    full = library_cell("lstm", h)
    combine = lstm_gates(form)
    rec = Recurrence(_weights, lambda s: s.h, combine)

    def apply(params, state, x, *, key=None, training=False, time_step=0):
        xz = matmul(x, params["Wx"])
        return combine(xz + row(params["b"], xz), matmul(state.h, params["Wh"]), state)

    return _like(full, apply, rec)


def gru_one_sigmoid_cell(h: int) -> Cell:
    """``jaxrnn.gru_cell(h, reset_after=True)`` with one sigmoid over the contiguous ``[r, u]`` columns."""
    full = library_cell("gru", h)

    def apply(params, h_prev, x, *, key=None, training=False, time_step=0):
        xz = matmul(x, params["Wx"])
        hh = matmul(h_prev, params["Wh"])
        xz, hh = xz + row(params["b"], xz), hh + row(params["bh"], hh)
        r, u = jnp.split(jax.nn.sigmoid(xz[:, : 2 * h] + hh[:, : 2 * h]), 2, axis=-1)
        new = u * h_prev + (1 - u) * jnp.tanh(xz[:, 2 * h :] + r * hh[:, 2 * h :])
        return new, new

    return _like(full, apply)


def forward_forms(b: int, t: int, f: int, h: int, x: Array) -> dict[str, Callable[[], Any]]:
    """Lever a: the no-residual LSTM forward as ``lax.scan`` loops with three GEMM forms, ready to time.

    ``library``: ``jaxrnn.dynamic_unroll`` timed the same way (the input an argument, not a constant);
    ``concat``: one ``[x, h] @ [Wx; Wh]`` per step (what ``jaxrnn.fused`` runs); ``two GEMMs``:
    ``x @ Wx + h @ Wh`` per step; ``x Wx hoisted``: one ``[T B, F] x [F, 4H]`` GEMM before the loop,
    ``h @ Wh`` in it. The gate math is the library cell's ``combine``.
    """
    cell = library_cell("lstm", h)
    params = cell.init(jax.random.key(1), f)
    combine = cell.recurrence.combine  # type: ignore[union-attr]

    def loop(form):
        def run(p, xs):
            if form == "library":
                return jaxrnn.dynamic_unroll(cell, p, xs)[0]
            wx, wh, bias = p["Wx"], p["Wh"], p["b"]
            xs = jnp.swapaxes(xs, 0, 1)
            if form == "x Wx hoisted":
                xz = matmul(xs, wx)
                xs = xz + row(bias, xz)
            w = jnp.concatenate([wx, wh])

            def body(state, x_t):
                if form == "concat":
                    z = jnp.concatenate([x_t, state.h], axis=-1) @ w
                    xz, hz = z + row(bias, z), jnp.zeros((), z.dtype)
                elif form == "two GEMMs":
                    xz = x_t @ wx
                    xz, hz = xz + row(bias, xz), state.h @ wh
                else:
                    xz, hz = x_t, state.h @ wh
                return combine(xz, hz, state)

            return jnp.swapaxes(lax.scan(body, cell.zero_state(b, xs.dtype), xs)[1], 0, 1)

        compiled = jax.jit(run).lower(params, x).compile()
        return lambda: timing.block(compiled(params, x))

    forms = ("library", "concat", "two GEMMs", "x Wx hoisted")
    return {f"forward: {form}": loop(form) for form in forms}


VARIANTS = {"gemm only": gemm_only_cell, "gates only": gates_only_cell, "bare loop": bare_loop_cell}


def workload_runs(
    name: str, hidden: int | None = None, time: int | None = None, levers: bool = False
) -> tuple[dict[str, Callable[[], Any]], dict[str, Any]]:
    """``(variant -> run, shape)`` for a ``bench.peers`` workload; ``hidden``, ``time`` override its H, T."""
    kind, b, t, f, h, train = peers.WORKLOADS[name]
    h, t = hidden or h, time or t
    kx, kl = jax.random.split(jax.random.key(0))
    x = jax.random.normal(kx, (b, t, f), jnp.float32)
    labels = jax.random.randint(kl, (b,), 0, 10) if kind == "basic" else None
    cell_kind = "lstm" if kind in peers.DEEP else kind

    def step(make_cell=None, residuals=False):
        return peers.jaxrnn_impl(
            kind, b, t, f, h, train, x, labels, make_cell=make_cell, residuals=residuals
        )[0]

    runs = {"full": step()}
    for variant, make in VARIANTS.items():
        runs[variant] = step(lambda n, make=make: make(cell_kind, n))
    if train:
        runs["forward"] = step(residuals=True)
    if levers and cell_kind == "lstm":
        for form in LSTM_GATE_FORMS:
            runs[f"gates: {form}"] = step(lambda n, form=form: lstm_gate_form_cell(form, n))
        if not train and kind == "lstm":
            runs.update(forward_forms(b, t, f, h, x))
    if levers and kind == "gru":
        runs["gates: one sigmoid"] = step(gru_one_sigmoid_cell)
    shape = dict(kind=kind, batch=b, time=t, features=f, hidden=h, train=train)
    return runs, shape


def profile(
    workloads: list[str],
    repeats: int,
    hidden: int | None = None,
    time: int | None = None,
    levers: bool = False,
) -> dict[str, Any]:
    """Time every workload's variants (taking turns, per workload); ms and fractions of ``full``."""
    peak = timing.matmul_peak_gflops()
    results: dict[str, Any] = {"env": timing.environment(), "peak_gflops": peak, "repeats": repeats}
    for name in workloads:
        runs, shape = workload_runs(name, hidden, time, levers)
        times = timing.interleaved(runs, repeats, warmup=1)
        ms = {v: timing.median_ms(ts) for v, ts in times.items()}
        # each round's variant time over the same round's full time, then the median over rounds:
        # steadier than a ratio of medians when the load changes during the run
        paired = {v: statistics.median(a / b for a, b in zip(ts, times["full"])) for v, ts in times.items()}
        work = peers.flops(shape["kind"], shape["batch"], shape["time"], shape["features"], shape["hidden"],
                           shape["train"])  # fmt: skip
        results[name] = {
            "shape": shape,
            "flops": work,
            "ms": ms,
            "fraction": paired,
            "fraction_of_medians": {v: m / ms["full"] for v, m in ms.items()},
            "percent_of_peak": {v: 100 * work / (ms[v] * 1e-3) / 1e9 / peak for v in ("full", "gemm only")},
        }
    return results


def markdown(results: dict[str, Any], workloads: list[str]) -> str:
    """The profile as a markdown table: ms of ``full``, every variant's fraction of it, % of peak."""
    columns = ["gemm only", "gates only", "bare loop", "forward"]
    extra = sorted({v for w in workloads for v in results[w]["ms"]} - {"full", *columns})
    header = ["workload", "full ms", *columns, "backward", *extra, "% of peak (full, gemm only)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for w in workloads:
        r = results[w]
        frac = r["fraction"]
        cells = [w, f"{r['ms']['full']:.1f}"]
        cells += [f"{frac[c]:.2f}" if c in frac else "—" for c in [*columns]]
        cells.append(f"{1 - frac['forward']:.2f}" if "forward" in frac else "—")
        cells += [f"{frac[c]:.2f}" if c in frac else "—" for c in extra]
        pk = r["percent_of_peak"]
        cells.append(f"{pk['full']:.0f}%, {pk['gemm only']:.0f}%")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Profile the workloads, print the markdown table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default=",".join(peers.WORKLOADS))
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--levers", action="store_true", help="add the LSTM gate-math and forward-GEMM forms")
    parser.add_argument("--json", default=None, help="output path (default bench/out/step_profile.json)")
    parser.add_argument("--hidden", type=int, default=None, help="override every workload's H (quick runs)")
    parser.add_argument("--time", type=int, default=None, help="override every workload's T (quick runs)")
    args = parser.parse_args(argv)
    workloads = args.workloads.split(",")
    unknown = sorted(set(workloads) - set(peers.WORKLOADS))
    if unknown:
        raise ValueError(
            f"--workloads must name workloads of bench.peers {list(peers.WORKLOADS)}; got {unknown}"
        )
    if args.repeats < 1:
        raise ValueError(f"--repeats must be a positive int; got {args.repeats}")
    results = profile(workloads, args.repeats, args.hidden, args.time, args.levers)
    print(f"measured float32 matmul peak: {results['peak_gflops']:.1f} GFLOP/s; fractions are of `full`")
    print(markdown(results, workloads))
    if args.json is None:
        path = timing.write_json("step_profile", results)
    else:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2, default=str))
    print(f"wrote {path}")
    return results


if __name__ == "__main__":
    main()
