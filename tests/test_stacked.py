"""Stacked bidirectional RNNs: PyTorch's bidirectional num_layers=2 side by side, and each merge mode by hand."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn.interop import from_torch
from jaxrnn.stacked import (
    init_stacked_bidirectional,
    merge,
    split_layers,
    stacked_bidirectional_unroll,
)

torch = pytest.importorskip("torch", reason="PyTorch not installed (pip install 'jaxrnn[interop]')")

B, T, F, H = 3, 6, 4, 5
LENGTHS = np.array([6, 2, 4])


def _torch_module(kind):
    torch.manual_seed(0)
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind]
    module = cls(F, H, num_layers=2, bidirectional=True, batch_first=True)
    with torch.no_grad():  # wider than the default init, so the gates saturate differently
        for p in module.parameters():
            p.uniform_(-0.6, 0.6)
    return module


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_matches_torch_packed_bidirectional_two_layers(kind):
    module = _torch_module(kind)
    x = np.random.default_rng(0).normal(size=(B, T, F)).astype(np.float32)
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        torch.from_numpy(x), torch.from_numpy(LENGTHS), batch_first=True, enforce_sorted=False
    )
    with torch.no_grad():
        out, state = module(packed)
    want_y, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)
    h_n = (state[0] if kind == "lstm" else state).numpy()  # [num_layers * 2, B, H]

    layers, params = split_layers(from_torch(module.state_dict(), kind))
    y, finals = stacked_bidirectional_unroll(
        layers, params, jnp.asarray(x), sequence_length=jnp.asarray(LENGTHS)
    )
    np.testing.assert_allclose(np.asarray(y), want_y.numpy(), rtol=1e-5, atol=1e-5)
    for layer in range(2):
        for direction in range(2):
            got = finals[layer][direction]
            got_h = got.h if kind == "lstm" else got
            np.testing.assert_allclose(np.asarray(got_h), h_n[2 * layer + direction], rtol=1e-5, atol=1e-5)
            if kind == "lstm":
                np.testing.assert_allclose(
                    np.asarray(got.c), state[1].numpy()[2 * layer + direction], rtol=1e-5, atol=1e-5
                )


@pytest.mark.parametrize("mode", ["concat", "sum", "mul", "ave"])
def test_each_layer_reads_the_previous_merged_outputs(x64, mode):
    layers = [(jaxrnn.gru_cell(H), jaxrnn.lstm_cell(H)), (jaxrnn.lstm_cell(H), jaxrnn.gru_cell(H))]
    params = init_stacked_bidirectional(layers, jax.random.key(1), F, merge_mode=mode, dtype=jnp.float64)
    x = jnp.asarray(np.random.default_rng(1).normal(size=(B, T, F)))
    lengths = jnp.asarray(LENGTHS)
    y, finals = stacked_bidirectional_unroll(layers, params, x, merge_mode=mode, sequence_length=lengths)
    # by hand: two bidirectional_unroll calls, merged with NumPy
    combine = {
        "concat": lambda a, b: np.concatenate([a, b], -1),
        "sum": np.add,
        "mul": np.multiply,
        "ave": lambda a, b: (a + b) / 2,
    }[mode]
    h = x
    for (cf, cb), (pf, pb), got in zip(layers, params, finals):
        (yf, yb), want = jaxrnn.bidirectional_unroll(cf, cb, pf, pb, h, sequence_length=lengths, fused=False)
        h = jnp.asarray(combine(np.asarray(yf), np.asarray(yb)))
        for u, v in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
            np.testing.assert_allclose(np.asarray(u), np.asarray(v), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.asarray(y), np.asarray(h), rtol=1e-10, atol=1e-12)
    assert y.shape == (B, T, 2 * H if mode == "concat" else H)
    assert np.all(np.asarray(y)[1, 2:] == 0)


def test_bad_inputs():
    layers = [(jaxrnn.gru_cell(H), jaxrnn.gru_cell(H))] * 2
    params = init_stacked_bidirectional(layers, jax.random.key(0), F)
    x = jnp.zeros((B, T, F))
    with pytest.raises(ValueError, match="merge_mode must be one of"):
        stacked_bidirectional_unroll(layers, params, x, merge_mode="max")
    with pytest.raises(ValueError, match="params must be a list of 2"):
        stacked_bidirectional_unroll(layers, params[:1], x)
    with pytest.raises(ValueError, match="needs equal output sizes"):
        stacked_bidirectional_unroll(
            [(jaxrnn.gru_cell(H), jaxrnn.gru_cell(H + 1))], params[:1], x, merge_mode="sum"
        )
    with pytest.raises(TypeError, match=r"layers\[0\] must be a \(cell_fw, cell_bw\) pair"):
        stacked_bidirectional_unroll([jaxrnn.gru_cell(H)], params[:1], x)
    with pytest.raises(ValueError, match="feature size must match params"):
        # the second layer was made for concat (2H inputs), not sum (H)
        stacked_bidirectional_unroll(layers, params, x, merge_mode="sum")
    with pytest.raises(ValueError, match="merge_mode must be one of"):
        merge(x, x, "first")
