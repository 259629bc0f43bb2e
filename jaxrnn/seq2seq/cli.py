"""The translation commands of ``jaxrnn``: ``train translator`` and ``translate``."""

from __future__ import annotations

import argparse

from jaxrnn.seq2seq.translator import (
    TranslatorConfig,
    evaluate,
    load_translator,
    save_translator,
    train_translator,
    translate,
)
from jaxrnn.text import numbers_corpus, read_tatoeba, split_pairs


def add_train_arguments(train: argparse.ArgumentParser) -> None:
    """Add the options of ``jaxrnn train translator`` to its sub-parser."""
    train.add_argument(
        "--corpus", help="Tatoeba-format file (default: the embedded English->French numbers corpus)"
    )
    train.add_argument("--attention", choices=["bahdanau", "luong", "none"], default="luong")
    train.add_argument("--cell", choices=["gru", "lstm"], default="gru")
    train.add_argument("--num-units", type=int, default=128)
    train.add_argument("--embed-size", type=int, default=64)
    train.add_argument("--steps", type=int, default=1000)
    train.add_argument("--batch-size", type=int, default=64)
    train.add_argument("--learning-rate", type=float, default=3e-3)
    train.add_argument(
        "--out",
        "--checkpoint",
        dest="out",
        default=None,
        help="directory for the model and its vocabularies (default runs/translator-ATTENTION)",
    )
    train.add_argument("--quiet", action="store_true", help="no progress bar")


def add_translate_arguments(tr: argparse.ArgumentParser) -> None:
    """Add the options of ``jaxrnn translate`` to its sub-parser."""
    tr.add_argument("--checkpoint", required=True, help="a directory written by `jaxrnn train translator`")
    tr.add_argument("--beam-width", type=int, default=1, help="1: greedy decoding; k > 1: beam search")
    tr.add_argument("sentences", nargs="+")


def train_command(args: argparse.Namespace) -> int:
    """Train a translator, save it, and report held-out exact match and BLEU; returns the exit status."""
    if args.corpus:
        split = split_pairs(read_tatoeba(args.corpus), valid_fraction=0.0, test_fraction=0.05)
    else:
        split = numbers_corpus(num_train=50_000, num_valid=0, num_test=1_000)
    config = TranslatorConfig(
        cell=args.cell, num_units=args.num_units, embed_size=args.embed_size, attention=args.attention
    )
    translator, losses = train_translator(
        split["train"],
        config,
        steps=args.steps,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        progress=not args.quiet,
    )
    out = args.out or f"runs/translator-{args.attention}"
    save_translator(translator, out)
    print(f"final loss {losses[-1]:.4f}; checkpoint written to {out}")
    if split["test"]:
        r = evaluate(translator, split["test"])
        print(
            f"held-out exact match {r['exact_match']:.2%}, BLEU {r['bleu']:.1f} ({len(split['test'])} pairs)"
        )
    return 0


def translate_command(args: argparse.Namespace) -> int:
    """Translate ``args.sentences`` with a saved translator, one line each; returns the exit status."""
    translator = load_translator(args.checkpoint)
    for line in translate(translator, args.sentences, beam_width=args.beam_width):
        print(line)
    return 0
