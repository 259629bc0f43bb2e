"""Translation benchmark: English -> French numbers (embedded corpus), with and without attention,
greedy and beam search; plus a Tatoeba corpus when ../shared/data/translation/ holds one.

Run: nice -n 10 python bench/translation.py [--steps 1000] [--out bench/out]
Prints a table, writes translation.json and translation_loss.png under --out.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from jaxrnn.seq2seq import TranslatorConfig, evaluate, train_translator  # noqa: E402
from jaxrnn.text import numbers_corpus, read_tatoeba, split_pairs, tokenize  # noqa: E402

# JAXRNN_DATA, else ../shared/data beside the repository
DATA = os.environ.get("JAXRNN_DATA", pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data")
SHARED = pathlib.Path(DATA) / "translation"


def run(name, train, test, config, args):
    start, cpu = time.perf_counter(), time.process_time()
    translator, losses = train_translator(
        train,
        config,
        steps=args.steps,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        progress=not args.quiet,
    )
    minutes, cpu_minutes = (time.perf_counter() - start) / 60, (time.process_time() - cpu) / 60
    row = {
        "corpus": name,
        "attention": config.attention,
        "train_minutes": minutes,
        "cpu_minutes": cpu_minutes,
    }
    for label, width in (("greedy", 1), (f"beam{args.beam_width}", args.beam_width)):
        r = evaluate(translator, test, beam_width=width)
        row[f"{label}_exact"], row[f"{label}_bleu"] = r["exact_match"], r["bleu"]
    row["examples"] = [(s, h) for (s, _), h in zip(test[:3], evaluate(translator, test[:3])["examples"])]
    return row, losses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--beam-width", type=int, default=4)
    parser.add_argument("--num-train", type=int, default=50_000)
    parser.add_argument("--num-test", type=int, default=2_000)
    parser.add_argument("--attention", nargs="+", default=["none", "bahdanau", "luong"])
    parser.add_argument("--out", default="bench/out")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    corpus = numbers_corpus(num_train=args.num_train, num_valid=0, num_test=args.num_test)
    jobs = [("numbers", corpus["train"], corpus["test"], a) for a in args.attention]
    files = sorted(SHARED.glob("*.txt")) if SHARED.is_dir() else []
    if files:
        pairs = [p for p in read_tatoeba(files[0]) if max(len(tokenize(p[0])), len(tokenize(p[1]))) <= 10]
        split = split_pairs(pairs, valid_fraction=0.0, test_fraction=min(0.2, 1000 / max(len(pairs), 1)))
        jobs.append((files[0].name, split["train"], split["test"][:1000], "luong"))
    else:
        print(f"no Tatoeba corpus at {SHARED}: the BLEU-on-real-text part is skipped")

    rows = []
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, train, test, attention in jobs:
        config = TranslatorConfig(num_units=128, embed_size=64, attention=attention, max_length=20)
        row, losses = run(name, train, test, config, args)
        rows.append(row)
        ax.plot(losses, label=f"{name} / {attention}")
        print(json.dumps(row, ensure_ascii=False))
    ax.set(
        xlabel="step", ylabel="training loss (weighted cross-entropy)", yscale="log", title="jaxrnn seq2seq"
    )
    ax.legend()
    fig.savefig(out / "translation_loss.png", dpi=100, bbox_inches="tight")
    (out / "translation.json").write_text(
        json.dumps({"args": vars(args), "rows": rows}, indent=1, ensure_ascii=False)
    )
    bw = args.beam_width
    head = f"| corpus | attention | greedy exact | greedy BLEU | beam{bw} exact | beam{bw} BLEU |"
    print(f"\n{head} train min (wall) | CPU min |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['corpus']} | {r['attention']} | {r['greedy_exact']:.2%} | {r['greedy_bleu']:.1f} | "
            f"{r[f'beam{bw}_exact']:.2%} | {r[f'beam{bw}_bleu']:.1f} | "
            f"{r['train_minutes']:.1f} | {r['cpu_minutes']:.1f} |"
        )


if __name__ == "__main__":
    main()
