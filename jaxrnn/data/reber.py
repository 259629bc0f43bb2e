"""The embedded Reber grammar (Géron ch. 14, exercise 7): valid strings, near-miss invalid strings, one-hot.

The inner Reber grammar is a 7-state automaton over ``BEPSTVX``; the embedded
grammar wraps an inner string as ``B T <inner> T E`` or ``B P <inner> P E``, so
a classifier must remember the second symbol until the second-to-last one.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

SYMBOLS = "BEPSTVX"
_INDEX = {c: i for i, c in enumerate(SYMBOLS)}
# state -> [(symbol, next state)]; None ends the string
_INNER = {
    0: [("B", 1)],
    1: [("T", 2), ("P", 3)],
    2: [("S", 2), ("X", 4)],
    3: [("T", 3), ("V", 5)],
    4: [("X", 3), ("S", 6)],
    5: [("P", 4), ("V", 6)],
    6: [("E", None)],
}


class ReberData(NamedTuple):
    """One-hot strings ``inputs [N, T, 7]`` float32, ``sequence_length [N]`` int32, ``labels [N]`` int32."""

    inputs: np.ndarray
    sequence_length: np.ndarray
    labels: np.ndarray
    strings: list[str]


def _inner_string(rng: np.random.Generator) -> str:
    out, state = [], 0
    while state is not None:
        choices = _INNER[state]
        symbol, state = choices[rng.integers(len(choices))]
        out.append(symbol)
    return "".join(out)


def embedded_reber_string(rng: np.random.Generator) -> str:
    """One random string of the embedded Reber grammar."""
    wrap = "TP"[rng.integers(2)]
    return f"B{wrap}{_inner_string(rng)}{wrap}E"


def _inner_accepts(s: str) -> bool:
    state = 0
    for i, c in enumerate(s):
        nxt = dict(_INNER[state]).get(c, "reject")
        if nxt == "reject":
            return False
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


def corrupted_reber_string(rng: np.random.Generator) -> str:
    """A near miss: a valid string with one symbol changed, half of the time the long-range T/P pair."""
    while True:
        s = list(embedded_reber_string(rng))
        if rng.random() < 0.5:
            s[-2] = (
                "P" if s[-2] == "T" else "T"
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


def reber_dataset(size: int, *, seed: int = 0, max_length: int = 40) -> ReberData:
    """``size`` strings, alternately valid (label 1) and near-miss invalid (label 0), shuffled.

    Args:
      size: N, the number of strings.
      seed: the NumPy generator's seed.
      max_length: T; longer strings are redrawn, so every string fits.

    Returns:
      :class:`ReberData` with ``inputs [N, T, 7]``, ``sequence_length [N]``, ``labels [N]``.
    """
    if not isinstance(size, int) or size <= 0:
        raise ValueError(f"size must be a positive int; got {size!r}")
    if not isinstance(max_length, int) or max_length < 9:
        raise ValueError(
            f"max_length must be an int >= 9 (the shortest embedded Reber string); got {max_length!r}"
        )
    rng = np.random.default_rng(seed)
    strings, labels = [], []
    for n in range(size):
        make = embedded_reber_string if n % 2 == 0 else corrupted_reber_string
        s = make(rng)
        while len(s) > max_length:
            s = make(rng)
        strings.append(s)
        labels.append(1 - n % 2)
    order = rng.permutation(size)
    strings = [strings[i] for i in order]
    x, lengths = one_hot_strings(strings, max_length)
    return ReberData(x, lengths, np.asarray(labels, np.int32)[order], strings)
