"""Text pipeline: tokenizer, vocabulary, Tatoeba reader, numbers corpus, bucketing."""

from __future__ import annotations

import collections

import numpy as np
import pytest

from jaxrnn.text import (
    EOS_ID,
    GO_ID,
    PAD_ID,
    UNK_ID,
    auto_buckets,
    bucketize,
    build_vocabulary,
    detokenize,
    english_number,
    french_number,
    load_vocabulary,
    make_batch,
    numbers_corpus,
    read_tatoeba,
    save_vocabulary,
    split_pairs,
    tokenize,
)


def test_tokenize_splits_punctuation_and_marks_numbers_and_urls():
    assert tokenize("I drink milk.") == ["i", "drink", "milk", "."]
    assert tokenize("Go to www.example.com, now!") == ["go", "to", "[URL]", ",", "now", "!"]
    assert tokenize("I paid 3.50 for 2 https://a.b/c?d=1") == ["i", "paid", "[NUM]", "for", "[NUM]", "[URL]"]
    assert tokenize("Quatre-vingts, aujourd'hui?", lower=False) == ["Quatre-vingts", ",", "aujourd'hui", "?"]
    assert tokenize("Il a 42 ans", numbers=False) == ["il", "a", "42", "ans"]


def test_detokenize_inverts_tokenize_on_plain_sentences():
    for s in ["i drink milk.", "where is it? here, there!", "quatre-vingt-dix-neuf mille"]:
        assert detokenize(tokenize(s)) == s


def test_vocabulary_round_trip_unk_limits_and_save_load(tmp_path):
    corpus = [tokenize(s) for s in ["the cat sat", "the dog sat", "the cat ran", "a bird"]]
    vocab = build_vocabulary(corpus)
    # counts: the 3, cat 2, sat 2, then a bird dog ran once each (ties alphabetical)
    assert vocab.tokens[6:] == ("the", "cat", "sat", "a", "bird", "dog", "ran")
    for sentence in corpus:
        assert vocab.decode(vocab.encode(sentence)) == sentence
    assert vocab.encode(["the", "zebra"]) == [6, UNK_ID]
    assert vocab.decode([6, 7, EOS_ID, 8]) == ["the", "cat"]
    assert len(build_vocabulary(corpus, max_size=8)) == 8
    assert build_vocabulary(corpus, min_count=2).tokens[6:] == ("the", "cat", "sat")
    save_vocabulary(vocab, tmp_path / "v.json")
    assert load_vocabulary(tmp_path / "v.json") == vocab
    with pytest.raises(ValueError, match="max_size must be an int >= 6"):
        build_vocabulary(corpus, max_size=3)


