"""Moving-MNIST clips: a real MNIST digit sliding across a blank canvas, labelled with digit and direction.

Each clip is ``num_frames`` frames of a ``canvas x canvas`` image in which one
28x28 MNIST digit moves in a straight line, left, right, up or down, at a
constant speed, never leaving the canvas. Everything random (direction, speed,
start) comes from a seeded NumPy generator, so the clips are a function of the
MNIST files and the seed.

The splits keep held-out digits held out: training clips are drawn from the
first 55,000 MNIST training images, validation clips from the last 5,000, and
test clips from the 10,000 MNIST test images only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import NamedTuple

import numpy as np

DIRECTIONS = ("left", "right", "up", "down")
# (dx, dy) per direction in image coordinates: rows grow downwards, so "up" is dy = -1
_STEPS = np.array([[-1, 0], [1, 0], [0, -1], [0, 1]], np.int64)
DIGIT = 28
VALIDATION_SIZE = 5000


class Trajectories(NamedTuple):
    """Each clip's ``direction`` (index into :data:`DIRECTIONS`), its digit's top-left ``x, y [N, T]``."""

    direction: np.ndarray
    x: np.ndarray
    y: np.ndarray


class Split(NamedTuple):
    """One split's source digits: ``images uint8 [N, 28, 28]``, ``digits int32 [N]``."""

    images: np.ndarray
    digits: np.ndarray


def _check_sizes(num_frames: int, canvas: int, speed: tuple[int, int]) -> None:
    for name, value in (("num_frames", num_frames), ("canvas", canvas)):
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{name} must be a positive int; got {value!r}")
    if num_frames < 2:
        raise ValueError(f"num_frames must be at least 2 (a direction needs two frames); got {num_frames}")
    if canvas < DIGIT:
        raise ValueError(f"canvas must be at least {DIGIT} pixels (one MNIST digit); got {canvas}")
    low, high = speed
    if not (isinstance(low, int) and isinstance(high, int) and 1 <= low <= high):
        raise ValueError(f"speed must be a pair of ints 1 <= low <= high; got {speed!r}")
    if high * (num_frames - 1) > canvas - DIGIT:
        raise ValueError(
            f"speed high * (num_frames - 1) must fit in canvas - {DIGIT} = {canvas - DIGIT} pixels so the "
            f"digit stays on the canvas; got {high} * {num_frames - 1} = {high * (num_frames - 1)}"
        )


def random_trajectories(
    n: int, *, num_frames: int, canvas: int, speed: tuple[int, int] = (3, 6), seed: int | list[int] = 0
) -> Trajectories:
    """Draw ``n`` straight, constant-speed paths that keep a 28x28 digit on the canvas.

    Args:
      n: number of clips.
      num_frames: T.
      canvas: the canvas side in pixels.
      speed: ``(low, high)`` pixels per frame, inclusive.
      seed: seed (or seed sequence) of ``numpy.random.default_rng``.

    Returns:
      :class:`Trajectories` with ``x, y`` of shape ``[n, T]``.
    """
    _check_sizes(num_frames, canvas, speed)
    rng = np.random.default_rng(seed)
    direction = rng.integers(0, len(DIRECTIONS), n)
    pace = rng.integers(speed[0], speed[1] + 1, n)
    travel = pace * (num_frames - 1)
    room = canvas - DIGIT
    # along the motion, start where the whole path fits; across it, anywhere
    along = rng.integers(0, room - travel + 1)
    across = rng.integers(0, room + 1, n)
    dx, dy = _STEPS[direction].T
    start_x = np.where(dx == 0, across, np.where(dx > 0, along, along + travel))
    start_y = np.where(dy == 0, across, np.where(dy > 0, along, along + travel))
    t = np.arange(num_frames)
    x = start_x[:, None] + (dx * pace)[:, None] * t
    y = start_y[:, None] + (dy * pace)[:, None] * t
    return Trajectories(direction.astype(np.int32), x.astype(np.int32), y.astype(np.int32))


