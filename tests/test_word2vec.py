"""Skip-gram losses and gradients against NumPy float64, subsampling and pairs, the text format, learning."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrnn.text import embedding_eval as ev
from jaxrnn.text import skipgram as sg
from jaxrnn.text import word2vec as w2v
from jaxrnn.text import word2vec_format as w2vf


@pytest.fixture
def x64():
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", False)


V, D, B, K = 7, 3, 4, 3


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=(V, D)), rng.normal(size=(V, D)), rng.normal(size=V)]
    centers = rng.integers(0, V, B)
    contexts = np.array([2, 5, 2, 0])
    q = rng.random(V) + 0.1
    q /= q.sum()
    return params, centers, contexts, q


def _softplus(x):
    return np.logaddexp(0.0, x)


def numpy_loss(params, centers, contexts, noise, q, loss):
    """Reference written from the papers' formulas, example by example."""
    w_in, w_out, bias = params
    total = 0.0
    for b in range(len(centers)):
        v, o = w_in[centers[b]], contexts[b]
        if loss == "negative_sampling":
            total += _softplus(-v @ w_out[o]) + sum(_softplus(v @ w_out[k]) for k in noise[b])
            continue
        kk = len(noise)
        true = v @ w_out[o] + bias[o] - np.log(kk * q[o])
        others = [v @ w_out[k] + bias[k] - np.log(kk * q[k]) for k in noise]
        if loss == "nce":
            total += _softplus(-true) + sum(_softplus(s) for s in others)
        else:  # sampled softmax; a sample equal to the true context is dropped
            logits = [true] + [s for s, k in zip(others, noise) if k != o]
            total += np.log(np.sum(np.exp(logits))) - true
    return total / len(centers)


def numpy_sgns_grads(params, centers, contexts, noise):
    """Hand-derived SGNS gradients: d/ds softplus(-s) = sigma(s) - 1, d/ds softplus(s) = sigma(s)."""
    w_in, w_out, _ = params
    sigma = lambda x: 1 / (1 + np.exp(-x))
    g_in, g_out = np.zeros_like(w_in), np.zeros_like(w_out)
    for b in range(len(centers)):
        v = w_in[centers[b]]
        coef = sigma(v @ w_out[contexts[b]]) - 1
        g_in[centers[b]] += coef * w_out[contexts[b]]
        g_out[contexts[b]] += coef * v
        for k in noise[b]:
            coef = sigma(v @ w_out[k])
            g_in[centers[b]] += coef * w_out[k]
            g_out[k] += coef * v
    return g_in / len(centers), g_out / len(centers)


def _jax_loss_and_grads(params, centers, contexts, noise, q, loss):
    p = w2v.Word2VecParams(*map(jnp.asarray, params))
    fn = lambda p: w2v.skipgram_loss(
        p, jnp.asarray(centers), jnp.asarray(contexts), jnp.asarray(noise), jnp.log(jnp.asarray(q)), loss=loss
    )
    value, grads = jax.value_and_grad(fn)(p)
    return float(value), [np.asarray(g) for g in grads]


