"""Exercise 3: classify moving-MNIST clips (digit and direction) with a CNN feeding an LSTM or a ConvLSTM.

Two models read ``[batch, time, canvas, canvas]`` clips:

* ``"lstm"``: a strided convolutional encoder turns each frame into a vector
  (all frames in one batched convolution), an LSTM runs over the vectors, and
  two dense heads read its last output (digit: 10 classes, direction: 4);
* ``"convlstm"``: a shallower encoder keeps an ``8 x 8`` feature map per frame
  and a :func:`jaxrnn.conv_lstm_cell` runs over the maps; the heads read its
  last hidden map.

A clip counts as correct only when both the digit and the direction are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxrnn import train
from jaxrnn.cells import Cell, lstm_cell
from jaxrnn.conv_lstm import conv_lstm_cell
from jaxrnn.data.moving_mnist import DIRECTIONS, Split, clip_batches
from jaxrnn.layers import dense
from jaxrnn.tasks.configs import VideoConfig
from jaxrnn.tasks.fit_config import finish_run, fit_run, start_run
from jaxrnn.tasks.vision import conv_encoder
from jaxrnn.unroll import dynamic_unroll, static_unroll

Array = jax.Array
MODELS = ("lstm", "convlstm")


class VideoClassifier(NamedTuple):
    """``init(key) -> params``; ``apply(params, frames [B, T, S, S])`` -> logits ``(digit [B, 10],
    direction [B, 4])``; ``rnn`` is the recurrent cell."""

    init: Callable[[Array], Any]
    apply: Callable[[Any, Array], tuple[Array, Array]]
    rnn: Cell


def video_classifier(
    model: str = "lstm", *, canvas: int = 64, units: int = 128, filters: int = 16, rnn: Cell | None = None
) -> VideoClassifier:
    """A CNN + RNN clip classifier (see the module docstring for the two models).

    Args:
      model: ``"lstm"`` or ``"convlstm"``.
      canvas: S, the frames' side; a multiple of 16 (``"lstm"``) or 8 (``"convlstm"``).
      units: the LSTM's units (``"lstm"``).
      filters: the ConvLSTM's filters (``"convlstm"``).
      rnn: replace the recurrent cell (it must take the encoder's flattened features); for experiments.

    Returns:
      A :class:`VideoClassifier`.
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {list(MODELS)}; got {model!r}")
    factor = 16 if model == "lstm" else 8
    if not isinstance(canvas, int) or canvas <= 0 or canvas % factor:
        raise ValueError(
            f"canvas must be a positive multiple of {factor} for model {model!r}; got {canvas!r}"
        )
    if model == "lstm":
        # a 4x4 stride-4 "patchify" convolution first: 16x fewer pixels for the layers after it
        encoder = conv_encoder((16, 32, 64), (4, 3, 3), (4, 2, 2))
        side = canvas // 16
        cell = rnn or lstm_cell(units)
    else:
        encoder = conv_encoder((16, 16), (4, 3), (4, 2))
        side = canvas // 8
        cell = rnn or conv_lstm_cell(filters, (side, side))
    # XLA:CPU runs a convolution's gradients inside a scan's loop body ~100x slower than outside
    # (bench/RESULTS.md, "ConvLSTM"); clips are a few frames long, so the ConvLSTM is unrolled statically
    unroll = dynamic_unroll if model == "lstm" else static_unroll
    features = side * side * encoder.output_size
    # the ConvLSTM's last map goes through one more strided convolution before the dense heads
    post = conv_encoder((32,), (3,), (2,)) if model == "convlstm" else None
    head_size = cell.output_size if post is None else (side // 2) ** 2 * post.output_size
    digit_head, direction_head = dense(10), dense(len(DIRECTIONS))

    def init(key: Array) -> dict:
        keys = jax.random.split(key, 5)
        params = {
            "encoder": encoder.init(keys[0], 1),
            "rnn": cell.init(keys[1], features),
            "digit": digit_head.init(keys[2], head_size),
            "direction": direction_head.init(keys[3], head_size),
        }
        if post is not None:
            params["post"] = post.init(keys[4], cell.output_size // (side * side))
        return params

    def apply(params: dict, frames: Array) -> tuple[Array, Array]:
        if frames.ndim != 4 or frames.shape[2:] != (canvas, canvas):
            raise ValueError(f"frames must have shape [batch, time, {canvas}, {canvas}]; got {frames.shape}")
        maps = encoder.apply(params["encoder"], frames[..., None])  # [B, T, side, side, C]
        batch, steps = frames.shape[:2]
        outputs, _ = unroll(cell, params["rnn"], maps.reshape(batch, steps, features))
        last = jnp.asarray(outputs)[:, -1]  # static_unroll is typed to allow a list too
        if post is not None:
            last = post.apply(params["post"], last.reshape(batch, side, side, -1)).reshape(batch, head_size)
        return digit_head.apply(params["digit"], last), direction_head.apply(params["direction"], last)

    return VideoClassifier(init, apply, cell)


def memoryless(cell: Cell) -> Cell:
    """``cell`` with its state reset to zeros before every step: no recurrence, no memory (an ablation).

    Under it a clip classifier reads only the last frame, and a decoder never sees the
    initial state it was given.
    """

    def apply(params, state, x, **kwargs):
        return cell.apply(params, jax.tree.map(jnp.zeros_like, state), x, **kwargs)

    # recurrence=None: the fast path describes the real recurrence, which this ablation removes
    return cell._replace(apply=apply, recurrence=None)


def video_loss(model: VideoClassifier) -> train.LossFn:
    """``loss_fn(params, batch, key)``: summed cross-entropies; accuracies of digit, direction and both."""

    def loss_fn(params: Any, batch: dict, key: Array) -> tuple[Array, dict]:
        digit_logits, direction_logits = model.apply(params, batch["frames"])
        loss = (
            optax.softmax_cross_entropy_with_integer_labels(digit_logits, batch["digits"]).mean()
            + optax.softmax_cross_entropy_with_integer_labels(direction_logits, batch["directions"]).mean()
        )
        digit_ok = jnp.argmax(digit_logits, -1) == batch["digits"]
        direction_ok = jnp.argmax(direction_logits, -1) == batch["directions"]
        return loss, {
            "accuracy": jnp.mean((digit_ok & direction_ok).astype(jnp.float32)),
            "digit_accuracy": jnp.mean(digit_ok.astype(jnp.float32)),
            "direction_accuracy": jnp.mean(direction_ok.astype(jnp.float32)),
        }

    return loss_fn


def train_video(
    config: VideoConfig, splits: dict[str, Split] | None = None, *, model: VideoClassifier | None = None
) -> dict:
    """Train a clip classifier with :func:`jaxrnn.fit`, validating each epoch; test once at the end.

    Args:
      config: a :class:`VideoConfig`.
      splits: ``{"train", "validation", "test"}`` :class:`~jaxrnn.data.moving_mnist.Split` s;
        default: MNIST from ``config.data_dir`` split by :func:`~jaxrnn.data.moving_mnist.mnist_splits`.
      model: train this model instead of the one ``config`` describes (an ablation, say).

    Returns:
      A dict: ``config``, ``history``, ``validation`` and ``test`` metrics (``accuracy`` = digit and
      direction both right), ``seconds``, ``params``.
    """
    if model is None:
        model = video_classifier(
            config.model, canvas=config.canvas, units=config.units, filters=config.filters
        )
    run = start_run("video", config, video_loss(model))
    if splits is None:
        from jaxrnn.data.mnist import load_mnist
        from jaxrnn.data.moving_mnist import mnist_splits

        splits = mnist_splits(*load_mnist(config.data_dir))
    clips: dict[str, Any] = dict(
        num_frames=config.num_frames, canvas=config.canvas, speed=(config.min_speed, config.max_speed)
    )
    train_batches = clip_batches(
        splits["train"], config.batch_size, seed=config.seed, limit=config.train_size, **clips
    )

    def held_out(name: str, seed: int) -> Callable[[], Any]:
        batches = clip_batches(splits[name], 500, seed=seed, shuffle=False, limit=config.eval_size, **clips)
        return lambda: batches(0)

    state, history, start = fit_run(
        run,
        model.init,
        train_batches,
        # validation and test clips get their own fixed paths, unrelated to the training seed's
        held_out("validation", 1_000_000 + config.seed),
        len(splits["train"].images),
    )
    result = {
        "history": history,
        "validation": {k[5:]: v[-1] for k, v in history.items() if k.startswith("eval_")},
        "test": train.evaluate(run.eval_fn, state.params, held_out("test", 2_000_000 + config.seed)()),
        "params": state.params,
    }
    result = finish_run(run, result, start, f"moving MNIST, {config.model}")
    if run.out is not None:
        sample = next(iter(held_out("test", 2_000_000 + config.seed)()))
        digit_logits, direction_logits = jax.jit(model.apply)(state.params, sample["frames"][:6])
        predicted = (np.argmax(digit_logits, -1), np.argmax(direction_logits, -1))
        plot_clips(sample, predicted, run.out / "test_clips.png")
    return result


def plot_clips(batch: dict, predicted: tuple[Any, Any], path: Any) -> None:
    """A PNG of the first clips of ``batch``, a row each, titled with the prediction and the truth."""
    from jaxrnn.plots import new_figure

    rows, steps = len(predicted[0]), batch["frames"].shape[1]
    fig, axes = new_figure(rows, steps, figsize=(1.3 * steps, 1.4 * rows), squeeze=False)
    for i in range(rows):
        truth = f"{batch['digits'][i]} {DIRECTIONS[batch['directions'][i]]}"
        guess = f"{predicted[0][i]} {DIRECTIONS[predicted[1][i]]}"
        for t in range(steps):
            axes[i, t].imshow(batch["frames"][i, t], cmap="gray", vmin=0, vmax=1)
            axes[i, t].set_axis_off()
        axes[i, 0].set_title(f"predicted {guess} / true {truth}", fontsize=7, loc="left")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
