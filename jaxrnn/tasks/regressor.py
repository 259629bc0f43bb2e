"""Time-series regressor and creative generation (Géron ch. 14, "Predict Time Series", "Creative RNN").

A basic cell of 100 ReLU units predicts the next value at every step, through
``output_projection`` (a dense layer inside the loop, the book's first version)
or ``time_distributed`` (one matmul over all steps after the loop, Figure 14-10).
Generation feeds each prediction back as the next input inside one ``lax.scan``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn import runs, train
from jaxrnn.cells import Cell
from jaxrnn.data.time_series import HELD_OUT_RANGE, TRAIN_RANGE, next_batch
from jaxrnn.layers import dense, time_distributed
from jaxrnn.runs import write_json
from jaxrnn.tasks.common import make_cell
from jaxrnn.unroll import dynamic_unroll
from jaxrnn.wrappers import output_projection

Array = jax.Array
VARIANTS = ("projection", "time_distributed")


class SequenceRegressor(NamedTuple):
    """``init(key, input_size) -> params``; ``apply(params, inputs [B,T,F]) -> outputs [B,T,O]``.

    ``cell`` is the projected cell, stepping one value at a time (for generation).
    """

    init: Callable[..., Any]
    apply: Callable[..., Array]
    cell: Cell
    output_size: int


def sequence_regressor(cell: Cell, output_size: int = 1, *, variant: str = "projection") -> SequenceRegressor:
    """A cell whose every output goes through a dense layer to ``output_size`` values.

    Args:
      cell: e.g. ``basic_cell(100, activation=jax.nn.relu)``.
      output_size: O.
      variant: ``"projection"`` (``output_projection`` inside the loop) or
        ``"time_distributed"`` (one dense over ``[B*T, H]`` after the loop). Both
        have params ``{"cell": ..., "projection": {"W": [H, O], "b": [O]}}``, so
        their weights are interchangeable.

    Returns:
      A :class:`SequenceRegressor` whose ``cell`` is the projected cell (used for generation).
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {list(VARIANTS)}; got {variant!r}")
    projected = output_projection(cell, output_size)
    head = time_distributed(dense(output_size))

    def apply(params: Any, inputs: Array) -> Array:
        if variant == "projection":
            return dynamic_unroll(projected, params, inputs)[0]
        outputs, _ = dynamic_unroll(cell, params["cell"], inputs)
        return head.apply(params["projection"], outputs)

    return SequenceRegressor(projected.init, apply, projected, output_size)


def mse_loss(model: SequenceRegressor) -> train.LossFn:
    """``loss_fn(params, (inputs, targets), key)``: mean squared error over all steps."""

    def loss_fn(params: Any, batch: tuple, key: Array) -> tuple[Array, dict]:
        inputs, targets = batch
        loss = jnp.mean((model.apply(params, inputs) - targets) ** 2)
        return loss, {}

    return loss_fn


def generate(model: SequenceRegressor, params: Any, seed: Array, num_steps: int) -> Array:
    """Extend ``seed`` by ``num_steps`` values, each prediction fed back as the next input (one ``lax.scan``).

    The seed is read first to build the state; then every step's output
    becomes the next step's input, all inside a single jit-compiled scan.

    Args:
      model: a regressor with ``output_size`` equal to its input size.
      params: its params.
      seed: ``[S, F]`` (one sequence) with ``S >= 1``.
      num_steps: N, the number of generated values.

    Returns:
      ``[S + N, F]``: the seed followed by the generated values.
    """
    if not hasattr(seed, "ndim") or seed.ndim != 2:
        raise ValueError(f"seed must have rank 2 [steps, features]; got {getattr(seed, 'shape', type(seed))}")
    if seed.shape[0] < 1 or seed.shape[1] != model.output_size:
        raise ValueError(f"seed must be [steps >= 1, {model.output_size}]; got shape {tuple(seed.shape)}")
    if not isinstance(num_steps, int) or num_steps < 1:
        raise ValueError(f"num_steps must be a positive int; got {num_steps!r}")
    return _generate(model.cell, params, jnp.asarray(seed, jnp.float32), num_steps)


def _generate(cell: Cell, params: Any, seed: Array, num_steps: int) -> Array:
    @jax.jit
    def run(params, seed):
        state = cell.zero_state(1, seed.dtype)
        # read the seed: the state after it, and the prediction of the value that follows
        state, ys = jax.lax.scan(lambda s, x: cell.apply(params, s, x[None]), state, seed)

        def feed_back(carry, _):
            s, y = carry
            s, y_next = cell.apply(params, s, y)
            return (s, y_next), y[0]

        _, generated = jax.lax.scan(feed_back, (state, ys[-1]), None, length=num_steps)
        return jnp.concatenate([seed, generated], axis=0)

    return run(params, seed)


