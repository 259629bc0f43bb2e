"""The embedded English -> French corpus of numbers written in words, 0 to 999 999 (no download)."""

from __future__ import annotations

import numpy as np

_EN_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen"
).split()
_EN_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_FR_UNITS = (
    "zéro un deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze seize "
    "dix-sept dix-huit dix-neuf"
).split()
_FR_TENS = "_ _ vingt trente quarante cinquante soixante".split()


def english_number(n: int) -> str:
    """``n`` in English words, American style without "and": 321 -> "three hundred twenty-one"."""
    if not isinstance(n, int) or not 0 <= n <= 999_999:
        raise ValueError(f"n must be an int in [0, 999999]; got {n!r}")

    def below_1000(k: int) -> list[str]:
        words = []
        if k >= 100:
            words += [_EN_UNITS[k // 100], "hundred"]
            k %= 100
        if k >= 20:
            words.append(_EN_TENS[k // 10] + (f"-{_EN_UNITS[k % 10]}" if k % 10 else ""))
        elif k or not words:
            words.append(_EN_UNITS[k])
        return words

    if n < 1000:
        return " ".join(below_1000(n))
    words = below_1000(n // 1000) + ["thousand"]
    return " ".join(words + (below_1000(n % 1000) if n % 1000 else []))


def _fr_below_100(k: int, before_mille: bool) -> str:
    if k < 20:
        return _FR_UNITS[k]
    tens, unit = divmod(k, 10)
    if tens in (7, 9):  # 70-79 and 90-99 count on from 60 and 80: soixante-douze, quatre-vingt-dix-neuf
        base, unit = ("soixante" if tens == 7 else "quatre-vingt"), unit + 10
        if unit == 11 and tens == 7:
            return "soixante et onze"
        return f"{base}-{_FR_UNITS[unit]}"
    if tens == 8:  # quatre-vingts takes an s only when it ends the number (not before mille)
        return (
            "quatre-vingt" + ("s" if not before_mille else "")
            if unit == 0
            else f"quatre-vingt-{_FR_UNITS[unit]}"
        )
    if unit == 0:
        return _FR_TENS[tens]
    if unit == 1:
        return f"{_FR_TENS[tens]} et un"
    return f"{_FR_TENS[tens]}-{_FR_UNITS[unit]}"


def _fr_below_1000(k: int, before_mille: bool) -> str:
    hundreds, rest = divmod(k, 100)
    words = []
    if hundreds:
        if hundreds == 1:
            words.append("cent")
        else:
            # deux cents, but deux cent un and deux cent mille
            words += [_FR_UNITS[hundreds], "cents" if rest == 0 and not before_mille else "cent"]
    if rest or not words:
        words.append(_fr_below_100(rest, before_mille))
    return " ".join(words)


def french_number(n: int) -> str:
    """``n`` in French words, traditional spelling: 71 -> "soixante et onze", 80 -> "quatre-vingts"."""
    if not isinstance(n, int) or not 0 <= n <= 999_999:
        raise ValueError(f"n must be an int in [0, 999999]; got {n!r}")
    if n < 1000:
        return _fr_below_1000(n, before_mille=False)
    thousands, rest = divmod(n, 1000)
    words = [] if thousands == 1 else [_fr_below_1000(thousands, before_mille=True)]
    words.append("mille")  # mille never takes an s and "un mille" is just "mille"
    if rest:
        words.append(_fr_below_1000(rest, before_mille=False))
    return " ".join(words)


def numbers_corpus(
    *, num_train: int = 50_000, num_valid: int = 1_000, num_test: int = 1_000, seed: int = 0
) -> dict[str, list[tuple[str, str]]]:
    """Disjoint, deterministic train/validation/test splits of (English, French) number pairs.

    Args:
      num_train, num_valid, num_test: split sizes (their sum at most 1 000 000).
      seed: the NumPy seed of the shuffle over 0..999 999.

    Returns:
      ``{"train": [...], "valid": [...], "test": [...]}`` of ``(english, french)`` pairs.
    """
    total = num_train + num_valid + num_test
    if min(num_train, num_valid, num_test) < 0 or total > 1_000_000:
        raise ValueError(f"split sizes must be >= 0 and sum to at most 1000000; got {total}")
    order = np.random.default_rng(seed).permutation(1_000_000)[:total]
    pairs = [(english_number(int(n)), french_number(int(n))) for n in order]
    return {
        "train": pairs[:num_train],
        "valid": pairs[num_train : num_train + num_valid],
        "test": pairs[num_train + num_valid :],
    }
