"""Reader for tab-separated Tatoeba files and a deterministic train/validation/test split."""

from __future__ import annotations

import hashlib
import os


def read_tatoeba(path: str | os.PathLike, *, max_pairs: int | None = None) -> list[tuple[str, str]]:
    """Read ``English<TAB>French[<TAB>attribution]`` lines (the manythings.org/anki format).

    Args:
      path: a UTF-8 text file.
      max_pairs: stop after this many pairs.

    Returns:
      ``(source, target)`` pairs; blank lines are skipped.

    Raises:
      ValueError: a non-blank line with fewer than two tab-separated fields (names the line number).
    """
    pairs = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n\r")
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) < 2 or not fields[0].strip() or not fields[1].strip():
                raise ValueError(
                    f"{path}:{number}: expected 'source<TAB>target[<TAB>attribution]'; got {line[:80]!r}"
                )
            pairs.append((fields[0].strip(), fields[1].strip()))
            if max_pairs is not None and len(pairs) >= max_pairs:
                break
    return pairs


def split_pairs(
    pairs: list[tuple[str, str]], *, valid_fraction: float = 0.05, test_fraction: float = 0.05
) -> dict[str, list[tuple[str, str]]]:
    """Split by a hash of the source sentence: deterministic, and a sentence never sits in two splits.

    Returns:
      ``{"train": [...], "valid": [...], "test": [...]}``.
    """
    if not (0 <= valid_fraction and 0 <= test_fraction and valid_fraction + test_fraction < 1):
        raise ValueError(
            "valid_fraction and test_fraction must be >= 0 with a sum < 1; "
            f"got {valid_fraction}, {test_fraction}"
        )
    out = {"train": [], "valid": [], "test": []}
    for pair in pairs:
        h = int.from_bytes(hashlib.md5(pair[0].encode("utf-8")).digest()[:8], "little") / 2.0**64
        name = "test" if h < test_fraction else "valid" if h < test_fraction + valid_fraction else "train"
        out[name].append(pair)
    return out
