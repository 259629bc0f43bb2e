"""Pretrained Word2Vec vectors in the translator, and attention on or off: BLEU after the same steps.

Trains the en-fr.tsv translator four times with the same seed, batches and number of steps (so the
result does not depend on the machine's load), differing in one thing each:

* ``attention=none``: no attention, randomly initialised source embeddings;
* ``bahdanau``: Bahdanau attention, randomly initialised source embeddings;
* ``bahdanau + word2vec (fine-tuned)``: the source embedding rows of the words the vectors file has are
  the pretrained vectors, then trained with the rest;
* ``bahdanau + word2vec (frozen)``: the same rows, never updated (``freeze(..., "source_embedding")``).

The embedding size is the vectors' dimension, in all four. Each model's length penalty (GNMT's α) is
chosen on the first ``--max-valid`` validation pairs (beam 4, α ∈ {0, 1}); the test split is scored
once per model, greedy and beam 4 (sacrebleu BLEU cased / case-insensitive, chrF).

Run: ``python -m bench.translation_embeddings --vectors runs/word2vec/vectors.txt --steps 3000``
(the vectors from ``jaxrnn train word2vec --corpus wordnet:DIR --out runs/word2vec``). Writes
``translation_embeddings.json`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib

from jaxrnn.seq2seq import TranslatorConfig, evaluate, train_translator
from jaxrnn.seq2seq.cli import load_corpus
from jaxrnn.text import build_vocabulary, split_pairs, tokenize

DATA = pathlib.Path(
    os.environ.get("JAXRNN_DATA", pathlib.Path(__file__).resolve().parents[2] / "shared" / "data")
)
VARIANTS = {
    # name: (attention, use the vectors, freeze them)
    "attention=none": ("none", False, False),
    "bahdanau": ("bahdanau", False, False),
    "bahdanau + word2vec (fine-tuned)": ("bahdanau", True, False),
    "bahdanau + word2vec (frozen)": ("bahdanau", True, True),
}


def vector_coverage(path: pathlib.Path, train: list, max_vocab_size: int) -> dict:
    """How many source vocabulary words (and running source tokens) the vectors file has."""
    with open(path, encoding="utf-8") as f:
        size, dim = (int(v) for v in f.readline().split())
        words = {line.split(" ", 1)[0] for line in f}
    vocab = build_vocabulary((tokenize(p[0]) for p in train), max_size=max_vocab_size)
    types = [w for w in vocab.tokens if not w.startswith("<") and not w.startswith("[")]
    tokens = [w for p in train for w in tokenize(p[0])]
    return {
        "vectors": size,
        "dimension": dim,
        "source_types_covered": sum(w in words for w in types) / len(types),
        "source_tokens_covered": sum(w in words for w in tokens) / len(tokens),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default=str(DATA / "translation" / "en-fr.tsv"))
    parser.add_argument("--vectors", required=True, help="word2vec text file of English vectors")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--num-units", type=int, default=256)
    parser.add_argument("--num-sampled", type=int, default=512)
    parser.add_argument("--max-valid", type=int, default=500, help="validation pairs used to choose alpha")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated subset of the four")
    parser.add_argument("--out", default="bench/out/translation_embeddings")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.variants.split(",") if n.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise SystemExit(f"--variants: expected names from {list(VARIANTS)}; got {unknown}")
    vectors = pathlib.Path(args.vectors)
    if not vectors.is_file():
        raise SystemExit(f"--vectors file {str(vectors)!r} does not exist")
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    split = split_pairs(load_corpus(args.corpus), valid_fraction=0.05, test_fraction=0.05)
    train, valid, test = split["train"], split["valid"][: args.max_valid], split["test"]
    coverage = vector_coverage(vectors, train, TranslatorConfig().max_vocab_size)
    print(json.dumps(coverage))
    report: dict = {"args": vars(args), "coverage": coverage, "rows": []}
    for name in names:
        attention, pretrained, frozen = VARIANTS[name]
        config = TranslatorConfig(
            attention=attention, num_units=args.num_units, embed_size=coverage["dimension"]
        )
        translator, losses = train_translator(
            train,
            config,
            steps=args.steps,
            num_sampled=args.num_sampled,
            out=out / name.replace(" ", "_").replace("(", "").replace(")", "").replace("+", "with"),
            source_embeddings=vectors if pretrained else None,
            freeze_source_embeddings=frozen,
            progress=not args.quiet,
        )
        by_alpha = {
            a: evaluate(translator, valid, beam_width=4, length_penalty=a)["bleu"] for a in (0.0, 1.0)
        }
        alpha = max(by_alpha, key=by_alpha.get)
        tail = losses[-50:]
        row = {"variant": name, "steps": len(losses), "final_loss": float(sum(tail) / len(tail))}
        row["valid_bleu_by_alpha"], row["alpha"] = by_alpha, alpha
        for label, width in (("greedy", 1), ("beam4", 4)):
            r = evaluate(translator, test, beam_width=width, length_penalty=alpha)
            row[label] = {k: r[k] for k in ("bleu", "bleu_uncased", "chrf")}
        report["rows"].append(row)
        print(json.dumps(row))
        (out / "translation_embeddings.json").write_text(json.dumps(report, indent=1))
    print("\n| variant | steps | test greedy BLEU / uncased / chrF | test beam 4 BLEU / uncased / chrF | α |")
    print("|---|---|---|---|---|")
    for r in report["rows"]:
        g, b = r["greedy"], r["beam4"]
        print(
            f"| {r['variant']} | {r['steps']} | "
            f"{g['bleu']:.1f} / {g['bleu_uncased']:.1f} / {g['chrf']:.1f} | "
            f"{b['bleu']:.1f} / {b['bleu_uncased']:.1f} / {b['chrf']:.1f} | {r['alpha']} |"
        )
    return report


if __name__ == "__main__":
    main()
