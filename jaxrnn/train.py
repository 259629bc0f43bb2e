"""A small, reusable training loop on optax: jitted steps, evaluation, checkpoints, exact resume.

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
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxrnn import checkpoint as ckpt

Array = jax.Array
Batch = Any
LossFn = Callable[[Any, Batch, Array], tuple[Array, dict[str, Array]]]


class TrainState(NamedTuple):
    """Everything a step changes: params, optimizer state, the step counter (int32 scalar) and,
    when weight averaging is on, the exponential moving average of the params (else None)."""

    params: Any
    opt_state: Any
    step: Array
    ema_params: Any = None

    @property
    def eval_params(self) -> Any:
        """The params to evaluate: the moving average when weight averaging is on, else ``params``."""
        return self.params if self.ema_params is None else self.ema_params


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or inf; ``step`` is the step that produced it."""

    def __init__(self, message: str, step: int, last_checkpoint: pathlib.Path | None):
        super().__init__(message)
        self.step = step
        self.last_checkpoint = last_checkpoint


def make_optimizer(
    learning_rate: float | optax.Schedule = 1e-3,
    *,
    optimizer: str = "adam",
    clip_norm: float | None = None,
) -> optax.GradientTransformation:
    """An optax optimizer, optionally preceded by gradient clipping by global norm.

    Args:
      learning_rate: a float or an optax schedule (``optax.exponential_decay(...)``, ...).
      optimizer: ``"adam"`` (default), ``"sgd"``, ``"momentum"`` (0.9), ``"rmsprop"`` or ``"adamw"``.
      clip_norm: clip gradients to this global norm first (``optax.clip_by_global_norm``), or None.

    Returns:
      An ``optax.GradientTransformation``.
    """
    factories = {
        "adam": lambda lr: optax.adam(lr),
        "adamw": lambda lr: optax.adamw(lr),
        "sgd": lambda lr: optax.sgd(lr),
        "momentum": lambda lr: optax.sgd(lr, momentum=0.9),
        "rmsprop": lambda lr: optax.rmsprop(lr),
    }
    if optimizer not in factories:
        raise ValueError(f"optimizer must be one of {sorted(factories)}; got {optimizer!r}")
    if not callable(learning_rate) and (not isinstance(learning_rate, (int, float)) or learning_rate <= 0):
        raise ValueError(
            f"learning_rate must be a positive number or an optax schedule; got {learning_rate!r}"
        )
    opt = factories[optimizer](learning_rate)
    if clip_norm is None:
        return opt
    if not isinstance(clip_norm, (int, float)) or clip_norm <= 0:
        raise ValueError(f"clip_norm must be a positive number or None; got {clip_norm!r}")
    return optax.chain(optax.clip_by_global_norm(clip_norm), opt)


def progress_bar(*args, **kwargs):
    """A tqdm bar: a notebook widget in Jupyter when ipywidgets is installed, else a text bar.

    (``tqdm.auto`` alone warns "IProgress not found" in notebooks without ipywidgets.)
    """
    import importlib.util

    if importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.auto import tqdm
    else:
        from tqdm.std import tqdm
    return tqdm(*args, **kwargs)


def check_ema_decay(ema_decay: float | None) -> None:
    """Raise a ValueError unless ``ema_decay`` is None or a number in (0, 1)."""
    if ema_decay is not None and (
        isinstance(ema_decay, bool) or not isinstance(ema_decay, (int, float)) or not 0 < ema_decay < 1
    ):
        raise ValueError(f"ema_decay must be a number in (0, 1) or None; got {ema_decay!r}")


def init_train_state(
    params: Any, optimizer: optax.GradientTransformation, ema_decay: float | None = None
) -> TrainState:
    """A fresh :class:`TrainState` at step 0; with ``ema_decay`` its average starts at ``params``."""
    check_ema_decay(ema_decay)
    with jax.numpy_dtype_promotion("standard"):
        opt_state = optimizer.init(params)
    ema = None if ema_decay is None else jax.tree.map(jnp.array, params)
    return TrainState(params, opt_state, jnp.zeros((), jnp.int32), ema)


