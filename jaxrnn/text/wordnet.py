"""WordNet 3.0 database reader (``wndb`` format): gloss corpus and human word relations.

A line of ``data.noun`` / ``data.verb`` / ``data.adj`` / ``data.adv`` reads (wndb(5WN))::

    offset lex_filenum ss_type w_cnt word lex_id [word lex_id ...] p_cnt [ptr ...] [frames] | gloss

with ``w_cnt`` two hex digits, ``p_cnt`` three decimal digits and each pointer
``symbol offset pos source/target`` (``source/target`` four hex digits: ``0000`` for a
relation between synsets, else the source and target word numbers). Lines starting with
two spaces are the licence header.

The **corpus** is the gloss text only (definitions and the quoted examples after ``|``);
the synset's own word list never enters it, because those synonym sets are the labels the
embeddings are evaluated against.
"""

from __future__ import annotations

import itertools
import os
import pathlib
import re
import zlib
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from jaxrnn.data.root import dataset_dir
from jaxrnn.text.vocab import NUM, URL, tokenize

PARTS = ("noun", "verb", "adj", "adv")
_QUOTED = re.compile(r'"([^"]*)"')
_ADJ_MARKER = re.compile(r"\((?:a|p|ip)\)$")


class Pointer(NamedTuple):
    """One relation of a synset: ``symbol`` (``!`` antonym, ``&`` similar to, ``@`` hypernym, ...)."""

    symbol: str
    offset: int
    pos: str  # n, v, a, s or r
    source: int  # word number in this synset, 0 for a relation between whole synsets
    target: int  # word number in the target synset, 0 likewise


class Synset(NamedTuple):
    """One line of a ``data.*`` file."""

    offset: int
    pos: str  # ss_type: n, v, a, s (adjective satellite) or r
    words: tuple[str, ...]  # as written in the file: "physical_entity", "able", "galore(ip)"
    pointers: tuple[Pointer, ...]
    gloss: str


def resolve_wordnet_dir(data_dir: str | os.PathLike | None) -> pathlib.Path:
    """``data_dir`` (or its ``wordnet/``), else ``$JAXRNN_DATA/wordnet``; ValueError if no ``data.*`` there.

    ``apt-get install wordnet-base`` puts the same files in ``/usr/share/wordnet``.
    """
    path = dataset_dir("wordnet", data_dir)
    if not any((path / f"data.{part}").is_file() for part in PARTS):
        raise ValueError(
            f"data_dir must hold WordNet's data.noun/data.verb/data.adj/data.adv; none found in {str(path)!r}"
        )
    return path


def parse_data_line(line: str) -> Synset:
    """Parse one synset line of a ``data.*`` file (see the module docstring for the layout).

    Raises:
      ValueError: the line does not follow the wndb layout.
    """
    head, bar, gloss = line.partition(" | ")
    if not bar:
        head, gloss = line.rstrip().removesuffix("|"), ""
    fields = head.split()
    try:
        offset, pos = int(fields[0]), fields[2]
        n_words = int(fields[3], 16)
        words = tuple(fields[4 : 4 + 2 * n_words : 2])
        i = 4 + 2 * n_words
        n_pointers = int(fields[i])
        pointers = []
        for j in range(i + 1, i + 1 + 4 * n_pointers, 4):
            symbol, target, target_pos, st = fields[j : j + 4]
            pointers.append(Pointer(symbol, int(target), target_pos, int(st[:2], 16), int(st[2:], 16)))
    except (IndexError, ValueError) as e:
        raise ValueError(f"not a wndb data line ({e}): {line[:80]!r}") from e
    if len(words) != n_words or len(pointers) != n_pointers or pos not in "nvasr":
        raise ValueError(f"not a wndb data line (truncated word or pointer list): {line[:80]!r}")
    return Synset(offset, pos, words, tuple(pointers), gloss.strip())


def read_synsets(lines: Iterable[str]) -> list[Synset]:
    """Parse the synset lines of one ``data.*`` file, skipping its licence header."""
    return [parse_data_line(line) for line in lines if line.strip() and not line.startswith("  ")]