def train_regressor(
    *,
    iterations: int = 1500,
    batch_size: int = 50,
    n_steps: int = 20,
    num_units: int = 100,
    cell: str = "basic",
    variant: str = "projection",
    learning_rate: float = 1e-3,
    clip_norm: float | None = None,
    out: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
    restart: bool = False,
    minutes: float | None = None,
    seed: int = 42,
    quiet: bool = False,
    plot: bool = True,
) -> dict:
    """Train the time-series regressor (book: 100 ReLU units, Adam 0.001, 1,500 iterations of 50 windows).

    Args:
      iterations: training steps (one random batch each; an "epoch" here is 100 steps).
      variant: ``"projection"`` or ``"time_distributed"``.
      out: directory for ``checkpoints/``, ``config.json``, ``metrics.json`` and the PNGs
        (``training_curves.png``, ``prediction.png``, ``generated.png``); a run with a checkpoint
        there resumes if its ``config.json`` matches in all but ``iterations``
        (else :class:`jaxrnn.runs.ConfigMismatchError`).
      restart: start over in ``out`` (its checkpoints are moved to ``checkpoints/replaced-*``).
      minutes: a time budget for the run, in total over resumes (see :func:`jaxrnn.fit`).

    Returns:
      A dict with ``history``, ``final_mse`` (on 500 windows of ``HELD_OUT_RANGE``, t in [25, 30], a range
      the training windows, drawn from ``TRAIN_RANGE`` = [0, 25], never touch), ``params``, ``seconds``,
      ``config``.
    """
    if not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"iterations must be a positive int; got {iterations!r}")
    config = {
        "task": "regressor",
        "cell": cell,
        "num_units": num_units,
        "variant": variant,
        "iterations": iterations,
        "batch_size": batch_size,
        "n_steps": n_steps,
        "learning_rate": learning_rate,
        "clip_norm": clip_norm,
        "seed": seed,
    }
    # an explicit 0 or negative value is an error, never replaced by a default
    runs.check_positive(
        {**config, "minutes": minutes},
        ints=("num_units", "batch_size", "n_steps"),
        numbers=("learning_rate", "clip_norm", "minutes"),
    )
    model = build_regressor(config)
    key = jax.random.key(seed)
    params = model.init(jax.random.fold_in(key, 0), 1)
    per_epoch = min(100, iterations)
    epochs, rest = divmod(iterations, per_epoch)

    def batches(epoch: int):
        rng = np.random.default_rng([seed, epoch])
        return (next_batch(rng, batch_size, n_steps, t_range=TRAIN_RANGE) for _ in range(per_epoch))

    # a run directory holding another configuration is refused here, before any training
    out_dir = None if out is None else runs.prepare_run(out, config, restart=restart)
    loss_fn = mse_loss(model)
    start = time.perf_counter()
    state, history = train.fit(
        loss_fn,
        params,
        batches,
        key=jax.random.fold_in(key, 1),
        epochs=epochs + (rest > 0),
        max_steps=iterations,
        optimizer=train.make_optimizer(learning_rate, clip_norm=clip_norm),
        checkpoint_dir=None if out_dir is None else out_dir / "checkpoints",
        checkpoint_every=checkpoint_every,
        restart=restart,
        minutes=minutes,
        quiet=quiet,
    )
    seconds = time.perf_counter() - start
    # 500 windows of a time range that training never samples
    x, y = next_batch(np.random.default_rng([seed, 10**6]), 500, n_steps, t_range=HELD_OUT_RANGE)
    final_mse = float(jnp.mean((model.apply(state.params, x) - y) ** 2))
    result = {
        "config": config,
        "history": history,
        "final_mse": final_mse,
        "seconds": seconds,
        "params": state.params,
    }
    if out_dir is not None:
        write_json(out_dir / "metrics.json", {k: v for k, v in result.items() if k != "params"})
        if plot:
            plot_regressor(model, state.params, history, out_dir, n_steps=n_steps)
    return result


def build_regressor(config: dict) -> SequenceRegressor:
    """The regressor a ``config.json`` describes (used by ``jaxrnn generate``)."""
    activation = {"activation": jax.nn.relu} if config["cell"] == "basic" else {}
    return sequence_regressor(
        make_cell(config["cell"], config["num_units"], **activation), 1, variant=config["variant"]
    )


def plot_regressor(
    model: SequenceRegressor, params: Any, history: dict, out_dir, *, n_steps: int = 20
) -> None:
    """Training curve, prediction on one instance (Figure 14-9), generated sequences (Figure 14-11)."""
    from jaxrnn.data.time_series import RESOLUTION, time_series
    from jaxrnn.plots import plot_generated, plot_series, plot_training_curves

    plot_training_curves(history, out_dir / "training_curves.png", title="time-series regressor (MSE)")
    t_instance = np.linspace(12.2, 12.2 + RESOLUTION * (n_steps + 1), n_steps + 1)
    series = time_series(t_instance).astype(np.float32)
    pred = np.asarray(model.apply(params, series[None, :-1, None]))[0, :, 0]
    t_in, t_out = t_instance[:-1], t_instance[1:]
    curves = {"instance": (t_in, series[:-1]), "target": (t_out, series[1:]), "prediction": (t_out, pred)}
    plot_series(curves, out_dir / "prediction.png", title="Testing the model (Figure 14-9)")
    zeros = generate(model, params, jnp.zeros((n_steps, 1)), 300)
    instance = generate(
        model,
        params,
        jnp.asarray(time_series(np.arange(n_steps) * RESOLUTION + 12.2).astype(np.float32)[:, None]),
        300,
    )
    plot_generated(
        {"seeded with zeros": np.asarray(zeros)[:, 0], "seeded with an instance": np.asarray(instance)[:, 0]},
        out_dir / "generated.png",
        seed_length=n_steps,
    )
