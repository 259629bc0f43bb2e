"""Bucketing: pairs grouped by length, padded with ``<pad>``, source reversed, target weights."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np

from jaxrnn.text.vocab import EOS_ID, GO_ID, PAD_ID


class Batch(NamedTuple):
    """One padded bucket (or a batch drawn from it); ``B`` pairs, source width ``S``, target width ``T``.

    Attributes:
      source: int32 ``[B, S]`` source ids, reversed within each length when requested, ``<pad>`` after.
      source_length: int32 ``[B]``.
      decoder_input: int32 ``[B, T]`` = ``<go>`` followed by the target (teacher forcing).
      target: int32 ``[B, T]`` = the target followed by ``<eos>``, then ``<pad>``.
      target_weights: float32 ``[B, T]``: 1.0 up to and including ``<eos>``, 0.0 on padding.
    """

    source: np.ndarray
    source_length: np.ndarray
    decoder_input: np.ndarray
    target: np.ndarray
    target_weights: np.ndarray


def encode_source(ids_list: Sequence[Sequence[int]], width: int, *, reverse_source: bool = True):
    """Pad (and reverse, "I drink milk" -> "milk drink I") source id lists into ``([B, width], [B])``."""
    source = np.full((len(ids_list), width), PAD_ID, np.int32)
    lengths = np.zeros((len(ids_list),), np.int32)
    for i, ids in enumerate(ids_list):
        if not 1 <= len(ids) <= width:
            raise ValueError(f"source {i} must have 1 to {width} tokens; got {len(ids)}")
        source[i, : len(ids)] = ids[::-1] if reverse_source else ids
        lengths[i] = len(ids)
    return source, lengths


def make_batch(
    pairs: Sequence[tuple[Sequence[int], Sequence[int]]],
    source_width: int,
    target_width: int,
    *,
    reverse_source: bool = True,
) -> Batch:
    """Pad id pairs into one :class:`Batch`; ``target_width`` counts the ``<eos>``."""
    source, lengths = encode_source([s for s, _ in pairs], source_width, reverse_source=reverse_source)
    n = len(pairs)
    decoder_input = np.full((n, target_width), PAD_ID, np.int32)
    target = np.full((n, target_width), PAD_ID, np.int32)
    weights = np.zeros((n, target_width), np.float32)
    for i, (_, tgt) in enumerate(pairs):
        if len(tgt) + 1 > target_width:
            raise ValueError(
                f"target {i} needs {len(tgt) + 1} steps with <eos>; target_width is {target_width}"
            )
        decoder_input[i, : len(tgt) + 1] = [GO_ID, *tgt]
        target[i, : len(tgt) + 1] = [*tgt, EOS_ID]
        weights[i, : len(tgt) + 1] = 1.0
    return Batch(source, lengths, decoder_input, target, weights)


def auto_buckets(
    pairs: Sequence[tuple[Sequence[int], Sequence[int]]],
    quantiles: Sequence[float] = (0.2, 0.4, 0.6, 0.8, 0.95),
) -> list[tuple[int, int]]:
    """Bucket sizes from the data: ``(S_q, T_q)`` at each quantile of the source and of the target
    length (+1 for ``<eos>``), and the longest of each last, so every pair fits one.

    Source and target lengths of translations go together, so most pairs fit the bucket of their own
    quantile and little padding is computed; each size is one compiled shape of the training step.
    """
    src = np.array([len(s) for s, _ in pairs])
    tgt = np.array([len(t) + 1 for _, t in pairs])
    sizes = {
        (int(np.quantile(src, q, method="higher")), int(np.quantile(tgt, q, method="higher")))
        for q in quantiles
    }
    return sorted(sizes | {(int(src.max()), int(tgt.max()))})


def bucketize(
    pairs: Sequence[tuple[Sequence[int], Sequence[int]]],
    buckets: Sequence[tuple[int, int]] | None = None,
    *,
    reverse_source: bool = True,
) -> list[Batch]:
    """Put every id pair into the smallest bucket ``(source_width, target_width)`` it fits.

    Args:
      pairs: ``(source_ids, target_ids)`` without ``<go>``/``<eos>``.
      buckets: ``(S, T)`` sizes, as in TF's seq2seq tutorial ``[(5, 10), (10, 15), (20, 25), (40, 50)]``;
        ``T`` must leave room for ``<eos>``. None: :func:`auto_buckets`.
      reverse_source: reverse each source sentence (on by default, as in Sutskever et al. 2014).

    Returns:
      One :class:`Batch` per non-empty bucket, in bucket order.

    Raises:
      ValueError: a pair fits no bucket (so no pair is ever dropped silently).
    """
    if not pairs:
        raise ValueError("pairs must be non-empty; got 0 pairs")
    if buckets is None:
        buckets = auto_buckets(pairs)
    if any(len(b) != 2 or min(b) < 1 for b in buckets):
        raise ValueError(
            f"buckets must be (source_width, target_width) pairs of positive ints; got {buckets}"
        )
    buckets = sorted((int(b[0]), int(b[1])) for b in buckets)
    groups: list[list] = [[] for _ in buckets]
    for i, (s, t) in enumerate(pairs):
        for b, (sw, tw) in enumerate(buckets):
            if 1 <= len(s) <= sw and len(t) + 1 <= tw:
                groups[b].append((s, t))
                break
        else:
            raise ValueError(
                f"pair {i} (source {len(s)} tokens, target {len(t)} + <eos>) fits no bucket of {buckets}"
            )
    return [make_batch(g, sw, tw, reverse_source=reverse_source) for g, (sw, tw) in zip(groups, buckets) if g]


def batches(bucket_list: Sequence[Batch], batch_size: int, *, seed: int = 0) -> Iterator[Batch]:
    """Endless random batches: a bucket drawn in proportion to its size, then ``batch_size`` rows of it."""
    rng = np.random.default_rng(seed)
    sizes = np.array([len(b.source) for b in bucket_list], np.float64)
    while True:
        b = bucket_list[rng.choice(len(bucket_list), p=sizes / sizes.sum())]
        rows = rng.choice(len(b.source), size=batch_size, replace=len(b.source) < batch_size)
        yield Batch(*(x[rows] for x in b))