def read_wordnet(data_dir: str | os.PathLike | None = None, parts: Sequence[str] = PARTS) -> list[Synset]:
    """Read the synsets of ``data.<part>`` for each part, in file order.

    Args:
      data_dir: the WordNet ``dict`` directory; default ``$JAXRNN_DATA/wordnet``.
      parts: a subset of ``("noun", "verb", "adj", "adv")``.
    """
    bad = [p for p in parts if p not in PARTS]
    if bad or not parts:
        raise ValueError(f"parts must be a non-empty subset of {PARTS}; got {tuple(parts)}")
    path = resolve_wordnet_dir(data_dir)
    synsets: list[Synset] = []
    missing = [f"data.{part}" for part in parts if not (path / f"data.{part}").is_file()]
    if missing:
        raise ValueError(f"data_dir {str(path)!r} lacks {', '.join(missing)} (pass parts=... to read fewer)")
    for part in parts:
        with open(path / f"data.{part}", encoding="utf-8") as f:
            synsets.extend(read_synsets(f))
    return synsets


def gloss_sentences(gloss: str) -> list[str]:
    """Split a gloss into its definitions (``;``-separated) and its quoted example sentences."""
    examples = _QUOTED.findall(gloss)
    definitions = _QUOTED.sub(" ", gloss).split(";")
    return [s.strip() for s in definitions + examples if s.strip()]


def corpus_tokens(text: str) -> list[str]:
    """Lower-cased word tokens of ``text`` (numbers as ``[NUM]``; punctuation and URLs dropped)."""
    return [t for t in tokenize(text) if t != URL and (t == NUM or t[0].isalnum())]


def gloss_corpus(synsets: Iterable[Synset]) -> list[list[str]]:
    """The corpus: one token list per definition or example sentence of every gloss, in file order."""
    corpus = []
    for synset in synsets:
        for sentence in gloss_sentences(synset.gloss):
            tokens = corpus_tokens(sentence)
            if tokens:
                corpus.append(tokens)
    return corpus


def lemma_token(word: str) -> str | None:
    """A synset word as a corpus token: lower-cased, adjective marker dropped; None if it is several words."""
    word = _ADJ_MARKER.sub("", word).lower()
    tokens = corpus_tokens(word.replace("_", " "))
    return tokens[0] if len(tokens) == 1 and tokens[0] == word else None


def split_of(synset: Synset) -> str:
    """``"validation"`` or ``"test"``: a fixed half of the synsets, by a hash of pos and offset."""
    return "validation" if zlib.crc32(f"{synset.pos}{synset.offset}".encode()) % 2 == 0 else "test"


def _pos_key(pos: str) -> str:
    return "a" if pos == "s" else pos  # satellites live in data.adj with the head adjectives


def _ordered(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def synonym_groups(synsets: Iterable[Synset]) -> list[tuple[str, ...]]:
    """Each synset's distinct one-token lemmas, for synsets that have at least two."""
    groups = []
    for synset in synsets:
        lemmas = tuple(dict.fromkeys(t for t in map(lemma_token, synset.words) if t is not None))
        if len(lemmas) >= 2:
            groups.append(lemmas)
    return groups


def synonym_pairs(synsets: Iterable[Synset]) -> set[tuple[str, str]]:
    """Unordered pairs ``(a, b)``, ``a < b``, of one-token lemmas that share a synset."""
    return {_ordered(a, b) for group in synonym_groups(synsets) for a, b in itertools.combinations(group, 2)}


def relation_pairs(
    synsets: Sequence[Synset], symbol: str, *, among: Iterable[Synset] | None = None
) -> set[tuple[str, str]]:
    """Unordered one-token lemma pairs joined by pointer ``symbol`` (``"!"`` antonym, ``"&"`` similar to).

    A lexical pointer (``source/target`` not ``0000``) joins its two words; a semantic one joins
    every word of the source synset with every word of the target.

    Args:
      synsets: all synsets the pointers may point into.
      symbol: the pointer symbol.
      among: the source synsets to take pointers from (default: all of ``synsets``).

    Returns:
      A set of ``(a, b)`` with ``a < b``.
    """
    index = {(_pos_key(s.pos), s.offset): s for s in synsets}
    pairs: set[tuple[str, str]] = set()
    for synset in synsets if among is None else among:
        for p in synset.pointers:
            if p.symbol != symbol:
                continue
            target = index.get((_pos_key(p.pos), p.offset))
            if target is None:
                continue
            if p.source and p.target:
                sources, targets = [synset.words[p.source - 1]], [target.words[p.target - 1]]
            else:
                sources, targets = list(synset.words), list(target.words)
            for a, b in itertools.product(map(lemma_token, sources), map(lemma_token, targets)):
                if a is not None and b is not None and a != b:
                    pairs.add(_ordered(a, b))
    return pairs
