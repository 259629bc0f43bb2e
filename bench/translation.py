"""Translation benchmark on real sentences: English -> French software messages (the shared en-fr.tsv).

Trains the translator with and without attention for a time budget, then scores the test split (the md5
split at 5%, disjoint from the 5% validation split on which beam search's length penalty is chosen):
sacrebleu BLEU (cased and case-insensitive) and chrF, greedy and beam search, beside the copy baseline
(the English source output unchanged). Draws the attention of real test sentences as a heat map, and
profiles the training step (full vs sampled softmax, encoder / decoder scan / softmax, one compile per
length bucket).

Run (a quiet machine): nice python -m bench.translation --minutes 30
Short check: nice python -m bench.translation --minutes 5 --attention bahdanau --max-eval 500
Profile only: python -m bench.translation --profile-only
Beside PyTorch (same architecture, full softmax, interleaved timing): python -m bench.translation --peer
Writes translation.json, translation_loss.png, translation_attention.png under --out.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import time

import matplotlib

matplotlib.use("Agg")
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from bench.provenance import provenance  # noqa: E402
from jaxrnn.seq2seq import (  # noqa: E402
    TranslatorConfig,
    align,
    encode,
    evaluate,
    init_params,
    score_translations,
    teacher_forced_hidden,
    train_translator,
    translator_loss,
)
from jaxrnn.seq2seq.cli import load_corpus  # noqa: E402
from jaxrnn.seq2seq.translator import build_model  # noqa: E402
from jaxrnn.text import bucketize, build_vocabulary, split_pairs, tokenize  # noqa: E402
from jaxrnn.train import init_train_state, make_optimizer, make_train_step  # noqa: E402

DATA = pathlib.Path(
    os.environ.get("JAXRNN_DATA", pathlib.Path(__file__).resolve().parents[2] / "shared" / "data")
)


def _median_time(fn, *args, repeats):
    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def corpus_buckets(train, config):
    """``(model, buckets)``: the vocabularies, model and length buckets ``train_translator`` builds."""
    src = build_vocabulary((tokenize(p[0]) for p in train), max_size=config.max_vocab_size)
    tgt = build_vocabulary((tokenize(p[1]) for p in train), max_size=config.max_vocab_size)
    model = build_model(config, len(src), len(tgt))
    ids = [(src.encode(tokenize(p[0])), tgt.encode(tokenize(p[1]))) for p in train]
    ids = [(s, t) for s, t in ids if s and t and len(s) <= config.max_length and len(t) < config.max_length]
    return model, bucketize(ids, reverse_source=config.reverse_source)


def step_runners(model, batch, config, num_sampled) -> dict:
    """Zero-argument functions each running one training step on ``batch`` and waiting for it:
    jaxrnn's jitted step as ``fit`` runs it (state donated) with the full and the sampled softmax,
    and :func:`torch_step`; each updates its own copy of the same initial model."""
    opt = make_optimizer(3e-3, clip_norm=5.0)
    key, runners = jax.random.key(1), {}
    for name, ns in (("jaxrnn full", None), (f"jaxrnn sampled{num_sampled}", num_sampled)):
        step = jax.jit(make_train_step(translator_loss(model, ns), opt), donate_argnums=(0,))
        holder = {"state": init_train_state(init_params(model, jax.random.key(0)), opt)}

        def run(step=step, holder=holder):
            holder["state"], loss, _ = step(holder["state"], batch, key)
            return float(loss)

        runners[name] = run
    vocab = (model.source_vocab_size, model.target_vocab_size)
    runners["torch full"] = torch_step(vocab, batch, config.num_units, config.embed_size)
    return runners


def profile(train, config, args) -> dict:
    """Seconds per training step and target tokens per second, per bucket, full vs sampled softmax;
    and the forward+backward time of the encoder, the decoder scan and the softmax alone."""
    model, buckets = corpus_buckets(train, config)
    params = init_params(model, jax.random.key(0))
    opt = make_optimizer(3e-3, clip_norm=5.0)
    state = init_train_state(params, opt)
    key = jax.random.key(1)
    result: dict = {"vocab": [model.source_vocab_size, model.target_vocab_size], "buckets": [], "softmax": {}}
    for b in buckets:
        result["buckets"].append(
            {"shape": [int(b.source.shape[1]), int(b.target.shape[1])], "pairs": len(b.source)}
        )
    for label, ns in (("full", None), (f"sampled{args.num_sampled}", args.num_sampled)):
        step = jax.jit(make_train_step(translator_loss(model, ns), opt))
        rows = []
        for b in buckets:
            batch = tuple(jnp.asarray(x[: args.batch_size]) for x in b)
            start = time.perf_counter()
            step.lower(state, batch, key).compile()
            compile_s = time.perf_counter() - start
            seconds = _median_time(step, state, batch, key, repeats=args.repeats)
            tokens = float(np.asarray(batch[4]).sum())
            rows.append({"compile_s": compile_s, "step_s": seconds, "tokens_per_s": tokens / seconds})
        weights = np.array([len(b.source) for b in buckets], float)
        mean_step = float(np.average([r["step_s"] for r in rows], weights=weights))
        mean_tok = float(np.average([r["tokens_per_s"] for r in rows], weights=weights))
        result["softmax"][label] = {
            "per_bucket": rows,
            "mean_step_s": mean_step,
            "mean_tokens_per_s": mean_tok,
        }
        print(f"{label}: {mean_step:.3f} s/step, {mean_tok:.0f} target tokens/s (bucket-weighted mean)")
    # components on the largest bucket, each forward + backward
    b = buckets[-1]
    batch = tuple(jnp.asarray(x[: args.batch_size]) for x in b)
    source, length, dec_in, target, weights = batch
    parts = {
        "encoder": lambda p: encode(model, p, source, length)[0].outputs.sum(),
        "encoder+decoder scan": lambda p: teacher_forced_hidden(model, p, source, length, dec_in).sum(),
        "full step loss": lambda p: translator_loss(model, None)(p, batch, key)[0],
        "sampled step loss": lambda p: translator_loss(model, args.num_sampled)(p, batch, key)[0],
    }
    result["components_largest_bucket"] = {}
    for name, f in parts.items():
        seconds = _median_time(jax.jit(jax.grad(f)), params, repeats=args.repeats)
        result["components_largest_bucket"][name] = seconds
        print(f"  {name} (fwd+bwd, widths {b.source.shape[1]}/{b.target.shape[1]}): {seconds:.3f} s")
    return result


def torch_step(vocab, batch, num_units, embed_size):
    """A plain PyTorch encoder-decoder of the same architecture (GRU encoder, GRU decoder fed the
    Bahdanau context of the previous output, output layer on [h, context], full softmax, Adam, clipping):
    returns a function running one training step on ``batch``."""
    import torch

    torch.set_num_threads(2)
    torch.manual_seed(0)
    vs, vt = vocab
    nn = torch.nn
    m = nn.ModuleDict(
        {
            "src": nn.Embedding(vs, embed_size),
            "tgt": nn.Embedding(vt, embed_size),
            "enc": nn.GRU(embed_size, num_units, batch_first=True),
            "dec": nn.GRUCell(embed_size + num_units, num_units),
            "wm": nn.Linear(num_units, num_units, bias=False),
            "wq": nn.Linear(num_units, num_units, bias=False),
            "v": nn.Linear(num_units, 1, bias=False),
            "out": nn.Linear(2 * num_units, vt),
        }
    )
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    source, length, dec_in, target, weights = (torch.as_tensor(np.array(x)) for x in batch)
    source, dec_in, target = source.long(), dec_in.long(), target.long()
    mask = torch.arange(source.shape[1])[None, :] < length[:, None]

    def step():
        outputs, h = m["enc"](m["src"](source))
        h, keys = h[0], m["wm"](outputs)
        query, hidden = h, []
        for t in range(dec_in.shape[1]):
            scores = m["v"](torch.tanh(keys + m["wq"](query)[:, None, :]))[..., 0]
            att = torch.softmax(scores.masked_fill(~mask, -float("inf")), dim=1)
            context = torch.einsum("bs,bsm->bm", att, outputs)
            h = m["dec"](torch.cat([m["tgt"](dec_in[:, t]), context], 1), h)
            hidden.append(torch.cat([h, context], 1))
            query = h
        logits = m["out"](torch.stack(hidden, 1))
        nll = torch.nn.functional.cross_entropy(logits.flatten(0, 1), target.flatten(), reduction="none")
        loss = (nll * weights.flatten()).sum() / weights.sum()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 5.0)
        opt.step()
        return loss.item()

    return step


def peer(train, config, args) -> dict:
    """jaxrnn's and PyTorch's full-softmax training steps on the same batches, interleaved."""
    model, buckets = corpus_buckets(train, config)
    rows = []
    for b in buckets[2:5]:
        batch = tuple(jnp.asarray(x[: args.batch_size]) for x in b)
        timings = step_runners(model, batch, config, args.num_sampled)
        times: dict = {name: [] for name in timings}
        for f in timings.values():
            f()  # compile / warm up
        for _ in range(args.repeats):  # interleaved, so load changes hit every side alike
            for name, f in timings.items():
                start = time.perf_counter()
                f()
                times[name].append(time.perf_counter() - start)
        row = {"widths": [int(b.source.shape[1]), int(b.target.shape[1])]}
        row.update({name: statistics.median(t) for name, t in times.items()})
        rows.append(row)
        print(json.dumps(row))
    return {"rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(DATA / "translation" / "en-fr.tsv"))
    parser.add_argument(
        "--minutes", type=float, default=5.0, help="training budget per model (30: the target run)"
    )
    parser.add_argument("--attention", nargs="+", default=["none", "bahdanau"])
    parser.add_argument("--num-units", type=int, default=256)
    parser.add_argument("--embed-size", type=int, default=128)
    parser.add_argument("--max-vocab-size", type=int, default=20_000)
    parser.add_argument("--num-sampled", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--beam-width", type=int, default=4)
    parser.add_argument(
        "--alphas", type=float, nargs="+", default=[0.0, 0.6, 1.0], help="chosen on validation"
    )
    parser.add_argument("--max-eval", type=int, default=None, help="score only the first N valid/test pairs")
    parser.add_argument("--hold-out", nargs="*", default=[], help="catalogues held out (out-of-domain score)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--profile-only", action="store_true")
    parser.add_argument("--peer", action="store_true", help="only time jaxrnn's step beside PyTorch's")
    parser.add_argument("--out", default="bench/out")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pairs = load_corpus(args.corpus)
    split = split_pairs(pairs, valid_fraction=0.05, test_fraction=0.05, held_out=args.hold_out)
    valid, test = split["valid"][: args.max_eval], split["test"][: args.max_eval]
    print(
        f"{len(split['train'])} train, {len(split['valid'])} valid, {len(split['test'])} test, "
        f"{len(split['held_out'])} held-out pairs"
    )
    report: dict = {
        "args": vars(args),
        "provenance": provenance(),
    }
    base = dict(num_units=args.num_units, embed_size=args.embed_size, max_vocab_size=args.max_vocab_size)
    if args.peer:
        report["peer"] = peer(split["train"], TranslatorConfig(**base, attention="bahdanau"), args)
        (out / "translation_peer.json").write_text(json.dumps(report, indent=1))
        return
    if args.profile_only:
        report["profile"] = profile(split["train"], TranslatorConfig(**base, attention="bahdanau"), args)
        (out / "translation_profile.json").write_text(json.dumps(report, indent=1))
        return
    report["copy_baseline"] = {"test": score_translations([p[0] for p in test], [p[1] for p in test])}
    rows = []
    fig, ax = plt.subplots(figsize=(7, 4))
    for attention in args.attention:
        config = TranslatorConfig(**base, attention=attention)
        start = time.perf_counter()
        translator, losses = train_translator(
            split["train"],
            config,
            steps=None,
            minutes=args.minutes,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            num_sampled=args.num_sampled,
            out=out / f"translator-{attention}",
            progress=not args.quiet,
        )
        row = {
            "attention": attention,
            "steps": len(losses),
            "train_minutes": (time.perf_counter() - start) / 60,
        }
        ax.plot(np.convolve(losses, np.ones(20) / 20, mode="valid"), label=f"attention={attention}")
        valid_bleu = {
            a: evaluate(translator, valid, beam_width=args.beam_width, length_penalty=a)["bleu"]
            for a in args.alphas
        }
        alpha = max(valid_bleu, key=valid_bleu.get)
        row["valid_bleu_by_alpha"], row["alpha"] = valid_bleu, alpha
        for label, width in (("greedy", 1), (f"beam{args.beam_width}", args.beam_width)):
            r = evaluate(translator, test, beam_width=width, length_penalty=alpha)
            row[label] = {k: r[k] for k in ("bleu", "bleu_uncased", "chrf", "exact_match", "seconds")}
            if split["held_out"]:
                h = evaluate(
                    translator, split["held_out"][: args.max_eval], beam_width=width, length_penalty=alpha
                )
                row[f"{label}_held_out"] = {k: h[k] for k in ("bleu", "bleu_uncased", "chrf")}
        row["examples"] = [
            (p[0], p[1], h) for p, h in zip(test[:5], evaluate(translator, test[:5])["examples"])
        ]
        rows.append(row)
        print(json.dumps(row, ensure_ascii=False))
        if attention != "none":
            _heat_map(translator, test, out / "translation_attention.png")
    ax.set(
        xlabel="step",
        ylabel="training loss (sampled softmax, 20-step mean)",
        title="jaxrnn translator, en-fr.tsv",
    )
    ax.legend()
    fig.savefig(out / "translation_loss.png", dpi=100, bbox_inches="tight")
    report["rows"] = rows
    (out / "translation.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
    c = report["copy_baseline"]["test"]
    print("\n| model | steps | greedy BLEU / uncased / chrF | beam BLEU / uncased / chrF | alpha |")
    print("|---|---|---|---|---|")
    print(f"| copy the source | - | {c['bleu']:.1f} / {c['bleu_uncased']:.1f} / {c['chrf']:.1f} | | |")
    bw = f"beam{args.beam_width}"
    for r in rows:
        g, b = r["greedy"], r[bw]
        print(
            f"| attention={r['attention']} | {r['steps']} | "
            f"{g['bleu']:.1f} / {g['bleu_uncased']:.1f} / {g['chrf']:.1f} | "
            f"{b['bleu']:.1f} / {b['bleu_uncased']:.1f} / {b['chrf']:.1f} | {r['alpha']} |"
        )


def _heat_map(translator, test, path) -> None:
    """Attention of three short real test sentences, one panel each."""
    chosen = sorted(
        (p for p in test if p[0][0].isalpha() and 4 <= len(tokenize(p[0])) <= 9), key=lambda p: p[0]
    )[:3]
    fig, axes = plt.subplots(1, len(chosen), figsize=(5 * len(chosen), 4.5))
    for ax, pair in zip(np.atleast_1d(axes), chosen):
        a = align(translator, pair[0])
        ax.imshow(a.weights, cmap="viridis", vmin=0, vmax=1)
        ax.set_xticks(range(len(a.source_tokens)), a.source_tokens, rotation=60, ha="right")
        ax.set_yticks(range(len(a.target_tokens)), a.target_tokens)
        ax.set_title(f"reference: {pair[1][:40]}", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
