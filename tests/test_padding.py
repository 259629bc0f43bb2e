"""Masks from token ids: NumPy references, and unrolls of the derived masks equal unrolls of the trimmed rows."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn.padding import embed_padded, lengths_from_padding, segment_ids_from_tokens

IDS = np.array([[5, 3, 1, 4, 0, 0], [2, 1, 2, 2, 9, 1], [0, 0, 0, 0, 0, 0]], np.int32)


def test_lengths_and_segments_match_numpy():
    want_len = [int(np.argmax(np.append(row, 0) == 0)) for row in IDS]
    np.testing.assert_array_equal(np.asarray(lengths_from_padding(jnp.asarray(IDS))), want_len)
    want_seg = np.zeros_like(IDS)
    for b, row in enumerate(IDS):
        seg = 1
        for t, tok in enumerate(row[: want_len[b]]):
            want_seg[b, t] = seg
            seg += tok == 1
    np.testing.assert_array_equal(np.asarray(segment_ids_from_tokens(jnp.asarray(IDS), eos_id=1)), want_seg)
    one = np.asarray(segment_ids_from_tokens(jnp.asarray(IDS)))
    np.testing.assert_array_equal(one, (np.arange(6)[None] < np.array(want_len)[:, None]).astype(np.int32))


def test_other_pad_id_and_jit():
    ids = jnp.array([[7, 7, 9, 9], [1, 9, 9, 9]])
    np.testing.assert_array_equal(
        np.asarray(jax.jit(lambda i: lengths_from_padding(i, pad_id=9))(ids)), [2, 1]
    )


def test_unroll_with_derived_lengths_equals_trimmed_rows():
    emb = jaxrnn.embedding(10, 3)
    emb_params = emb.init(jax.random.key(0))
    tokens = embed_padded(emb, emb_params, jnp.asarray(IDS))
    cell = jaxrnn.gru_cell(4)
    params = cell.init(jax.random.key(1), 3)
    ys, state = jaxrnn.dynamic_unroll(cell, params, tokens.inputs, sequence_length=tokens.sequence_length)
    for b, n in enumerate([4, 6]):
        want_y, want_state = jaxrnn.dynamic_unroll(
            cell, params, emb.lookup(emb_params, jnp.asarray(IDS[b : b + 1, :n]))
        )
        np.testing.assert_allclose(np.asarray(ys[b, :n]), np.asarray(want_y[0]), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(np.asarray(state[b]), np.asarray(want_state[0]), rtol=1e-6, atol=1e-6)
    assert np.all(np.asarray(tokens.inputs)[0, 4:] == 0) and np.all(np.asarray(ys)[2] == 0)
    # the padding row gets no gradient
    grad = jax.grad(lambda p: jnp.sum(embed_padded(emb, p, jnp.asarray(IDS)).inputs ** 2))(emb_params)
    assert np.all(np.asarray(grad["embeddings"])[0] == 0) and np.any(np.asarray(grad["embeddings"])[5] != 0)


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"pad_id=0 only at the end of a row.*ids\[0, 2\]"):
        lengths_from_padding(jnp.array([[3, 0, 4]]))
    with pytest.raises(TypeError, match="ids must be an integer array"):
        lengths_from_padding(jnp.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"ids must have rank 2 \[batch, time\]"):
        lengths_from_padding(jnp.zeros((2,), jnp.int32))
    with pytest.raises(ValueError, match="eos_id must be an int other than pad_id"):
        segment_ids_from_tokens(jnp.asarray(IDS), eos_id=0)
    with pytest.raises(TypeError, match="embedding must be a jaxrnn Embedding"):
        embed_padded(jaxrnn.gru_cell(3), {}, jnp.asarray(IDS))
