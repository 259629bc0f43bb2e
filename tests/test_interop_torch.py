"""PyTorch interop: jaxrnn runs torch's weights and matches torch's own outputs on the same inputs."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
import torch  # the [test] extra installs it: a missing torch is a broken install, not a skip

import jaxrnn
from jaxrnn.interop import from_torch, to_torch

B, T, F, H = 2, 5, 3, 4
KINDS = {
    "lstm": lambda **kw: torch.nn.LSTM(F, H, batch_first=True, **kw),
    "gru": lambda **kw: torch.nn.GRU(F, H, batch_first=True, **kw),
    "rnn_tanh": lambda **kw: torch.nn.RNN(F, H, batch_first=True, nonlinearity="tanh", **kw),
    "rnn_relu": lambda **kw: torch.nn.RNN(F, H, batch_first=True, nonlinearity="relu", **kw),
}


def _randomise(module: torch.nn.Module, seed: int) -> None:
    # default init is small; wider weights exercise the gate nonlinearities
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.rand(p.shape, generator=gen) * 1.2 - 0.6)


def _inputs(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(B, T, F)).astype(np.float32)


def _torch_out(module, x):
    with torch.no_grad():
        return module(torch.from_numpy(x))[0].numpy()


def _run_bidirectional(layers, x):
    # each layer: forward and backward over the previous layer's concatenated outputs, as torch does
    h = jnp.asarray(x)
    for (cell_fw, cell_bw), (p_fw, p_bw) in layers:
        (y_fw, y_bw), _ = jaxrnn.bidirectional_unroll(cell_fw, cell_bw, p_fw, p_bw, h)
        h = jnp.concatenate([y_fw, y_bw], axis=-1)
    return np.asarray(h)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("num_layers", [1, 2])
def test_unidirectional_matches_torch(kind, num_layers):
    module = KINDS[kind](num_layers=num_layers)
    _randomise(module, 1)
    x = _inputs()
    cell, params = from_torch(module.state_dict(), kind)
    if num_layers > 1:
        assert isinstance(params, tuple) and len(params) == num_layers
    y, _ = jaxrnn.dynamic_unroll(cell, params, jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(y), _torch_out(module, x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_bidirectional_two_layers_matches_torch(kind):
    module = KINDS[kind](num_layers=2, bidirectional=True)
    _randomise(module, 2)
    x = _inputs(1)
    layers = from_torch(module, kind)  # the module itself is accepted too
    assert len(layers) == 2
    np.testing.assert_allclose(_run_bidirectional(layers, x), _torch_out(module, x), rtol=1e-5, atol=1e-5)


def test_lstm_proj_size_and_no_bias_match_torch():
    module = torch.nn.LSTM(F, H, batch_first=True, proj_size=2, bias=False)
    _randomise(module, 3)
    x = _inputs(2)
    cell, params = from_torch(module.state_dict(), "lstm")
    assert cell.output_size == 2 and params["W_proj"].shape == (H, 2)
    y, _ = jaxrnn.dynamic_unroll(cell, params, jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(y), _torch_out(module, x), rtol=1e-5, atol=1e-5)


def test_export_jaxrnn_lstm_with_forget_bias_runs_in_torch():
    import jax

    cell = jaxrnn.stack_cells([jaxrnn.lstm_cell(H), jaxrnn.lstm_cell(H)])  # forget_bias=1.0 by default
    params = cell.init(jax.random.key(0), F)
    params = jax.tree.map(lambda p: p + 0.1, params)  # non-zero biases
    x = _inputs(3)
    module = torch.nn.LSTM(F, H, num_layers=2, batch_first=True)
    module.load_state_dict(to_torch(params, "lstm", forget_bias=1.0))
    y, _ = jaxrnn.dynamic_unroll(cell, params, jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(y), _torch_out(module, x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("bidirectional", [False, True])
def test_round_trip_is_exact(kind, bidirectional):
    module = KINDS[kind](num_layers=2, bidirectional=bidirectional)
    _randomise(module, 4)
    sd = module.state_dict()
    imported = from_torch(sd, kind)
    if bidirectional:
        exported = to_torch([p for _, p in imported], kind, bidirectional=True)
    else:
        exported = to_torch(imported[1], kind)
    assert set(exported) == set(sd)
    # LSTM/RNN biases are summed on import; torch's output only depends on the sum
    summed = kind != "gru"
    for key, value in sd.items():
        if summed and key.startswith("bias_hh"):
            continue
        if summed and key.startswith("bias_ih"):
            value = value + sd[key.replace("bias_ih", "bias_hh")]
        np.testing.assert_array_equal(exported[key].numpy(), value.numpy(), err_msg=key)
    # and import(export(import(sd))) == import(sd) exactly
    again = from_torch(exported, kind)
    leaves_again, leaves_first = _array_leaves(again), _array_leaves(imported)
    assert len(leaves_again) == len(leaves_first)
    for a, b in zip(leaves_again, leaves_first):
        np.testing.assert_array_equal(a, b)


def _array_leaves(tree):
    import jax

    # cells are NamedTuples of functions; keep only the parameter arrays
    return [np.asarray(leaf) for leaf in jax.tree.leaves(tree) if hasattr(leaf, "shape")]


def test_missing_key_is_named():
    sd = dict(torch.nn.LSTM(F, H, num_layers=2).state_dict())
    del sd["weight_hh_l1"]
    with pytest.raises(ValueError, match="missing key 'weight_hh_l1'"):
        from_torch(sd, "lstm")


def test_wrong_shape_is_named():
    sd = dict(torch.nn.GRU(F, H).state_dict())
    sd["weight_hh_l0"] = torch.zeros(3 * H, H + 1)
    with pytest.raises(ValueError, match=r"weight_hh_l0.*shape \(12, 4\); got \(12, 5\)"):
        from_torch(sd, "gru")


def test_unexpected_key_and_bad_kind():
    sd = dict(torch.nn.GRU(F, H).state_dict())
    with pytest.raises(ValueError, match="kind must be one of"):
        from_torch(sd, "transformer")
    sd["weight_hr_l0"] = torch.zeros(2, H)
    with pytest.raises(ValueError, match="weight_hr_l0.*only supported for kind='lstm'"):
        from_torch(sd, "gru")
    sd["running_mean"] = torch.zeros(2)
    with pytest.raises(ValueError, match="unexpected key 'running_mean'"):
        from_torch(sd, "gru")


def test_export_rejects_peepholes_and_gru_without_bh():
    import jax

    params = jaxrnn.lstm_cell(H, use_peepholes=True).init(jax.random.key(0), F)
    with pytest.raises(ValueError, match="peephole"):
        to_torch(params, "lstm")
    params = jaxrnn.gru_cell(H).init(jax.random.key(0), F)
    with pytest.raises(ValueError, match="reset_after=True"):
        to_torch(params, "gru")
