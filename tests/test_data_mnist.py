"""MNIST loader: tiny IDX files written here, checksum and missing-file errors, the real files when present."""

from __future__ import annotations

import gzip
import hashlib
import struct

import conftest
import numpy as np
import pytest

from jaxrnn.data import mnist


def _idx(array: np.ndarray) -> bytes:
    # written by hand from the IDX spec: 0, 0, type 0x08 (ubyte), rank, big-endian dims, data
    return bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


@pytest.fixture
def tiny_dir(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    arrays = {
        "train_images": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
        "train_labels": np.array([0, 9, 3, 3, 7], np.uint8),
        "test_images": rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
        "test_labels": np.array([1, 2], np.uint8),
    }
    files = {}
    for field, a in arrays.items():
        raw = _idx(a)
        name = mnist.FILES[field][0]
        (tmp_path / name).write_bytes(gzip.compress(raw))
        files[field] = (name, hashlib.md5(raw).hexdigest())
    monkeypatch.setattr(mnist, "FILES", files)
    return tmp_path, arrays


def test_reads_tiny_idx_files(tiny_dir):
    path, arrays = tiny_dir
    m = mnist.load_mnist(path)
    np.testing.assert_array_equal(m.train_images, arrays["train_images"])
    np.testing.assert_array_equal(m.test_labels, [1, 2])
    assert m.train_labels.dtype == np.int32 and m.train_images.shape == (5, 28, 28)


def test_env_var_is_used(tiny_dir, monkeypatch):
    path, _ = tiny_dir
    monkeypatch.setenv("JAXRNN_DATA", str(path))
    assert mnist.load_mnist().test_images.shape == (2, 28, 28)


def test_missing_dir_and_file(tmp_path, tiny_dir, monkeypatch):
    monkeypatch.delenv("JAXRNN_DATA", raising=False)
    with pytest.raises(ValueError, match=r"data_dir is not set: pass data_dir=.* or set \$JAXRNN_DATA"):
        mnist.load_mnist()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(
        FileNotFoundError, match=r"train-images-idx3-ubyte.gz not found in .*empty.*put the four"
    ):
        mnist.load_mnist(empty)


def test_corrupted_files(tiny_dir):
    path, _ = tiny_dir
    name = mnist.FILES["test_labels"][0]
    (path / name).write_bytes(gzip.compress(_idx(np.array([1, 3], np.uint8))))  # one label changed
    with pytest.raises(
        ValueError, match=r"t10k-labels-idx1-ubyte.gz' is corrupted: md5 .* should be [0-9a-f]{32}; got"
    ):
        mnist.load_mnist(path)
    (path / name).write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match="is corrupted \\(not a valid gzip file"):
        mnist.load_mnist(path)


def test_parse_idx_rejects_bad_headers():
    with pytest.raises(ValueError, match="not an IDX file"):
        mnist.parse_idx(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match=r"truncated or padded: header says \(3,\)"):
        mnist.parse_idx(_idx(np.array([1, 2, 3], np.uint8))[:-1])


def shared_mnist():
    # ../shared/data beside the repository; a git worktree sits one level deeper (wt/<name>)
    for root in (conftest.SHARED_DATA, conftest.REPO.parents[1] / "shared" / "data"):
        if (root / "mnist").is_dir():
            return root / "mnist"
    pytest.skip(
        f"shared MNIST not found at {conftest.SHARED_DATA}/mnist (put the files there to run this test)"
    )


def test_real_mnist_when_present():
    m = mnist.load_mnist(shared_mnist())  # checks the md5s of SOURCE.md
    assert m.train_images.shape == (60000, 28, 28) and m.test_images.shape == (10000, 28, 28)
    assert m.train_labels.shape == (60000,) and m.test_labels.shape == (10000,)
    assert m.train_labels.min() == 0 and m.train_labels.max() == 9
    # class counts documented in SOURCE.md
    assert np.bincount(m.test_labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
