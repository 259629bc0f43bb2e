"""gettext corpus: a .mo file written here byte by byte, read back and checked against the standard
library's own parser, then filtered as the shared en-fr.tsv's SOURCE.md describes."""

from __future__ import annotations

import gettext
import struct

import pytest

from jaxrnn.text import clean_message, gettext_pairs, read_mo


def write_mo(path, entries, charset="UTF-8"):
    """A GNU .mo file (little-endian, no hash table) holding ``entries`` and a header."""
    header = f"Content-Type: text/plain; charset={charset}\n".encode()
    items = sorted([(b"", header)] + [(k.encode(charset), v.encode(charset)) for k, v in entries])
    n = len(items)
    originals, translations = 28, 28 + 8 * n
    offset = 28 + 16 * n
    table_o, table_t, blob = b"", b"", b""
    for k, _ in items:
        table_o += struct.pack("<2I", len(k), offset + len(blob))
        blob += k + b"\0"
    for _, v in items:
        table_t += struct.pack("<2I", len(v), offset + len(blob))
        blob += v + b"\0"
    path.write_bytes(
        struct.pack("<7I", 0x950412DE, 0, n, originals, translations, 0, 0) + table_o + table_t + blob
    )


ENTRIES = [
    ("Open _File", "Ouvrir le _fichier"),
    ("Save   the\tdocument", "Enregistrer le document"),  # a tab: an escape, dropped
    ("Delete %d files", "Supprimer %d fichiers"),  # printf placeholder
    ("Hello {name}", "Bonjour {name}"),  # brace placeholder
    ("<b>Bold</b> text", "texte <b>gras</b>"),  # markup
    ("See https://example.org for help", "Voir https://example.org"),  # URL
    ("Quit", "Quitter"),  # one word: too short
    ("menu\x04Paste ~Special", "Collage ~spécial"),  # a context, dropped; ~ accelerator
    ("One file\x00Many files", "Un fichier\x00Plusieurs fichiers"),  # plural entry
    ("Same text", "Same text"),  # untranslated
    ("Zoom to fit page", "Zoom adapté à la page"),
]


def test_read_mo_matches_the_standard_library_parser(tmp_path):
    path = tmp_path / "app.mo"
    write_mo(path, ENTRIES)
    with open(path, "rb") as f:
        reference = gettext.GNUTranslations(f)
    got = dict(read_mo(path))
    for msgid, msgstr in ENTRIES:
        if "\x00" in msgid:
            singular, plural = msgid.split("\x00")
            assert reference.ngettext(singular, plural, 1) == got[msgid].split("\x00")[0]
        elif "\x04" in msgid:
            context, message = msgid.split("\x04")
            assert reference.pgettext(context, message) == got[msgid]
        else:
            assert reference.gettext(msgid) == got[msgid] == msgstr
    assert len(got) == len(ENTRIES)  # the header entry is left out


def test_gettext_pairs_filters_as_source_md(tmp_path):
    directory = tmp_path / "fr" / "LC_MESSAGES"
    directory.mkdir(parents=True)
    write_mo(directory / "b-app.mo", ENTRIES)
    # the same source in an earlier catalogue wins; a Latin-1 catalogue is decoded by its header
    write_mo(directory / "a-app.mo", [("Zoom to fit page", "Ajuster à la page")], charset="ISO-8859-1")
    pairs = gettext_pairs("fr", locale_dir=tmp_path)
    assert pairs == [
        ("Open File", "Ouvrir le fichier", "b-app"),
        ("Paste Special", "Collage spécial", "b-app"),
        ("Zoom to fit page", "Ajuster à la page", "a-app"),
    ]
    assert clean_message("  Many   spaces  here ") == "Many spaces here"
    with pytest.raises(FileNotFoundError, match=r"no gettext catalogue \(\*.mo\) in .*de/LC_MESSAGES"):
        gettext_pairs("de", locale_dir=tmp_path)
    (tmp_path / "bad.mo").write_bytes(b"\x00" * 40)
    with pytest.raises(ValueError, match="is not a gettext .mo file"):
        read_mo(tmp_path / "bad.mo")


def test_cli_corpus_gettext_with_no_catalogue_is_a_clear_error(capsys):
    from jaxrnn.cli import main

    assert main(["train", "translator", "--corpus", "gettext:zz_NOWHERE", "--quiet"]) == 1
    assert (
        "no gettext catalogue (*.mo) in /usr/share/locale/zz_NOWHERE/LC_MESSAGES" in capsys.readouterr().err
    )
