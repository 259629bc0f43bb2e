"""``jaxrnn train word2vec``: skip-gram vectors on WordNet's glosses, judged by WordNet's own relations.

The run trains on the gloss text only, writes ``vectors.txt`` (word2vec text format), then scores
the vectors, a random-vector baseline and a PPMI-SVD baseline (same corpus, vocabulary, window and
size) on synonym / antonym / similar-to pairs of two fixed halves of the synsets: ``validation``
(for choosing hyperparameters) and ``test`` (reported).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import pathlib
import time

import jax
import numpy as np

from jaxrnn.plots import plot_training_curves
from jaxrnn.runs import write_json
from jaxrnn.tasks.configs import add_config_arguments, config_from_arguments
from jaxrnn.text import embedding_eval as ev
from jaxrnn.text.skipgram import encode_corpus
from jaxrnn.text.subwords import subword_table
from jaxrnn.text.word2vec import LOSSES, OPTIMIZERS, SUBWORD_UPDATES, Word2VecConfig, train_word2vec
from jaxrnn.text.word2vec_format import VECTORS, save_word2vec_format, word_vectors
from jaxrnn.text.wordnet import (
    Synset,
    gloss_corpus,
    read_wordnet,
    relation_pairs,
    split_of,
    synonym_groups,
    synonym_pairs,
)

PROBE_WORDS = ("king", "water", "good", "run", "happy", "car", "music", "red", "big", "bird", "quickly")
SPLITS = ("validation", "test")
CLI_SUBWORD_BUCKETS = 100_000  # n-gram rows of the command's default (--subword-buckets 0: plain word2vec)


def parse_corpus(corpus: str) -> str | None:
    """``"wordnet:DIR"`` -> ``DIR``; ``"wordnet"`` -> None (``$JAXRNN_DATA/wordnet``)."""
    kind, _, path = corpus.partition(":")
    if kind != "wordnet":
        raise ValueError(f"--corpus must be 'wordnet' or 'wordnet:DIR'; got {corpus!r}")
    return path or None


def split_relations(synsets: list[Synset], index: dict[str, int], split: str) -> dict[str, np.ndarray]:
    """Synonym, antonym and similar-to row pairs whose source synset lies in ``split``."""
    part = [s for s in synsets if split_of(s) == split]
    return {
        "synonym": ev.encode_pairs(synonym_pairs(part), index),
        "antonym": ev.encode_pairs(relation_pairs(synsets, "!", among=part), index),
        "similar": ev.encode_pairs(relation_pairs(synsets, "&", among=part), index),
    }


def _neighbour_table(vectors: np.ndarray, words: tuple[str, ...], probes, k: int = 8) -> dict:
    index = {w: i for i, w in enumerate(words)}
    present = [w for w in probes if w in index]
    if not present:
        return {}
    rows = ev.nearest_neighbours(vectors, [index[w] for w in present], k)
    return {w: [words[j] for j in row] for w, row in zip(present, rows)}


def _projection_groups(synsets: list[Synset], counts: dict[str, int], n: int = 10) -> list[tuple[str, ...]]:
    """Test-split synsets of 3+ one-token lemmas with vectors, content words first (most frequent)."""
    groups = [
        g
        for g in synonym_groups(s for s in synsets if split_of(s) == "test")
        if len(g) >= 3 and all(30 <= counts.get(w, 0) <= 2000 for w in g)  # skip the function words
    ]
    groups = sorted(set(groups), key=lambda g: -min(counts[w] for w in g))
    chosen: list[tuple[str, ...]] = []
    seen: set[str] = set()
    for g in groups:  # no word in two groups, so each point has one colour
        if not seen & set(g):
            chosen.append(g[:4])
            seen |= set(g)
        if len(chosen) == n:
            break
    return chosen


def train_wordnet_word2vec(
    data_dir: str | os.PathLike | None,
    out: str | os.PathLike,
    config: Word2VecConfig,
    *,
    min_count: int = 5,
    seed: int = 42,
    baselines: bool = True,
    vectors: str = "sum",
    quiet: bool = False,
) -> dict:
    """Train on WordNet's glosses, write ``out/vectors.txt`` and evaluate; returns the metrics dict.

    Args:
      data_dir: WordNet's ``dict`` directory (default ``$JAXRNN_DATA/wordnet``).
      out: the run directory: ``vectors.txt``, ``metrics.json``, ``neighbours.txt``,
        ``projection.png``, ``training_curve.png``.
      config: the skip-gram hyperparameters.
      min_count: the fewest gloss occurrences for a word to get a vector.
      seed: PRNG seed for the model, the random baseline and the evaluation's random pairs.
      baselines: also compute the random and PPMI-SVD baselines (their vectors go to
        ``out/baselines/{random,ppmi_svd}.txt``).
      vectors: which vectors to write and evaluate: ``"input"`` or ``"sum"`` (:func:`word_vectors`).
      quiet: no progress bar.
    """
    start = time.time()
    synsets = read_wordnet(data_dir)
    corpus = encode_corpus(gloss_corpus(synsets), min_count=min_count)
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    params, history = train_word2vec(corpus, config, key=jax.random.key(seed), progress=not quiet)
    train_seconds = time.time() - start
    subwords = None
    if config.subword_buckets:
        subwords = subword_table(
            corpus.words, buckets=config.subword_buckets, min_n=config.subword_min, max_n=config.subword_max
        )
    published = word_vectors(params, vectors, subwords)
    save_word2vec_format(out / "vectors.txt", corpus.words, published)
    plot_training_curves(
        {"step": history["step"], "loss": history["loss"]}, out / "training_curve.png", title="word2vec loss"
    )
    index = {w: i for i, w in enumerate(corpus.words)}
    models = {"word2vec": published}
    if baselines:
        from jaxrnn.text.ppmi import ppmi_svd_vectors  # scipy, only when it is needed

        models["random"] = np.random.default_rng(seed).standard_normal(published.shape).astype(np.float32)
        models["ppmi_svd"] = ppmi_svd_vectors(corpus, config.dim, window=config.window, seed=seed)
        (out / "baselines").mkdir(exist_ok=True)
        for name in ("random", "ppmi_svd"):
            save_word2vec_format(out / "baselines" / f"{name}.txt", corpus.words, models[name])
    evaluation: dict = {}
    for split in SPLITS:
        relations = split_relations(synsets, index, split)
        evaluation[split] = {"pairs": {name: len(p) for name, p in relations.items()}}
        for name, v in models.items():
            evaluation[split][name] = ev.evaluate_vectors(v, relations, rng=np.random.default_rng(seed))
    neighbours = {name: _neighbour_table(v, corpus.words, PROBE_WORDS) for name, v in models.items()}
    with open(out / "neighbours.txt", "w", encoding="utf-8") as f:
        for name, table in neighbours.items():
            f.write(f"# {name}\n" + "".join(f"{w}: {' '.join(n)}\n" for w, n in table.items()))
    counts = dict(zip(corpus.words, corpus.counts.tolist()))
    groups = _projection_groups(synsets, counts)
    if sum(map(len, groups)) >= 2:  # a tiny corpus may have no frequent synset to draw
        ev.plot_projection(
            published,
            corpus.words,
            groups,
            out / "projection.png",
            title="word2vec on WordNet glosses: PCA of test-split synsets (one colour each)",
        )
    metrics = {
        "config": dataclasses.asdict(config) | {"min_count": min_count, "seed": seed, "vectors": vectors},
        "corpus": {"sentences": int(corpus.sentence.max()) + 1, "tokens": len(corpus.ids)},
        "vocab_size": len(corpus.words),
        "pairs_per_epoch": history["pairs_per_epoch"],
        "final_loss": history["loss"][-1],
        "train_seconds": train_seconds,
        "seconds": time.time() - start,
        "evaluation": evaluation,
        "neighbours": neighbours,
    }
    write_json(out / "metrics.json", metrics)
    return metrics


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``word2vec`` to the ``jaxrnn train`` sub-commands; returns its parser."""
    p = subparsers.add_parser("word2vec", help="skip-gram word vectors on WordNet's glosses, with evaluation")
    p.add_argument(
        "--corpus",
        default="wordnet",
        help="wordnet:DIR (WordNet's data.* files; default $JAXRNN_DATA/wordnet)",
    )
    p.add_argument("--out", default="runs/word2vec", help="run directory (vectors.txt, metrics.json, PNGs)")
    add_config_arguments(
        p,
        Word2VecConfig,
        {"loss": tuple(LOSSES), "optimizer": tuple(OPTIMIZERS), "subword_update": SUBWORD_UPDATES},
    )
    # the command's default is fastText-style subwords, chosen on the validation half (bench/RESULTS.md,
    # "Word2Vec on WordNet"); the library's Word2VecConfig stays plain word2vec.
    p.set_defaults(subword_buckets=CLI_SUBWORD_BUCKETS, subword_update="fasttext")
    p.add_argument("--min-count", type=int, default=5, help="fewest occurrences for a word to get a vector")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument(
        "--vectors",
        choices=VECTORS,
        default="sum",
        help="publish W_in + W_out (default) or W_in (word2vec's)",
    )
    p.add_argument("--no-baselines", action="store_true", help="skip the random and PPMI-SVD baselines")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``jaxrnn train word2vec`` from parsed arguments; prints the test-split summary."""
    config = config_from_arguments(Word2VecConfig, args)
    metrics = train_wordnet_word2vec(
        parse_corpus(args.corpus),
        args.out,
        config,
        min_count=args.min_count,
        seed=args.seed,
        baselines=not args.no_baselines,
        vectors=args.vectors,
        quiet=args.quiet,
    )
    test = metrics["evaluation"]["test"]
    for name in ("word2vec", "random", "ppmi_svd"):
        if name in test:
            row = ", ".join(f"{k} {v:.3f}" for k, v in test[name].items())
            print(f"{name:9s} test: {row}")
    print(
        f"vocabulary {metrics['vocab_size']} words; "
        f"vectors.txt, metrics.json, neighbours.txt, PNGs in {args.out}"
    )
    return 0
