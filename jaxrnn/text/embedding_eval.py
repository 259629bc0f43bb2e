"""Word-vector evaluation against human word relations: synonym AUC, precision@k, neighbours, a 2-D map.

All similarities are cosines. The relations (e.g. WordNet synsets) are labels the vectors never
saw; :func:`evaluate_vectors` also scores baselines given beside them.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterable, Mapping, Sequence

import numpy as np


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero). ``[V, D]`` float64."""
    vectors = np.asarray(vectors, np.float64)
    if vectors.ndim != 2:
        raise ValueError(f"vectors must have rank 2 [V, D]; got shape {vectors.shape}")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def pair_cosines(vectors: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Cosine similarity of each ``(i, j)`` row pair. ``pairs``: ``[P, 2]`` int; returns ``[P]``."""
    pairs = np.asarray(pairs)
    if pairs.ndim != 2 or pairs.shape[1] != 2:
        raise ValueError(f"pairs must have shape [P, 2]; got {pairs.shape}")
    unit = unit_rows(vectors)
    return np.sum(unit[pairs[:, 0]] * unit[pairs[:, 1]], axis=1)


def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Area under the ROC curve: ``P(s_pos > s_neg) + P(s_pos = s_neg) / 2`` over all pos/neg pairs.

    Computed from ranks (Mann-Whitney U), ties given their average rank.
    """
    positive, negative = np.asarray(positive, np.float64), np.asarray(negative, np.float64)
    if positive.ndim != 1 or negative.ndim != 1 or not len(positive) or not len(negative):
        raise ValueError(
            "positive and negative must be non-empty 1-D scores; "
            f"got shapes {positive.shape}, {negative.shape}"
        )
    scores = np.concatenate([positive, negative])
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    # average rank of each run of equal scores
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    ends = np.r_[starts[1:], len(scores)]
    for s, e in zip(starts, ends):
        ranks[order[s:e]] = (s + e + 1) / 2
    n_pos, n_neg = len(positive), len(negative)
    u = ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))


def nearest_neighbours(vectors: np.ndarray, queries: Sequence[int], k: int) -> np.ndarray:
    """The ``k`` rows most cosine-similar to each query row, the query itself excluded.

    Returns:
      ``[Q, k]`` int row indices, most similar first.
    """
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k < len(vectors):
        raise ValueError(f"k must be an int in [1, {len(vectors) - 1}]; got {k!r}")
    unit = unit_rows(vectors)
    rows = np.asarray(queries, np.int64)
    out = np.empty((len(rows), k), np.int64)
    for start in range(0, len(rows), 512):  # [512, V] similarities at a time
        q = rows[start : start + 512]
        sims = unit[q] @ unit.T
        sims[np.arange(len(q)), q] = -np.inf
        top = np.argpartition(-sims, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1, kind="stable")
        out[start : start + 512] = np.take_along_axis(top, order, axis=1)
    return out


def precision_at_k(vectors: np.ndarray, mates: Mapping[int, Iterable[int]], k: int = 10) -> float:
    """Mean over query words of (relatives among the word's ``k`` nearest neighbours) / ``k``.

    Args:
      vectors: ``[V, D]``.
      mates: query row -> the rows related to it (e.g. its synset-mates).
      k: neighbours looked at.
    """
    queries = sorted(mates)
    if not queries:
        raise ValueError("mates must hold at least one query word")
    neighbours = nearest_neighbours(vectors, queries, k)
    hits = [len(set(row.tolist()) & set(mates[q])) for q, row in zip(queries, neighbours)]
    return float(np.mean(hits) / k)


def encode_pairs(pairs: Iterable[tuple[str, str]], index: Mapping[str, int]) -> np.ndarray:
    """Word pairs whose two words are both in ``index``, as sorted ``[P, 2]`` int row indices."""
    rows = sorted((index[a], index[b]) for a, b in pairs if a in index and b in index and a != b)
    return np.asarray(rows, np.int64).reshape(-1, 2)


