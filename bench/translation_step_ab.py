"""The translator's full-softmax training step before and after issue 18's profile, timed interleaved.

"old" re-implements the step as it was (target embedding looked up inside the decoder scan, cross-entropy
as ``log_softmax`` + ``take_along_axis``); "new" is ``jaxrnn.seq2seq.translator_loss`` today, also with
the state donated as ``train_translator`` runs it. ``--parts`` adds the pieces, each forward + backward:
the output layer with the softmax cross-entropy (given the decoder's hidden states), the encoder and
decoder scans, and the Adam + clipping update.

Run: python -m bench.translation_step_ab [--buckets -1] [--repeats 3] [--parts]
(bucket indices into the six length buckets of en-fr.tsv; -1 is the widest, 30/30).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from bench.translation import DATA, corpus_buckets
from jaxrnn.seq2seq import TranslatorConfig, init_params, teacher_forced_hidden, translator_loss
from jaxrnn.seq2seq.cli import load_corpus
from jaxrnn.seq2seq.losses import weighted_cross_entropy
from jaxrnn.seq2seq.model import decoder_hidden, encode, initial_decoder_state, output_logits
from jaxrnn.text import split_pairs
from jaxrnn.train import init_train_state, make_optimizer, make_train_step


def old_hidden(model, p, source, length, dec_in):
    """The decoder scan before: each step looks its input word up in the embedding table."""
    memory, enc_state = encode(model, p, source, length)
    state0 = initial_decoder_state(model, enc_state, source.shape[0], memory.outputs.dtype)

    def body(state, ids):
        state, hidden, _ = decoder_hidden(model, p, state, ids, memory)
        return state, hidden

    _, hidden = lax.scan(body, state0, jnp.swapaxes(dec_in, 0, 1))
    return jnp.swapaxes(hidden, 0, 1)


def old_cross_entropy(logits, targets, weights):
    """The cross-entropy before: log_softmax, then a gather of the target's log-probability."""
    logp = jax.nn.log_softmax(logits, axis=-1)
    nll = -jnp.take_along_axis(logp, targets[..., None].astype(jnp.int32), axis=-1)[..., 0]
    weights = weights.astype(nll.dtype)
    return jnp.sum(jnp.where(weights > 0, nll * weights, 0.0)) / jnp.maximum(jnp.sum(weights), 1.0)


OPTIMIZER = make_optimizer(3e-3, clip_norm=5.0)
KEY = jax.random.key(1)


def step_variants(model, params0, batch, old_loss, parts: bool) -> dict:
    """Zero-argument functions, each one step (or one part of it) on ``batch``."""
    source, length, dec_in, target, weights = batch
    fns, states = {}, {}
    new_loss = translator_loss(model, None)
    for name, loss, donate in (("old", old_loss, ()), ("new", new_loss, ()), ("new+donate", new_loss, (0,))):
        step = jax.jit(make_train_step(loss, OPTIMIZER), donate_argnums=donate)
        states[name] = init_train_state(jax.tree.map(jnp.array, params0), OPTIMIZER)

        def run(step=step, name=name):
            states[name], value, _ = step(states[name], batch, KEY)
            return value

        fns[name] = run
    if not parts:
        return fns
    h = teacher_forced_hidden(model, params0, source, length, dec_in)
    for name, ce in (("old", old_cross_entropy), ("new", weighted_cross_entropy)):
        g = jax.jit(jax.grad(lambda p, h, t, w, ce=ce: ce(output_logits(p, h), t, w), argnums=(0, 1)))
        fns[f"softmax+output layer grad {name}"] = lambda g=g: g(params0, h, target, weights)
    for name, hid in (("old", old_hidden), ("new", teacher_forced_hidden)):
        g = jax.jit(jax.grad(lambda p, *a, hid=hid: hid(model, p, *a).sum()))
        fns[f"encoder+decoder scans grad {name}"] = lambda g=g: g(params0, source, length, dec_in)
    update = jax.jit(lambda s, g: OPTIMIZER.update(g, s.opt_state, s.params))
    state = init_train_state(params0, OPTIMIZER)
    fns["adam+clip update"] = lambda: update(state, params0)
    return fns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(DATA / "translation" / "en-fr.tsv"))
    parser.add_argument("--buckets", default="-1", help="comma-separated bucket indices")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--parts", action="store_true")
    parser.add_argument("--out", default="bench/out/translation_step_ab.json")
    args = parser.parse_args()
    train = split_pairs(load_corpus(args.corpus), valid_fraction=0.05, test_fraction=0.05)["train"]
    model, buckets = corpus_buckets(
        train, TranslatorConfig(num_units=256, embed_size=128, attention="bahdanau")
    )
    params0 = init_params(model, jax.random.key(0))

    def old_loss(p, batch, key):
        source, length, dec_in, target, weights = batch
        hidden = old_hidden(model, p, source, length, dec_in)
        return old_cross_entropy(output_logits(p, hidden), target, weights), {}

    report = {}
    for index in (int(i) for i in args.buckets.split(",")):
        batch = tuple(jnp.asarray(x[:64]) for x in buckets[index])
        widths = f"{batch[0].shape[1]}/{batch[3].shape[1]}"
        fns = step_variants(model, params0, batch, old_loss, args.parts)
        for name, f in fns.items():
            start = time.perf_counter()
            jax.block_until_ready(f())
            print(f"{widths} compile + first {name}: {time.perf_counter() - start:.1f} s", flush=True)
        times: dict = {name: [] for name in fns}
        for _ in range(args.repeats):  # interleaved, so load changes hit every variant alike
            for name, f in fns.items():
                start = time.perf_counter()
                jax.block_until_ready(f())
                times[name].append(time.perf_counter() - start)
        median = {name: statistics.median(t) for name, t in times.items()}
        for name, t in times.items():
            print(f"{widths} {name:36s} median {median[name]:.3f} s ({', '.join(f'{x:.2f}' for x in t)})")
        print(f"{widths} old/new {median['old'] / median['new']:.2f}, old/new+donate "
              f"{median['old'] / median['new+donate']:.2f}")  # fmt: skip
        report[widths] = {"median_s": median, "times_s": times, "target_tokens": float(np.sum(batch[4]))}
    pathlib.Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
