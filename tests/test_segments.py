"""Packed rows (``segment_ids``) in ``static_unroll``, ``dynamic_unroll`` (fused and scan) and ``bidirectional_unroll``.

The reference is each segment unrolled on its own (``dynamic_unroll(fused=False)``
without ``segment_ids``, from the row's initial state), in float64: outputs,
every segment's final state and the gradients with respect to the parameters,
the inputs and the initial state must match.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from cell_configs import random_params, random_state, to_numpy_state
from numpy_reference import gru_step, lstm_step, np64

import jaxrnn
from jaxrnn import fused
from jaxrnn.segments import segment_lengths

# rows: three segments then padding, one segment filling the row, a 1-step segment then a long one,
# ids that repeat across non-adjacent segments (a boundary is a change, not a new value)
IDS = np.array(
    [
        [1, 1, 1, 2, 2, 3, 0, 0],
        [5, 5, 5, 5, 5, 5, 5, 5],
        [1, 2, 2, 2, 2, 2, 2, 0],
        [7, 7, 3, 3, 7, 7, 7, 7],
    ],
    np.int32,
)
B, T, F = IDS.shape[0], IDS.shape[1], 3
CELLS = {
    "lstm": lambda: jaxrnn.lstm_cell(4),
    "gru": lambda: jaxrnn.gru_cell(4),
    "basic": lambda: jaxrnn.basic_cell(4),
}
UNROLLERS = {
    "static": lambda *a, **k: jaxrnn.static_unroll(*a, **k),
    "dynamic_fused": lambda *a, **k: jaxrnn.dynamic_unroll(*a, fused=True, **k),
    "dynamic_scan": lambda *a, **k: jaxrnn.dynamic_unroll(*a, fused=False, **k),
}


def _setup(name):
    cell = CELLS[name]()
    params = jax.tree.map(lambda a: a.astype(jnp.float64), random_params(cell, jax.random.key(0), F))
    x = jax.random.normal(jax.random.key(1), (B, T, F), jnp.float64)
    h0 = jax.tree.map(lambda a: a.astype(jnp.float64), random_state(cell, jax.random.key(2), B))
    return cell, params, x, h0


def _loss(outputs, finals):
    # a nonlinear function of every output and of the final states, so each one's cotangent matters
    return jnp.sum(jnp.sin(outputs)) + sum(jnp.sum(leaf**2) for leaf in jax.tree.leaves(finals))


def _separate(cell, params, x, h0, reverse):
    """Each segment on its own: outputs [B, T, O] (zero at padding), last states per row, all segment finals."""
    outputs = jnp.zeros((B, T, cell.output_size), x.dtype)
    finals, per_segment = [], []
    for b, lengths in enumerate(segment_lengths(IDS)):
        start, row_h0, segs = 0, jax.tree.map(lambda a, b=b: a[b : b + 1], h0), []
        for n in lengths:
            y, s = jaxrnn.dynamic_unroll(
                cell,
                params,
                x[b : b + 1, start : start + n],
                initial_state=row_h0,
                reverse=reverse,
                fused=False,
            )
            outputs = outputs.at[b, start : start + n].set(y[0])
            segs.append(s)
            start += n
        finals.append(segs[-1])
        per_segment.append(segs)
    return outputs, jax.tree.map(lambda *a: jnp.concatenate(a), *finals), per_segment


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("name", sorted(CELLS))
def test_equals_separate_unrolls(x64, name, reverse):
    cell, params, x, h0 = _setup(name)
    ids = jnp.asarray(IDS)

    def reference(p, x, h0):
        outputs, finals, _ = _separate(cell, p, x, h0, reverse)
        return _loss(outputs, finals), (outputs, finals)

    # jitted: one compile of the whole reference instead of one per segment length
    (_, want), want_grads = jax.jit(jax.value_and_grad(reference, argnums=(0, 1, 2), has_aux=True))(
        params, x, h0
    )
    assert float(jnp.max(jnp.abs(want[0]))) > 0.1  # the reference is not trivially zero
    for unroller_name, unroller in UNROLLERS.items():

        def packed(p, x, h0, unroller=unroller):
            outputs, finals = unroller(cell, p, x, segment_ids=ids, initial_state=h0, reverse=reverse)
            return _loss(outputs, finals), (outputs, finals)

        (_, got), got_grads = jax.jit(jax.value_and_grad(packed, argnums=(0, 1, 2), has_aux=True))(
            params, x, h0
        )
        for g, w in zip(jax.tree.leaves((got, got_grads)), jax.tree.leaves((want, want_grads))):
            np.testing.assert_allclose(g, w, atol=1e-12, err_msg=f"{name} {unroller_name}")
        # padding: exact zeros, and no gradient reaches the padded inputs
        np.testing.assert_array_equal(np.asarray(got[0])[IDS == 0], 0.0)
        np.testing.assert_array_equal(np.asarray(got_grads[1])[IDS == 0], 0.0)
    assert (fused.unroll_path(cell, params) == "fused") == (name != "gru")


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_segment_final_states(x64, reverse):
    cell, params, x, h0 = _setup("lstm")
    _, _, per_segment = jax.jit(lambda p, x, h0: _separate(cell, p, x, h0, reverse))(params, x, h0)
    got = jaxrnn.segment_final_states(cell, params, x, segment_ids=IDS, initial_state=h0, reverse=reverse)
    assert got.h.shape == (B, 3, 4)
    checked = 0
    for b, segs in enumerate(per_segment):
        for k in range(3):
            for i, leaf in enumerate(jax.tree.leaves(got)):
                # rows with fewer than 3 segments get zeros in the missing entries
                want = np.asarray(jax.tree.leaves(segs[k])[i][0]) if k < len(segs) else np.zeros(4)
                np.testing.assert_allclose(leaf[b, k], want, atol=1e-12)
                checked += k < len(segs)
    assert checked == 2 * 9  # c and h of the 9 segments


def test_bidirectional_reverses_each_segment_within_itself(x64):
    cell, params, x, h0 = _setup("lstm")
    cell_bw = jaxrnn.basic_cell(3)
    params_bw = jax.tree.map(lambda a: a.astype(jnp.float64), random_params(cell_bw, jax.random.key(3), F))
    h0_bw = random_state(cell_bw, jax.random.key(4), B).astype(jnp.float64)

    def reference(pf, pb, x):
        out_fw, fin_fw, _ = _separate(cell, pf, x, h0, False)
        out_bw, fin_bw, _ = _separate(cell_bw, pb, x, h0_bw, True)
        return _loss(out_fw, fin_fw) + _loss(out_bw, fin_bw), (out_fw, out_bw, fin_fw, fin_bw)

    def packed(pf, pb, x):
        (out_fw, out_bw), (fin_fw, fin_bw) = jaxrnn.bidirectional_unroll(
            cell, cell_bw, pf, pb, x, segment_ids=IDS, initial_state_fw=h0, initial_state_bw=h0_bw
        )
        return _loss(out_fw, fin_fw) + _loss(out_bw, fin_bw), (out_fw, out_bw, fin_fw, fin_bw)

    want = jax.jit(jax.value_and_grad(reference, argnums=(0, 1, 2), has_aux=True))(params, params_bw, x)
    got = jax.jit(jax.value_and_grad(packed, argnums=(0, 1, 2), has_aux=True))(params, params_bw, x)
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_allclose(g, w, atol=1e-12)


def _numpy_packed(step, params, x, h0, reverse):
    """NumPy float64: each segment from its row's initial state, step by step (reversed within itself)."""
    p, x = np64(params), np.asarray(x, np.float64)
    outputs, finals = np.zeros((B, T, 4)), []
    for b, lengths in enumerate(segment_lengths(IDS)):
        start = 0
        for n in lengths:
            state = jax.tree.map(lambda a, b=b: a[b : b + 1], h0)
            for t in range(start, start + n)[::-1] if reverse else range(start, start + n):
                state, y = step(p, state, x[b : b + 1, t])
                outputs[b, t] = y[0]
            start += n
        finals.append(state)
    return outputs, jax.tree.map(lambda *a: np.concatenate(a), *finals)


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("name, step", [("lstm", lstm_step), ("gru", gru_step)])
def test_numpy_reference_time_major_and_list_inputs(name, step, reverse):
    """Float32 against NumPy float64: time-major arrays, the static list form, ``remat=True``."""
    cell = CELLS[name]()
    params = random_params(cell, jax.random.key(0), F)
    x = jax.random.normal(jax.random.key(1), (B, T, F))
    h0 = random_state(cell, jax.random.key(2), B)
    want_y, want_s = _numpy_packed(step, params, x, to_numpy_state(h0), reverse)
    kw = dict(segment_ids=IDS, initial_state=h0, reverse=reverse)
    y_tm, s_tm = jaxrnn.dynamic_unroll(cell, params, jnp.swapaxes(x, 0, 1), time_major=True, **kw)
    y_list, s_list = jaxrnn.static_unroll(cell, params, list(jnp.swapaxes(x, 0, 1)), **kw)
    y_remat, s_remat = jaxrnn.dynamic_unroll(cell, params, x, remat=True, **kw)
    for y, s in [(jnp.swapaxes(y_tm, 0, 1), s_tm), (jnp.stack(y_list, axis=1), s_list), (y_remat, s_remat)]:
        np.testing.assert_allclose(y, want_y, atol=1e-5)
        for g, w in zip(jax.tree.leaves(s), jax.tree.leaves(want_s)):
            np.testing.assert_allclose(g, w, atol=1e-5)


