"""A translation corpus from the machine's own gettext catalogues (``/usr/share/locale/<locale>/...``).

The filters are those of the shared ``translation/en-fr.tsv`` (its ``SOURCE.md``), so any Debian/Ubuntu
machine gives a corpus of the same kind with no download.
"""

from __future__ import annotations

import os
import pathlib
import re
import struct

_LE_MAGIC, _BE_MAGIC = 0x950412DE, 0xDE120495
_PLACEHOLDER = re.compile(
    r"%(?:\d+\$)?[-+ #0']*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?:hh|h|ll|l|L|q|j|z|t|I64)?[diouxXeEfFgGaAcspnmCS%]"
    r"|%\(\w+\)|%\{|\$\w|\$\{|\{[^}]*\}"
)
_MARKUP = re.compile(r"<[A-Za-z/!?][^>]*>|&[#\w]+;|\|")
_URL = re.compile(r"https?://|ftp://|www\.|\w@\w+\.\w")
_ESCAPE = re.compile(r"[\\\n\r\t\x00-\x1f]")


def read_mo(path: str | os.PathLike) -> list[tuple[str, str]]:
    """The ``(msgid, msgstr)`` entries of a compiled gettext catalogue, in file order.

    The header entry (empty msgid) is left out; a context is kept as ``"context\\x04msgid"`` and plural
    entries as ``"singular\\x00plural"`` / ``"form0\\x00form1..."``, as the file stores them. Strings are
    decoded with the charset of the header (UTF-8 when it names none).

    Raises:
      ValueError: the file is not a .mo file or is truncated.
    """
    data = pathlib.Path(path).read_bytes()
    if len(data) < 20:
        raise ValueError(f"{path} is not a gettext .mo file (only {len(data)} bytes)")
    magic = struct.unpack("<I", data[:4])[0]
    if magic not in (_LE_MAGIC, _BE_MAGIC):
        raise ValueError(f"{path} is not a gettext .mo file (magic number {magic:#x})")
    order = "<" if magic == _LE_MAGIC else ">"
    _, count, originals, translations = struct.unpack(order + "4I", data[4:20])

    def string(table: int, i: int) -> bytes:
        length, offset = struct.unpack(order + "2I", data[table + 8 * i : table + 8 * i + 8])
        if offset + length > len(data):
            raise ValueError(f"{path} is truncated: string {i} ends at byte {offset + length} of {len(data)}")
        return data[offset : offset + length]

    raw = [(string(originals, i), string(translations, i)) for i in range(count)]
    charset = "utf-8"
    for msgid, msgstr in raw:
        if msgid == b"":
            found = re.search(rb"charset=([-\w]+)", msgstr)
            if found and found.group(1).lower() not in (b"charset", b"cHARSET"):
                charset = found.group(1).decode("ascii")
    out = []
    for msgid, msgstr in raw:
        if msgid == b"":
            continue
        try:
            out.append((msgid.decode(charset), msgstr.decode(charset)))
        except (UnicodeDecodeError, LookupError):
            continue  # an entry the header's charset cannot decode is no clean sentence anyway
    return out


def clean_message(text: str) -> str | None:
    """One message as plain text (accelerators ``_``/``~`` removed, whitespace collapsed), or None when it
    holds a placeholder, markup, a URL, an escape or a line break."""
    if _ESCAPE.search(text) or _PLACEHOLDER.search(text) or _MARKUP.search(text) or _URL.search(text):
        return None
    text = text.replace("_", "").replace("~", "")
    text = " ".join(text.split())
    return text or None


def gettext_pairs(
    locale: str = "fr",
    *,
    locale_dir: str | os.PathLike = "/usr/share/locale",
    min_words: int = 2,
    max_words: int = 20,
) -> list[tuple[str, str, str]]:
    """English -> ``locale`` sentence pairs from the installed gettext catalogues.

    Every ``<locale_dir>/<locale>/LC_MESSAGES/*.mo`` is read; an entry is kept when its msgid (English)
    and msgstr are plain text (:func:`clean_message`) and the msgid has ``min_words`` to ``max_words``
    words and the msgstr differs from it; contexts are dropped, plural entries skipped; one translation
    per English source (the first in sorted catalogue order); sorted by source, as the shared
    ``translation/en-fr.tsv`` was made (on this machine's catalogues this reader finds 99.99% of that
    file's pairs from the same catalogues, and 99% of its own pairs are in the file).

    Args:
      locale: the target language's locale directory name (``"fr"``, ``"de"``, ``"pt_BR"``...).
      locale_dir: where the catalogues are installed.
      min_words, max_words: the English length range, in whitespace-separated words.

    Returns:
      ``(english, translation, catalogue)`` triples, the catalogue being the .mo file's stem.

    Raises:
      FileNotFoundError: no .mo file for ``locale`` (names the directory searched).
    """
    if not isinstance(locale, str) or not locale or "/" in locale:
        raise ValueError(f"locale must be a locale directory name such as 'fr'; got {locale!r}")
    directory = pathlib.Path(locale_dir) / locale / "LC_MESSAGES"
    files = sorted(directory.glob("*.mo")) if directory.is_dir() else []
    if not files:
        raise FileNotFoundError(
            f"no gettext catalogue (*.mo) in {directory}; install the packages' translations "
            f"(e.g. language-pack-{locale} or the -l10n-{locale} packages) or pick another locale"
        )
    chosen: dict[str, tuple[str, str]] = {}
    for path in files:
        for msgid, msgstr in read_mo(path):
            if "\x00" in msgid or "\x00" in msgstr:
                continue  # plural forms: their English always carries a count placeholder anyway
            msgid = msgid.split("\x04", 1)[-1]  # drop the context
            source, target = clean_message(msgid), clean_message(msgstr)
            # an untranslated entry (target == source) teaches nothing; the shared file has none
            if source is None or target is None or source == target or source in chosen:
                continue
            if min_words <= len(source.split()) <= max_words:
                chosen[source] = (target, path.stem)
    return [(s, t, c) for s, (t, c) in sorted(chosen.items())]
