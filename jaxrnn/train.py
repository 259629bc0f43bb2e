"""The training loop of every task: jitted steps, evaluation, checkpoints, exact resume, time budgets.

The model is a loss function ``loss_fn(params, batch, key) -> (loss, metrics)``
and the data a function ``batches(epoch) -> iterable of batches`` that gives the
same batches for the same epoch (so a resumed run sees exactly what an
uninterrupted run saw). Step ``s`` receives the key ``fold_in(key, s)``, so
randomness does not depend on where a run was resumed either.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import pathlib
import time
from collections.abc import Callable, Iterable, Mapping, Sized
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxrnn import checkpoint as ckpt
from jaxrnn import runs
from jaxrnn.progress import TrainingProgress, leading_dim, progress_bar
from jaxrnn.train_step import (
    Batch,
    LossFn,
    StepFn,
    TrainState,
    check_ema_decay,
    init_train_state,
    make_optimizer,
    make_train_step,
)

__all__ = [
    "NonFiniteLossError",
    "TrainState",
    "check_ema_decay",
    "evaluate",
    "fit",
    "init_train_state",
    "make_optimizer",
    "make_train_step",
    "progress_bar",
]

Array = jax.Array


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or inf; ``step`` is the step that produced it."""

    def __init__(self, message: str, step: int, last_checkpoint: pathlib.Path | None):
        super().__init__(message)
        self.step = step
        self.last_checkpoint = last_checkpoint


def evaluate(
    eval_fn: Callable[[Any, Batch], dict[str, Array]], params: Any, batches: Iterable[Batch]
) -> dict[str, float]:
    """Average ``eval_fn(params, batch) -> {name: batch mean}`` over ``batches``, weighted by batch size."""
    totals: dict[str, float] = {}
    count = 0
    for batch in batches:
        n = leading_dim(batch)
        for name, value in eval_fn(params, batch).items():
            totals[name] = totals.get(name, 0.0) + float(value) * n
        count += n
    if count == 0:
        raise ValueError("evaluation batches must not be empty; got no batch")
    return {name: total / count for name, total in totals.items()}


def _save(directory, state: TrainState, key: Array, position: tuple[int, int], logs: tuple, elapsed, keep):
    history, partial = logs
    tree = {
        "train_state": state,
        "key": jax.random.key_data(key),
        "epoch": position[0],
        "offset": position[1],
        # the running sums of the unfinished epoch, so a resumed epoch's averages are complete
        "history": json.dumps({"history": history, "partial": partial}),
        # training seconds so far, over all resumes: what a time budget (minutes=) counts
        "elapsed": float(elapsed),
    }
    return ckpt.save_checkpoint(directory, int(state.step), tree, max_to_keep=keep)


class _Resumed(NamedTuple):
    path: pathlib.Path
    state: TrainState
    key: Array
    epoch: int
    offset: int
    history: dict
    partial: dict
    elapsed: float


def _restore(checkpoint_dir, state: TrainState, key: Array, ema_decay: float | None) -> _Resumed | None:
    """The latest good checkpoint of ``checkpoint_dir`` in the shapes of ``state``, or None."""
    path = ckpt.latest_checkpoint(checkpoint_dir)
    if path is None:
        return None
    raw = ckpt.restore_checkpoint(path)
    # checkpoints written before weight averaging / time budgets existed lack these fields
    raw["train_state"].setdefault("ema_params", None)
    raw.setdefault("elapsed", 0.0)
    has_average = raw["train_state"]["ema_params"] is not None
    if has_average != (ema_decay is not None):
        raise ValueError(
            f"checkpoint {str(path)!r} was written "
            f"{'with' if has_average else 'without'} weight averaging but ema_decay={ema_decay!r}; "
            "resume with the run's own setting, or pass restart=True (--restart) to start over"
        )
    template = {
        "train_state": state,
        "key": jax.random.key_data(key),
        "epoch": 0,
        "offset": 0,
        "history": "",
        "elapsed": 0.0,
    }
    saved = ckpt.structure_like(template, raw, path)
    logs = json.loads(saved["history"])
    return _Resumed(
        path,
        jax.tree.map(jnp.asarray, saved["train_state"]),
        jax.random.wrap_key_data(jnp.asarray(saved["key"])),
        int(saved["epoch"]),
        int(saved["offset"]),
        logs["history"],
        logs["partial"],
        float(saved["elapsed"]),
    )