WRAPPED = {
    "stacked": lambda: jaxrnn.stack_cells([jaxrnn.lstm_cell(4), jaxrnn.basic_cell(3)]),
    "projected": lambda: jaxrnn.output_projection(jaxrnn.lstm_cell(4), 2),
}


@pytest.mark.parametrize("name", sorted(WRAPPED))
def test_fused_with_resets_across_backward_windows(x64, name):
    """The fused VJP over several backward windows (the first one partial) equals the masked scan's."""
    cell = WRAPPED[name]()
    params = jax.tree.map(lambda a: a.astype(jnp.float64), random_params(cell, jax.random.key(0), F))
    ids = IDS[:, :7]  # 7 steps: no divisor near the window size, so the first window is partial
    x = jax.random.normal(jax.random.key(1), (B, 7, F), jnp.float64)
    h0 = jax.tree.map(lambda a: a.astype(jnp.float64), random_state(cell, jax.random.key(2), B))
    assert fused.unroll_path(cell, params) == "fused"
    resets = jnp.swapaxes(jnp.asarray(ids[:, 1:] != ids[:, :-1]) & (ids[:, 1:] != 0), 0, 1)
    resets = jnp.concatenate([jnp.zeros((1, B), bool), resets])
    lengths = jnp.asarray((ids != 0).sum(1), jnp.int32)
    # 12 rows per window = 3 steps of batch 4: windows [0, 1), [1, 4), [4, 7)
    assert fused.window_steps(B, 7, 12) == 3

    def run(p, x, h0):
        s, ys = fused.fused_unroll(cell, p, jnp.swapaxes(x, 0, 1), h0, lengths, window_rows=12, resets=resets)
        return _loss(ys, s), ys

    def reference(p, x, h0):
        ys, s = jaxrnn.dynamic_unroll(cell, p, x, segment_ids=ids, initial_state=h0, fused=False)
        return _loss(jnp.swapaxes(ys, 0, 1), s), jnp.swapaxes(ys, 0, 1)

    got = jax.value_and_grad(run, argnums=(0, 1, 2), has_aux=True)(params, x, h0)
    want = jax.value_and_grad(reference, argnums=(0, 1, 2), has_aux=True)(params, x, h0)
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_allclose(g, w, atol=1e-12)


