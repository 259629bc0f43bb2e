"""Character n-gram subwords for skip-gram (fastText, Bojanowski et al. 2017).

A word's input vector is the mean of its own row and the rows of its character n-grams
(``min_n``..``max_n`` characters of ``<word>``, hashed into ``buckets`` rows after the ``V`` word
rows), so rare words borrow from frequent words that share their pieces ("spiderlike",
"spidery"). Only the input side has subwords; the output (context) vectors stay one per word.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn.checks import positive_int


class Subwords(NamedTuple):
    """Each word's input rows: ``rows`` ``[V, G]`` int32 and ``weights`` ``[V, G]`` float32.

    Slot 0 is the word's own row; padding slots have weight 0.
    """

    rows: np.ndarray | jax.Array
    weights: np.ndarray | jax.Array


def char_ngrams(word: str, min_n: int, max_n: int) -> list[str]:
    """The distinct n-grams of ``<word>``, ``min_n <= n <= max_n``, excluding ``<word>`` itself."""
    marked = f"<{word}>"
    grams = [marked[i : i + n] for n in range(min_n, max_n + 1) for i in range(len(marked) - n + 1)]
    return list(dict.fromkeys(g for g in grams if g != marked))


def subword_table(words: Sequence[str], *, buckets: int, min_n: int = 3, max_n: int = 6) -> Subwords:
    """Rows and mean weights of every word's own row and its hashed n-grams.

    Args:
      words: the vocabulary ``[V]``.
      buckets: n-gram rows after the word rows (n-gram ``g`` goes to ``V + crc32(g) % buckets``).
      min_n, max_n: the n-gram lengths.

    Returns:
      A :class:`Subwords` of ``[V, G]`` arrays, ``G`` one more than the most n-grams of a word.
    """
    for name, value in (("buckets", buckets), ("min_n", min_n), ("max_n", max_n)):
        positive_int(name, value)
    if max_n < min_n:
        raise ValueError(f"max_n must be >= min_n = {min_n}; got {max_n}")
    v = len(words)
    lists = [
        [i] + sorted({v + zlib.crc32(g.encode("utf-8")) % buckets for g in char_ngrams(w, min_n, max_n)})
        for i, w in enumerate(words)
    ]
    width = max(len(r) for r in lists)
    rows = np.zeros((v, width), np.int32)
    weights = np.zeros((v, width), np.float32)
    for i, r in enumerate(lists):
        rows[i, : len(r)] = r
        weights[i, : len(r)] = 1.0 / len(r)
    return Subwords(rows, weights)


def compose(
    table: jax.typing.ArrayLike, rows: jax.typing.ArrayLike, weights: jax.typing.ArrayLike
) -> jax.Array:
    """``Σ_g weights[..., g] * table[rows[..., g]]``: ``rows``/``weights`` ``[..., G]`` -> ``[..., D]``."""
    table = jnp.asarray(table)
    weights = jnp.asarray(weights).astype(table.dtype)  # float32 weights with a float64 table, say
    return jnp.einsum("...g,...gd->...d", weights, table[jnp.asarray(rows)])
