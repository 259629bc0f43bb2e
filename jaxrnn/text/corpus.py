"""Reader for tab-separated Tatoeba files and a deterministic train/validation/test split by source hash."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence


def read_tatoeba(
    path: str | os.PathLike, *, max_pairs: int | None = None, catalogue: bool = False
) -> list[tuple[str, ...]]:
    """Read ``English<TAB>French[<TAB>catalogue or attribution]`` lines (the manythings.org/anki format).

    Args:
      path: a UTF-8 text file.
      max_pairs: stop after this many pairs.
      catalogue: keep the third column (``""`` when a line has none): in the shared
        ``translation/en-fr.tsv`` it names the gettext catalogue of the pair, so whole catalogues can be
        held out (:func:`split_pairs`'s ``held_out``).

    Returns:
      ``(source, target)`` pairs, or ``(source, target, catalogue)`` triples; blank lines are skipped.

    Raises:
      ValueError: a non-blank line with fewer than two tab-separated fields (names the line number).
    """
    if max_pairs is not None and (
        not isinstance(max_pairs, int) or isinstance(max_pairs, bool) or max_pairs < 1
    ):
        raise ValueError(f"max_pairs must be a positive int or None; got {max_pairs!r}")
    pairs: list[tuple[str, ...]] = []
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
            pair = (fields[0].strip(), fields[1].strip())
            pairs.append(pair + ((fields[2].strip() if len(fields) > 2 else ""),) if catalogue else pair)
            if max_pairs is not None and len(pairs) >= max_pairs:
                break
    return pairs


def source_hash(source: str) -> float:
    """A number in [0, 1) from the md5 of the source sentence, which decides its split."""
    return int.from_bytes(hashlib.md5(source.encode("utf-8")).digest()[:8], "little") / 2.0**64


def split_pairs(
    pairs: Sequence[Sequence[str]],
    *,
    valid_fraction: float = 0.05,
    test_fraction: float = 0.05,
    held_out: Iterable[str] = (),
) -> dict[str, list]:
    """Split by a hash of the source sentence: deterministic, and a sentence never sits in two splits.

    A pair goes to ``test`` when its source hash is below ``test_fraction``, else to ``valid`` when below
    ``test_fraction + valid_fraction``, else to ``train``; so the test split does not change when the
    validation fraction does, and pairs with the same source always share a split.

    Args:
      pairs: ``(source, target)`` pairs or ``(source, target, catalogue)`` triples.
      valid_fraction, test_fraction: the shares of validation and test pairs.
      held_out: catalogue names (the third field) whose pairs all go to a fourth split, ``held_out``
        (out-of-domain evaluation); pairs of other catalogues whose source also occurs in a held-out
        catalogue are dropped from ``train`` and ``valid``, so no held-out sentence is trained on.

    Returns:
      ``{"train": [...], "valid": [...], "test": [...], "held_out": [...]}`` (the pairs as given).
    """
    for name, value in (("valid_fraction", valid_fraction), ("test_fraction", test_fraction)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise ValueError(f"{name} must be a number in [0, 1); got {value!r}")
    if valid_fraction + test_fraction >= 1:
        raise ValueError(
            f"valid_fraction + test_fraction must be < 1; got {valid_fraction} + {test_fraction}"
        )
    if isinstance(held_out, str):
        raise TypeError(f"held_out must be a collection of catalogue names; got the str {held_out!r}")
    held = set(held_out)
    if held and any(len(p) < 3 for p in pairs):
        raise ValueError(
            "held_out needs (source, target, catalogue) triples; read_tatoeba(..., catalogue=True)"
        )
    held_sources = {p[0] for p in pairs if held and p[2] in held}
    out: dict[str, list] = {"train": [], "valid": [], "test": [], "held_out": []}
    for pair in pairs:
        if held and pair[2] in held:
            out["held_out"].append(pair)
            continue
        h = source_hash(pair[0])
        name = "test" if h < test_fraction else "valid" if h < test_fraction + valid_fraction else "train"
        if name != "test" and pair[0] in held_sources:
            continue
        out[name].append(pair)
    return out