def _check_fit_arguments(
    epochs, checkpoint_every, minutes, max_steps, eval_fn, eval_batches, restart, checkpoint_minutes=None
) -> None:
    if epochs is None:
        if max_steps is None and minutes is None:
            raise ValueError("epochs=None (no epoch limit) needs max_steps or minutes; got neither")
    elif not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative int or None; got {epochs!r}")
    if checkpoint_every is not None and (
        not isinstance(checkpoint_every, int) or isinstance(checkpoint_every, bool) or checkpoint_every <= 0
    ):
        raise ValueError(f"checkpoint_every must be a positive int or None; got {checkpoint_every!r}")
    if minutes is not None and (
        isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not minutes > 0
    ):
        raise ValueError(f"minutes must be a positive number or None; got {minutes!r}")
    if checkpoint_minutes is not None and (
        isinstance(checkpoint_minutes, bool)
        or not isinstance(checkpoint_minutes, (int, float))
        or not checkpoint_minutes > 0
    ):
        raise ValueError(f"checkpoint_minutes must be a positive number or None; got {checkpoint_minutes!r}")
    if max_steps is not None and (
        not isinstance(max_steps, int) or isinstance(max_steps, bool) or max_steps < 0
    ):
        raise ValueError(f"max_steps must be a non-negative int or None; got {max_steps!r}")
    if (eval_fn is None) != (eval_batches is None):
        raise ValueError("eval_fn and eval_batches must be given together; got only one of them")
    if not isinstance(restart, bool):
        raise TypeError(f"restart must be a bool; got {restart!r}")


