"""Keras 3 interop: jaxrnn runs Keras layers' weights and matches Keras (JAX backend) on the same inputs."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")  # must precede the keras import

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import keras  # noqa: E402  (the [test] extra installs it: a missing keras is a broken install)
import numpy as np  # noqa: E402
import pytest  # noqa: E402

# a failure, not a skip: these tests must run wherever the suite runs
assert keras.backend.backend() == "jax", (
    f"Keras backend is {keras.backend.backend()!r}; these tests need KERAS_BACKEND=jax (set before keras is imported)"
)

import jaxrnn  # noqa: E402
from jaxrnn.interop import from_keras, to_keras  # noqa: E402

B, T, F, H = 2, 5, 3, 4


def _keras_run(layer, x: np.ndarray) -> np.ndarray:
    # Keras's own code is not written for the strict promotion conftest sets for jaxrnn
    with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"):
        return np.asarray(layer(x))


def _build(kind: str, **kw):
    cls = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "simple_rnn": keras.layers.SimpleRNN}[kind]
    layer = cls(H, return_sequences=True, **kw)
    with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"):
        layer.build((B, T, F))
    rng = np.random.default_rng(5)
    layer.set_weights([rng.uniform(-0.6, 0.6, size=w.shape).astype(np.float32) for w in layer.get_weights()])
    return layer


CASES = [
    ("lstm", {}),
    ("gru", {}),  # reset_after=True, Keras 3's default
    ("gru", {"reset_after": False}),
    ("simple_rnn", {}),
    ("lstm", {"use_bias": False}),
]


@pytest.mark.parametrize(("kind", "kw"), CASES)
def test_matches_keras(kind, kw):
    layer = _build(kind, **kw)
    x = np.random.default_rng(0).normal(size=(B, T, F)).astype(np.float32)
    cell, params = from_keras(layer.get_weights(), kind)
    y, _ = jaxrnn.dynamic_unroll(cell, params, jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(y), _keras_run(layer, x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("kind", "kw"), CASES[:4])
def test_round_trip_is_exact(kind, kw):
    weights = _build(kind, **kw).get_weights()
    cell, params = from_keras(weights, kind)
    exported = to_keras(params, kind)
    assert len(exported) == len(weights)
    for a, b in zip(exported, weights):
        np.testing.assert_array_equal(a, b)


def test_export_jaxrnn_lstm_with_forget_bias_runs_in_keras():
    cell = jaxrnn.lstm_cell(H)  # forget_bias=1.0
    params = jax.tree.map(lambda p: p + 0.1, cell.init(jax.random.key(1), F))
    layer = _build("lstm")
    layer.set_weights(to_keras(params, "lstm", forget_bias=1.0))
    x = np.random.default_rng(1).normal(size=(B, T, F)).astype(np.float32)
    y, _ = jaxrnn.dynamic_unroll(cell, params, jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(y), _keras_run(layer, x), rtol=1e-5, atol=1e-5)


def test_bad_weights_are_named():
    weights = _build("gru").get_weights()
    with pytest.raises(
        ValueError, match=r"weights\[1\] \(recurrent_kernel\) must have shape \(4, 12\); got \(4, 16\)"
    ):
        from_keras([weights[0], np.zeros((H, 4 * H), np.float32), weights[2]], "gru")
    with pytest.raises(ValueError, match="got 1 arrays"):
        from_keras(weights[:1], "gru")
    with pytest.raises(ValueError, match="kind must be one of"):
        from_keras(weights, "conv")
    with pytest.raises(ValueError, match=r"no counterpart for params keys \['peephole_f'"):
        to_keras(jaxrnn.lstm_cell(H, use_peepholes=True).init(jax.random.key(0), F), "lstm")
