"""A layer-normalized LSTM cell (Ba et al. 2016), with TF1 contrib ``LayerNormBasicLSTMCell``'s semantics."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxrnn.cells import Cell, LSTMState, Params

Array = jax.Array


def _check_units(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive int; got {value!r}")


def _normalize(v: Array, gamma: Array, beta: Array, epsilon: float) -> Array:
    """Layer norm over the last axis; ``gamma``, ``beta`` broadcast from the trailing axes."""
    mean = jnp.mean(v, axis=-1, keepdims=True)
    var = jnp.mean(jnp.square(v - mean), axis=-1, keepdims=True)
    lead = (1,) * (v.ndim - gamma.ndim)
    return (v - mean) * jax.lax.rsqrt(var + epsilon) * gamma.astype(v.dtype).reshape(
        lead + gamma.shape
    ) + beta.astype(v.dtype).reshape(lead + beta.shape)


def layer_norm_lstm_cell(
    num_units: int,
    forget_bias: float = 1.0,
    *,
    layer_norm: bool = True,
    norm_gain: float = 1.0,
    norm_shift: float = 0.0,
    epsilon: float = 1e-12,
    dropout_keep_prob: float = 1.0,
) -> Cell:
    """An LSTM whose gates and cell state are layer-normalized (TF1 ``LayerNormBasicLSTMCell``).

    Gate order in ``Wx``, ``Wh``, ``gamma`` and ``beta`` is **i, f, g, o**
    (jaxrnn's ``lstm_cell`` order; TF's kernel is ``i, j, f, o`` with ``j = g``)::

        z = x(t) Wx + h(t-1) Wh                          [B, 4H], blocks z_i, z_f, z_g, z_o
        LN(v; gamma, beta) = gamma * (v - mean(v)) / sqrt(var(v) + epsilon) + beta   over the H units
        i = LN(z_i), f = LN(z_f), g = LN(z_g), o = LN(z_o)       each with its own gamma, beta
        c(t) = sigmoid(f + forget_bias) * c(t-1) + sigmoid(i) * dropout(tanh(g))
        c(t) = LN(c(t); gamma_c, beta_c)
        h(t) = tanh(c(t)) * sigmoid(o)

    With ``layer_norm=False`` every ``LN`` is the identity and a bias ``b: [4H]``
    is added to ``z`` instead: a plain LSTM (``lstm_cell``). The dropout is on
    the candidate only (recurrent dropout without memory loss, Semeniuta et
    al. 2016), active when ``training=True`` and ``dropout_keep_prob < 1``,
    with ``fold_in(key, time_step)``, as in TF.

    Args:
      num_units: H.
      forget_bias: added to the forget gate before the sigmoid.
      layer_norm: normalize (default) or not.
      norm_gain, norm_shift: initial values of every ``gamma`` and ``beta``.
      epsilon: added to the variance; TF's ``layer_norm`` uses 1e-12.
      dropout_keep_prob: in ``(0, 1]``.

    Returns:
      A :class:`~jaxrnn.Cell` with params ``{"Wx": [F, 4H], "Wh": [H, 4H],
      "gamma", "beta": [4, H], "gamma_c", "beta_c": [H]}`` (``"b": [4H]``
      instead of the norms when ``layer_norm=False``) and state
      :class:`~jaxrnn.LSTMState` ``(c, h)``.
    """
    _check_units("num_units", num_units)
    if not isinstance(layer_norm, bool):
        raise TypeError(f"layer_norm must be a bool; got {layer_norm!r}")
    if not epsilon >= 0:
        raise ValueError(f"epsilon must be >= 0; got {epsilon!r}")
    if not 0 < dropout_keep_prob <= 1:
        raise ValueError(f"dropout_keep_prob must lie in (0, 1]; got {dropout_keep_prob!r}")
    H = num_units

    def init(key: Array, input_size: int, dtype: Any = jnp.float32) -> Params:
        if not isinstance(input_size, int) or isinstance(input_size, bool) or input_size <= 0:
            raise ValueError(f"input_size must be a positive int; got {input_size!r}")
        kx, kh = jax.random.split(key)
        orthogonal = jax.nn.initializers.orthogonal()
        params = {
            "Wx": jax.nn.initializers.glorot_uniform()(kx, (input_size, 4 * H), dtype),
            # one orthogonal block per gate, as lstm_cell does
            "Wh": jnp.concatenate([orthogonal(k, (H, H), dtype) for k in jax.random.split(kh, 4)], axis=1),
        }
        if layer_norm:
            params["gamma"] = jnp.full((4, H), norm_gain, dtype)
            params["beta"] = jnp.full((4, H), norm_shift, dtype)
            params["gamma_c"] = jnp.full((H,), norm_gain, dtype)
            params["beta_c"] = jnp.full((H,), norm_shift, dtype)
        else:
            params["b"] = jnp.zeros((4 * H,), dtype)
        return params

    def zero_state(batch_size: int, dtype: Any = jnp.float32) -> LSTMState:
        if not isinstance(batch_size, int) or batch_size < 0:
            raise ValueError(f"batch_size must be a non-negative int; got {batch_size!r}")
        return LSTMState(jnp.zeros((batch_size, H), dtype), jnp.zeros((batch_size, H), dtype))

    def apply(params, state, x, *, key=None, training=False, time_step=0):
        c_prev, h_prev = state
        z = x @ params["Wx"].astype(x.dtype) + h_prev @ params["Wh"].astype(x.dtype)
        if layer_norm:
            gates = _normalize(z.reshape(*z.shape[:-1], 4, H), params["gamma"], params["beta"], epsilon)
            zi, zf, zg, zo = (gates[..., k, :] for k in range(4))
        else:
            z = z + params["b"].astype(z.dtype).reshape((1,) * (z.ndim - 1) + (4 * H,))
            zi, zf, zg, zo = jnp.split(z, 4, axis=-1)
        g = jnp.tanh(zg)
        if dropout_keep_prob < 1 and training is not False:
            if key is None:
                raise ValueError("key is required when training with dropout_keep_prob < 1; got key=None")
            keep = jax.random.bernoulli(jax.random.fold_in(key, time_step), dropout_keep_prob, g.shape)
            dropped = jnp.where(keep, g / dropout_keep_prob, jnp.zeros_like(g))
            g = jnp.where(training, dropped, g)  # training may be a traced bool
        c = jax.nn.sigmoid(zf + forget_bias) * c_prev + jax.nn.sigmoid(zi) * g
        if layer_norm:
            c = _normalize(c, params["gamma_c"], params["beta_c"], epsilon)
        h = jnp.tanh(c) * jax.nn.sigmoid(zo)
        return LSTMState(c, h), h

    return Cell(
        init=init,
        zero_state=zero_state,
        apply=apply,
        output_size=H,
        state_size=LSTMState(H, H),  # type: ignore[arg-type]  # sizes, as lstm_cell's
        input_size=lambda params: params["Wx"].shape[0],
    )
