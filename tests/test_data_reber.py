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


def test_splits_never_share_a_string_whatever_the_seeds():
    sets = {
        split: reber.reber_dataset(1500, seed=seed, split=split, long_fraction=0.25, max_length=64)
        for split, seed in (("train", 0), ("validation", 0), ("test", 7))
    }
    seen = {split: set(data.strings) for split, data in sets.items()}
    assert not seen["train"] & seen["test"] and not seen["train"] & seen["validation"]
    assert not seen["validation"] & seen["test"]
    for split, data in sets.items():
        assert all(reber.split_of(s) == split for s in data.strings)
        assert 0.45 < data.labels.mean() < 0.55
        for s, label in zip(data.strings, data.labels):
            assert bool(EMBEDDED.match(s)) == bool(label), s
    # the split is a fixed share of the distinct strings (about 10% test), not of draws
    distinct = {reber.embedded_reber_string(np.random.default_rng(i)) for i in range(3000)}
    share = np.mean([reber.split_of(s) == "test" for s in distinct])
    assert 0.05 < share < 0.15, share


def test_long_range_twin_breaks_only_the_t_p_agreement():
    rng = np.random.default_rng(2)
    for _ in range(200):
        s = reber.embedded_reber_string(rng)
        twin = reber.long_range_twin(s)
        assert EMBEDDED.match(s) and not EMBEDDED.match(twin)
        assert sum(a != b for a, b in zip(s, twin)) == 1 and twin[-2] != s[1]
        assert reber.long_range_twin(twin) == s and reber.split_of(twin) == reber.split_of(s)


def test_long_range_pairs_are_valid_strings_then_their_twins():
    data = reber.long_range_pairs(
        100, seed=1, split="test", min_length=30, max_length=60, loop_probability=0.8
    )
    valid, twins = data.strings[:100], data.strings[100:]
    assert data.labels.tolist() == [1] * 100 + [0] * 100 and data.inputs.shape == (200, 60, 7)
    assert all(30 <= len(s) <= 60 and EMBEDDED.match(s) for s in valid)
    assert twins == [reber.long_range_twin(s) for s in valid]
    assert all(reber.split_of(s) == "test" for s in data.strings)


def test_loop_probability_draws_longer_valid_strings():
    rng = np.random.default_rng(0)
    plain = [reber.embedded_reber_string(rng) for _ in range(2000)]
    long = [reber.embedded_reber_string(rng, loop_probability=0.8) for _ in range(2000)]
    assert all(EMBEDDED.match(s) for s in long)
    # the grammar's median is 11 symbols; taking the longer branch 80% of the time roughly doubles it
    assert np.median([len(s) for s in plain]) <= 12 and np.median([len(s) for s in long]) >= 18


def test_bad_split_and_sampling_arguments():
    with pytest.raises(
        ValueError, match=r"split must be None or one of \['train', 'validation', 'test'\]; got 'dev'"
    ):
        reber.reber_dataset(4, split="dev")
    with pytest.raises(ValueError, match=r"long_fraction must be a number in \[0, 1\]; got 2"):
        reber.reber_dataset(4, long_fraction=2)
    with pytest.raises(ValueError, match=r"loop_probability must be None or a float in \[0, 1\); got 1.0"):
        reber.embedded_reber_string(np.random.default_rng(0), loop_probability=1.0)
    with pytest.raises(ValueError, match=r"min_length must be an int in \[9, max_length=40\]; got 50"):
        reber.long_range_pairs(4, min_length=50)
    with pytest.raises(ValueError, match="s must end with T or P before its last symbol.*got 'BTBTXSEXE'"):
        reber.long_range_twin("BTBTXSEXE")