def test_negative_sampling_loss_and_grads(x64):
    params, centers, contexts, q = _problem()
    noise = np.random.default_rng(1).integers(0, V, (B, K))
    value, grads = _jax_loss_and_grads(params, centers, contexts, noise, q, "negative_sampling")
    np.testing.assert_allclose(
        value, numpy_loss(params, centers, contexts, noise, q, "negative_sampling"), rtol=1e-12
    )
    g_in, g_out = numpy_sgns_grads(params, centers, contexts, noise)
    np.testing.assert_allclose(grads[0], g_in, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads[1], g_out, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(grads[2], 0.0)  # SGNS has no bias


@pytest.mark.parametrize("loss", ["nce", "sampled_softmax"])
def test_sampled_losses_and_grads_against_finite_differences(x64, loss):
    params, centers, contexts, q = _problem(2)
    noise = np.array([2, 4, 6])  # shared by the batch; 2 is also a true context (an accidental hit)
    value, grads = _jax_loss_and_grads(params, centers, contexts, noise, q, loss)
    np.testing.assert_allclose(value, numpy_loss(params, centers, contexts, noise, q, loss), rtol=1e-12)
    eps = 1e-6
    for which in range(3):
        numeric = np.zeros_like(params[which])
        for idx in np.ndindex(params[which].shape):
            plus = [p.copy() for p in params]
            minus = [p.copy() for p in params]
            plus[which][idx] += eps
            minus[which][idx] -= eps
            numeric[idx] = (
                numpy_loss(plus, centers, contexts, noise, q, loss)
                - numpy_loss(minus, centers, contexts, noise, q, loss)
            ) / (2 * eps)
        np.testing.assert_allclose(grads[which], numeric, rtol=1e-6, atol=1e-8)


def test_keep_probabilities_follow_mikolov_formula():
    counts = np.array([900, 90, 10])  # shares 0.9, 0.09, 0.01
    np.testing.assert_allclose(
        sg.keep_probabilities(counts, 0.01), [np.sqrt(0.01 / 0.9), np.sqrt(0.01 / 0.09), 1.0], rtol=1e-12
    )
    np.testing.assert_array_equal(sg.keep_probabilities(counts, 0), 1.0)
    with pytest.raises(ValueError, match="threshold must be a number >= 0; got -1"):
        sg.keep_probabilities(counts, -1)


def test_subsampling_rate_in_pairs():
    # one word in 90% of a long sentence-less corpus: about sqrt(t / 0.9) of it survives
    corpus = sg.SkipGramCorpus(
        ("a", "b"),
        np.array([9000, 1000]),
        np.r_[np.zeros(9000), np.ones(1000)].astype(np.int32),
        np.arange(10000, dtype=np.int32),
    )
    keep = sg.keep_probabilities(corpus.counts, 0.01)
    assert keep[1] < 1 and keep[0] < keep[1]
    # window pairs never cross sentences, and here every token is its own sentence
    centers, _ = sg.skipgram_pairs(corpus, window=2, subsample=0.01, rng=np.random.default_rng(0))
    assert len(centers) == 0


def test_skipgram_pairs_windows():
    corpus = sg.encode_corpus([["a", "b", "c"], ["d", "e"]], min_count=1)
    ids = {w: i for i, w in enumerate(corpus.words)}
    centers, contexts = sg.skipgram_pairs(corpus, window=1, subsample=0, rng=np.random.default_rng(0))
    got = sorted((corpus.words[c], corpus.words[o]) for c, o in zip(centers, contexts))
    assert got == sorted([("a", "b"), ("b", "a"), ("b", "c"), ("c", "b"), ("d", "e"), ("e", "d")])
    assert len(ids) == 5
    # window 3: distance d is drawn with probability (3 - d + 1) / 3 (word2vec's random window)
    long = sg.encode_corpus([list("abcdefghij") * 300], min_count=1)
    centers, contexts = sg.skipgram_pairs(long, window=3, subsample=0, rng=np.random.default_rng(1))
    pos = {w: i for i, w in enumerate("abcdefghij")}
    dist = np.array([abs(pos[long.words[c]] - pos[long.words[o]]) for c, o in zip(centers, contexts)])
    dist = np.minimum(dist, 10 - dist)  # the letters repeat every 10 tokens
    share = np.array([(dist == d).sum() for d in (1, 2, 3)]) / (2 * 3000)
    np.testing.assert_allclose(share, [1, 2 / 3, 1 / 3], atol=0.03)


def test_encode_corpus_orders_by_frequency_and_drops_rare_words():
    corpus = sg.encode_corpus([["x", "y", "y"], ["z", "y", "x"]], min_count=2)
    assert corpus.words == ("y", "x")
    np.testing.assert_array_equal(corpus.counts, [3, 2])
    np.testing.assert_array_equal(corpus.ids, [1, 0, 0, 0, 1])
    np.testing.assert_array_equal(corpus.sentence, [0, 0, 0, 1, 1])
    with pytest.raises(ValueError, match="min_count must be a positive int; got 0"):
        sg.encode_corpus([["x"]], min_count=0)
    with pytest.raises(ValueError, match="no word occurs min_count=3"):
        sg.encode_corpus([["x"]], min_count=3)


def test_sampling_table_shares():
    p = sg.noise_distribution(np.array([16, 81, 1]))
    np.testing.assert_allclose(p, np.array([8, 27, 1]) / 36, rtol=1e-12)  # counts ** 0.75
    table = sg.sampling_table(p, size=36_000)
    np.testing.assert_allclose(np.bincount(table, minlength=3) / 36_000, p, atol=1 / 36_000)


def _independent_parser(path):
    """A small word2vec text reader written from the format's description."""
    lines = open(path, encoding="utf-8").read().splitlines()
    n, d = (int(x) for x in lines[0].split())
    table = {}
    for line in lines[1:]:
        word, *numbers = line.split(" ")
        assert len(numbers) == d
        table[word] = np.array([float(x) for x in numbers])
    assert len(table) == n
    return table


def test_word2vec_text_format_round_trip(tmp_path):
    words = ["the", "café", "[NUM]", "don't"]
    vectors = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    path = w2vf.save_word2vec_format(tmp_path / "vectors.txt", words, vectors)
    assert path.read_text(encoding="utf-8").splitlines()[0] == "4 3"
    table = _independent_parser(path)
    for w, v in zip(words, vectors):
        np.testing.assert_allclose(table[w], v, rtol=1e-5)
    loaded_words, loaded = w2vf.load_word2vec_format(path)
    assert loaded_words == words
    np.testing.assert_allclose(loaded, vectors, rtol=1e-5)
    gensim = pytest.importorskip("gensim")
    kv = gensim.models.KeyedVectors.load_word2vec_format(str(path), binary=False)
    assert list(kv.index_to_key) == words
    np.testing.assert_allclose(kv["café"], vectors[1], rtol=1e-5)


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="words must be non-empty and hold no whitespace; got 'a b'"):
        w2vf.save_word2vec_format(tmp_path / "v.txt", ["a b"], np.zeros((1, 2)))
    with pytest.raises(ValueError, match=r"vectors must have shape \[len\(words\), dim\] = \[2, dim\]"):
        w2vf.save_word2vec_format(tmp_path / "v.txt", ["a", "b"], np.zeros((3, 2)))
    (tmp_path / "bad.txt").write_text("2 3\na 1 2 3\n")
    with pytest.raises(ValueError, match="the header says 2 words; the file holds 1"):
        w2vf.load_word2vec_format(tmp_path / "bad.txt")
    params = w2v.init_word2vec(jax.random.key(0), 3, 2)._replace(output=jnp.ones((3, 2)))
    np.testing.assert_array_equal(w2vf.word_vectors(params, "sum"), np.asarray(params.input) + 1)
    with pytest.raises(ValueError, match=r"which must be one of \('input', 'sum'\); got 'output'"):
        w2vf.word_vectors(params, "output")
    with pytest.raises(ValueError, match="dim must be a positive int; got 0"):
        w2v.Word2VecConfig(dim=0)
    with pytest.raises(ValueError, match="extra_rows must be an int >= 0; got -1"):
        w2v.init_word2vec(jax.random.key(0), 3, 2, extra_rows=-1)
    with pytest.raises(ValueError, match="window must be a positive int; got True"):
        w2v.Word2VecConfig(window=True)
    with pytest.raises(ValueError, match="loss must be one of"):
        w2v.Word2VecConfig(loss="hierarchical")
    with pytest.raises(TypeError, match="config must be a Word2VecConfig; got dict"):
        w2v.train_word2vec(sg.encode_corpus([["a", "b"]], min_count=1), {}, key=jax.random.key(0))
    corpus = sg.encode_corpus([["a", "b", "c"]], min_count=1)
    with pytest.raises(ValueError, match="batch_size must be at most the 4 pairs an epoch draws; got 8"):
        w2v.train_word2vec(
            corpus, w2v.Word2VecConfig(window=1, batch_size=8, subsample=0), key=jax.random.key(0)
        )