def make_train_step(
    loss_fn: LossFn, optimizer: optax.GradientTransformation, ema_decay: float | None = None
) -> Callable[[TrainState, Batch, Array], tuple[TrainState, Array, dict[str, Array]]]:
    """One un-jitted optimisation step: ``step(state, batch, key) -> (state, loss, metrics)``.

    ``value_and_grad`` of ``loss_fn`` at ``state.params`` followed by the optax
    update. It is returned un-jitted so that callers can wrap it (``jax.jit``,
    or a data-parallel ``shard_map``) as they need; :func:`fit` jits it.

    Args:
      loss_fn: ``loss_fn(params, batch, key) -> (loss scalar, {name: scalar})``.
      optimizer: an optax ``GradientTransformation``.
      ema_decay: also keep ``state.ema_params``, the exponential moving average of the params
        after each update: ``ema <- d * ema + (1 - d) * params`` (Polyak averaging) with
        ``d = min(ema_decay, (1 + n) / (10 + n))`` at the ``n``-th update, as TF's
        ``ExponentialMovingAverage(decay, num_updates)`` does, so that the average forgets the
        initial params quickly early in training; the state must come from
        ``init_train_state(..., ema_decay=...)``.
    """
    check_ema_decay(ema_decay)

    def step(state: TrainState, batch: Batch, key: Array):
        (loss, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params, batch, key)
        # optax mixes Python floats with int32 step counts (Adam's bias correction), which strict
        # dtype promotion rejects; the model code above stays under the caller's promotion mode
        with jax.numpy_dtype_promotion("standard"):
            updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
            params = optax.apply_updates(state.params, updates)
            ema = state.ema_params
            if ema_decay is not None:
                if ema is None:
                    raise ValueError(
                        "ema_decay is set but state.ema_params is None; use init_train_state(..., ema_decay)"
                    )
                n = state.step.astype(jnp.float32)
                d = jnp.minimum(jnp.float32(ema_decay), (1 + n) / (10 + n))
                ema = jax.tree.map(lambda a, p: (d * a + (1 - d) * p).astype(a.dtype), ema, params)
        return TrainState(params, opt_state, state.step + 1, ema), loss, metrics

    return step


def _batch_size(batch: Batch) -> int:
    leaves = jax.tree.leaves(batch)
    return int(leaves[0].shape[0]) if leaves and getattr(leaves[0], "ndim", 0) else 1


def evaluate(
    eval_fn: Callable[[Any, Batch], dict[str, Array]], params: Any, batches: Iterable[Batch]
) -> dict[str, float]:
    """Average ``eval_fn(params, batch) -> {name: batch mean}`` over ``batches``, weighted by batch size."""
    totals: dict[str, float] = {}
    count = 0
    for batch in batches:
        n = _batch_size(batch)
        for name, value in eval_fn(params, batch).items():
            totals[name] = totals.get(name, 0.0) + float(value) * n
        count += n
    if count == 0:
        raise ValueError("evaluation batches must not be empty; got no batch")
    return {name: total / count for name, total in totals.items()}


def _save(directory, state: TrainState, key: Array, epoch: int, offset: int, history: dict, partial, keep):
    tree = {
        "train_state": state,
        "key": jax.random.key_data(key),
        "epoch": epoch,
        "offset": offset,
        # the running sums of the unfinished epoch, so a resumed epoch's averages are complete
        "history": json.dumps({"history": history, "partial": partial}),
    }
    return ckpt.save_checkpoint(directory, int(state.step), tree, max_to_keep=keep)


