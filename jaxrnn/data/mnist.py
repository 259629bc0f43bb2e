"""MNIST from the four standard IDX ``.gz`` files, checked against the md5s of their decompressed content.

The ``.gz`` wrappers differ between mirrors, so checksums are taken on the
decompressed bytes (the original LeCun distribution's files).
"""

from __future__ import annotations

import gzip
import hashlib
import os
from typing import NamedTuple

import numpy as np

from jaxrnn.data.root import ENV_VAR, data_root, dataset_dir

FILES = {
    "train_images": ("train-images-idx3-ubyte.gz", "6bbc9ace898e44ae57da46a324031adb"),
    "train_labels": ("train-labels-idx1-ubyte.gz", "a25bea736e30d166cdddb491f175f624"),
    "test_images": ("t10k-images-idx3-ubyte.gz", "2646ac647ad5339dbf082846283269ea"),
    "test_labels": ("t10k-labels-idx1-ubyte.gz", "27ae3e4e09519cfbb04c329615203637"),
}


class Mnist(NamedTuple):
    """MNIST arrays: images ``uint8 [N, 28, 28]``, labels ``int32 [N]``."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def parse_idx(data: bytes, name: str = "data") -> np.ndarray:
    """Decode IDX bytes (magic ``0 0 dtype rank``, big-endian int32 dims, then the values).

    Args:
      data: the decompressed file content.
      name: used in error messages.

    Returns:
      A NumPy array of the stored dtype and shape.
    """
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in dtypes:
        raise ValueError(
            f"{name} is not an IDX file: expected magic bytes 00 00 <type> <rank>; got {data[:4]!r}"
        )
    rank = data[3]
    header = 4 + 4 * rank
    dims = tuple(int(d) for d in np.frombuffer(data[4:header], ">i4"))
    dtype = np.dtype(dtypes[data[2]])
    expected = header + int(np.prod(dims)) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(
            f"{name} is truncated or padded: header says {dims} -> {expected} bytes; got {len(data)}"
        )
    return np.frombuffer(data[header:], dtype).reshape(dims).astype(dtype.newbyteorder("="))


def load_mnist(data_dir: str | os.PathLike | None = None, *, verify: bool = True) -> Mnist:
    """Read MNIST from ``data_dir`` (or ``$JAXRNN_DATA``), verifying the decompressed md5s.

    Args:
      data_dir: directory holding the four ``*-ubyte.gz`` files (a ``mnist/``
        subdirectory of it is also searched).
      verify: check each file's decompressed md5 against the original distribution.

    Returns:
      :class:`Mnist`: ``train_images [60000, 28, 28]`` uint8, ``train_labels [60000]``
      int32, ``test_images [10000, 28, 28]``, ``test_labels [10000]``.

    Raises:
      FileNotFoundError: a file is missing (the message says where to put it).
      ValueError: a file is corrupted (bad gzip, bad checksum, bad IDX header).
    """
    root = data_root(data_dir)
    if not (root / FILES["train_images"][0]).exists():
        root = dataset_dir("mnist", root)  # the $JAXRNN_DATA root's mnist/ folder
    arrays = {}
    for field, (filename, md5) in FILES.items():
        path = root / filename
        if not path.is_file():
            raise FileNotFoundError(
                f"MNIST file {filename} not found in {str(root)!r}: put the four standard files "
                f"({', '.join(f for f, _ in FILES.values())}) there, or point data_dir / ${ENV_VAR} to them"
            )
        try:
            data = gzip.decompress(path.read_bytes())
        except (OSError, EOFError) as e:
            raise ValueError(
                f"MNIST file {str(path)!r} is corrupted (not a valid gzip file: {e}); replace it"
            ) from e
        if verify:
            got = hashlib.md5(data).hexdigest()
            if got != md5:
                raise ValueError(
                    f"MNIST file {str(path)!r} is corrupted: md5 of its decompressed content should be "
                    f"{md5}; "
                    f"got {got}. Replace it with the original file"
                )
        arrays[field] = parse_idx(data, str(path))
    return Mnist(
        arrays["train_images"],
        arrays["train_labels"].astype(np.int32),
        arrays["test_images"],
        arrays["test_labels"].astype(np.int32),
    )
