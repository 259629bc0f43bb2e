"""jaxrnn against the RNNs a user would pick instead, same shapes, same machine, same run.

Workloads (median ms per step, implementations taking turns):

* ``lstm_train``: LSTM B64 T100 F64 H256, loss ``mean(outputs**2)``, gradients
  and a plain SGD update.
* ``lstm_infer``: the same LSTM, forward only.
* ``gru_train``: GRU, same shapes as ``lstm_train``. Each peer is compared with the jaxrnn variant
  that computes what it computes: PyTorch ``nn.GRU`` and Flax ``GRUCell`` apply the reset gate
  *after* the recurrent matmul, ``r * (h Wh + bh)``, like ``gru_cell(reset_after=True)`` (row
  ``jaxrnn``); Haiku's ``hk.GRU`` applies it *before*, ``(r * h) Wh``, like TF1 and the book's
  ``gru_cell()`` (row ``jaxrnn_reset_before``). Both jaxrnn rows are printed.
* ``lstm4_train`` / ``lstm4_infer``: a 4-layer LSTM, same B/T/F/H (PyTorch ``nn.LSTM(num_layers=4)``,
  Flax 4 stacked ``nn.RNN``, Haiku 4 ``dynamic_unroll`` calls); ``bilstm2_train`` / ``bilstm2_infer``: a
  2-layer bidirectional LSTM (PyTorch ``bidirectional=True, num_layers=2``, Flax ``nn.Bidirectional``,
  Haiku two unrolls per layer). Row ``jaxrnn_plain`` runs the stack's layers one after another by
  ``fused_unroll`` directly; ``jaxrnn_wavefront`` runs ``jaxrnn.wavefront``: the 4 layers in one loop, or
  both directions of each bidirectional layer in one loop (neither is the default).
* ``mnist``: the book's MNIST classifier step: basic tanh cell B150 T28 F28 H150,
  dense 10 on the last state, softmax cross-entropy, gradients and SGD.
* ``translator_train``: the translator's training step on one real 64-pair batch of the shared
  ``translation/en-fr.tsv`` (widths 15/17; GRU-256 encoder and decoder, Bahdanau attention, embeddings
  128, Adam, clip 5) against a PyTorch encoder-decoder of the same architecture
  (``bench.translation.torch_step``), full softmax, plus jaxrnn with sampled softmax 512; target tokens
  per second. Skipped, with a message, when the corpus is absent.

Row ``jaxrnn_bf16``: jaxrnn with ``matmul_dtype=jnp.bfloat16`` (mixed precision), compared with
float32 jaxrnn only; it never counts for the float32 targets.

PyTorch runs in its own process (``--times-out``, started by this one for each workload, the same
shapes and inputs), the JAX implementations take turns in this one: PyTorch's OpenMP threads keep
spin-waiting after each call, and in a shared process they take the CPU from whichever JAX step runs
next (LSTM inference 15.3 ms alone vs 19.2 ms beside PyTorch, 2-core EPYC), while making PyTorch's
threads sleep instead (``OMP_WAIT_POLICY=PASSIVE``) doubles its own time. Each library is timed as a
user runs it: alone in its process, with its default threading.

Peers: PyTorch ``nn.LSTM``/``nn.GRU``/``nn.RNN`` (CPU, 2 threads), Flax linen
``nn.RNN`` with ``OptimizedLSTMCell``/``GRUCell``/``SimpleCell``, Haiku
``dynamic_unroll`` with ``hk.LSTM``/``hk.GRU``/``hk.VanillaRNN``. Missing peers
(``pip install -e .[bench]``) are skipped with a note. Also reported: the
fraction of the measured matmul peak (FLOPs counted by hand) and, for the JAX
implementations, XLA's temporary bytes kept for backprop: the step's total divided by T,
and per added time step (the step compiled again at 2T: the difference over T).

Run: ``python -m bench.peers [--repeats 15] [--workloads lstm_train,mnist]``.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn
from bench import timing

LR = 1e-3
WORKLOADS = {
    # name: (cell kind, batch, time, features, hidden, train)
    "lstm_train": ("lstm", 64, 100, 64, 256, True),
    "lstm_infer": ("lstm", 64, 100, 64, 256, False),
    "gru_train": ("gru", 64, 100, 64, 256, True),
    "mnist": ("basic", 150, 28, 28, 150, True),
    "lstm4_train": ("lstm4", 64, 100, 64, 256, True),
    "lstm4_infer": ("lstm4", 64, 100, 64, 256, False),
    "bilstm2_train": ("bilstm2", 64, 100, 64, 256, True),
    "bilstm2_infer": ("bilstm2", 64, 100, 64, 256, False),
}
GATES = {"lstm": 4, "gru": 3, "basic": 1, "lstm4": 4, "bilstm2": 4}
# multi-layer kinds: (layers, directions), LSTM cells
DEEP = {"lstm4": (4, 1), "bilstm2": (2, 2)}


def flops(kind: str, b: int, t: int, f: int, h: int, train: bool) -> float:
    """Matmul FLOPs of one step: ``2 B (F + H) G H`` per time step, layer and direction, x3 with backward."""
    layers, directions = DEEP.get(kind, (1, 1))
    forward = 0.0
    for layer in range(layers):
        inputs = f if layer == 0 else directions * h
        forward += directions * 2.0 * b * (inputs + h) * GATES[kind] * h * t
    if kind == "basic":
        forward += 2.0 * b * h * 10  # the classifier head
    return 3 * forward if train else forward


def _sgd(params: Any, grads: Any) -> Any:
    return jax.tree.map(lambda p, g: p - LR * g, params, grads)


def _jax_step(
    apply: Callable, params: Any, x: jax.Array, labels: jax.Array | None, train: bool, residuals: bool = False
):
    """Build a jitted step from ``apply(params, x) -> outputs [B, T, H]`` (or logits when labels).

    ``residuals`` (with ``train``): the training step's forward pass alone, returning what its backward reads.
    """

    def loss_fn(p):
        out = apply(p, x)
        if labels is None:
            return jnp.mean(out**2)
        logp = jax.nn.log_softmax(out)
        return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=1))

    if train and residuals:

        def step(p):
            return jax.vjp(loss_fn, p)

    elif train:

        def step(p):
            loss, grads = jax.value_and_grad(loss_fn)(p)
            return _sgd(p, grads), loss

    else:

        def step(p):
            return apply(p, x)

    compiled, _ = timing.compile_seconds(step, params)
    holder = {"p": params}

    def run():
        if train and not residuals:
            holder["p"], loss = compiled(holder["p"])
            loss.block_until_ready()
        else:
            timing.block(compiled(holder["p"]))

    return run, timing.temp_bytes(compiled)


def _head(key: jax.Array, h: int) -> dict[str, jax.Array]:
    return jaxrnn.dense(10).init(key, h)


def jaxrnn_impl(
    kind,
    b,
    t,
    f,
    h,
    train,
    x,
    labels,
    fused=True,
    unroll=1,
    reset_after=True,
    window_rows=None,
    matmul_dtype=None,
    make_cell=None,
    residuals=False,
):
    """jaxrnn ``dynamic_unroll`` (time-major inside the scan, fused backward for LSTM and basic).

    ``window_rows`` (for ``bench.windows``) runs ``jaxrnn.fused.fused_unroll`` with that window instead;
    ``matmul_dtype`` is passed to the cell (mixed precision); ``make_cell(h) -> Cell`` replaces the
    cell (every layer's, for the multi-layer kinds) and ``residuals`` times the training step's forward
    alone (both for ``bench.step_profile``).
    """
    if kind in DEEP:
        return _jaxrnn_deep(kind, b, t, f, h, train, x, "default", make_cell, residuals)
    cells = {"lstm": jaxrnn.lstm_cell, "gru": functools.partial(jaxrnn.gru_cell, reset_after=reset_after)}
    if make_cell is None:
        cell = cells.get(kind, jaxrnn.basic_cell)(h, matmul_dtype=matmul_dtype)
    else:
        cell = make_cell(h)
    k1, k2 = jax.random.split(jax.random.key(1))
    params = {"cell": cell.init(k1, f), "head": _head(k2, h)}
    head = jaxrnn.dense(10)

    def apply(p, xs):
        if window_rows is not None:
            state, out = jaxrnn.fused.fused_unroll(
                cell, p["cell"], jnp.swapaxes(xs, 0, 1), cell.zero_state(b, xs.dtype), None,
                unroll=unroll, window_rows=window_rows,
            )  # fmt: skip
            out = jnp.swapaxes(out, 0, 1)
        else:
            out, state = jaxrnn.dynamic_unroll(cell, p["cell"], xs, fused=fused, unroll=unroll)
        return head.apply(p["head"], state) if labels is not None else out

    return _jax_step(apply, params, x, labels, train, residuals)


def _jaxrnn_deep(kind, b, t, f, h, train, x, path, make_cell=None, residuals=False):
    """jaxrnn multi-layer LSTMs; ``path``: ``default``, ``plain`` (no wavefront) or ``wavefront`` (forced).

    ``make_cell(h)``: each layer's cell (default ``jaxrnn.lstm_cell``); ``residuals``: as in ``_jax_step``.
    """
    layers, directions = DEEP[kind]
    key = jax.random.key(1)
    make_cell = make_cell or jaxrnn.lstm_cell
    if directions == 1:
        cell = jaxrnn.stack_cells([make_cell(h) for _ in range(layers)])
        params = cell.init(key, f)

        def apply(p, xs):
            if path == "default":
                return jaxrnn.dynamic_unroll(cell, p, xs)[0]
            xs = jnp.swapaxes(xs, 0, 1)
            run = jaxrnn.fused.fused_unroll if path == "plain" else jaxrnn.wavefront.stack_unroll
            return jnp.swapaxes(run(cell, p, xs, cell.zero_state(b, xs.dtype), None)[1], 0, 1)

        return _jax_step(apply, params, x, None, train, residuals)
    pairs = [(make_cell(h), make_cell(h)) for _ in range(layers)]
    params = jaxrnn.init_stacked_bidirectional(pairs, key, f)

    def apply(p, xs):
        if path != "wavefront":  # the default: a loop per direction
            return jaxrnn.stacked_bidirectional_unroll(pairs, p, xs)[0]
        xs = jnp.swapaxes(xs, 0, 1)
        for cells, params in zip(pairs, p):
            states = tuple(c.zero_state(b, xs.dtype) for c in cells)
            outputs = jaxrnn.wavefront.bidirectional_unroll(cells, params, xs, states, None)[1]
            xs = jnp.concatenate(outputs, axis=-1)
        return jnp.swapaxes(xs, 0, 1)

    return _jax_step(apply, params, x, None, train, residuals)


def jaxrnn_plain_impl(kind, b, t, f, h, train, x, labels):
    """jaxrnn without ``jaxrnn.wavefront``: layers one after another, two loops per bidirectional layer."""
    return _jaxrnn_deep(kind, b, t, f, h, train, x, "plain")


def jaxrnn_wavefront_impl(kind, b, t, f, h, train, x, labels):
    """jaxrnn with ``jaxrnn.wavefront``: the stack's layers, or each layer's two directions, in one loop."""
    return _jaxrnn_deep(kind, b, t, f, h, train, x, "wavefront")


def flax_impl(kind, b, t, f, h, train, x, labels):
    """Flax linen ``nn.RNN`` over ``OptimizedLSTMCell`` / ``GRUCell`` / ``SimpleCell``."""
    import flax.linen as nn

    if kind in DEEP:
        layers, directions = DEEP[kind]

        class Deep(nn.Module):
            @nn.compact
            def __call__(self, xs):
                for _ in range(layers):
                    if directions == 1:
                        xs = nn.RNN(nn.OptimizedLSTMCell(h))(xs)
                    else:
                        fw, bw = nn.RNN(nn.OptimizedLSTMCell(h)), nn.RNN(nn.OptimizedLSTMCell(h))
                        xs = nn.Bidirectional(fw, bw)(xs)
                return xs

        model = Deep()
        return _jax_step(model.apply, model.init(jax.random.key(1), x), x, None, train)

    cell = {"lstm": nn.OptimizedLSTMCell, "gru": nn.GRUCell, "basic": nn.SimpleCell}[kind](features=h)
    rnn = nn.RNN(cell, return_carry=True)
    head = nn.Dense(10)
    k1, k2 = jax.random.split(jax.random.key(1))
    params = {"rnn": rnn.init(k1, x), "head": head.init(k2, jnp.zeros((b, h)))}

    def apply(p, xs):
        carry, out = rnn.apply(p["rnn"], xs)
        if labels is None:
            return out
        last = carry if kind != "lstm" else carry[1]
        return head.apply(p["head"], last)

    return _jax_step(apply, params, x, labels, train)


def haiku_impl(kind, b, t, f, h, train, x, labels):
    """Haiku ``hk.dynamic_unroll`` over ``hk.LSTM`` / ``hk.GRU`` / ``hk.VanillaRNN`` (time-major)."""
    import haiku as hk

    if kind in DEEP:
        layers, directions = DEEP[kind]

        def deep(xs):
            xs = jnp.swapaxes(xs, 0, 1)
            for _ in range(layers):
                outs = []
                for d in range(directions):
                    core = hk.LSTM(h)
                    inputs = xs if d == 0 else jnp.flip(xs, 0)
                    out, _ = hk.dynamic_unroll(core, inputs, core.initial_state(b), time_major=True)
                    outs.append(out if d == 0 else jnp.flip(out, 0))
                xs = jnp.concatenate(outs, axis=-1)
            return jnp.swapaxes(xs, 0, 1)

        model = hk.without_apply_rng(hk.transform(deep))
        return _jax_step(model.apply, model.init(jax.random.key(1), x), x, None, train)

    def forward(xs):
        core = {"lstm": hk.LSTM, "gru": hk.GRU, "basic": hk.VanillaRNN}[kind](h)
        out, state = hk.dynamic_unroll(core, jnp.swapaxes(xs, 0, 1), core.initial_state(b), time_major=True)
        if labels is None:
            return jnp.swapaxes(out, 0, 1)
        last = state.hidden if kind == "lstm" else state
        return hk.Linear(10)(last)

    model = hk.without_apply_rng(hk.transform(forward))
    params = model.init(jax.random.key(1), x)
    return _jax_step(model.apply, params, x, labels, train)


def torch_impl(kind, b, t, f, h, train, x, labels):
    """PyTorch ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` on CPU with 2 threads (its fused kernels)."""
    import torch

    torch.set_num_threads(2)
    torch.manual_seed(0)
    if kind in DEEP:
        layers, directions = DEEP[kind]
        rnn = torch.nn.LSTM(f, h, num_layers=layers, bidirectional=directions == 2, batch_first=True)
    else:
        rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "basic": torch.nn.RNN}[kind](
            f, h, batch_first=True
        )
    head = torch.nn.Linear(h, 10)
    tx = torch.from_numpy(np.asarray(x))
    tl = None if labels is None else torch.from_numpy(np.asarray(labels)).long()
    opt = torch.optim.SGD(list(rnn.parameters()) + list(head.parameters()), lr=LR)

    def run():
        if not train:
            with torch.inference_mode():
                rnn(tx)
            return
        opt.zero_grad(set_to_none=True)
        out, state = rnn(tx)
        if tl is None:
            loss = out.pow(2).mean()
        else:
            last = state[0][0] if kind == "lstm" else state[0]
            loss = torch.nn.functional.cross_entropy(head(last), tl)
        loss.backward()
        opt.step()

    return run, None


def jaxrnn_unfused_impl(kind, b, t, f, h, train, x, labels):
    """jaxrnn ``dynamic_unroll(fused=False)``: JAX's autodiff of the plain scan (before issue 9 round 2)."""
    return jaxrnn_impl(kind, b, t, f, h, train, x, labels, fused=False)


def jaxrnn_reset_before_impl(kind, b, t, f, h, train, x, labels):
    """jaxrnn ``gru_cell()``: the reset gate before the recurrent matmul, as Haiku's ``hk.GRU`` computes."""
    return jaxrnn_impl(kind, b, t, f, h, train, x, labels, reset_after=False)


def jaxrnn_bf16_impl(kind, b, t, f, h, train, x, labels):
    """jaxrnn with ``matmul_dtype=jnp.bfloat16``: bf16 matmul inputs, float32 accumulation."""
    return jaxrnn_impl(kind, b, t, f, h, train, x, labels, matmul_dtype=jnp.bfloat16)


def baseline(kind: str, impl: str) -> str:
    """The jaxrnn row an implementation is compared with: the one that computes the same GRU.

    The mixed-precision row (``jaxrnn_bf16``) is compared with float32 jaxrnn only, never with a peer.
    """
    return "jaxrnn_reset_before" if kind == "gru" and impl in ("haiku", "jaxrnn_reset_before") else "jaxrnn"


IMPLS = {
    "jaxrnn": jaxrnn_impl,
    "jaxrnn_reset_before": jaxrnn_reset_before_impl,
    "jaxrnn_unfused": jaxrnn_unfused_impl,
    "jaxrnn_bf16": jaxrnn_bf16_impl,
    "jaxrnn_plain": jaxrnn_plain_impl,
    "jaxrnn_wavefront": jaxrnn_wavefront_impl,
    "flax": flax_impl,
    "haiku": haiku_impl,
    "torch": torch_impl,
}
NEEDS = {"flax": "flax", "haiku": "haiku", "torch": "torch"}
# timed in a process of their own (see the module docstring)
OWN_PROCESS = {"torch"}


def time_in_own_process(workload: str, impl: str, repeats: int, argv: list[str]) -> list[float]:
    """Seconds per call of ``impl`` on ``workload``, timed by ``python -m bench.peers`` in a child process.

    ``argv``: extra options passed on (``--hidden``/``--time``).
    """
    with tempfile.TemporaryDirectory() as tmp:
        out = f"{tmp}/times.json"
        command = [sys.executable, "-m", "bench.peers", "--workloads", workload, "--impls", impl]
        command += ["--repeats", str(repeats), "--times-out", out, *argv]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        with open(out) as f:
            return json.load(f)[workload][impl]


# the translator's step on a real batch (issues 18 and 21): GRU-256 encoder, GRU-256 decoder with Bahdanau
# attention, embeddings 128, the en-fr.tsv vocabularies (15,479 / 18,635 words), B64, Adam, clip 5
TRANSLATOR_BUCKET = (15, 17)  # source/target widths of the batch: the widest bucket but one
TRANSLATOR_NUM_SAMPLED = 512


def translator_train(
    repeats: int, impls: list[str], argv: list[str]
) -> tuple[dict[str, Any], list[list[Any]], dict[str, list[float]]] | None:
    """jaxrnn's translator step (full softmax, and sampled 512) against PyTorch's, same real batch.

    ``impls``: the rows to time here (``jaxrnn``, ``jaxrnn_sampled512``, ``torch``); ``torch`` in its own
    process unless it is the only one (the child's case). Returns ``(entry, table rows, times)``, or None
    (with a message) when the shared corpus is absent.
    """
    from bench import translation
    from jaxrnn.seq2seq import TranslatorConfig
    from jaxrnn.seq2seq.cli import load_corpus
    from jaxrnn.text import split_pairs

    corpus = translation.DATA / "translation" / "en-fr.tsv"
    if not corpus.is_file():
        print(f"skipping translator_train: no corpus at {corpus} ($JAXRNN_DATA names the folder above it)")
        return None
    if importlib.util.find_spec("torch") is None:
        print("skipping translator_train: torch is not installed (its peer)")
        return None
    config = TranslatorConfig(num_units=256, embed_size=128, attention="bahdanau")
    train = split_pairs(load_corpus(str(corpus)), valid_fraction=0.05, test_fraction=0.05)["train"]
    model, buckets = translation.corpus_buckets(train, config)
    bucket = next(b for b in buckets if (b.source.shape[1], b.target.shape[1]) == TRANSLATOR_BUCKET)
    batch = tuple(jnp.asarray(x[:64]) for x in bucket)
    runners = translation.step_runners(model, batch, config, TRANSLATOR_NUM_SAMPLED)
    names = {"jaxrnn full": "jaxrnn", f"jaxrnn sampled{TRANSLATOR_NUM_SAMPLED}": "jaxrnn_sampled512"}
    names["torch full"] = "torch"
    here = [i for i in impls if i not in OWN_PROCESS or impls == [i]]
    runs = {names[n]: f for n, f in runners.items() if names[n] in here}
    times = timing.interleaved(runs, repeats, warmup=2)
    for impl in set(impls) - set(here):
        times[impl] = time_in_own_process("translator_train", impl, repeats, argv)
    if "jaxrnn" not in times:  # the child: its times only
        return {}, [], times
    tokens = float(np.asarray(batch[4]).sum())
    entry: dict[str, Any] = {
        "shape": {"widths": list(TRANSLATOR_BUCKET), "batch": 64, "target_tokens": tokens,
                  "vocab": [model.source_vocab_size, model.target_vocab_size]},
    }  # fmt: skip
    rows = []
    reference = timing.median_ms(times["jaxrnn"])
    for impl, ts in times.items():
        ms = timing.median_ms(ts)
        entry[impl] = {
            "median_ms": ms,
            "times_ms": [1e3 * t for t in ts],
            "compared_with": "jaxrnn",
            "speedup_of_jaxrnn": ms / reference,
            "target_tokens_per_s": tokens / (ms * 1e-3),
        }
        rows.append(["translator_train", impl, ms, "jaxrnn", ms / reference, "-", "-", "-"])
        print(f"translator_train {impl}: {ms:.0f} ms/step, {tokens / (ms * 1e-3):.0f} target tokens/s")
    return entry, rows, times


CORPUS_WORKLOADS = {"translator_train": translator_train}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the peer comparison, print a table, write ``bench/out/peers.{json,png}``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--workloads", default=",".join([*WORKLOADS, *CORPUS_WORKLOADS]))
    parser.add_argument("--impls", default=",".join(n for n in IMPLS if n != "jaxrnn_unfused"))
    parser.add_argument("--hidden", type=int, default=None, help="override every workload's H (quick runs)")
    parser.add_argument("--time", type=int, default=None, help="override every workload's T (quick runs)")
    parser.add_argument(
        "--times-out", default=None, help="only time the --impls and write their seconds per call here (JSON)"
    )
    args = parser.parse_args(argv)
    child_argv = [f"--{k}={v}" for k, v in (("hidden", args.hidden), ("time", args.time)) if v is not None]
    raw: dict[str, dict[str, list[float]]] = {}
    impls = [n for n in args.impls.split(",") if importlib.util.find_spec(NEEDS.get(n, "jax")) is not None]
    skipped = sorted(set(args.impls.split(",")) - set(impls))
    if skipped:
        print(f"skipping (not installed): {', '.join(skipped)}")
    peak = 0.0 if args.times_out else timing.matmul_peak_gflops()
    print(f"measured float32 matmul peak (one 2048^3 jnp.dot): {peak:.1f} GFLOP/s")
    results: dict[str, Any] = {"env": timing.environment(), "peak_gflops": peak, "repeats": args.repeats}
    rows = []
    for name in args.workloads.split(","):
        if name in CORPUS_WORKLOADS:
            corpus_impls = [
                i for i in ("jaxrnn", "jaxrnn_sampled512", "torch") if i in impls or not args.times_out
            ]
            done = CORPUS_WORKLOADS[name](args.repeats, corpus_impls, child_argv)
            if done is not None:
                results[name], more, raw[name] = done
                rows += more
            continue
        kind, b, t, f, h, train = WORKLOADS[name]
        h, t = args.hidden or h, args.time or t
        kx, kl = jax.random.split(jax.random.key(0))
        x = jax.random.normal(kx, (b, t, f), jnp.float32)
        labels = jax.random.randint(kl, (b,), 0, 10) if kind == "basic" else None
        runs, temps, slopes = {}, {}, {}
        # the reset-before GRU exists for the gru workload only (other cells have one variant)
        present = [i for i in impls if i != "jaxrnn_reset_before" or kind == "gru"]
        # the rows without / with the multi-layer paths exist for the multi-layer workloads only
        present = [i for i in present if i not in ("jaxrnn_plain", "jaxrnn_wavefront") or kind in DEEP]
        # mixed precision is measured on the one-layer workloads only
        present = [i for i in present if i != "jaxrnn_bf16" or kind not in DEEP]
        if kind == "bilstm2":  # bidirectional: the default already runs the layers one after another
            present = [i for i in present if i != "jaxrnn_plain"]
        # in a process of their own unless they are all this one times (the child's case)
        elsewhere = [i for i in present if i in OWN_PROCESS and present != [i]]
        for impl in present:
            if impl in elsewhere:
                temps[impl] = None
                continue
            runs[impl], temps[impl] = IMPLS[impl](kind, b, t, f, h, train, x, labels)
            if train and temps[impl] is not None:
                # the same step at 2T: the bytes each added time step costs, without the constant part
                x2 = jnp.concatenate([x, x], axis=1)
                _, temp2 = IMPLS[impl](kind, b, 2 * t, f, h, train, x2, labels)
                slopes[impl] = (temp2 - temps[impl]) / t
        times = timing.interleaved(runs, args.repeats, warmup=2)
        for impl in elsewhere:
            times[impl] = time_in_own_process(name, impl, args.repeats, child_argv)
        raw[name] = times
        if args.times_out:
            continue
        medians = {impl: timing.median_ms(ts) for impl, ts in times.items()}
        work = flops(kind, b, t, f, h, train)
        entry = {"shape": dict(kind=kind, batch=b, time=t, features=f, hidden=h, train=train), "flops": work}
        for impl in present:
            ms = medians[impl]
            ref = baseline(kind, impl)
            entry[impl] = {
                "median_ms": ms,
                "times_ms": [1e3 * s for s in times[impl]],
                "compared_with": ref,
                "speedup_of_jaxrnn": ms / medians[ref],
                "fraction_of_peak": work / (ms * 1e-3) / 1e9 / peak,
                "temp_bytes_per_step": None if temps[impl] is None else temps[impl] / t,
                "temp_bytes_per_added_step": slopes.get(impl),
            }
            rows.append(
                [
                    name,
                    impl,
                    ms,
                    ref,
                    ms / medians[ref],
                    100 * entry[impl]["fraction_of_peak"],
                    "-" if temps[impl] is None else f"{temps[impl] / t / 1e6:.3f}",
                    "-" if impl not in slopes else f"{slopes[impl] / 1e6:.3f}",
                ]
            )
        results[name] = entry
    if args.times_out:
        with open(args.times_out, "w") as f:
            json.dump(raw, f)
        return raw
    header = [
        "workload", "impl", "median ms", "vs", "impl/vs", "% of peak", "MB kept / T", "MB / added step"
    ]  # fmt: skip
    timing.print_table(header, rows)
    path = timing.write_json("peers", results)
    _plot(results, [w for w in args.workloads.split(",") if w in results], impls)
    print(f"wrote {path} and {timing.figure_path('peers')}")
    return results


def _plot(results: dict[str, Any], workloads: list[str], impls: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / len(impls)
    for i, impl in enumerate(impls):
        vals = [results[w][impl]["speedup_of_jaxrnn"] if impl in results[w] else np.nan for w in workloads]
        ax.bar(np.arange(len(workloads)) + i * width, vals, width, label=impl)
    ax.axhline(1.0, color="k", lw=0.5)
    ax.set_xticks(np.arange(len(workloads)) + 0.4 - width / 2, workloads)
    ax.set_ylabel("median time / matching jaxrnn's (higher = jaxrnn faster)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(timing.figure_path("peers"), dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
