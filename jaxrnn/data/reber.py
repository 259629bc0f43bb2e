"""The embedded Reber grammar (Géron ch. 14, exercise 7): valid strings, near-miss invalid strings, one-hot.

The inner Reber grammar is a 7-state automaton over ``BEPSTVX``; the embedded
grammar wraps an inner string as ``B T <inner> T E`` or ``B P <inner> P E``, so
a classifier must remember the second symbol until the second-to-last one.

Held-out sets are really held out: every string belongs to exactly one split
(:func:`split_of`, a hash of the string with its second-to-last symbol set to
its second), so a test or validation string never occurs in a training set,
whatever the seeds and sizes; a valid string and its long-range twin
(:func:`long_range_twin`) share their split.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

SYMBOLS = "BEPSTVX"
SPLITS = ("train", "validation", "test")
_INDEX = {c: i for i, c in enumerate(SYMBOLS)}
# state -> [(symbol, next state)]; None ends the string. The first choice of states 2-5 stays
# on the longer path (a loop, or back to an earlier state), which loop_probability weights.
_INNER: dict[int, list[tuple[str, int | None]]] = {
    0: [("B", 1)],
    1: [("T", 2), ("P", 3)],
    2: [("S", 2), ("X", 4)],
    3: [("T", 3), ("V", 5)],
    4: [("X", 3), ("S", 6)],
    5: [("P", 4), ("V", 6)],
    6: [("E", None)],
}
# of 100 hash buckets: 10 test, 10 validation, 80 training
_BUCKETS = {"test": range(0, 10), "validation": range(10, 20), "train": range(20, 100)}


class ReberData(NamedTuple):
    """One-hot strings ``inputs [N, T, 7]`` float32, ``sequence_length [N]`` int32, ``labels [N]`` int32."""

    inputs: np.ndarray
    sequence_length: np.ndarray
    labels: np.ndarray
    strings: list[str]


def _inner_string(rng: np.random.Generator, loop_probability: float | None) -> str:
    out: list[str] = []
    state: int | None = 0
    while state is not None:
        choices = _INNER[state]
        if loop_probability is None or len(choices) == 1 or state == 1:
            symbol, state = choices[rng.integers(len(choices))]
        else:
            symbol, state = choices[0 if rng.random() < loop_probability else 1]
        out.append(symbol)
    return "".join(out)


def _check_loop_probability(loop_probability: float | None) -> None:
    if loop_probability is not None and not (
        isinstance(loop_probability, float) and 0.0 <= loop_probability < 1.0
    ):
        raise ValueError(f"loop_probability must be None or a float in [0, 1); got {loop_probability!r}")


def embedded_reber_string(rng: np.random.Generator, *, loop_probability: float | None = None) -> str:
    """One random string of the embedded Reber grammar.

    Args:
      rng: a NumPy generator.
      loop_probability: None draws every choice uniformly (the grammar's own distribution: median
        length 11, 0.15% of strings 30 or longer); a float takes the longer branch of states 2-5
        with this probability instead (0.8: median length 22, 10% over 48), still a valid string.
    """
    _check_loop_probability(loop_probability)
    wrap = "TP"[rng.integers(2)]
    return f"B{wrap}{_inner_string(rng, loop_probability)}{wrap}E"


def long_range_twin(s: str) -> str:
    """``s`` with its second-to-last symbol swapped T<->P: for a valid string, the long-range negative.

    Only the opening/closing agreement is broken, so a model that knows every local rule of the grammar
    but does not remember the second symbol cannot tell the twin from the valid string (it scores 50%
    on a set of both).
    """
    if len(s) < 4 or s[-2] not in "TP":
        raise ValueError(f"s must end with T or P before its last symbol, like 'BT...TE'; got {s!r}")
    return s[:-2] + ("P" if s[-2] == "T" else "T") + s[-1]


def split_of(s: str) -> str:
    """The split (``"train"``, ``"validation"`` or ``"test"``) a string belongs to, fixed by its content.

    The bucket is a SHA-256 hash of ``s`` with its second-to-last symbol replaced by its second, so that
    a valid string and its :func:`long_range_twin` fall in the same split; 80% of buckets train.
    """
    key = s[:-2] + s[1] + s[-1] if len(s) >= 4 else s
    bucket = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % 100
    return next(name for name, buckets in _BUCKETS.items() if bucket in buckets)


def _inner_accepts(s: str) -> bool:
    state = 0
    for i, c in enumerate(s):
        edges = dict(_INNER[state])
        if c not in edges:
            return False
        nxt = edges[c]
        if nxt is None:
            return i == len(s) - 1
        state = nxt
    return False


def is_embedded_reber(s: str) -> bool:
    """True when ``s`` belongs to the embedded Reber grammar."""
    return (
        len(s) >= 4
        and s[0] == "B"
        and s[-1] == "E"
        and s[1] in "TP"
        and s[-2] == s[1]
        and _inner_accepts(s[2:-2])
    )


def corrupted_reber_string(rng: np.random.Generator, *, loop_probability: float | None = None) -> str:
    """A near miss: a valid string with one symbol changed, half of the time the long-range T/P pair."""
    while True:
        s = list(embedded_reber_string(rng, loop_probability=loop_probability))
        if rng.random() < 0.5:
            s = list(
                long_range_twin("".join(s))
            )  # the hard negative: the closing symbol contradicts the opening
        else:
            i = rng.integers(len(s))
            s[i] = SYMBOLS[(_INDEX[s[i]] + 1 + rng.integers(len(SYMBOLS) - 1)) % len(SYMBOLS)]
        candidate = "".join(s)
        if not is_embedded_reber(candidate):  # a substitution can land on another valid string
            return candidate


def one_hot_strings(strings: list[str], max_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Encode strings over ``BEPSTVX`` as ``[N, max_length, 7]`` one-hot (zero-padded) and lengths ``[N]``."""
    x = np.zeros((len(strings), max_length, len(SYMBOLS)), np.float32)
    for n, s in enumerate(strings):
        if len(s) > max_length:
            raise ValueError(f"strings must be at most max_length={max_length} long; got {len(s)} for {s!r}")
        x[n, np.arange(len(s)), [_INDEX[c] for c in s]] = 1.0
    return x, np.array([len(s) for s in strings], np.int32)


