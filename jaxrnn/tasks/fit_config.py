"""One training run of a task config: the run directory, :func:`jaxrnn.fit` with its flags, metrics, curves.

The image tasks (``video``, ``spell``) share it: a task supplies its model's
``init`` and loss, its batches and its held-out evaluation; this module turns
the config's run fields (``out``, ``restart``, ``minutes``, ``checkpoint_every``,
``seed``, ``quiet``) into the run.
"""

from __future__ import annotations

import dataclasses
import pathlib
import time
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import jax
import optax

from jaxrnn import runs, train
from jaxrnn.tasks.configs import RunConfig

# the fields that say how to run, not what is trained: left out of the saved config.json
RUN_ONLY = ("out", "restart", "minutes", "checkpoint_every", "quiet")


def learning_rate_schedule(config: Any, train_size: int) -> float | optax.Schedule:
    """``config.learning_rate``, constant or cosine-decayed to 0 over ``config.epochs`` epochs.

    Args:
      config: has ``learning_rate``, ``schedule`` (``"cosine"`` or ``"constant"``), ``epochs``,
        ``batch_size`` and ``train_size`` (a limit or None).
      train_size: the number of training examples before the limit.
    """
    if config.schedule == "constant":
        return config.learning_rate
    if config.schedule != "cosine":
        raise ValueError(f"schedule must be 'cosine' or 'constant'; got {config.schedule!r}")
    n = train_size if config.train_size is None else min(config.train_size, train_size)
    return optax.cosine_decay_schedule(config.learning_rate, max(config.epochs * (n // config.batch_size), 1))


class Run(NamedTuple):
    """A prepared run: its ``config``, ``out`` (the run directory or None), the PRNG ``key``,
    ``loss_fn`` and ``eval_fn`` (jitted: a batch's ``{"loss", **metrics}``)."""

    config: Any
    out: pathlib.Path | None
    key: jax.Array
    loss_fn: train.LossFn
    eval_fn: Callable[[Any, Any], dict]


def start_run(task: str, config: RunConfig, loss_fn: train.LossFn) -> Run:
    """Prepare ``config``'s run directory (refusing another run's; see :func:`jaxrnn.runs.prepare_run`)
    before any data is read."""
    key = jax.random.key(config.seed)
    saved = {k: v for k, v in dataclasses.asdict(config).items() if k not in RUN_ONLY}
    out = None
    if config.out is not None:
        out = runs.prepare_run(config.out, {"task": task, **saved}, restart=config.restart)
    eval_fn = jax.jit(lambda p, b: (lambda lm: {"loss": lm[0], **lm[1]})(loss_fn(p, b, key)))
    return Run(config, out, key, loss_fn, eval_fn)


def fit_run(
    run: Run,
    init: Callable[[jax.Array], Any],
    batches: Callable[[int], Iterable[Any]],
    eval_batches: Callable[[], Iterable[Any]],
    train_size: int,
) -> tuple[train.TrainState, dict, float]:
    """:func:`jaxrnn.fit` from ``init(key)`` with the config's optimizer, checkpoints and time budget.

    Returns:
      ``(state, history, start)``: ``start`` is ``time.perf_counter()`` before training.
    """
    c = run.config
    start = time.perf_counter()
    state, history = train.fit(
        run.loss_fn,
        init(jax.random.fold_in(run.key, 0)),
        batches,
        key=jax.random.fold_in(run.key, 1),
        epochs=c.epochs,
        optimizer=train.make_optimizer(learning_rate_schedule(c, train_size), clip_norm=5.0),
        eval_fn=run.eval_fn,
        eval_batches=eval_batches,
        checkpoint_dir=None if run.out is None else run.out / "checkpoints",
        checkpoint_every=c.checkpoint_every,
        restart=c.restart,
        minutes=c.minutes,
        quiet=c.quiet,
    )
    return state, history, start


def finish_run(run: Run, result: dict, start: float, title: str) -> dict:
    """``result`` with ``config`` and ``seconds`` since ``start``; writes ``metrics.json`` and the curves."""
    result = {"config": dataclasses.asdict(run.config), **result, "seconds": time.perf_counter() - start}
    if run.out is not None:
        runs.write_json(run.out / "metrics.json", {k: v for k, v in result.items() if k != "params"})
        from jaxrnn.plots import plot_training_curves

        plot_training_curves(result["history"], run.out / "training_curves.png", title=title)
    return result
