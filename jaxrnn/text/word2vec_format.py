"""Word vectors out of a skip-gram model, and word2vec's text format (read, write, load into a table)."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Sequence

import jax.numpy as jnp
import numpy as np

from jaxrnn.text.subwords import Subwords, compose
from jaxrnn.text.vocab import Vocabulary
from jaxrnn.text.word2vec import Word2VecParams

VECTORS = ("input", "sum")


def word_vectors(
    params: Word2VecParams, which: str = "input", subwords: Subwords | None = None
) -> np.ndarray:
    """The vectors to publish: ``"input"`` (``W_in``, word2vec's output) or ``"sum"`` (``W_in + W_out``).

    The sum adds the context-side view of each word (Levy, Goldberg & Dagan 2015, "w + c"); it
    often scores better on similarity. With ``subwords``, a word's input vector is the weighted sum
    of its rows (its own and its character n-grams', :func:`jaxrnn.text.subwords.compose`).

    Returns:
      ``[V, D]`` float32, ``V = params.output.shape[0]``.
    """
    if which not in VECTORS:
        raise ValueError(f"which must be one of {VECTORS}; got {which!r}")
    v = params.output.shape[0]
    vectors = params.input[:v] if subwords is None else compose(params.input, subwords.rows, subwords.weights)
    if which == "sum":
        vectors = vectors + params.output
    return np.asarray(jnp.asarray(vectors), np.float32)


def save_word2vec_format(path: str | os.PathLike, words: Sequence[str], vectors: np.ndarray) -> pathlib.Path:
    """Write vectors in word2vec's text format: UTF-8, first line ``V D``, then ``word v1 ... vD`` per line.

    Raises:
      ValueError: ``vectors`` is not ``[len(words), D]``, or a word is empty or holds whitespace.
    """
    vectors = np.asarray(vectors)
    if vectors.ndim != 2 or vectors.shape[0] != len(words):
        raise ValueError(
            f"vectors must have shape [len(words), dim] = [{len(words)}, dim]; got {vectors.shape}"
        )
    for w in words:
        if not w or len(w.split()) != 1 or w != w.strip():
            raise ValueError(f"words must be non-empty and hold no whitespace; got {w!r}")
    path = pathlib.Path(path)
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"{vectors.shape[0]} {vectors.shape[1]}\n")
        for w, row in zip(words, vectors):
            f.write(w + " " + " ".join(f"{x:.6g}" for x in row) + "\n")
    return path


def load_word2vec_format(path: str | os.PathLike) -> tuple[list[str], np.ndarray]:
    """Read a word2vec text file written by :func:`save_word2vec_format` (or gensim, or word2vec's C tool).

    Returns:
      ``(words, vectors [V, D] float32)``.

    Raises:
      ValueError: the header or a line does not match ``V D`` / ``word`` plus ``D`` numbers.
    """
    with open(path, encoding="utf-8") as f:
        header = f.readline().split()
        if len(header) != 2 or not all(h.isdigit() for h in header):
            raise ValueError(f"{str(path)!r}: the first line must be 'V D'; got {' '.join(header)!r}")
        n, dim = map(int, header)
        words, rows = [], []
        for lineno, line in enumerate(f, start=2):
            fields = line.rstrip("\n").rstrip(" ").split(" ")
            if len(fields) != dim + 1:
                raise ValueError(f"{str(path)!r} line {lineno}: expected a word and {dim} numbers")
            words.append(fields[0])
            rows.append(np.asarray(fields[1:], np.float32))
    if len(words) != n:
        raise ValueError(f"{str(path)!r}: the header says {n} words; the file holds {len(words)}")
    return words, np.stack(rows) if rows else np.zeros((0, dim), np.float32)


def load_word2vec_rows(
    path: str | os.PathLike, vocab: Vocabulary, table: np.ndarray
) -> tuple[np.ndarray, int]:
    """Overwrite the rows of ``table`` whose word has a vector in a word2vec text file.

    Words are matched as the tokenizer writes them (lower-cased); words of ``vocab`` missing from
    the file keep their row.

    Args:
      path: the word2vec text file (UTF-8; see :func:`load_word2vec_format`).
      vocab: the vocabulary whose ids index ``table``.
      table: ``[len(vocab), D]`` current embeddings (not modified).

    Returns:
      ``(new_table [len(vocab), D] float32, number of rows replaced)``.

    Raises:
      ValueError: a malformed file, or its ``D`` differs from ``table``'s width.
    """
    table = np.array(table, np.float32)
    if table.ndim != 2 or table.shape[0] != len(vocab):
        raise ValueError(f"table must be [len(vocab), D] = [{len(vocab)}, D]; got {table.shape}")
    words, vectors = load_word2vec_format(path)
    if vectors.shape[1] != table.shape[1]:
        raise ValueError(
            f"the vectors in {path} have D = {vectors.shape[1]}; "
            f"the embedding size (--embed-size) is {table.shape[1]}"
        )
    found = [(vocab.index[w], row) for w, row in zip(words, vectors) if w in vocab.index]
    for i, row in found:
        table[i] = row
    return table, len(found)