def render_clips(images: np.ndarray, trajectories: Trajectories, canvas: int) -> np.ndarray:
    """Paste each digit at its path's positions.

    Args:
      images: ``uint8 [N, 28, 28]``.
      trajectories: ``x, y [N, T]``.
      canvas: the canvas side.

    Returns:
      ``uint8 [N, T, canvas, canvas]``.
    """
    n, num_frames = trajectories.x.shape
    if images.shape != (n, DIGIT, DIGIT):
        raise ValueError(f"images must have shape ({n}, {DIGIT}, {DIGIT}); got {tuple(images.shape)}")
    frames = np.zeros((n, num_frames, canvas, canvas), np.uint8)
    offsets = np.arange(DIGIT)
    clip = np.arange(n)[:, None, None]
    for t in range(num_frames):
        rows = trajectories.y[:, t, None, None] + offsets[None, :, None]
        cols = trajectories.x[:, t, None, None] + offsets[None, None, :]
        frames[clip, t, rows, cols] = images
    return frames


def mnist_splits(
    train_images: np.ndarray, train_labels: np.ndarray, test_images: np.ndarray, test_labels: np.ndarray
) -> dict[str, Split]:
    """Split MNIST: ``train`` = the first 55,000 training images, ``validation`` = the last 5,000,
    ``test`` = the test set (each a :class:`Split`)."""
    cut = len(train_images) - VALIDATION_SIZE
    if cut <= 0:
        raise ValueError(
            f"train_images must hold more than {VALIDATION_SIZE} images; got {len(train_images)}"
        )
    return {
        "train": Split(train_images[:cut], train_labels[:cut]),
        "validation": Split(train_images[cut:], train_labels[cut:]),
        "test": Split(test_images, test_labels),
    }


def clip_batches(
    split: Split,
    batch_size: int,
    *,
    num_frames: int,
    canvas: int,
    speed: tuple[int, int] = (3, 6),
    seed: int = 0,
    shuffle: bool = True,
    limit: int | None = None,
) -> Callable[[int], Iterator[dict[str, np.ndarray]]]:
    """A ``batches(epoch)`` function rendering clips on the fly (a whole split would not fit in memory).

    With ``shuffle=True`` each epoch draws fresh paths for the digits (seeded with
    ``(seed, epoch)``), in a fresh order, dropping the last partial batch; with
    ``shuffle=False`` the clips are fixed by ``seed`` alone and come in order (evaluation).

    Args:
      split: the source digits.
      batch_size: B.
      num_frames, canvas, speed: as in :func:`random_trajectories`.
      seed: base seed.
      shuffle: training (True) or evaluation (False) order.
      limit: use only the first ``limit`` digits of the split.

    Returns:
      ``batches(epoch)`` yielding dicts ``frames float32 [B, T, canvas, canvas]`` in ``[0, 1]``,
      ``digits int32 [B]``, ``directions int32 [B]``.
    """
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive int; got {batch_size!r}")
    _check_sizes(num_frames, canvas, speed)
    n = len(split.images) if limit is None else min(limit, len(split.images))

    def batches(epoch: int) -> Iterator[dict[str, np.ndarray]]:
        draw = [seed, epoch] if shuffle else [seed]
        paths = random_trajectories(n, num_frames=num_frames, canvas=canvas, speed=speed, seed=draw)
        order = np.random.default_rng([seed, epoch, 1]).permutation(n) if shuffle else np.arange(n)
        stop = n - n % batch_size if shuffle else n
        for start in range(0, stop, batch_size):
            idx = order[start : start + batch_size]
            sub = Trajectories(paths.direction[idx], paths.x[idx], paths.y[idx])
            frames = render_clips(split.images[idx], sub, canvas)
            yield {
                "frames": frames.astype(np.float32) / np.float32(255.0),
                "digits": split.digits[idx].astype(np.int32),
                "directions": sub.direction,
            }

    return batches