def test_jitted_inference_stops_at_the_longest_row():
    """Forward-only under jit (the fused loop's early-stopping path) gives the scan's numbers."""
    cell = jaxrnn.lstm_cell(4)
    params = random_params(cell, jax.random.key(0), F)
    x = jax.random.normal(jax.random.key(1), (B, T, F))
    ids = IDS.copy()
    ids[1, 6:] = 0  # every row now ends by step 7
    run = jax.jit(lambda x, ids: jaxrnn.dynamic_unroll(cell, params, x, segment_ids=ids))
    got = run(x, jnp.asarray(ids))
    want = jaxrnn.dynamic_unroll(cell, params, x, segment_ids=ids, fused=False)
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_allclose(g, w, atol=1e-6)


def test_reverse_sequence_within_segments():
    x = jnp.arange(T, dtype=jnp.float32)[:, None] * jnp.ones((1, B), jnp.float32)
    resets = jnp.swapaxes(jnp.asarray(np.diff(IDS, axis=1, prepend=IDS[:, :1]) != 0) & (IDS != 0), 0, 1)
    got = np.asarray(jaxrnn.reverse_sequence(x, jnp.asarray((IDS != 0).sum(1)), resets)).T
    want = [
        [2, 1, 0, 4, 3, 5, 6, 7],
        list(range(7, -1, -1)),
        [0, 6, 5, 4, 3, 2, 1, 7],
        [1, 0, 3, 2, 7, 6, 5, 4],
    ]
    np.testing.assert_array_equal(got, want)


