"""Tokenizer and vocabulary: punctuation split, ``[UNK]``/``[NUM]``/``[URL]``, ``<pad> <go> <eos>``."""

from __future__ import annotations

import collections
import json
import os
import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple

PAD, GO, EOS, UNK, NUM, URL = "<pad>", "<go>", "<eos>", "[UNK]", "[NUM]", "[URL]"
SPECIAL_TOKENS = (PAD, GO, EOS, UNK, NUM, URL)
PAD_ID, GO_ID, EOS_ID, UNK_ID = 0, 1, 2, 3

_URL_RE = r"(?:https?://|www\.)[^\s]*[^\s.,!?;:)]"
_NUM_RE = r"\d+(?:[.,]\d+)*"
# words keep inner hyphens and apostrophes ("quatre-vingt-dix", "aujourd'hui"); other punctuation splits off
_TOKEN_RE = re.compile(rf"({_URL_RE})|({_NUM_RE})|(\w+(?:[-'’]\w+)*)|([^\w\s])", re.UNICODE)


def tokenize(text: str, *, lower: bool = True, numbers: bool = True, urls: bool = True) -> list[str]:
    """Split ``text`` into words and punctuation marks.

    Args:
      text: one sentence.
      lower: lower-case the words.
      numbers: replace digit strings (``42``, ``3.14``) by ``[NUM]``, as the book suggests.
      urls: replace ``http://...``/``www....`` by ``[URL]``.

    Returns:
      The tokens, e.g. ``tokenize("I drink milk.") == ["i", "drink", "milk", "."]``.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str; got {type(text).__name__}")
    tokens = []
    for url, num, word, punct in _TOKEN_RE.findall(text):
        if url:
            tokens.append(URL if urls else url)
        elif num:
            tokens.append(NUM if numbers else num)
        elif word:
            tokens.append(word.lower() if lower else word)
        else:
            tokens.append(punct)
    return tokens


def detokenize(tokens: Sequence[str]) -> str:
    """Join tokens with spaces, gluing punctuation to the word before it (``"milk ."`` -> ``"milk."``)."""
    text = ""
    for token in tokens:
        glue = len(token) == 1 and not token.isalnum() and token not in "(\"'¿¡"
        text += token if (glue or not text) else " " + token
    return text


class Vocabulary(NamedTuple):
    """Tokens in id order; ids 0-5 are ``<pad> <go> <eos> [UNK] [NUM] [URL]``."""

    tokens: tuple[str, ...]
    index: dict

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Ids of ``tokens``; unknown words map to ``[UNK]`` (id 3)."""
        return [self.index.get(t, UNK_ID) for t in tokens]

    def decode(self, ids: Iterable[int], *, stop_at_eos: bool = True) -> list[str]:
        """Tokens of ``ids``, dropping ``<pad>``/``<go>`` and stopping at ``<eos>``."""
        out = []
        for i in ids:
            i = int(i)
            if i == EOS_ID and stop_at_eos:
                break
            if i in (PAD_ID, GO_ID, EOS_ID):
                continue
            if not 0 <= i < len(self.tokens):
                raise ValueError(f"ids must lie in [0, {len(self.tokens)}); got {i}")
            out.append(self.tokens[i])
        return out


def vocabulary_from_tokens(tokens: Sequence[str]) -> Vocabulary:
    """A :class:`Vocabulary` from its token list, which must start with the special tokens."""
    tokens = tuple(tokens)
    if tokens[: len(SPECIAL_TOKENS)] != SPECIAL_TOKENS:
        raise ValueError(f"tokens must start with {SPECIAL_TOKENS}; got {tokens[: len(SPECIAL_TOKENS)]}")
    if len(set(tokens)) != len(tokens):
        raise ValueError("tokens must be unique; got duplicates")
    return Vocabulary(tokens, {t: i for i, t in enumerate(tokens)})


def build_vocabulary(
    sentences: Iterable[Sequence[str]], *, max_size: int | None = None, min_count: int = 1
) -> Vocabulary:
    """The most frequent tokens of a tokenized corpus (ties broken alphabetically, so it is deterministic).

    Args:
      sentences: token lists.
      max_size: the largest vocabulary size, special tokens included (None: no limit).
      min_count: drop tokens seen fewer times.

    Returns:
      A :class:`Vocabulary`.
    """
    if max_size is not None and (not isinstance(max_size, int) or max_size < len(SPECIAL_TOKENS)):
        raise ValueError(
            f"max_size must be an int >= {len(SPECIAL_TOKENS)} (the special tokens); got {max_size!r}"
        )
    if not isinstance(min_count, int) or min_count < 1:
        raise ValueError(f"min_count must be a positive int; got {min_count!r}")
    counts = collections.Counter(t for s in sentences for t in s if t not in SPECIAL_TOKENS)
    words = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    if max_size is not None:
        words = words[: max_size - len(SPECIAL_TOKENS)]
    return vocabulary_from_tokens(SPECIAL_TOKENS + tuple(words))


def save_vocabulary(vocab: Vocabulary, path: str | os.PathLike) -> None:
    """Write the vocabulary as a JSON list of tokens (saved beside a model's checkpoint)."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(list(vocab.tokens), f, ensure_ascii=False)


def load_vocabulary(path: str | os.PathLike) -> Vocabulary:
    """Read a vocabulary written by :func:`save_vocabulary`."""
    with open(path, encoding="utf-8") as f:
        return vocabulary_from_tokens(json.load(f))
