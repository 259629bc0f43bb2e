"""Skip-gram data: word counts, frequent-word subsampling, (center, context) pairs, negative-sampling table.

Everything here is NumPy on the host: the pairs of one epoch are drawn once, then fed to the
jitted training step in batches (:mod:`jaxrnn.text.word2vec`).
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from jaxrnn.checks import positive_int


class SkipGramCorpus(NamedTuple):
    """A corpus encoded against a frequency-sorted vocabulary.

    Attributes:
      words: ``[V]`` the vocabulary, most frequent first (ties by spelling).
      counts: ``[V]`` int64 occurrences of each word in the corpus.
      ids: ``[N]`` int32 the corpus as word ids, sentences concatenated (rarer words dropped).
      sentence: ``[N]`` int32 the sentence each token belongs to; windows never cross sentences.
    """

    words: tuple[str, ...]
    counts: np.ndarray
    ids: np.ndarray
    sentence: np.ndarray


def encode_corpus(sentences: Sequence[Sequence[str]], *, min_count: int = 5) -> SkipGramCorpus:
    """Count the words, keep those seen ``min_count`` times or more, and encode the corpus as ids.

    Args:
      sentences: token lists.
      min_count: the fewest occurrences for a word to get a vector (word2vec's ``-min-count``).

    Returns:
      A :class:`SkipGramCorpus`; out-of-vocabulary tokens are removed before windowing, as in word2vec.
    """
    min_count = positive_int("min_count", min_count)
    if isinstance(sentences, str) or not all(isinstance(s, (list, tuple)) for s in sentences):
        raise TypeError("sentences must be a sequence of token lists")
    counter = collections.Counter(t for s in sentences for t in s)
    kept = sorted((w for w, c in counter.items() if c >= min_count), key=lambda w: (-counter[w], w))
    if not kept:
        raise ValueError(f"no word occurs min_count={min_count} times in the {len(sentences)} sentences")
    index = {w: i for i, w in enumerate(kept)}
    ids, sentence = [], []
    for k, s in enumerate(sentences):
        encoded = [index[t] for t in s if t in index]
        ids.extend(encoded)
        sentence.extend([k] * len(encoded))
    return SkipGramCorpus(
        tuple(kept),
        np.asarray([counter[w] for w in kept], np.int64),
        np.asarray(ids, np.int32),
        np.asarray(sentence, np.int32),
    )


def keep_probabilities(counts: np.ndarray, threshold: float) -> np.ndarray:
    """Mikolov et al. (2013b) subsampling: keep word ``w`` with probability ``min(1, sqrt(t / f(w)))``.

    ``f(w)`` is the word's share of the corpus and ``t`` the threshold, so a word is discarded with
    probability ``1 - sqrt(t / f(w))`` (eq. 5 of "Distributed Representations of Words and Phrases").

    Args:
      counts: ``[V]`` occurrences of each word.
      threshold: ``t``, e.g. ``1e-3``; ``0`` keeps every word.

    Returns:
      ``[V]`` float64 probabilities in ``(0, 1]``.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or threshold < 0:
        raise ValueError(f"threshold must be a number >= 0; got {threshold!r}")
    counts = np.asarray(counts, np.float64)
    if threshold == 0:
        return np.ones_like(counts)
    freq = counts / counts.sum()
    return np.minimum(1.0, np.sqrt(threshold / freq))


def skipgram_pairs(
    corpus: SkipGramCorpus, *, window: int, subsample: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """One epoch of (center, context) pairs, shuffled.

    Frequent words are first subsampled (:func:`keep_probabilities`); then, as in word2vec's C
    code, each center draws its own window size ``b`` uniformly in ``1..window`` and pairs with
    the words up to ``b`` positions either side in the same sentence (so near words count more).

    Args:
      corpus: the encoded corpus.
      window: the largest distance between a center and its context.
      subsample: the subsampling threshold ``t`` (``0`` keeps every token).
      rng: NumPy generator; the only source of randomness.

    Returns:
      ``(centers [P], contexts [P])`` int32 word ids.
    """
    window = positive_int("window", window)
    keep = keep_probabilities(corpus.counts, subsample)[corpus.ids] > rng.random(len(corpus.ids))
    ids, sentence = corpus.ids[keep], corpus.sentence[keep]
    reach = rng.integers(1, window + 1, size=len(ids))
    centers, contexts = [], []
    for d in range(1, window + 1):
        same = (sentence[d:] == sentence[:-d]) if d < len(ids) else np.zeros(0, bool)
        right = same & (reach[:-d] >= d)  # center i, context i + d
        left = same & (reach[d:] >= d)  # center i + d, context i
        centers += [ids[:-d][right], ids[d:][left]]
        contexts += [ids[d:][right], ids[:-d][left]]
    centers_a, contexts_a = np.concatenate(centers), np.concatenate(contexts)
    order = rng.permutation(len(centers_a))
    return centers_a[order].astype(np.int32), contexts_a[order].astype(np.int32)


def noise_distribution(counts: np.ndarray, power: float = 0.75) -> np.ndarray:
    """word2vec's negative-sampling distribution: ``counts ** power``, normalised. ``[V]`` float64."""
    weights = np.asarray(counts, np.float64) ** power
    return weights / weights.sum()


def sampling_table(probabilities: np.ndarray, size: int = 1_000_000) -> np.ndarray:
    """A table of word ids in which id ``i`` fills a ``probabilities[i]`` share (word2vec's unigram table).

    Drawing a uniform index into it draws a word from ``probabilities`` (to within ``1 / size``)
    at the cost of one gather, on any device.
    """
    size = positive_int("size", size)
    edges = np.cumsum(probabilities) * size
    return np.searchsorted(edges, np.arange(size) + 0.5).clip(0, len(probabilities) - 1).astype(np.int32)
