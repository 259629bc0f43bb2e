"""Moving-MNIST clips: digits where the paths say, labels checked from the pixels, disjoint real splits."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from jaxrnn.data.moving_mnist import (
    DIRECTIONS,
    Split,
    clip_batches,
    mnist_splits,
    random_trajectories,
    render_clips,
)


def _digits(n, seed=0):
    # nonzero everywhere, so a pasted digit's footprint is exactly its 28x28 square
    return np.random.default_rng(seed).integers(1, 256, (n, 28, 28)).astype(np.uint8)


def test_each_frame_holds_the_digit_at_its_path_and_nothing_else():
    images = _digits(40)
    paths = random_trajectories(40, num_frames=5, canvas=48, speed=(2, 5), seed=3)
    frames = render_clips(images, paths, 48)
    assert frames.shape == (40, 5, 48, 48) and frames.dtype == np.uint8
    for i in range(40):
        for t in range(5):
            x, y = paths.x[i, t], paths.y[i, t]
            assert 0 <= x <= 20 and 0 <= y <= 20
            np.testing.assert_array_equal(frames[i, t, y : y + 28, x : x + 28], images[i])
            assert int(frames[i, t].astype(np.int64).sum()) == int(images[i].astype(np.int64).sum())


def test_direction_labels_agree_with_the_motion_seen_in_the_pixels():
    images = _digits(200, seed=1)
    paths = random_trajectories(200, num_frames=4, canvas=64, speed=(3, 6), seed=4)
    frames = render_clips(images, paths, 64).astype(np.float64)
    rows, cols = np.mgrid[:64, :64]
    mass = frames.sum(axis=(2, 3))
    cy, cx = (frames * rows).sum(axis=(2, 3)) / mass, (frames * cols).sum(axis=(2, 3)) / mass
    dx, dy = cx[:, -1] - cx[:, 0], cy[:, -1] - cy[:, 0]
    # from the centres of mass alone: image rows grow downwards, so "up" lowers the row
    seen = np.where(
        np.abs(dx) > np.abs(dy), np.where(dx < 0, 0, 1), np.where(dy < 0, 2, 3)
    )  # left, right, up, down
    np.testing.assert_array_equal(seen, paths.direction)
    assert DIRECTIONS == ("left", "right", "up", "down")
    speeds = np.maximum(np.abs(dx), np.abs(dy)) / 3
    assert speeds.min() >= 3 - 1e-9 and speeds.max() <= 6 + 1e-9
    assert set(np.unique(paths.direction)) == {0, 1, 2, 3}


def test_same_seed_same_clips_and_epochs_differ():
    split = Split(_digits(20, seed=2), np.arange(20, dtype=np.int32) % 10)
    make = lambda: clip_batches(split, 8, num_frames=3, canvas=32, speed=(1, 2), seed=7)  # noqa: E731
    a, b = list(make()(0)), list(make()(0))
    assert len(a) == 2  # 20 // 8, the partial batch dropped
    for x, y in zip(a, b):
        for k in x:
            np.testing.assert_array_equal(x[k], y[k])
    assert not np.array_equal(a[0]["frames"], list(make()(1))[0]["frames"])
    held = list(clip_batches(split, 8, num_frames=3, canvas=32, speed=(1, 2), seed=7, shuffle=False)(5))
    assert [len(h["digits"]) for h in held] == [8, 8, 4]
    np.testing.assert_array_equal(np.concatenate([h["digits"] for h in held]), split.digits)
    assert a[0]["frames"].dtype == np.float32 and a[0]["frames"].max() <= 1.0


def test_bad_sizes_are_rejected_with_clear_messages():
    with pytest.raises(ValueError, match="num_frames must be at least 2"):
        random_trajectories(3, num_frames=1, canvas=64)
    with pytest.raises(ValueError, match="must fit in canvas - 28 = 36 pixels.*got 8 \\* 5 = 40"):
        random_trajectories(3, num_frames=6, canvas=64, speed=(3, 8))
    with pytest.raises(ValueError, match="canvas must be at least 28"):
        random_trajectories(3, num_frames=2, canvas=20)
    with pytest.raises(ValueError, match="batch_size must be a positive int; got 0"):
        clip_batches(Split(_digits(2), np.zeros(2, np.int32)), 0, num_frames=2, canvas=32)


def test_real_splits_are_disjoint_and_test_clips_use_test_digits_only(shared_data):
    from jaxrnn.data.mnist import load_mnist

    mnist = load_mnist(shared_data)
    splits = mnist_splits(*mnist)
    assert [len(splits[k].images) for k in ("train", "validation", "test")] == [55000, 5000, 10000]
    np.testing.assert_array_equal(splits["validation"].images, mnist.train_images[55000:])

    def hashes(images):
        return {hashlib.md5(x.tobytes()).hexdigest() for x in images}

    train, validation, test = (hashes(splits[k].images) for k in ("train", "validation", "test"))
    assert not train & validation and not train & test and not validation & test
    # every test clip's digit, cut out of its frames, is a test image and never a training one
    batch = next(iter(clip_batches(splits["test"], 50, num_frames=6, canvas=64, seed=1, shuffle=False)(0)))
    frames = np.rint(batch["frames"] * 255).astype(np.uint8)
    for i in range(50):
        ys, xs = np.nonzero(frames[i, 0])
        # the digit's bounding box within its 28x28 square is not known, so match by label and content
        assert batch["digits"][i] == mnist.test_labels[i]
        crop = frames[i, 0, ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
        image = mnist.test_images[i]
        r, c = np.nonzero(image)
        np.testing.assert_array_equal(crop, image[r.min() : r.max() + 1, c.min() : c.max() + 1])