def planted_corpus(rng, groups=12, synonyms=3, topic=4, sentences=3000):
    """Synonyms never meet: each sentence holds one word of a synonym set among its topic's words.

    Words ``s{g}_{i}`` are interchangeable: they share every context (the topic words ``t{g}_*``)
    and never co-occur, like WordNet synonyms in glosses; only the distributional signal joins them.
    """
    corpus = []
    for _ in range(sentences):
        g = rng.integers(groups)
        words = [f"t{g}_{j}" for j in rng.choice(topic, 3, replace=False)] + [
            f"s{g}_{rng.integers(synonyms)}"
        ]
        words += [f"f{rng.integers(30)}" for _ in range(2)]  # filler shared by every topic
        rng.shuffle(words)
        corpus.append(words)
    pairs = {
        (f"s{g}_{i}", f"s{g}_{j}")
        for g in range(groups)
        for i in range(synonyms)
        for j in range(i + 1, synonyms)
    }
    return corpus, pairs


@pytest.mark.parametrize(
    "loss, optimizer, learning_rate",
    [("negative_sampling", "sgd", None), ("nce", "adam", 1e-2), ("sampled_softmax", "sgd", None)],
)
def test_learns_planted_synonyms(loss, optimizer, learning_rate):
    rng = np.random.default_rng(0)
    sentences, synonyms = planted_corpus(rng)
    corpus = sg.encode_corpus(sentences, min_count=1)
    config = w2v.Word2VecConfig(
        dim=16, window=3, epochs=4, batch_size=256, subsample=0, loss=loss, optimizer=optimizer,
        learning_rate=learning_rate,
    )  # fmt: skip
    params, history = w2v.train_word2vec(corpus, config, key=jax.random.key(0), progress=False)
    assert history["loss"][-1] < history["loss"][0]
    index = {w: i for i, w in enumerate(corpus.words)}
    pairs = ev.encode_pairs(synonyms, index)
    relations = {"synonym": pairs}
    trained = ev.evaluate_vectors(np.asarray(params.input), relations, rng=np.random.default_rng(1), k=2)
    random = ev.evaluate_vectors(
        rng.normal(size=(len(index), 16)), relations, rng=np.random.default_rng(1), k=2
    )
    # each synonym's 2 nearest neighbours should be its 2 synonyms. Measured: trained AUC 0.97-0.98,
    # precision@2 0.90 (SGNS), 0.68 (NCE), 0.93 (sampled softmax); random vectors (a model that
    # learned nothing) AUC 0.60 on these 36 pairs and precision@2 0.014
    assert trained["synonym_auc"] > 0.95, trained
    assert trained["precision_at_2"] > 0.6, trained
    assert random["synonym_auc"] < 0.75 and random["precision_at_2"] < 0.2, random


