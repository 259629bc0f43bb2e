"""Strict JAX numerics for every test, so silent broadcasting or promotion fails loudly."""

from __future__ import annotations

import pathlib

import jax
import pytest

jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_numpy_dtype_promotion", "strict")

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> pathlib.Path:
    """``../shared/data`` beside the repository; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"shared data not found at {SHARED_DATA} (the ../shared/data folder: mnist, translation, wordnet, "
            "timeseries; put it beside the repository to run this test)"
        )
    return SHARED_DATA


@pytest.fixture
def x64():
    """Run one test with float64 enabled (for NumPy float64 references and finite differences)."""
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", False)