BAD = [
    (IDS[:, :-1], ValueError, r"segment_ids must have shape \[batch, time\] = \(4, 8\); got shape \(4, 7\)"),
    (IDS.astype(np.float32), TypeError, "segment_ids must have an integer dtype; got float32"),
    (np.where(IDS == 3, -1, IDS), ValueError, r"segment_ids must be >= 0; got segment_ids\[0, 5\] = -1"),
    (np.concatenate([IDS[:, :1] * 0, IDS[:, 1:]], 1), ValueError, r"0 \(padding\) only at the end of a row"),
]


@pytest.mark.parametrize("unroller", ["static", "dynamic", "bidirectional"])
@pytest.mark.parametrize("ids, error, match", BAD, ids=["shape", "dtype", "negative", "zero_before_id"])
def test_bad_segment_ids(unroller, ids, error, match):
    cell = jaxrnn.basic_cell(2)
    params = cell.init(jax.random.key(0), F)
    x = jnp.ones((B, T, F))
    calls = {
        "static": lambda: jaxrnn.static_unroll(cell, params, x, segment_ids=ids),
        "dynamic": lambda: jaxrnn.dynamic_unroll(cell, params, x, segment_ids=ids),
        "bidirectional": lambda: jaxrnn.bidirectional_unroll(cell, cell, params, params, x, segment_ids=ids),
    }
    with pytest.raises(error, match=match):
        calls[unroller]()


@pytest.mark.parametrize("unroller", ["static", "dynamic", "bidirectional"])
def test_segment_ids_and_sequence_length_together(unroller):
    cell = jaxrnn.basic_cell(2)
    params = cell.init(jax.random.key(0), F)
    x = jnp.ones((B, T, F))
    both = dict(segment_ids=IDS, sequence_length=jnp.full((B,), T))
    calls = {
        "static": lambda: jaxrnn.static_unroll(cell, params, x, **both),
        "dynamic": lambda: jaxrnn.dynamic_unroll(cell, params, x, **both),
        "bidirectional": lambda: jaxrnn.bidirectional_unroll(cell, cell, params, params, x, **both),
    }
    with pytest.raises(ValueError, match="pass either sequence_length or segment_ids, not both"):
        calls[unroller]()


def test_pack_sequences_first_fit():
    lengths = [5, 3, 4, 2, 6, 1, 3]
    seqs = [
        np.full((n, 2), i + 1, np.float32) + np.arange(n, dtype=np.float32)[:, None]
        for i, n in enumerate(lengths)
    ]
    inputs, ids = jaxrnn.pack_sequences(seqs, 8)
    # first fit by hand (rows of 8): 5, 3 -> row 0; 4, 2 -> row 1; 6 -> row 2; 1 -> row 1 (2 left);
    # 3 -> row 3 (rows 0, 1, 2 have 0, 1, 2 steps left)
    want_ids = [
        [1, 1, 1, 1, 1, 2, 2, 2],
        [1, 1, 1, 1, 2, 2, 3, 0],
        [1, 1, 1, 1, 1, 1, 0, 0],
        [1, 1, 1, 0, 0, 0, 0, 0],
    ]
    np.testing.assert_array_equal(ids, want_ids)
    assert jaxrnn.packing_plan(lengths, 8) == [(0, 0), (0, 5), (1, 0), (1, 4), (2, 0), (1, 6), (3, 0)]
    assert inputs.shape == (4, 8, 2) and inputs.dtype == np.float32 and ids.dtype == np.int32
    for seq, (row, start) in zip(seqs, jaxrnn.packing_plan(lengths, 8)):
        np.testing.assert_array_equal(inputs[row, start : start + len(seq)], seq)
    np.testing.assert_array_equal(inputs[ids == 0], 0.0)
    assert segment_lengths(ids) == [[5, 3], [4, 2, 1], [6], [3]]


def test_pack_sequences_bad_input():
    with pytest.raises(ValueError, match="sequence 1 must have 1 to row_length=4 steps; got 5"):
        jaxrnn.pack_sequences([np.ones((2, 3)), np.ones((5, 3))], 4)
    with pytest.raises(ValueError, match="sequence 0 must have 1 to row_length=4 steps; got 0"):
        jaxrnn.pack_sequences([np.ones((0, 3))], 4)
    with pytest.raises(ValueError, match=r"sequences\[1\] must be \[T_i, ...\] like sequences\[0\]"):
        jaxrnn.pack_sequences([np.ones((2, 3)), np.ones((2, 4))], 4)
    with pytest.raises(ValueError, match="row_length must be a positive int; got 0"):
        jaxrnn.pack_sequences([np.ones((2, 3))], 0)
    with pytest.raises(ValueError, match="non-empty list"):
        jaxrnn.pack_sequences([], 4)
