"""Pretrained word vectors in word2vec's text format, loaded into an embedding table."""

from __future__ import annotations

import os

import numpy as np

from jaxrnn.text.vocab import Vocabulary


def load_word2vec_rows(
    path: str | os.PathLike, vocab: Vocabulary, table: np.ndarray
) -> tuple[np.ndarray, int]:
    """Overwrite the rows of ``table`` whose word has a vector in a word2vec text file.

    The file's first line is ``V D``; each following line ``word v1 ... vD``. Words are matched as the
    tokenizer writes them (lower-cased); words of ``vocab`` missing from the file keep their row.

    Args:
      path: the word2vec text file (UTF-8).
      vocab: the vocabulary whose ids index ``table``.
      table: ``[len(vocab), D]`` current embeddings (not modified).

    Returns:
      ``(new_table [len(vocab), D] float32, number of rows replaced)``.

    Raises:
      ValueError: a malformed header or line (names the line), or ``D`` differs from ``table``'s width.
    """
    table = np.array(table, np.float32)
    if table.ndim != 2 or table.shape[0] != len(vocab):
        raise ValueError(f"table must be [len(vocab), D] = [{len(vocab)}, D]; got {table.shape}")
    found = 0
    with open(path, encoding="utf-8") as f:
        header = f.readline().split()
        if len(header) != 2 or not all(h.isdigit() for h in header):
            raise ValueError(f"{path}:1: expected a word2vec header 'V D'; got {' '.join(header)[:80]!r}")
        dim = int(header[1])
        if dim != table.shape[1]:
            raise ValueError(
                f"the vectors in {path} have D = {dim}; the embedding size (--embed-size) is {table.shape[1]}"
            )
        for number, line in enumerate(f, 2):
            fields = line.rstrip("\n").rstrip(" ").split(" ")
            if len(fields) != dim + 1:
                raise ValueError(f"{path}:{number}: expected a word and {dim} numbers; got {len(fields) - 1}")
            i = vocab.index.get(fields[0])
            if i is None:
                continue
            try:
                table[i] = np.asarray(fields[1:], np.float32)
            except ValueError as e:
                raise ValueError(f"{path}:{number}: not a number in the vector of {fields[0]!r}: {e}") from e
            found += 1
    return table, found
