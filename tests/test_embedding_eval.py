"""Evaluation metrics and the PPMI-SVD baseline against hand-computed values; the word2vec command."""

from __future__ import annotations

import numpy as np
import pytest

from jaxrnn.text import embedding_eval as ev
from jaxrnn.text import ppmi as pp
from jaxrnn.text.skipgram import encode_corpus


def test_auc_by_hand():
    # positives 0.9 and 0.5 against negatives 0.4, 0.5, 0.1: 0.9 beats all 3; 0.5 beats 2 and ties 1
    assert ev.auc([0.9, 0.5], [0.4, 0.5, 0.1]) == pytest.approx(5.5 / 6)
    assert ev.auc([1.0], [0.0]) == 1.0
    assert ev.auc([0.0], [1.0]) == 0.0
    assert ev.auc([0.3, 0.3], [0.3]) == 0.5
    with pytest.raises(ValueError, match="positive and negative must be non-empty 1-D scores"):
        ev.auc([], [1.0])


def test_pair_cosines_by_hand():
    vectors = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0], [-1.0, 0.0]])
    np.testing.assert_allclose(
        ev.pair_cosines(vectors, np.array([[0, 1], [0, 2], [0, 3], [1, 2]])),
        [0.0, np.sqrt(0.5), -1.0, np.sqrt(0.5)],
        atol=1e-12,
    )
    with pytest.raises(ValueError, match=r"pairs must have shape \[P, 2\]; got \(3,\)"):
        ev.pair_cosines(vectors, np.array([0, 1, 2]))


# angles in degrees: 0, 10, 30, 100, 180 on the unit circle
ANGLES = np.deg2rad([0.0, 10.0, 30.0, 100.0, 180.0])
CIRCLE = np.stack([np.cos(ANGLES), np.sin(ANGLES)], axis=1) * np.array([[1.0], [2.0], [0.5], [1.0], [3.0]])


def test_nearest_neighbours_by_hand():
    got = ev.nearest_neighbours(CIRCLE, [0, 3], 2)
    # word 0: word 1 at 10 degrees, word 2 at 30; word 3 (100 deg): word 2 at 70, word 4 at 80 (word 1: 90)
    np.testing.assert_array_equal(got, [[1, 2], [2, 4]])
    with pytest.raises(ValueError, match=r"k must be an int in \[1, 4\]; got 5"):
        ev.nearest_neighbours(CIRCLE, [0], 5)


def test_precision_at_k_by_hand():
    # word 0's 2 neighbours are 1, 2: one of its mates {1, 4} -> 1/2;
    # word 4 (180 deg): neighbours 3 (80 deg), 2 (150 deg); mates {0} -> 0/2
    assert ev.precision_at_k(CIRCLE, {0: {1, 4}, 4: {0}}, k=2) == pytest.approx((0.5 + 0.0) / 2)
    assert ev.precision_at_k(CIRCLE, {1: {0, 2}}, k=2) == 1.0


def test_random_pairs_use_the_related_words():
    pairs = np.array([[0, 1], [2, 3], [2, 5]])
    drawn = ev.random_pairs(pairs, np.random.default_rng(0), size=500)
    assert set(drawn.ravel().tolist()) <= {0, 1, 2, 3, 5}
    assert (drawn[:, 0] != drawn[:, 1]).all()
    # word 2 is a third of the related words' occurrences; with (2, 2)-style self pairs dropped,
    # P(side = 2 | a != b) = (1/3 * 2/3) / (1 - (4 * (1/6)**2 + (1/3)**2)) = 2/7
    assert np.mean(drawn == 2) == pytest.approx(2 / 7, abs=0.05)
    assert ev.mates_of(pairs) == {0: {1}, 1: {0}, 2: {3, 5}, 3: {2}, 5: {2}}
    assert ev.encode_pairs({("a", "b"), ("a", "zz"), ("b", "b")}, {"a": 1, "b": 0}).tolist() == [[1, 0]]


def test_cooccurrence_counts_by_hand():
    corpus = encode_corpus([["a", "b", "c"], ["a", "b"]], min_count=1)  # words: a, b, c (a, b twice)
    assert corpus.words == ("a", "b", "c")
    counts = pp.cooccurrence_counts(corpus, window=2).toarray()
    # distance 1 weighs 1, distance 2 weighs (2 - 2 + 1) / 2 = 0.5; nothing crosses the sentence end
    expected = np.array([[0.0, 2.0, 0.5], [2.0, 0.0, 1.0], [0.5, 1.0, 0.0]])
    np.testing.assert_allclose(counts, expected)


def test_ppmi_by_hand():
    counts = np.array([[0.0, 4.0, 1.0], [4.0, 0.0, 2.0], [1.0, 2.0, 1.0]])
    for alpha in (1.0, 0.75):
        total = counts.sum()  # 15
        expected = np.zeros((3, 3))
        col = counts.sum(axis=0) ** alpha
        for w in range(3):
            for c in range(3):
                if counts[w, c]:
                    pmi = np.log((counts[w, c] / total) / (counts[w].sum() / total * col[c] / col.sum()))
                    expected[w, c] = max(pmi, 0.0)
        np.testing.assert_allclose(pp.ppmi(counts, alpha=alpha).toarray(), expected, rtol=1e-12)
    # one entry written out: PMI(0, 1) with alpha = 1 is log((4/15) / ((5/15) * (6/15))) = log(2)
    assert pp.ppmi(counts, alpha=1.0)[0, 1] == pytest.approx(np.log(2.0))
    with pytest.raises(ValueError, match=r"counts must be a square \[V, V\] matrix; got shape \(2, 3\)"):
        pp.ppmi(np.ones((2, 3)))


def test_ppmi_svd_vectors_separate_two_topics():
    rng = np.random.default_rng(0)
    sentences = [
        list(rng.choice(["a", "b", "c", "d"] if rng.random() < 0.5 else ["w", "x", "y", "z"], 4))
        for _ in range(400)
    ]
    corpus = encode_corpus(sentences, min_count=1)
    vectors = pp.ppmi_svd_vectors(corpus, 2, window=2)
    index = {w: i for i, w in enumerate(corpus.words)}
    same = ev.pair_cosines(vectors, np.array([[index["a"], index["b"]], [index["x"], index["z"]]]))
    across = ev.pair_cosines(vectors, np.array([[index["a"], index["x"]], [index["b"], index["z"]]]))
    assert same.min() > across.max()


def test_plot_projection_writes_png(tmp_path):
    path = ev.plot_projection(
        CIRCLE, ["a", "b", "c", "d", "e"], [("a", "b"), ("c", "zz", "e")], tmp_path / "p.png"
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="groups must name at least 2 words that have vectors; got 1"):
        ev.plot_projection(CIRCLE, ["a", "b", "c", "d", "e"], [("a", "zz")], tmp_path / "q.png")