def fit(
    loss_fn: LossFn,
    params: Any,
    batches: Callable[[int], Iterable[Batch]],
    *,
    key: Array,
    epochs: int,
    optimizer: optax.GradientTransformation | None = None,
    eval_fn: Callable[[Any, Batch], dict[str, Array]] | None = None,
    eval_batches: Callable[[], Iterable[Batch]] | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
    max_to_keep: int | None = 3,
    resume: bool = True,
    max_steps: int | None = None,
    quiet: bool = False,
    step_fn: Callable | None = None,
    ema_decay: float | None = None,
    keep_best: str | None = None,
) -> tuple[TrainState, dict[str, list]]:
    """Train ``params`` to minimise ``loss_fn`` with optax; evaluate, checkpoint and resume.

    Args:
      loss_fn: ``loss_fn(params, batch, key) -> (loss scalar, {name: scalar})``.
      params: the initial parameter pytree (ignored when resuming from a checkpoint).
      batches: ``batches(epoch) -> iterable of batches``; must give the same
        batches for the same epoch (seed its shuffling with the epoch) for exact resume.
      key: the PRNG key (or an int seed); step ``s`` gets ``fold_in(key, s)``.
      epochs: number of passes over ``batches``.
      optimizer: default ``make_optimizer()`` (Adam, 1e-3).
      eval_fn: ``eval_fn(params, batch) -> {name: batch mean}``, run after each epoch.
      eval_batches: ``eval_batches() -> iterable of held-out batches``.
      checkpoint_dir: where to save; None saves nothing.
      checkpoint_every: also save every this many steps (a save always happens at the end).
      max_to_keep: newest checkpoints kept.
      resume: continue from the latest good checkpoint in ``checkpoint_dir`` when there is one.
      max_steps: stop after this global step (e.g. to simulate an interruption), saving first.
      quiet: no progress bar.
      step_fn: a replacement for ``jax.jit(make_train_step(loss_fn, optimizer))``
        with the same signature (e.g. a data-parallel step).
      ema_decay: keep an exponential moving average of the params (Polyak averaging, see
        :func:`make_train_step`) in ``state.ema_params``, saved in checkpoints; evaluation
        after each epoch then uses the average. None (default) trains without it.
      keep_best: the name of an ``eval_fn`` metric to maximise (e.g. ``"accuracy"``): the evaluated
        params of the epoch with the highest value (the first such epoch on ties) are kept, and saved
        to ``checkpoint_dir/best`` when checkpointing; the returned state's ``eval_params`` are
        those, and ``history["best_epoch"]`` is ``[that epoch]``. None (default) returns the last
        epoch's params.

    Returns:
      ``(state, history)``: the final :class:`TrainState` and a dict of lists:
      ``step``/``loss`` per step, ``epoch`` and ``train_<metric>`` / ``eval_<metric>`` per epoch.

    Raises:
      NonFiniteLossError: a loss was NaN or inf; no checkpoint is written for
        that step, so the last good checkpoint stays the latest.
    """
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative int; got {epochs!r}")
    if checkpoint_every is not None and (not isinstance(checkpoint_every, int) or checkpoint_every <= 0):
        raise ValueError(f"checkpoint_every must be a positive int or None; got {checkpoint_every!r}")
    if (eval_fn is None) != (eval_batches is None):
        raise ValueError("eval_fn and eval_batches must be given together; got only one of them")
    if keep_best is not None and eval_fn is None:
        raise ValueError(
            f"keep_best needs eval_fn and eval_batches; got keep_best={keep_best!r} without them"
        )
    optimizer = optimizer or make_optimizer()
    step_fn = step_fn or jax.jit(make_train_step(loss_fn, optimizer, ema_decay))
    state = init_train_state(params, optimizer, ema_decay)
    key = jax.random.key(key) if isinstance(key, int) else key
    history: dict[str, list] = {"step": [], "loss": [], "epoch": []}
    start_epoch, offset = 0, 0
    partial: dict = {"sums": {}, "count": 0}
    last_saved = None
    best = None  # the keep_best params
    if checkpoint_dir is not None and resume and ckpt.latest_checkpoint(checkpoint_dir) is not None:
        template = {
            "train_state": state,
            "key": jax.random.key_data(key),
            "epoch": 0,
            "offset": 0,
            "history": "",
        }
        last_saved = ckpt.latest_checkpoint(checkpoint_dir)
        raw = ckpt.restore_checkpoint(last_saved)
        # checkpoints written before weight averaging existed have no ema_params field
        raw["train_state"].setdefault("ema_params", None)
        has_average = raw["train_state"]["ema_params"] is not None
        if has_average != (ema_decay is not None):
            raise ValueError(
                f"checkpoint {str(last_saved)!r} was written "
                f"{'with' if has_average else 'without'} weight averaging but ema_decay={ema_decay!r}; "
                "resume with the run's own setting, or pass resume=False to start over"
            )
        saved = ckpt.structure_like(template, raw, last_saved)
        state = jax.tree.map(jnp.asarray, saved["train_state"])
        key = jax.random.wrap_key_data(jnp.asarray(saved["key"]))
        start_epoch, offset = int(saved["epoch"]), int(saved["offset"])
        loaded = json.loads(saved["history"])
        history, partial = loaded["history"], loaded["partial"]
        if keep_best is not None:
            best = _restore_best(checkpoint_dir, state)

    def save(epoch: int, offset: int) -> None:
        nonlocal last_saved
        if checkpoint_dir is not None:
            last_saved = _save(checkpoint_dir, state, key, epoch, offset, history, partial, max_to_keep)

    step = int(state.step)
    if max_steps is not None and step >= max_steps:  # a finished run that is resumed has nothing to do
        return state, history
    bar = progress_bar(
        total=None if epochs == 0 else epochs, initial=start_epoch, disable=quiet, unit="epoch"
    )
    try:
        for epoch in range(start_epoch, epochs):
            sums: dict[str, float] = partial["sums"]
            # a resumed epoch skips the batches the interrupted run already used
            for i, batch in enumerate(itertools.islice(batches(epoch), offset, None), start=offset):
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
                if checkpoint_every and step % checkpoint_every == 0:
                    save(epoch, i + 1)
                if max_steps is not None and step >= max_steps:
                    save(epoch, i + 1)
                    return state, history
                if not quiet:
                    bar.set_postfix(loss=f"{loss:.4g}", step=step, refresh=False)
            offset = 0
            history["epoch"].append(epoch + 1)
            for name, total in sums.items():
                history.setdefault(f"train_{name}", []).append(total / max(partial["count"], 1))
            partial = {"sums": {}, "count": 0}
            if eval_fn is not None:
                for name, value in evaluate(eval_fn, state.eval_params, eval_batches()).items():
                    history.setdefault(f"eval_{name}", []).append(value)
                if keep_best is not None:
                    best = _update_best(best, keep_best, history, state, step, checkpoint_dir)
            bar.update(1)
            if not quiet:
                shown = {k: f"{v[-1]:.4g}" for k, v in history.items() if k.startswith(("train_", "eval_"))}
                bar.set_postfix(shown)
        save(epochs, 0)
    finally:
        bar.close()
    if best is not None:
        state = _with_eval_params(state, best)
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
