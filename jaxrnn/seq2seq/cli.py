"""Command-line entry for translation: ``train translator`` and ``translate``.

Until the generic ``jaxrnn`` CLI grows these subcommands, call ``python -m jaxrnn.seq2seq.cli ...``
or :func:`cli_main` (``argv`` as for ``jaxrnn``: ``["train", "translator", ...]`` or ``["translate", ...]``).
"""

from __future__ import annotations

import argparse
import sys

from jaxrnn.seq2seq.translator import (
    TranslatorConfig,
    evaluate,
    load_translator,
    save_translator,
    train_translator,
)
from jaxrnn.text import numbers_corpus, read_tatoeba, split_pairs


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jaxrnn", description="Encoder-decoder translation.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    train = commands.add_parser("train", help="train a model")
    train.add_argument("what", choices=["translator"])
    train.add_argument("--corpus", help="Tatoeba-format file (default: the embedded English->French numbers)")
    train.add_argument("--attention", choices=["bahdanau", "luong", "none"], default="luong")
    train.add_argument("--cell", choices=["gru", "lstm"], default="gru")
    train.add_argument("--num-units", type=int, default=128)
    train.add_argument("--embed-size", type=int, default=64)
    train.add_argument("--steps", type=int, default=1000)
    train.add_argument("--batch-size", type=int, default=64)
    train.add_argument("--learning-rate", type=float, default=3e-3)
    train.add_argument("--checkpoint", default="translator_ckpt", help="directory to write")
    train.add_argument("--quiet", action="store_true")
    tr = commands.add_parser("translate", help="translate sentences with a trained model")
    tr.add_argument("--checkpoint", required=True)
    tr.add_argument("--beam-width", type=int, default=1)
    tr.add_argument("sentences", nargs="+")
    return parser


def cli_main(argv: list[str] | None = None) -> int:
    """Run ``train translator`` or ``translate``; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "translate":
        translator = load_translator(args.checkpoint)
        from jaxrnn.seq2seq.translator import translate

        for line in translate(translator, args.sentences, beam_width=args.beam_width):
            print(line)
        return 0
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
    save_translator(translator, args.checkpoint)
    print(f"final loss {losses[-1]:.4f}; checkpoint written to {args.checkpoint}")
    if split["test"]:
        r = evaluate(translator, split["test"])
        print(
            f"held-out exact match {r['exact_match']:.2%}, BLEU {r['bleu']:.1f} ({len(split['test'])} pairs)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(cli_main())
