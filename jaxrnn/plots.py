"""PNG plots of training runs and series (matplotlib figures, no pyplot): the book's Figures 14-9, 14-11."""

from __future__ import annotations

import os
import pathlib

import numpy as np


def new_figure(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float], squeeze: bool = True):
    """A matplotlib ``(figure, axes)`` for a PNG file, made without pyplot.

    A ``matplotlib.figure.Figure`` draws with Agg when saved and leaves pyplot's backend alone, so
    writing a PNG inside a notebook does not switch off its inline figures (``matplotlib.use("Agg")``
    would).
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, squeeze=squeeze)


def plot_training_curves(history: dict, path: str | os.PathLike, *, title: str = "") -> pathlib.Path:
    """Loss per step (and per-epoch train/eval metrics when present), saved as a PNG.

    Args:
      history: the dict returned by :func:`jaxrnn.train.fit`.
      path: the PNG file to write.
    """
    metrics = [k for k in history if k.startswith(("train_", "eval_")) and not k.endswith("loss")]
    fig, axes = new_figure(1, 2 if metrics else 1, figsize=(11 if metrics else 6, 4), squeeze=False)
    ax = axes[0, 0]
    ax.plot(history["step"], history["loss"], lw=0.6, label="train loss (per step)")
    if history.get("eval_loss") and history.get("epoch"):
        steps_per_epoch = len(history["step"]) / max(len(history["epoch"]), 1)
        ax.plot(np.asarray(history["epoch"]) * steps_per_epoch, history["eval_loss"], "o-", label="eval loss")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    ax.set_title(title)
    if metrics:
        ax = axes[0, 1]
        for k in metrics:
            ax.plot(history["epoch"], history[k], "o-", label=k)
        ax.set_xlabel("epoch")
        ax.legend()
    return _save(fig, path)


def plot_series(
    curves: dict[str, tuple[np.ndarray, np.ndarray]], path: str | os.PathLike, *, title: str = ""
) -> pathlib.Path:
    """Several named ``(t, y)`` curves (e.g. instance, target, prediction; Figure 14-9)."""
    fig, ax = new_figure(figsize=(7, 4))
    styles = ["b-", "y*", "r.", "g-", "k--"]
    for (name, (t, y)), style in zip(curves.items(), styles * 3):
        ax.plot(t, y, style, label=name, markersize=8)
    ax.set_xlabel("time")
    ax.legend()
    ax.set_title(title)
    return _save(fig, path)


def plot_generated(
    sequences: dict[str, np.ndarray], path: str | os.PathLike, *, seed_length: int
) -> pathlib.Path:
    """Generated sequences side by side, the seed part marked (Figure 14-11)."""
    fig, axes = new_figure(1, len(sequences), figsize=(5.5 * len(sequences), 4), squeeze=False)
    for ax, (name, seq) in zip(axes[0], sequences.items()):
        ax.plot(np.arange(len(seq)), seq, "b-")
        ax.plot(np.arange(seed_length), seq[:seed_length], "r-", lw=3, label="seed")
        ax.set_title(name)
        ax.set_xlabel("time")
        ax.legend()
    return _save(fig, path)


def _save(fig, path) -> pathlib.Path:
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path
