"""Count-based word vectors: windowed co-occurrence counts, PPMI, truncated SVD (Levy, Goldberg & Dagan 2015).

The baseline Word2Vec is compared with: the same corpus, vocabulary and window, no learning.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse
import scipy.sparse.linalg

from jaxrnn.checks import positive_int
from jaxrnn.text.skipgram import SkipGramCorpus


def cooccurrence_counts(corpus: SkipGramCorpus, window: int) -> scipy.sparse.csr_matrix:
    """Symmetric co-occurrence counts within ``window`` words in the same sentence.

    A pair at distance ``d`` counts ``(window - d + 1) / window``: the expected weight word2vec's
    random window sizes (uniform in ``1..window``) give it.

    Returns:
      ``[V, V]`` float64 CSR matrix ``C[w, c]``.
    """
    window = positive_int("window", window)
    v = len(corpus.words)
    ids, sentence = corpus.ids, corpus.sentence
    total = scipy.sparse.csr_matrix((v, v), dtype=np.float64)
    for d in range(1, min(window, max(len(ids) - 1, 0)) + 1):
        same = sentence[d:] == sentence[:-d]
        a, b = ids[:-d][same], ids[d:][same]
        weight = np.full(len(a), (window - d + 1) / window)
        forward = scipy.sparse.coo_matrix((weight, (a, b)), shape=(v, v)).tocsr()
        total = total + forward + forward.T
    return total.tocsr()


def ppmi(counts, *, alpha: float = 0.75) -> scipy.sparse.csr_matrix:
    """Positive pointwise mutual information with context-distribution smoothing.

    ``PPMI[w, c] = max(0, log(P(w, c) / (P(w) P_alpha(c))))`` with ``P(w, c) = C[w, c] / ΣC``,
    ``P(w) = Σ_c C[w, c] / ΣC`` and ``P_alpha(c) = (Σ_w C[w, c])^alpha / Σ_c' (Σ_w C[w, c'])^alpha``.

    Args:
      counts: ``[V, V]`` co-occurrence counts (dense or sparse).
      alpha: the smoothing exponent (``1``: plain PMI).

    Returns:
      ``[V, V]`` CSR matrix; zero counts give zero.
    """
    c = scipy.sparse.csr_matrix(counts, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] != c.shape[1]:
        raise ValueError(f"counts must be a square [V, V] matrix; got shape {c.shape}")
    if (c.data < 0).any():
        raise ValueError("counts must be non-negative")
    total = c.sum()
    p_w = np.asarray(c.sum(axis=1)).ravel() / total
    col = np.asarray(c.sum(axis=0)).ravel() ** alpha
    p_c = col / col.sum()
    coo = c.tocoo()
    keep = coo.data > 0
    rows, cols, data = coo.row[keep], coo.col[keep], coo.data[keep]
    pmi = np.log(data / total) - np.log(p_w[rows]) - np.log(p_c[cols])
    positive = pmi > 0
    return scipy.sparse.csr_matrix(
        (pmi[positive], (rows[positive], cols[positive])), shape=c.shape, dtype=np.float64
    )


def ppmi_svd_vectors(
    corpus: SkipGramCorpus, dim: int, *, window: int, alpha: float = 0.75, seed: int = 0
) -> np.ndarray:
    """Word vectors ``U_d sqrt(S_d)`` of the rank-``dim`` SVD of the corpus's PPMI matrix.

    Returns:
      ``[V, dim]`` float32.
    """
    matrix = ppmi(cooccurrence_counts(corpus, window), alpha=alpha)
    k = min(dim, min(matrix.shape) - 1)
    if k < 1:
        raise ValueError(f"the vocabulary must hold at least 2 words; got {matrix.shape[0]}")
    v0 = np.random.default_rng(seed).standard_normal(min(matrix.shape))  # ARPACK's start, for reproducibility
    u, s, _ = scipy.sparse.linalg.svds(matrix, k=k, v0=v0)
    vectors = u * np.sqrt(s)[None, :]
    if k < dim:
        vectors = np.pad(vectors, ((0, 0), (0, dim - k)))
    return vectors.astype(np.float32)