def test_read_tatoeba_with_attribution_and_blank_lines(tmp_path):
    path = tmp_path / "fra.txt"
    path.write_text(
        "Go.\tVa !\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM)\n\n"
        "I drink milk.\tJe bois du lait.\n",
        encoding="utf-8",
    )
    assert read_tatoeba(path) == [("Go.", "Va !"), ("I drink milk.", "Je bois du lait.")]
    assert read_tatoeba(path, max_pairs=1) == [("Go.", "Va !")]
    path.write_text("Go.\tVa !\nno tab here\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"fra.txt:2: expected 'source<TAB>target"):
        read_tatoeba(path)


def test_split_is_deterministic_disjoint_and_complete():
    pairs = [(f"sentence {i}", f"phrase {i}") for i in range(2000)]
    a, b = (
        split_pairs(pairs, valid_fraction=0.1, test_fraction=0.1),
        split_pairs(list(reversed(pairs)), valid_fraction=0.1, test_fraction=0.1),
    )
    assert sorted(a["train"] + a["valid"] + a["test"]) == sorted(pairs)
    assert set(a["test"]) == set(b["test"])  # independent of order
    assert 100 < len(a["test"]) < 300 and 100 < len(a["valid"]) < 300


# Spellings checked against French grammar references (Bescherelle / Académie française, traditional
# spelling): "et" only in 21-71, "quatre-vingts" and "deux cents" take an s only at the end of the number.
FRENCH = {
    0: "zéro",
    1: "un",
    16: "seize",
    17: "dix-sept",
    21: "vingt et un",
    22: "vingt-deux",
    61: "soixante et un",
    70: "soixante-dix",
    71: "soixante et onze",
    77: "soixante-dix-sept",
    80: "quatre-vingts",
    81: "quatre-vingt-un",
    90: "quatre-vingt-dix",
    91: "quatre-vingt-onze",
    99: "quatre-vingt-dix-neuf",
    100: "cent",
    101: "cent un",
    200: "deux cents",
    201: "deux cent un",
    280: "deux cent quatre-vingts",
    1000: "mille",
    1001: "mille un",
    2000: "deux mille",
    21000: "vingt et un mille",
    80000: "quatre-vingt mille",
    200000: "deux cent mille",
    321321: "trois cent vingt et un mille trois cent vingt et un",
    999999: "neuf cent quatre-vingt-dix-neuf mille neuf cent quatre-vingt-dix-neuf",
}
ENGLISH = {
    0: "zero",
    13: "thirteen",
    21: "twenty-one",
    100: "one hundred",
    321: "three hundred twenty-one",
    1000: "one thousand",
    100005: "one hundred thousand five",
    999999: "nine hundred ninety-nine thousand nine hundred ninety-nine",
}


@pytest.mark.parametrize("n", sorted(FRENCH))
def test_french_numbers(n):
    assert french_number(n) == FRENCH[n]


@pytest.mark.parametrize("n", sorted(ENGLISH))
def test_english_numbers(n):
    assert english_number(n) == ENGLISH[n]


def test_number_names_are_one_to_one_and_splits_disjoint():
    ns = np.random.default_rng(1).choice(1_000_000, 20_000, replace=False)
    assert len({french_number(int(n)) for n in ns}) == len(ns)
    assert len({english_number(int(n)) for n in ns}) == len(ns)
    c = numbers_corpus(num_train=3000, num_valid=200, num_test=200)
    assert numbers_corpus(num_train=3000, num_valid=200, num_test=200) == c
    src = [set(s for s, _ in c[k]) for k in ("train", "valid", "test")]
    assert not (src[0] & src[2]) and not (src[0] & src[1]) and not (src[1] & src[2])
    with pytest.raises(ValueError, match=r"n must be an int in \[0, 999999\]; got 1000000"):
        french_number(1_000_000)


def test_bucketing_keeps_every_pair_reverses_pads_and_weights():
    rng = np.random.default_rng(0)
    pairs = [
        (list(rng.integers(6, 50, rng.integers(1, 12))), list(rng.integers(6, 50, rng.integers(1, 15))))
        for _ in range(300)
    ]
    buckets = bucketize(pairs, [(5, 10), (12, 16)])
    assert [b.source.shape[1] for b in buckets] == [5, 12]
    recovered = []
    for b in buckets:
        for row in range(len(b.source)):
            n = int(b.source_length[row])
            src = list(b.source[row, :n][::-1])  # reversed by default
            assert (b.source[row, n:] == PAD_ID).all()
            w = b.target_weights[row]
            m = int(w.sum())  # target length + <eos>
            assert (w[:m] == 1.0).all() and (w[m:] == 0.0).all()
            assert b.target[row, m - 1] == EOS_ID and (b.target[row, m:] == PAD_ID).all()
            assert b.decoder_input[row, 0] == GO_ID
            assert (b.decoder_input[row, 1:m] == b.target[row, : m - 1]).all()
            recovered.append((tuple(int(x) for x in src), tuple(int(x) for x in b.target[row, : m - 1])))
    assert collections.Counter(recovered) == collections.Counter((tuple(s), tuple(t)) for s, t in pairs)
    auto = bucketize(pairs)
    assert sum(len(b.source) for b in auto) == len(pairs)
    with pytest.raises(ValueError, match=r"pair 0 \(source 3 tokens, target 4 \+ <eos>\) fits no bucket"):
        bucketize([([7, 8, 9], [7, 8, 9, 10])], [(5, 4)])


def test_make_batch_without_reversal_by_hand():
    b = make_batch([([7, 8, 9], [10, 11])], 4, 4, reverse_source=False)
    assert b.source.tolist() == [[7, 8, 9, PAD_ID]]
    assert b.decoder_input.tolist() == [[GO_ID, 10, 11, PAD_ID]]
    assert b.target.tolist() == [[10, 11, EOS_ID, PAD_ID]]
    assert b.target_weights.tolist() == [[1.0, 1.0, 1.0, 0.0]]
    assert make_batch([([7, 8, 9], [10])], 3, 2).source.tolist() == [[9, 8, 7]]


def test_read_tatoeba_keeps_the_catalogue_column(tmp_path):
    path = tmp_path / "en-fr.tsv"
    path.write_text("Open file\tOuvrir le fichier\tgtk\nQuit now\tQuitter\n", encoding="utf-8")
    assert read_tatoeba(path, catalogue=True) == [
        ("Open file", "Ouvrir le fichier", "gtk"),
        ("Quit now", "Quitter", ""),
    ]


def test_validation_split_is_disjoint_from_test_and_leaves_test_unchanged():
    pairs = [(f"sentence {i}", f"phrase {i}", f"app{i % 7}") for i in range(4000)]
    without = split_pairs(pairs, valid_fraction=0.0, test_fraction=0.05)
    split = split_pairs(pairs, valid_fraction=0.05, test_fraction=0.05)
    assert split["test"] == without["test"]  # adding a validation split does not move test pairs
    assert not {p[0] for p in split["valid"]} & {p[0] for p in split["test"]}
    assert not {p[0] for p in split["train"]} & (
        {p[0] for p in split["valid"]} | {p[0] for p in split["test"]}
    )
    assert 140 < len(split["valid"]) < 260 and 140 < len(split["test"]) < 260  # 5% of 4000 = 200
    # the md5 rule, recomputed here: test below 0.05, validation in [0.05, 0.10)
    import hashlib

    h = lambda s: int.from_bytes(hashlib.md5(s.encode()).digest()[:8], "little") / 2.0**64
    assert all(0.05 <= h(p[0]) < 0.10 for p in split["valid"]) and all(h(p[0]) < 0.05 for p in split["test"])


def test_held_out_catalogues_leave_training_entirely():
    pairs = [(f"s{i}", f"t{i}", "inkscape" if i % 5 == 0 else "gimp") for i in range(500)]
    pairs.append(("s0", "t0 bis", "gimp"))  # a held-out source also in another catalogue
    split = split_pairs(pairs, held_out=["inkscape"])
    assert {p[2] for p in split["held_out"]} == {"inkscape"} and len(split["held_out"]) == 100
    trained = {p[0] for p in split["train"] + split["valid"]}
    assert not trained & {p[0] for p in split["held_out"]}
    with pytest.raises(TypeError, match="held_out must be a collection of catalogue names"):
        split_pairs(pairs, held_out="inkscape")
    with pytest.raises(ValueError, match="held_out needs"):
        split_pairs([("a", "b")], held_out=["x"])
    with pytest.raises(ValueError, match="valid_fraction must be a number in"):
        split_pairs(pairs, valid_fraction=-0.1)


def test_auto_buckets_follow_both_lengths_and_hold_every_pair():
    # targets twice as long as sources: a bucket per quantile of each, the longest last
    pairs = [([7] * n, [8] * (2 * n)) for n in range(1, 101)]
    sizes = auto_buckets(pairs)
    # NumPy "higher" quantiles of 1..100 at 0.2 ... 0.95: entry ceil(q * 99) of the sorted lengths
    assert sizes == [(21, 43), (41, 83), (61, 123), (81, 163), (96, 193), (100, 201)]
    batches = bucketize(pairs)
    assert [b.source.shape[1:] + b.target.shape[1:] for b in batches] == sizes
    # padding: each pair sits in the smallest bucket it fits, so at most a fifth of the widths is padding
    assert sum(int(b.target_weights.sum()) for b in batches) / sum(b.target.size for b in batches) > 0.8
