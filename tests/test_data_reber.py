"""Embedded Reber grammar: checked by an independent regular-expression recogniser written here."""

from __future__ import annotations

import re

import numpy as np
import pytest

from jaxrnn.data import reber

# the inner Reber automaton solved by hand into a regular expression (states 4 and 3 unrolled)
INNER = r"B(TS*X(XT*VP)*(XT*VV|S)|PT*V(P(XT*VP)*(XT*VV|S)|V))E"
EMBEDDED = re.compile(rf"^B(T{INNER}T|P{INNER}P)E$")


def test_recogniser_sanity():
    assert EMBEDDED.match("BTBTXSETE") and EMBEDDED.match("BPBPVVEPE")
    assert not EMBEDDED.match("BTBTXSEPE") and not EMBEDDED.match("BTBTXSTE")


def test_positives_accepted_negatives_rejected():
    data = reber.reber_dataset(600, seed=3, max_length=40)
    assert 0.45 < data.labels.mean() < 0.55
    for s, label in zip(data.strings, data.labels):
        assert bool(EMBEDDED.match(s)) == bool(label), s
        assert reber.is_embedded_reber(s) == bool(label)


def test_negatives_are_near_misses():
    rng = np.random.default_rng(0)
    hard = 0
    for _ in range(300):
        s = reber.corrupted_reber_string(rng)
        assert not EMBEDDED.match(s)
        # one substitution away from a valid string: some single change makes it valid
        fixes = [s[:i] + c + s[i + 1 :] for i in range(len(s)) for c in reber.SYMBOLS]
        assert any(EMBEDDED.match(f) for f in fixes), s
        hard += s[1] != s[-2] and bool(EMBEDDED.match(s[:-2] + s[1] + s[-1]))
    assert hard > 100  # about half are the long-range T/P mismatch


def test_one_hot_and_lengths():
    data = reber.reber_dataset(20, seed=1, max_length=30)
    assert data.inputs.shape == (20, 30, 7)
    for x, n, s in zip(data.inputs, data.sequence_length, data.strings):
        assert n == len(s) <= 30
        assert "".join(reber.SYMBOLS[i] for i in x[:n].argmax(-1)) == s
        assert np.all(x[:n].sum(-1) == 1) and np.all(x[n:] == 0)


def test_bad_input():
    with pytest.raises(ValueError, match="size must be a positive int; got 0"):
        reber.reber_dataset(0)
    with pytest.raises(ValueError, match="max_length must be an int >= 9"):
        reber.reber_dataset(4, max_length=5)
    with pytest.raises(ValueError, match="at most max_length=9 long; got 10"):
        reber.one_hot_strings(["BTBTXXVVETE"[:10]], 9)