def fit(
    loss_fn: LossFn,
    params: Any,
    batches: Callable[[int], Iterable[Batch]],
    *,
    key: Array | int,
    epochs: int | None,
    optimizer: optax.GradientTransformation | None = None,
    eval_fn: Callable[[Any, Batch], dict[str, Array]] | None = None,
    eval_batches: Callable[[], Iterable[Batch]] | None = None,
    out_dir: str | os.PathLike | None = None,
    config: Mapping[str, Any] | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
    checkpoint_minutes: float | None = None,
    max_to_keep: int | None = 3,
    restart: bool = False,
    resume: bool | None = None,
    max_steps: int | None = None,
    minutes: float | None = None,
    quiet: bool = False,
    step_fn: StepFn | None = None,
    ema_decay: float | None = None,
    units: str = "seq",
    batch_size_fn: Callable[[Batch], int] | None = None,
    clock: Callable[[], float] = time.monotonic,
    keep_best: str | None = None,
) -> tuple[TrainState, dict[str, list]]:
    """Train ``params`` to minimise ``loss_fn`` with optax; evaluate, checkpoint, resume, stop on time.

    Args:
      loss_fn: ``loss_fn(params, batch, key) -> (loss scalar, {name: scalar})``.
      params: the initial parameter pytree (ignored when resuming from a checkpoint).
      batches: ``batches(epoch) -> iterable of batches``; must give the same
        batches for the same epoch (seed its shuffling with the epoch) for exact resume.
      key: the PRNG key (or an int seed); step ``s`` gets ``fold_in(key, s)``.
      epochs: number of passes over ``batches``; None: no limit, ``max_steps`` or ``minutes`` ends
        the run (and the progress bar's total is ``max_steps``, or unknown).
      optimizer: default ``make_optimizer()`` (Adam, 1e-3).
      eval_fn: ``eval_fn(params, batch) -> {name: batch mean}``, run after each epoch.
      eval_batches: ``eval_batches() -> iterable of held-out batches``.
      out_dir: a run directory: checkpoints go to ``out_dir/checkpoints`` (unless
        ``checkpoint_dir`` says otherwise) and ``metrics.json`` (history, step, seconds, why it
        stopped) and ``training_curves.png`` are written there.
      config: a JSON-able dict describing the run (needs ``out_dir``): saved as
        ``out_dir/config.json``; resuming with a config that differs in more than the training
        length raises :class:`jaxrnn.runs.ConfigMismatchError` (see :func:`jaxrnn.runs.prepare_run`).
      checkpoint_dir: where to save checkpoints; None (and no ``out_dir``) saves nothing.
      checkpoint_every: also save every this many steps (a save always happens at the end).
      checkpoint_minutes: also save after a step when this many minutes of training (``clock``) have
        passed since the last save, or since the start of this call: for models whose step time is
        not known in advance.
      max_to_keep: newest checkpoints kept.
      restart: ignore the checkpoints already in ``checkpoint_dir`` and start from ``params``;
        they are moved to ``checkpoint_dir/replaced-<time>/``, never deleted. False (default)
        resumes from the latest good checkpoint when there is one.
      resume: the former name: ``resume=False`` is ``restart=True``.
      max_steps: stop after this global step (e.g. to simulate an interruption), saving first.
      minutes: a time budget for the whole run, over all resumes (the seconds used are stored in
        the checkpoint): training stops, saving first, after the step that exhausts it.
      quiet: no progress bar.
      step_fn: a replacement for ``jax.jit(make_train_step(loss_fn, optimizer, ema_decay))``
        with the same signature ``(state, batch, key) -> (state, loss, metrics)``, e.g.
        :func:`jaxrnn.data_parallel_train_step` (the same step, sharded over a mesh).
      ema_decay: keep an exponential moving average of the params (Polyak averaging, see
        :func:`make_train_step`) in ``state.ema_params``, saved in checkpoints; evaluation
        after each epoch then uses the average. None (default) trains without it.
      units: the name of what ``batch_size_fn`` counts, shown on the bar as ``<units>/s``.
      batch_size_fn: ``batch -> int``, the units in one batch (default: the leading dimension of
        its first array, i.e. sequences; e.g. ``lambda b: int(b["mask"].sum())`` with ``units="tok"``).
      clock: the seconds source of the time budget and the throughput.
      keep_best: the name of an ``eval_fn`` metric to maximise (e.g. ``"accuracy"``): the evaluated
        params of the epoch with the highest value (the first such epoch on ties) are kept, and saved
        to ``checkpoint_dir/best`` when checkpointing; the returned state's ``eval_params`` are
        those, and ``history["best_epoch"]`` is ``[that epoch]``. None (default) returns the last
        epoch's params.

    Returns:
      ``(state, history)``: the final :class:`TrainState` and a dict of lists:
      ``step``/``loss`` per step, ``epoch``, ``seconds`` (training seconds so far, over resumes)
      and ``train_<metric>`` / ``eval_<metric>`` per epoch.

    Raises:
      NonFiniteLossError: a loss was NaN or inf; no checkpoint is written for
        that step, so the last good checkpoint stays the latest.
      jaxrnn.runs.ConfigMismatchError: ``config`` differs from the run's saved one.
    """
    if resume is not None:
        if not isinstance(resume, bool):
            raise TypeError(f"resume must be a bool or None; got {resume!r}")
        restart = restart or not resume
    if keep_best is not None and eval_fn is None:
        raise ValueError(
            f"keep_best needs eval_fn and eval_batches; got keep_best={keep_best!r} without them"
        )
    _check_fit_arguments(
        epochs, checkpoint_every, minutes, max_steps, eval_fn, eval_batches, restart, checkpoint_minutes
    )
    if config is not None and out_dir is None:
        raise ValueError("config is saved as out_dir/config.json: pass out_dir too; got out_dir=None")
    out = None if out_dir is None else pathlib.Path(out_dir)
    if out is not None and checkpoint_dir is None:
        checkpoint_dir = out / "checkpoints"
    # with several processes (jax.distributed) the first one writes the run's files
    writer = jax.process_index() == 0
    if config is not None and out is not None and writer:
        runs.prepare_run(out, config, restart=restart)  # before compiling: a refused run costs nothing
    if restart and checkpoint_dir is not None and writer:
        runs.archive_checkpoints(checkpoint_dir)
    optimizer = optimizer or make_optimizer()
    step_fn = step_fn or jax.jit(make_train_step(loss_fn, optimizer, ema_decay))
    state = init_train_state(params, optimizer, ema_decay)
    key = jax.random.key(key) if isinstance(key, int) else key
    history: dict[str, list] = {"step": [], "loss": [], "epoch": []}
    start_epoch, offset, elapsed0 = 0, 0, 0.0
    partial: dict = {"sums": {}, "count": 0}
    # restart: the writer has moved the old checkpoints aside; the other processes must not race it
    resumed = None if checkpoint_dir is None or restart else _restore(checkpoint_dir, state, key, ema_decay)
    last_saved = None
    if resumed is not None:
        last_saved, state, key = resumed.path, resumed.state, resumed.key
        start_epoch, offset, elapsed0 = resumed.epoch, resumed.offset, resumed.elapsed
        history, partial = resumed.history, resumed.partial
    best = None  # the keep_best params
    if resumed is not None and keep_best is not None:
        best = _restore_best(checkpoint_dir, state)
    budget = None if minutes is None else 60.0 * minutes
    started = clock()

    def elapsed() -> float:
        return elapsed0 + clock() - started

    saved_at = started  # the clock at the last save, for checkpoint_minutes

    def save(epoch: int, offset: int) -> None:
        nonlocal last_saved, saved_at
        saved_at = clock()
        if checkpoint_dir is not None and writer:
            last_saved = _save(
                checkpoint_dir, state, key, (epoch, offset), (history, partial), elapsed(), max_to_keep
            )
            write_metrics("running")

    def write_metrics(stopped: str) -> None:
        if out is not None and writer:
            out.mkdir(parents=True, exist_ok=True)
            runs.write_json(
                out / "metrics.json",
                {"history": history, "step": int(state.step), "seconds": elapsed(), "stopped": stopped},
            )

    step = int(state.step)
    # a finished run that is resumed has nothing to do
    if max_steps is not None and step >= max_steps:
        return state, history
    if budget is not None and elapsed0 >= budget:
        return state, history
    steps_per_epoch: int | None = None

    def total_steps() -> int | None:
        total = None if steps_per_epoch is None or epochs is None else epochs * steps_per_epoch
        return max_steps if total is None else min(total, max_steps or total)

    progress = TrainingProgress(
        total_steps(),
        initial=step,
        units=units,
        batch_size_fn=batch_size_fn,
        budget_s=None if budget is None else budget - elapsed0,
        disable=quiet,
        clock=clock,
    )
    stopped = "finished"
    try:
        for epoch in itertools.count(start_epoch) if epochs is None else range(start_epoch, epochs):
            data = batches(epoch)
            if isinstance(data, Sized):
                steps_per_epoch = len(data)
                progress.set_total(total_steps())
            sums: dict[str, float] = partial["sums"]
            # a resumed epoch skips the batches the interrupted run already used
            i = offset
            for i, batch in enumerate(itertools.islice(data, offset, None), start=offset + 1):
                state, loss, metrics = step_fn(state, batch, jax.random.fold_in(key, step))
                loss = float(loss)
                if not math.isfinite(loss):
                    where = f"; the last good checkpoint is {str(last_saved)!r}" if last_saved else ""
                    raise NonFiniteLossError(
                        f"loss became {loss} at step {step + 1} (epoch {epoch}); training stopped{where}. "
                        "Try a smaller learning_rate or clip_norm.",
                        step + 1,
                        last_saved,
                    )
                step += 1
                history["step"].append(step)
                history["loss"].append(loss)
                for name, value in {"loss": loss, **metrics}.items():
                    sums[name] = sums.get(name, 0.0) + float(value)
                partial["count"] += 1
                progress.update(
                    batch, loss, epoch=f"{epoch + 1}" if epochs is None else f"{epoch + 1}/{epochs}"
                )
                if max_steps is not None and step >= max_steps:
                    stopped = "max_steps"
                elif budget is not None and elapsed() >= budget:
                    stopped = "time budget"
                if stopped != "finished":
                    save(epoch, i)
                    break
                if (checkpoint_every and step % checkpoint_every == 0) or (
                    checkpoint_minutes is not None and clock() - saved_at >= 60.0 * checkpoint_minutes
                ):
                    save(epoch, i)
            if stopped != "finished":
                break
            if steps_per_epoch is None:
                steps_per_epoch = i  # known after one whole pass, for the bar's total and ETA
                progress.set_total(total_steps())
            offset = 0
            history["epoch"].append(epoch + 1)
            history.setdefault("seconds", []).append(elapsed())
            for name, total in sums.items():
                history.setdefault(f"train_{name}", []).append(total / max(partial["count"], 1))
            partial = {"sums": {}, "count": 0}
            if eval_fn is not None and eval_batches is not None:
                for name, value in evaluate(eval_fn, state.eval_params, eval_batches()).items():
                    history.setdefault(f"eval_{name}", []).append(value)
                if keep_best is not None:
                    best_dir = checkpoint_dir if writer else None
                    best = _update_best(best, keep_best, history, state, step, best_dir)
            progress.extra = {k: f"{v[-1]:.4g}" for k, v in history.items() if k.startswith("eval_")}
        else:
            save(epochs or 0, 0)  # (epochs is an int here: an endless loop never gets here)
    finally:
        progress.close()
    if best is not None:
        state = _with_eval_params(state, best)
    write_metrics(stopped)
    if out is not None and writer and history["step"]:
        from jaxrnn.plots import plot_training_curves

        plot_training_curves(history, out / "training_curves.png", title=out.name)
    return state, history