def random_pairs(pairs: np.ndarray, rng: np.random.Generator, size: int | None = None) -> np.ndarray:
    """Random pairs of distinct words drawn from the words of ``pairs`` (same word frequencies).

    Each side is drawn from the multiset of words in ``pairs``, so a word appears among the random
    pairs as often as among the related ones and frequency alone cannot separate them.
    """
    words = np.asarray(pairs).ravel()
    size = len(pairs) if size is None else size
    a, b = words[rng.integers(0, len(words), size)], words[rng.integers(0, len(words), size)]
    keep = a != b
    return np.stack([a[keep], b[keep]], axis=1)


def mates_of(pairs: np.ndarray) -> dict[int, set[int]]:
    """Each word of the ``[P, 2]`` pairs -> the words it is paired with."""
    mates: dict[int, set[int]] = {}
    for a, b in np.asarray(pairs).tolist():
        mates.setdefault(a, set()).add(b)
        mates.setdefault(b, set()).add(a)
    return mates


def evaluate_vectors(
    vectors: np.ndarray,
    relations: Mapping[str, np.ndarray],
    *,
    rng: np.random.Generator,
    k: int = 10,
    max_queries: int = 2000,
) -> dict[str, float]:
    """AUC of related vs random pairs for each relation, and precision@k for the first one.

    Args:
      vectors: ``[V, D]``.
      relations: name -> ``[P, 2]`` related row pairs (the first is taken as the synonym relation).
      rng: draws the random pairs and, when there are more, ``max_queries`` query words.
      k: neighbours for precision@k.

    Returns:
      ``{"<name>_auc": ..., "precision_at_<k>": ...}``; a relation without pairs is left out.
    """
    results = {}
    for name, pairs in relations.items():
        if len(pairs):  # a relation with no pair in the vocabulary gets no score
            negative = pair_cosines(vectors, random_pairs(pairs, rng))
            results[f"{name}_auc"] = auc(pair_cosines(vectors, pairs), negative)
    mates = mates_of(next(iter(relations.values())))
    if not mates:
        return results
    queries = sorted(mates)
    if len(queries) > max_queries:
        queries = sorted(rng.choice(queries, max_queries, replace=False).tolist())
    results[f"precision_at_{k}"] = precision_at_k(vectors, {q: mates[q] for q in queries}, k)
    return results


def plot_projection(
    vectors: np.ndarray,
    words: Sequence[str],
    groups: Sequence[Sequence[str]],
    path: str | os.PathLike,
    *,
    title: str = "",
) -> pathlib.Path:
    """A 2-D PCA map of the words of ``groups`` (one colour per group), saved as a PNG."""
    import matplotlib

    from jaxrnn.plots import new_figure

    index = {w: i for i, w in enumerate(words)}
    groups = [[w for w in g if w in index] for g in groups]
    groups = [g for g in groups if g]
    rows = [index[w] for g in groups for w in g]
    if len(rows) < 2:
        raise ValueError(f"groups must name at least 2 words that have vectors; got {len(rows)}")
    x = unit_rows(np.asarray(vectors)[rows])
    x -= x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    xy = x @ vt[:2].T
    fig, ax = new_figure(figsize=(9, 7))
    colours = matplotlib.colormaps["tab20"]
    i = 0
    for g_index, g in enumerate(groups):
        part = xy[i : i + len(g)]
        ax.scatter(part[:, 0], part[:, 1], color=colours(g_index % 20), s=18)
        for (px, py), w in zip(part, g):
            ax.annotate(w, (px, py), fontsize=8, color=colours(g_index % 20))
        i += len(g)
    ax.set_title(title or "PCA of word vectors (one colour per WordNet synset)")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    fig.tight_layout()
    path = pathlib.Path(path)
    fig.savefig(path, dpi=110)
    return path
