"""The translation commands of ``jaxrnn``: ``train translator`` and ``translate``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from jaxrnn.seq2seq.training import train_translator
from jaxrnn.seq2seq.translator import (
    TranslatorConfig,
    choose_length_penalty,
    evaluate,
    load_translator,
    read_length_penalty,
    translate,
    write_decoding_settings,
)
from jaxrnn.tasks.configs import keyword_or
from jaxrnn.text import gettext_pairs, numbers_corpus, read_tatoeba, split_pairs

# the --num-sampled flag: 'full' is the full softmax (None)
num_sampled_value = keyword_or("full", int, lambda n: n > 0, "a positive int or 'full'", meaning=None)


# the model options left unset: with --corpus, the setting validated on the real en-fr.tsv (bench/RESULTS.md,
# issue 18); without, a small fast model that learns the embedded numbers corpus in a few minutes
REAL_CORPUS_DEFAULTS = {"attention": "bahdanau", "num_units": 256, "embed_size": 128}
NUMBERS_DEFAULTS = {"attention": "luong", "num_units": 128, "embed_size": 64}
ALPHAS = (0.0, 0.6, 1.0)


def model_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """``args`` with the unset model options (None) filled for the chosen corpus."""
    defaults = NUMBERS_DEFAULTS if args.corpus is None else REAL_CORPUS_DEFAULTS
    filled = {k: v if getattr(args, k) is None else getattr(args, k) for k, v in defaults.items()}
    return argparse.Namespace(**{**vars(args), **filled})


def add_train_arguments(train: argparse.ArgumentParser) -> None:
    """Add the options of ``jaxrnn train translator`` to its sub-parser."""
    d = TranslatorConfig()
    real, numbers = REAL_CORPUS_DEFAULTS, NUMBERS_DEFAULTS
    train.add_argument(
        "--corpus",
        help="'English<TAB>French[<TAB>catalogue]' file, or gettext:LOCALE for the machine's own "
        "catalogues (default: the embedded English->French numbers corpus)",
    )
    train.add_argument(
        "--hold-out",
        default="",
        help="comma-separated catalogues (third column) kept out of training for an out-of-domain score",
    )
    train.add_argument(
        "--attention",
        choices=["bahdanau", "luong", "none"],
        default=None,
        help=f"default {real['attention']} with --corpus (validated on en-fr.tsv), "
        f"{numbers['attention']} on the numbers corpus",
    )
    train.add_argument("--cell", choices=["gru", "lstm"], default=d.cell)
    train.add_argument(
        "--num-units",
        "--units",
        dest="num_units",
        type=int,
        default=None,
        help=f"default {real['num_units']} with --corpus, {numbers['num_units']} on the numbers corpus",
    )
    train.add_argument("--num-layers", type=int, default=d.num_layers)
    train.add_argument(
        "--embed-size",
        type=int,
        default=None,
        help=f"default {real['embed_size']} with --corpus, {numbers['embed_size']} on the numbers corpus",
    )
    train.add_argument("--max-vocab-size", type=int, default=d.max_vocab_size, help="words kept per language")
    train.add_argument(
        "--max-length", type=int, default=d.max_length, help="most target words, <eos> included"
    )
    train.add_argument("--steps", type=int, default=None, help="default 1000, or unlimited with --minutes")
    train.add_argument("--minutes", type=float, default=None, help="training time budget, total over resumes")
    train.add_argument("--batch-size", type=int, default=64)
    train.add_argument("--learning-rate", type=float, default=3e-3)
    train.add_argument("--clip-norm", type=float, default=5.0)
    train.add_argument(
        "--num-sampled",
        type=num_sampled_value,
        default=512,
        help="sampled softmax over this many log-uniform classes, or 'full' (evaluation is always full)",
    )
    train.add_argument("--source-embeddings", help="word2vec text file of pretrained source word vectors")
    train.add_argument(
        "--freeze-source-embeddings", action="store_true", help="keep the source embeddings fixed"
    )
    train.add_argument(
        "--out",
        default=None,
        help="run directory: checkpoints and vocabularies (default runs/translator-ATTENTION)",
    )
    train.add_argument("--restart", action="store_true", help="ignore checkpoints already in --out")
    train.add_argument(
        "--alpha-pairs",
        type=int,
        default=300,
        help="after training, choose beam search's length penalty among "
        f"{', '.join(map(str, ALPHAS))} on this many validation pairs (beam 4) and store it for "
        "`jaxrnn translate` (0: don't; translate then uses 0)",
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--quiet", action="store_true", help="no progress bar")


def add_translate_arguments(tr: argparse.ArgumentParser) -> None:
    """Add the options of ``jaxrnn translate`` to its sub-parser."""
    tr.add_argument("--checkpoint", required=True, help="a directory written by `jaxrnn train translator`")
    tr.add_argument("--beam-width", type=int, default=4, help="1: greedy decoding; k > 1: beam search")
    tr.add_argument(
        "--length-penalty",
        type=float,
        default=None,
        help="GNMT's alpha for beam search (default: the one training chose on validation, else 0)",
    )
    tr.add_argument("--batch-size", type=int, default=64, help="sentences decoded together")
    tr.add_argument("--quiet", action="store_true", help="no progress bar on standard error")
    tr.add_argument("sentences", nargs="*", help="sentences to translate (default: one per line of stdin)")


def load_corpus(corpus: str | None) -> Sequence[tuple[str, ...]] | dict:
    """The pairs a ``--corpus`` value names: a file, ``gettext:LOCALE``, or None for the numbers corpus."""
    if corpus is None:
        return numbers_corpus(num_train=50_000, num_valid=1_000, num_test=1_000)
    if corpus.startswith("gettext:"):
        return gettext_pairs(corpus.split(":", 1)[1])
    if not os.path.isfile(corpus):
        raise FileNotFoundError(f"--corpus file {corpus!r} does not exist")
    return read_tatoeba(corpus, catalogue=True)


def train_command(args: argparse.Namespace) -> int:
    """Train a translator with checkpoints in ``--out``; choose the length penalty on validation;
    report validation and test BLEU."""
    if args.alpha_pairs < 0:
        raise ValueError(f"--alpha-pairs must be >= 0; got {args.alpha_pairs}")
    args = model_defaults(args)
    corpus = load_corpus(args.corpus)
    held = [c for c in args.hold_out.split(",") if c]
    if isinstance(corpus, dict):
        if held:
            raise ValueError("--hold-out needs a --corpus with catalogues; the numbers corpus has none")
        split = corpus
    else:
        split = split_pairs(corpus, valid_fraction=0.05, test_fraction=0.05, held_out=held)
    config = TranslatorConfig(
        cell=args.cell,
        num_units=args.num_units,
        num_layers=args.num_layers,
        embed_size=args.embed_size,
        attention=args.attention,
        max_length=args.max_length,
        max_vocab_size=args.max_vocab_size,
    )
    out = args.out or f"runs/translator-{args.attention}"
    translator, losses = train_translator(
        split["train"],
        config,
        steps=args.steps if args.steps is not None or args.minutes is not None else 1000,
        minutes=args.minutes,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        clip_norm=args.clip_norm,
        num_sampled=args.num_sampled,
        seed=args.seed,
        out=out,
        restart=args.restart,
        source_embeddings=args.source_embeddings,
        freeze_source_embeddings=args.freeze_source_embeddings,
        progress=not args.quiet,
    )
    last = f"final loss {losses[-1]:.4f} after {len(losses)} steps; " if losses else ""
    print(f"{last}checkpoint written to {out}")
    if args.alpha_pairs and split.get("valid"):
        alpha, bleu = choose_length_penalty(translator, split["valid"][: args.alpha_pairs], alphas=ALPHAS)
        write_decoding_settings(out, alpha, 4, bleu)
        scores = ", ".join(f"{a}: {b:.1f}" for a, b in bleu.items())
        print(
            f"length penalty {alpha} chosen on {min(args.alpha_pairs, len(split['valid']))} validation "
            f"pairs (beam 4 BLEU by alpha: {scores}); `jaxrnn translate` uses it"
        )
    for name in ("valid", "test", "held_out"):
        if split.get(name):
            r = evaluate(translator, split[name])
            print(
                f"{name}: BLEU {r['bleu']:.1f} (case-insensitive {r['bleu_uncased']:.1f}), "
                f"chrF {r['chrf']:.1f}, "
                f"exact match {r['exact_match']:.2%} ({len(split[name])} pairs, greedy)"
            )
    return 0


def translate_command(args: argparse.Namespace) -> int:
    """Translate the given sentences, or standard input line by line, one output line each, in order."""
    translator = load_translator(args.checkpoint)
    alpha = args.length_penalty
    if alpha is None:
        alpha = read_length_penalty(args.checkpoint) or 0.0
    sentences = args.sentences or [line.rstrip("\n\r") for line in sys.stdin]
    from jaxrnn.train import progress_bar

    show = not args.quiet and len(sentences) > args.batch_size
    with progress_bar(total=len(sentences), file=sys.stderr, disable=not show, unit="sentence") as bar:
        lines = translate(
            translator,
            sentences,
            beam_width=args.beam_width,
            length_penalty=alpha,
            batch_size=args.batch_size,
            progress=bar.update,
        )
    for line in lines:
        print(line)
    return 0
