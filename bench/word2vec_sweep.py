"""Validation-only sweep of word2vec settings on WordNet's glosses (synonym/antonym/similar AUC, P@10).

Usage: ``python -m bench.word2vec_sweep DIR '{"window": 2}' '{"loss": "nce", "learning_rate": 0.01}'``
(each JSON object overrides :class:`jaxrnn.text.word2vec.Word2VecConfig` defaults; seed 42 and
min count 5 as the default run). Prints one JSON line per setting with the validation half's scores of
``W_in`` and ``W_in + W_out``; the test half is never read.
"""

from __future__ import annotations

import json
import sys
import time

import jax
import numpy as np

from jaxrnn.tasks.word2vec import split_relations
from jaxrnn.text import embedding_eval as ev
from jaxrnn.text.skipgram import encode_corpus
from jaxrnn.text.subwords import subword_table
from jaxrnn.text.word2vec import Word2VecConfig, train_word2vec
from jaxrnn.text.word2vec_format import word_vectors
from jaxrnn.text.wordnet import gloss_corpus, read_wordnet


def main(argv: list[str]) -> int:
    """Train each setting in ``argv[1:]`` on the glosses of ``argv[0]`` and print validation scores."""
    synsets = read_wordnet(argv[0])
    corpus = encode_corpus(gloss_corpus(synsets), min_count=5)
    relations = split_relations(synsets, {w: i for i, w in enumerate(corpus.words)}, "validation")
    for spec in argv[1:]:
        overrides = json.loads(spec)
        config = Word2VecConfig(**overrides)
        start = time.time()
        params, _ = train_word2vec(corpus, config, key=jax.random.key(42), progress=False)
        row: dict = {"config": overrides, "seconds": round(time.time() - start)}
        # with subwords a word's vector is the mean of its rows, as the CLI publishes it
        subwords = (
            subword_table(
                corpus.words,
                buckets=config.subword_buckets,
                min_n=config.subword_min,
                max_n=config.subword_max,
            )
            if config.subword_buckets
            else None
        )
        for kind in ("input", "sum"):
            scores = ev.evaluate_vectors(
                word_vectors(params, kind, subwords), relations, rng=np.random.default_rng(42)
            )
            row[kind] = {k: round(float(v), 4) for k, v in scores.items()}
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