# --- keep_best: the validation-best params, kept beside (not instead of) the resumable checkpoints ---


def _best_dir(checkpoint_dir: str | os.PathLike) -> pathlib.Path:
    return pathlib.Path(checkpoint_dir) / "best"


def _with_eval_params(state: TrainState, params: Any) -> TrainState:
    return state._replace(params=params) if state.ema_params is None else state._replace(ema_params=params)


def _update_best(best: Any, metric: str, history: dict, state: TrainState, step: int, checkpoint_dir) -> Any:
    values = history.get(f"eval_{metric}")
    if values is None:
        raise ValueError(
            f"keep_best must name a metric of eval_fn; got {metric!r}, eval_fn gives "
            f"{sorted(k[5:] for k in history if k.startswith('eval_'))}"
        )
    if best is not None and max(values[:-1]) >= values[-1]:
        return best
    history["best_epoch"] = [len(values)]
    if checkpoint_dir is not None:
        tree = {"params": state.eval_params, "epoch": len(values)}
        ckpt.save_checkpoint(_best_dir(checkpoint_dir), step, tree, max_to_keep=1)
    return state.eval_params


def _restore_best(checkpoint_dir, state: TrainState) -> Any:
    """The best params saved by an earlier run in ``checkpoint_dir/best``, or None."""
    if checkpoint_dir is None or ckpt.latest_checkpoint(_best_dir(checkpoint_dir)) is None:
        return None
    saved = ckpt.restore_checkpoint(_best_dir(checkpoint_dir), {"params": state.eval_params, "epoch": 0})
    return jax.tree.map(jnp.asarray, saved["params"])


def best_params_path(checkpoint_dir: str | os.PathLike) -> pathlib.Path | None:
    """The checkpoint file that ``fit(..., keep_best=...)`` wrote to ``checkpoint_dir/best``, or None."""
    return ckpt.latest_checkpoint(_best_dir(checkpoint_dir))
