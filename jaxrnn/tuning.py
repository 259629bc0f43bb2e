"""Pick ``dynamic_unroll``'s ``unroll`` for one cell and shape by timing it, once, and remember the choice.

The best ``unroll`` depends on the backend and shapes (on XLA:CPU usually 1,
bench/RESULTS.md; on GPUs larger values often pay). The choice is cached per
cell, shapes, dtypes, backend and setting; nothing is tuned behind the user's
back: pass it as ``dynamic_unroll(..., unroll=choice.unroll)``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxrnn import checks
from jaxrnn.cells import Cell, Params
from jaxrnn.unroll import dynamic_unroll

Array = jax.Array

_CACHE: dict[Any, UnrollChoice] = {}


class UnrollChoice(NamedTuple):
    """What :func:`tune_unroll` measured: the chosen ``unroll`` and each candidate's median milliseconds."""

    unroll: int
    median_ms: dict[int, float]


def tune_unroll(
    cell: Cell,
    params: Params,
    inputs: Array,
    *,
    sequence_length: Array | None = None,
    candidates: Sequence[int] = (1, 2, 4, 8, 16),
    train: bool = True,
    remat: bool = False,
    repeats: int = 5,
    tolerance: float = 0.05,
) -> UnrollChoice:
    """Time ``dynamic_unroll`` for each ``unroll`` in ``candidates``, in turns; return the choice (cached).

    Args:
      cell, params: as for :func:`jaxrnn.dynamic_unroll`.
      inputs: ``[batch, time, features]``, an array or a ``jax.ShapeDtypeStruct``
        (timed on zeros of its shape and dtype).
      sequence_length: ``[batch]`` or None (timed with every sequence full length).
      candidates: positive ints to try.
      train: time forward + backward (``jax.grad`` of the summed outputs with
        respect to ``params``) if True, else the forward pass only.
      remat: passed to ``dynamic_unroll``.
      repeats: timed calls per candidate (after one warm-up call each).
      tolerance: the smallest ``unroll`` whose median is within this fraction
        of the fastest wins (it compiles faster; the difference is noise).

    Returns:
      :class:`UnrollChoice` ``(unroll, median_ms)``.
    """
    values = tuple(candidates) if isinstance(candidates, (list, tuple)) else None
    if not values or any(isinstance(u, bool) or not isinstance(u, int) or u < 1 for u in values):
        raise ValueError(f"candidates must be a non-empty sequence of positive ints; got {candidates!r}")
    candidates = tuple(sorted(set(values)))
    checks.positive_int("repeats", repeats)
    if not (isinstance(tolerance, (int, float)) and 0 <= tolerance < 1):
        raise ValueError(f"tolerance must be a number in [0, 1); got {tolerance!r}")
    for name, flag in (("train", train), ("remat", remat)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be a bool; got {flag!r}")
    # the same checks dynamic_unroll makes, before any compilation
    jax.eval_shape(lambda p, x: dynamic_unroll(cell, p, x, sequence_length=sequence_length), params, inputs)
    key = (
        _hashable(cell),
        jax.tree.structure(params),
        tuple((leaf.shape, str(leaf.dtype)) for leaf in jax.tree.leaves(params)),
        (tuple(inputs.shape), str(inputs.dtype)),
        sequence_length is not None,
        train,
        remat,
        candidates,
        tolerance,
        jax.default_backend(),
    )
    if key not in _CACHE:
        # timed on zeros made once: values do not change the time, and shapes may be ShapeDtypeStructs
        p, x = jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), (params, inputs))
        full = (
            None if sequence_length is None else jnp.full(jnp.shape(sequence_length), x.shape[1], jnp.int32)
        )
        runs = {unroll: _compiled_call(cell, unroll, train, remat, p, x, full) for unroll in candidates}
        median_ms = _median_ms(runs, repeats)
        best = min(median_ms.values())
        chosen = min(u for u, ms in median_ms.items() if ms <= best * (1 + tolerance))
        _CACHE[key] = UnrollChoice(chosen, median_ms)
    return _CACHE[key]


def clear_unroll_cache() -> None:
    """Forget every :func:`tune_unroll` choice (e.g. after changing XLA flags)."""
    _CACHE.clear()


def _hashable(cell: Cell) -> Any:
    try:
        hash(cell)
    except TypeError:
        # a cell holding something unhashable: this very object, then
        return id(cell)
    return cell


def _compiled_call(cell: Cell, unroll: int, train: bool, remat: bool, *args: Any) -> Callable[[], Any]:
    """A zero-argument function that runs ``dynamic_unroll`` compiled on ``args``, and waits for it.

    Args:
      args: ``(params, inputs [B, T, F], sequence_length [B] or None)``.
    """

    def forward(p, x, lengths):
        return dynamic_unroll(cell, p, x, sequence_length=lengths, unroll=unroll, remat=remat)[0]

    fn = jax.jit(jax.grad(lambda *a: jnp.sum(forward(*a))) if train else forward)
    compiled = fn.lower(*args).compile()
    return lambda: jax.block_until_ready(compiled(*args))


def interleaved_times(
    fns: dict[Any, Callable[[], Any]], repeats: int, warmup: int = 1
) -> dict[Any, list[float]]:
    """Time each zero-argument function ``repeats`` times, taking turns in a rotating order.

    Load from other processes then hits every function alike, and none always runs right after the same other.

    Args:
      fns: name -> function that runs one call and waits for its results.
      repeats: timed calls per function.
      warmup: untimed calls per function first (compilation, caches).

    Returns:
      name -> list of ``repeats`` wall-clock times in seconds.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[Any, list[float]] = {name: [] for name in fns}
    names = list(fns)
    for round_ in range(repeats):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - start)
    return times


def _median_ms(runs: dict[int, Callable[[], Any]], repeats: int) -> dict[int, float]:
    """Median milliseconds per call of each candidate, timed taking turns."""
    return {u: 1e3 * statistics.median(ts) for u, ts in interleaved_times(runs, repeats).items()}
