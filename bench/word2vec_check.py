"""An independent check of word2vec text files against WordNet synonyms (no jaxrnn code).

Reads ``data.{noun,verb,adj,adv}`` with its own few lines of parsing, draws its own synonym pairs
(one-word lemmas sharing a synset) and random pairs, and prints, for each vector file, how often a
synonym pair is closer (cosine) than a random pair: over random pairs drawn from the same words as
the synonyms (frequency-matched) and over random pairs drawn uniformly from the shared vocabulary.

    python -m bench.word2vec_check --wordnet ../shared/data/wordnet runs/word2vec/vectors.txt \\
        runs/word2vec/baselines/ppmi_svd.txt runs/word2vec/baselines/random.txt
"""

from __future__ import annotations

import argparse
import itertools
import json
import pathlib
import re

import numpy as np

WORD = re.compile(r"^[a-z][a-z'-]*$")


def read_vectors(path):
    with open(path, encoding="utf-8") as f:
        n, d = map(int, f.readline().split())
        table = {}
        for line in f:
            parts = line.rstrip().split(" ")
            table[parts[0]] = np.asarray(parts[1:], np.float64)
    assert len(table) == n and all(len(v) == d for v in table.values()), path
    return table


def wordnet_synonyms(directory):
    pairs = set()
    for part in ("noun", "verb", "adj", "adv"):
        for line in open(pathlib.Path(directory) / f"data.{part}", encoding="utf-8"):
            if line.startswith("  "):
                continue
            fields = line.split()
            n = int(fields[3], 16)
            lemmas = {re.sub(r"\(.*\)$", "", w).lower() for w in fields[4 : 4 + 2 * n : 2]}
            lemmas = sorted(w for w in lemmas if WORD.match(w))
            pairs.update(itertools.combinations(lemmas, 2))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("vectors", nargs="+", help="word2vec text files (the first sets the vocabulary)")
    parser.add_argument("--wordnet", required=True, help="directory of WordNet's data.* files")
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=123)
    args = parser.parse_args()
    tables = [read_vectors(p) for p in args.vectors]
    vocab = set.intersection(*(set(t) for t in tables))
    synonyms = sorted(p for p in wordnet_synonyms(args.wordnet) if p[0] in vocab and p[1] in vocab)
    rng = np.random.default_rng(args.seed)
    chosen = [synonyms[i] for i in rng.choice(len(synonyms), min(args.samples, len(synonyms)), replace=False)]
    pair_words = [w for p in chosen for w in p]
    vocab_list = sorted(vocab)
    matched = [(pair_words[i], pair_words[j]) for i, j in rng.integers(0, len(pair_words), (len(chosen), 2))]
    uniform = [(vocab_list[i], vocab_list[j]) for i, j in rng.integers(0, len(vocab_list), (len(chosen), 2))]
    results = {}
    for path, table in zip(args.vectors, tables):

        def cos(a, b, table=table):
            x, y = table[a], table[b]
            return float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y) + 1e-12))

        syn = np.array([cos(a, b) for a, b in chosen])
        results[path] = {
            name: float(np.mean(syn > np.array([cos(a, b) for a, b in randoms])))
            for name, randoms in (("vs_matched_random", matched), ("vs_uniform_random", uniform))
        }
    print(f"{len(chosen)} WordNet synonym pairs among {len(vocab)} shared words (seed {args.seed})")
    print("share of synonym pairs closer than a random pair:")
    for path, r in results.items():
        print(
            f"  {path}: frequency-matched {r['vs_matched_random']:.3f}, uniform {r['vs_uniform_random']:.3f}"
        )
    out = pathlib.Path("bench/out")
    out.mkdir(parents=True, exist_ok=True)
    (out / "word2vec_check.json").write_text(json.dumps({"pairs": len(chosen), "results": results}, indent=1))


if __name__ == "__main__":
    main()