def _draw(
    make: Callable[..., str],
    rng: np.random.Generator,
    split: str | None,
    min_length: int,
    max_length: int,
    loop_probability: float | None,
) -> str:
    """Draw ``make(rng)`` until the string fits ``[min_length, max_length]`` and belongs to ``split``."""
    while True:
        s = make(rng, loop_probability=loop_probability)
        if min_length <= len(s) <= max_length and (split is None or split_of(s) == split):
            return s


def _check_split(split: str | None) -> None:
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be None or one of {list(SPLITS)}; got {split!r}")


def _check_size_and_length(size: int, max_length: int) -> None:
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        raise ValueError(f"size must be a positive int; got {size!r}")
    if not isinstance(max_length, int) or max_length < 9:
        raise ValueError(
            f"max_length must be an int >= 9 (the shortest embedded Reber string); got {max_length!r}"
        )


def _encode(strings: list[str], labels: list[int], max_length: int) -> ReberData:
    x, lengths = one_hot_strings(strings, max_length)
    return ReberData(x, lengths, np.asarray(labels, np.int32), strings)


def reber_dataset(
    size: int,
    *,
    seed: int = 0,
    max_length: int = 40,
    split: str | None = None,
    long_fraction: float = 0.0,
    loop_probability: float = 0.8,
) -> ReberData:
    """``size`` strings, alternately valid (label 1) and near-miss invalid (label 0), shuffled.

    Half of the invalid strings are long-range negatives (:func:`long_range_twin` of a valid string), the
    other half a valid string with one random symbol changed.

    Args:
      size: N, the number of strings.
      seed: the NumPy generator's seed.
      max_length: T; longer strings are redrawn, so every string fits.
      split: ``"train"``, ``"validation"`` or ``"test"``: only strings of that split (:func:`split_of`),
        so sets of different splits never share a string; None draws from all strings.
      long_fraction: this fraction of the strings are drawn with ``loop_probability`` (long strings, so
        that a model sees its memory tested over long spans), the rest from the grammar's distribution.
      loop_probability: see :func:`embedded_reber_string`.

    Returns:
      :class:`ReberData` with ``inputs [N, T, 7]``, ``sequence_length [N]``, ``labels [N]``.
    """
    _check_size_and_length(size, max_length)
    _check_split(split)
    if not isinstance(long_fraction, (int, float)) or not 0 <= long_fraction <= 1:
        raise ValueError(f"long_fraction must be a number in [0, 1]; got {long_fraction!r}")
    _check_loop_probability(loop_probability)
    rng = np.random.default_rng(seed)
    strings, labels = [], []
    for n in range(size):
        make = embedded_reber_string if n % 2 == 0 else corrupted_reber_string
        loop = loop_probability if rng.random() < long_fraction else None
        strings.append(_draw(make, rng, split, 9, max_length, loop))
        labels.append(1 - n % 2)
    order = rng.permutation(size)
    return _encode([strings[i] for i in order], [labels[i] for i in order], max_length)


def long_range_pairs(
    size: int,
    *,
    seed: int = 0,
    split: str | None = "test",
    min_length: int = 9,
    max_length: int = 40,
    loop_probability: float | None = None,
) -> ReberData:
    """``size`` valid strings (label 1) followed by their long-range twins (label 0), in the same order.

    A model that ignores the long-range T/P agreement scores 50% here; one that always answers the same
    label scores 100% on one half and 0% on the other, so report each half.

    Args:
      size: P, the number of pairs (the data holds 2P strings: ``[:P]`` valid, ``[P:]`` twins).
      seed: the NumPy generator's seed.
      split: the split of every string (twins share their string's split); None: any string.
      min_length, max_length: the length range of the strings (T = ``max_length``).
      loop_probability: see :func:`embedded_reber_string` (e.g. 0.8 for long strings).

    Returns:
      :class:`ReberData` with ``inputs [2P, T, 7]``, ``sequence_length [2P]``, ``labels [2P]``.
    """
    _check_size_and_length(size, max_length)
    _check_split(split)
    _check_loop_probability(loop_probability)
    if not isinstance(min_length, int) or not 9 <= min_length <= max_length:
        raise ValueError(f"min_length must be an int in [9, max_length={max_length}]; got {min_length!r}")
    rng = np.random.default_rng(seed)
    valid = [
        _draw(embedded_reber_string, rng, split, min_length, max_length, loop_probability)
        for _ in range(size)
    ]
    return _encode(valid + [long_range_twin(s) for s in valid], [1] * size + [0] * size, max_length)
