"""Independent float64 NumPy re-implementations of the cells and of TF's dynamic_rnn.

Written from the equations (Géron Eq. 14-2/3/4, TF1 LSTMCell/GRUCell, Keras
GRU reset_after), not from jaxrnn's code: tests compare jaxrnn against these.
"""

from __future__ import annotations

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def np64(tree):
    return {k: np.asarray(v, np.float64) for k, v in tree.items()}


def basic_step(p, h, x, activation=np.tanh, matmul=np.matmul):
    h = activation(matmul(x, p["Wx"]) + matmul(h, p["Wh"]) + p["b"])
    return h, h


def lstm_step(
    p, state, x, forget_bias=1.0, use_peepholes=False, cell_clip=None, num_proj=None, matmul=np.matmul
):
    c, h = state
    n = p["Wx"].shape[1] // 4
    z = matmul(x, p["Wx"]) + matmul(h, p["Wh"]) + p["b"]
    zi, zf, zg, zo = z[:, :n], z[:, n : 2 * n], z[:, 2 * n : 3 * n], z[:, 3 * n :]
    if use_peepholes:
        i = sigmoid(zi + p["peephole_i"] * c)
        f = sigmoid(zf + forget_bias + p["peephole_f"] * c)
    else:
        i = sigmoid(zi)
        f = sigmoid(zf + forget_bias)
    c_new = f * c + i * np.tanh(zg)
    if cell_clip is not None:
        c_new = np.minimum(np.maximum(c_new, -cell_clip), cell_clip)
    o = sigmoid(zo + p["peephole_o"] * c_new) if use_peepholes else sigmoid(zo)
    h_new = o * np.tanh(c_new)
    if num_proj is not None:
        h_new = matmul(h_new, p["W_proj"])
    return (c_new, h_new), h_new


def gru_step(p, h, x, reset_after=False, matmul=np.matmul):
    n = p["Wh"].shape[0]
    wx_r, wx_z, wx_g = p["Wx"][:, :n], p["Wx"][:, n : 2 * n], p["Wx"][:, 2 * n :]
    wh_r, wh_z, wh_g = p["Wh"][:, :n], p["Wh"][:, n : 2 * n], p["Wh"][:, 2 * n :]
    b_r, b_z, b_g = p["b"][:n], p["b"][n : 2 * n], p["b"][2 * n :]
    if reset_after:
        bh = p["bh"]
        r = sigmoid(matmul(x, wx_r) + b_r + matmul(h, wh_r) + bh[:n])
        z = sigmoid(matmul(x, wx_z) + b_z + matmul(h, wh_z) + bh[n : 2 * n])
        g = np.tanh(matmul(x, wx_g) + b_g + r * (matmul(h, wh_g) + bh[2 * n :]))
    else:
        r = sigmoid(matmul(x, wx_r) + matmul(h, wh_r) + b_r)
        z = sigmoid(matmul(x, wx_z) + matmul(h, wh_z) + b_z)
        g = np.tanh(matmul(x, wx_g) + matmul(r * h, wh_g) + b_g)
    h_new = z * h + (1.0 - z) * g
    return h_new, h_new


def dynamic_rnn(step, state, inputs, sequence_length=None, reverse=False):
    """TF dynamic_rnn semantics, one instance at a time, batch-major ``inputs: [B, T, F]``."""
    batch, time, _ = inputs.shape
    lengths = np.full(batch, time) if sequence_length is None else np.asarray(sequence_length)
    outputs = None
    finals = []
    for b in range(batch):
        s = _take(state, b)
        order = list(range(lengths[b]))
        if reverse:
            order = order[::-1]
        ys = {}
        for t in order:
            s, y = step(s, inputs[b : b + 1, t])
            ys[t] = y[0]
        if outputs is None:
            out_size = next(iter(ys.values())).shape[-1] if ys else _out_size(step, state, inputs)
            outputs = np.zeros((batch, time, out_size))
        for t, y in ys.items():
            outputs[b, t] = y
        finals.append(s)
    return outputs, _stack(finals)


def _out_size(step, state, inputs):
    _, y = step(_take(state, 0), inputs[0:1, 0])
    return y.shape[-1]


def _take(state, b):
    if isinstance(state, tuple):
        return tuple(_take(s, b) for s in state)
    return state[b : b + 1]


def _stack(states):
    if isinstance(states[0], tuple):
        return tuple(_stack([s[i] for s in states]) for i in range(len(states[0])))
    return np.concatenate(states, axis=0)
