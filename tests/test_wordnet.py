"""The WordNet reader on a hand-written wndb snippet, and on the real files when present."""

from __future__ import annotations

import pytest

from jaxrnn.text import wordnet as wn

# Lines in the wndb(5WN) layout, written by hand: a licence header line, a noun synset with a
# two-word lemma, an adjective pair with lexical antonym pointers and a satellite joined by a
# semantic similar-to pointer, a verb with frames. The lemmas zorblat/quibbix never occur in a gloss.
DATA_ADJ = """\
  1 This software and database is being provided to you, the LICENSEE, by
00000001 00 a 02 hot 0 zorblat(a) 0 002 ! 00000002 a 0101 & 00000003 s 0000 | of high temperature; "a hot stove"; "the hot sun"
00000002 00 a 01 cold 0 001 ! 00000001 a 0101 | having a low temperature
00000003 00 s 02 boiling 0 red-hot 0 001 & 00000001 a 0000 | very hot (as of water); "boiling water"
"""
DATA_NOUN = """\
  1 This software and database is being provided to you, the LICENSEE, by
00000010 03 n 03 car 0 auto 0 motor_vehicle 0 001 @ 00000011 n 0000 | a vehicle with 4 wheels; "he drove the car to work"
00000011 03 n 01 Quibbix 0 000 | a conveyance; usually with wheels
"""
DATA_VERB = """\
00000020 29 v 02 run 0 sprint 1 000 01 + 02 00 | move fast by using one's feet; "Don't run--you'll be late"
"""


@pytest.fixture
def wordnet_dir(tmp_path):
    # the real files end each synset line with two spaces
    (tmp_path / "data.adj").write_text(DATA_ADJ.replace("\n", "  \n"))
    (tmp_path / "data.noun").write_text(DATA_NOUN)
    (tmp_path / "data.verb").write_text(DATA_VERB)
    (tmp_path / "data.adv").write_text("")
    return tmp_path


def test_parse_data_line_fields():
    s = wn.parse_data_line(DATA_ADJ.splitlines()[1])
    assert s.offset == 1 and s.pos == "a"
    assert s.words == ("hot", "zorblat(a)")
    assert s.pointers == (wn.Pointer("!", 2, "a", 1, 1), wn.Pointer("&", 3, "s", 0, 0))
    assert s.gloss == 'of high temperature; "a hot stove"; "the hot sun"'
    verb = wn.parse_data_line(DATA_VERB.strip())  # the frame list after the pointers is skipped
    assert verb.words == ("run", "sprint") and verb.pointers == () and verb.gloss.startswith("move fast")


def test_read_wordnet_skips_header_and_reads_every_part(wordnet_dir):
    synsets = wn.read_wordnet(wordnet_dir)
    assert [(s.pos, s.offset) for s in synsets] == [
        ("n", 10), ("n", 11), ("v", 20), ("a", 1), ("a", 2), ("s", 3)
    ]  # fmt: skip


def test_corpus_is_gloss_text_only(wordnet_dir):
    corpus = wn.gloss_corpus(wn.read_wordnet(wordnet_dir, parts=("adj",)))
    assert corpus == [
        ["of", "high", "temperature"],
        ["a", "hot", "stove"],
        ["the", "hot", "sun"],
        ["having", "a", "low", "temperature"],
        ["very", "hot", "as", "of", "water"],
        ["boiling", "water"],
    ]
    everything = wn.gloss_corpus(wn.read_wordnet(wordnet_dir))
    tokens = {t for sentence in everything for t in sentence}
    # the synsets' own word lists never enter the corpus
    assert "zorblat" not in tokens and "quibbix" not in tokens and "auto" not in tokens
    assert ["a", "vehicle", "with", "[NUM]", "wheels"] in everything
    assert ["don't", "run", "you'll", "be", "late"] in everything


def test_relations(wordnet_dir):
    synsets = wn.read_wordnet(wordnet_dir)
    # one-token lemmas only ("motor_vehicle" is two words), lower-cased, adjective markers dropped
    assert wn.synonym_groups(synsets) == [
        ("car", "auto"),
        ("run", "sprint"),
        ("hot", "zorblat"),
        ("boiling", "red-hot"),
    ]
    assert wn.synonym_pairs(synsets) == {
        ("auto", "car"), ("run", "sprint"), ("hot", "zorblat"), ("boiling", "red-hot")
    }  # fmt: skip
    # the antonym pointers are lexical (0101): word 1 of each synset only, not zorblat
    assert wn.relation_pairs(synsets, "!") == {("cold", "hot")}
    # similar-to is semantic (0000): every word of one synset with every word of the other
    assert wn.relation_pairs(synsets, "&") == {
        ("boiling", "hot"), ("hot", "red-hot"), ("boiling", "zorblat"), ("red-hot", "zorblat")
    }  # fmt: skip
    cold = [s for s in synsets if s.offset == 2]
    assert wn.relation_pairs(synsets, "!", among=cold) == {("cold", "hot")}
    assert wn.relation_pairs(synsets, "&", among=cold) == set()


def test_lemma_token():
    assert wn.lemma_token("Quibbix") == "quibbix"
    assert wn.lemma_token("galore(ip)") == "galore"
    assert wn.lemma_token("well-known") == "well-known"
    assert wn.lemma_token("motor_vehicle") is None
    assert wn.lemma_token("A.D.") is None


def test_splits_are_a_fixed_half(wordnet_dir):
    synsets = wn.read_wordnet(wordnet_dir)
    assert {wn.split_of(s) for s in synsets} <= {"validation", "test"}
    assert [wn.split_of(s) for s in synsets] == [wn.split_of(s) for s in wn.read_wordnet(wordnet_dir)]


def test_bad_input(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="not a wndb data line"):
        wn.parse_data_line("00000001 00 a 02 hot 0 | truncated")
    with pytest.raises(ValueError, match="must hold WordNet's data"):
        wn.read_wordnet(tmp_path)
    with pytest.raises(ValueError, match=r"parts must be a non-empty subset.*'nouns'"):
        wn.read_wordnet(tmp_path, parts=("nouns",))
    monkeypatch.delenv("JAXRNN_DATA", raising=False)
    with pytest.raises(ValueError, match="JAXRNN_DATA"):
        wn.read_wordnet(None)
    monkeypatch.setenv("JAXRNN_DATA", str(tmp_path))
    (tmp_path / "wordnet").mkdir()
    (tmp_path / "wordnet" / "data.adv").write_text(DATA_VERB.replace(" v ", " r "))
    assert len(wn.read_wordnet(None, parts=("adv",))) == 1
    with pytest.raises(ValueError, match="lacks data.noun, data.verb, data.adj"):
        wn.read_wordnet(None)


def test_real_adverbs(shared_data):
    # WordNet 3.0's documented statistics (wnstats(7WN)): 3,621 adverb synsets
    synsets = wn.read_wordnet(shared_data / "wordnet", parts=("adv",))
    assert len(synsets) == 3621
    assert all(s.pos == "r" for s in synsets)
    assert synsets[0].words[0] == "a_cappella"