@pytest.mark.parametrize("loss", ["negative_sampling", "nce", "sampled_softmax"])
def test_sparse_step_equals_dense_sgd(x64, loss):
    import optax

    params, centers, contexts, q = _problem(3)
    centers = np.array([1, 1, 4, 6])  # a repeated center: its row gets both gradients
    noise = (
        np.random.default_rng(4).integers(0, V, (B, K))
        if loss == "negative_sampling"
        else np.array([2, 3, 3])
    )
    p = w2v.Word2VecParams(*map(jnp.asarray, params))
    log_q = jnp.log(jnp.asarray(q))
    opt = optax.sgd(0.1)
    (got, _), value = w2v.sparse_step(
        p,
        opt.init(p),
        jnp.asarray(centers),
        jnp.asarray(contexts),
        jnp.asarray(noise),
        log_q,
        optimizer=opt,
        loss=loss,
    )
    # the reference: plain gradient descent on the dense gradient of the whole table
    _, grads = _jax_loss_and_grads(params, centers, contexts, noise, q, loss)
    np.testing.assert_allclose(
        float(value), numpy_loss(params, centers, contexts, noise, q, loss), rtol=1e-12
    )
    for g, new, old in zip(grads, got, params):
        np.testing.assert_allclose(np.asarray(new), old - 0.1 * g, rtol=1e-12, atol=1e-14)
