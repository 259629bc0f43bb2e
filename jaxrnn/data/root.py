"""Where the data lives: ``$JAXRNN_DATA`` names one root holding a folder per dataset.

::

    $JAXRNN_DATA/
      mnist/         the four IDX .gz files (files directly in the root are still accepted)
      timeseries/    co2.csv, elnino.csv
      translation/   en-fr.tsv
      wordnet/       data.noun, data.verb, ...
"""

from __future__ import annotations

import os
import pathlib

ENV_VAR = "JAXRNN_DATA"
DATASETS = ("mnist", "timeseries", "translation", "wordnet")


def data_root(data_dir: str | os.PathLike | None = None) -> pathlib.Path:
    """``data_dir``, else ``$JAXRNN_DATA``, as a path.

    Raises:
      ValueError: neither is set (the message says what the root should hold).
    """
    if data_dir is None:
        data_dir = os.environ.get(ENV_VAR)
    if data_dir is None:
        raise ValueError(
            f"data_dir is not set: pass data_dir=... (--data-dir on the command line) or set ${ENV_VAR} "
            f"to a directory holding {', '.join(f'{d}/' for d in DATASETS)}"
        )
    return pathlib.Path(data_dir)


def dataset_dir(name: str, data_dir: str | os.PathLike | None = None) -> pathlib.Path:
    """The folder of dataset ``name``: ``<root>/<name>`` when it exists, else the root itself.

    Args:
      name: one of ``mnist``, ``timeseries``, ``translation``, ``wordnet``.
      data_dir: the root (or the dataset's own folder); default ``$JAXRNN_DATA``.

    Raises:
      ValueError: an unknown ``name``, or no ``data_dir`` and no ``$JAXRNN_DATA``.
    """
    if name not in DATASETS:
        raise ValueError(f"name must be one of {list(DATASETS)}; got {name!r}")
    root = data_root(data_dir)
    return root / name if (root / name).is_dir() else root
