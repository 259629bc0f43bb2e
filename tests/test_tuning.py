"""``tune_unroll``: picks an ``unroll`` by timing each candidate, caches the choice, rejects bad input."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import pytest

import jaxrnn
from jaxrnn import tuning


@pytest.fixture(autouse=True)
def empty_cache():
    jaxrnn.clear_unroll_cache()
    yield
    jaxrnn.clear_unroll_cache()


def _setup():
    cell = jaxrnn.gru_cell(8)
    params = cell.init(jax.random.key(0), 3)
    return cell, params, jnp.ones((4, 6, 3))


def test_times_every_candidate_and_returns_one_of_them():
    cell, params, x = _setup()
    choice = jaxrnn.tune_unroll(cell, params, x, candidates=(1, 3), repeats=2)
    assert set(choice.median_ms) == {1, 3}
    assert all(ms > 0 for ms in choice.median_ms.values())
    assert choice.unroll in (1, 3)
    assert choice.median_ms[choice.unroll] <= 1.05 * min(choice.median_ms.values())


@pytest.mark.parametrize(
    ("median_ms", "tolerance", "want"),
    [
        ({1: 10.0, 2: 9.0, 4: 5.0}, 0.05, 4),  # clearly fastest
        ({1: 10.0, 2: 9.8, 4: 9.7}, 0.05, 1),  # all within 5% of the fastest: the smallest
        ({1: 10.0, 2: 9.0, 4: 8.9}, 0.05, 2),  # 2 is within 5% of 4
        ({1: 10.0, 2: 9.0, 4: 8.9}, 0.0, 4),
    ],
)
def test_the_smallest_unroll_within_tolerance_of_the_fastest_wins(monkeypatch, median_ms, tolerance, want):
    cell, params, x = _setup()
    monkeypatch.setattr(tuning, "_median_ms", lambda runs, repeats: {u: median_ms[u] for u in runs})
    choice = jaxrnn.tune_unroll(cell, params, x, candidates=tuple(median_ms), tolerance=tolerance, repeats=1)
    assert choice == (want, median_ms)


def test_the_choice_is_cached_per_shape_and_setting(monkeypatch):
    cell, params, x = _setup()
    calls = []

    def fake_median(runs, repeats):
        calls.append(sorted(runs))
        return {u: float(u) for u in runs}

    monkeypatch.setattr(tuning, "_median_ms", fake_median)
    first = jaxrnn.tune_unroll(cell, params, x, candidates=(1, 2))
    assert jaxrnn.tune_unroll(cell, params, x + 5.0, candidates=(1, 2)) is first  # values do not matter
    assert len(calls) == 1
    jaxrnn.tune_unroll(cell, params, jnp.ones((4, 9, 3)), candidates=(1, 2))  # another length: timed again
    jaxrnn.tune_unroll(cell, params, x, candidates=(1, 2), train=False)  # forward only: timed again
    assert len(calls) == 3
    jaxrnn.clear_unroll_cache()
    jaxrnn.tune_unroll(cell, params, x, candidates=(1, 2))
    assert len(calls) == 4


def test_with_sequence_length_and_forward_only():
    cell, params, x = _setup()
    choice = jaxrnn.tune_unroll(
        cell, params, x, sequence_length=jnp.array([6, 1, 3, 0]), candidates=(1, 2), repeats=1, train=False
    )
    assert choice.unroll in (1, 2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"candidates": ()}, "candidates must be a non-empty sequence of positive ints; got ()"),
        ({"candidates": (1, 0)}, "candidates must be a non-empty sequence of positive ints; got (1, 0)"),
        ({"candidates": 4}, "candidates must be a non-empty sequence of positive ints; got 4"),
        ({"repeats": 0}, "repeats must be a positive int; got 0"),
        ({"tolerance": 1.5}, "tolerance must be a number in [0, 1); got 1.5"),
    ],
)
def test_bad_settings_are_named(kwargs, match):
    cell, params, x = _setup()
    with pytest.raises(ValueError, match=re.escape(match)):
        jaxrnn.tune_unroll(cell, params, x, **kwargs)


@pytest.mark.parametrize("name", ["train", "remat"])
def test_flags_must_be_bools(name):
    cell, params, x = _setup()
    with pytest.raises(TypeError, match=f"{name} must be a bool; got 'yes'"):
        jaxrnn.tune_unroll(cell, params, x, **{name: "yes"})


def test_bad_inputs_fail_before_any_timing(monkeypatch):
    cell, params, _ = _setup()
    monkeypatch.setattr(tuning, "_median_ms", lambda runs, repeats: pytest.fail("timed bad input"))
    with pytest.raises(
        ValueError, match=re.escape("inputs feature size must match params (input_size=3); got 5")
    ):
        jaxrnn.tune_unroll(cell, params, jnp.ones((4, 6, 5)))
