"""``jaxrnn train word2vec`` end to end on a small synthetic WordNet directory."""

from __future__ import annotations

import json

import numpy as np
import pytest

from jaxrnn import cli
from jaxrnn.text.word2vec_format import load_word2vec_format


def _write_wordnet(path, rng):
    """Synsets ``s{g}a s{g}b`` whose words appear in other synsets' glosses with topic words."""
    lines = []
    offset = 100
    for g in range(8):
        lines.append(f"{offset:08d} 03 n 02 s{g}a 0 s{g}b 0 000 | a set of {g}")
        offset += 100
    for _ in range(300):
        g = rng.integers(8)
        words = [f"t{g}w{j}" for j in rng.choice(4, 3, replace=False)] + [f"s{g}{'ab'[rng.integers(2)]}"]
        rng.shuffle(words)
        lines.append(f'{offset:08d} 03 n 01 filler 0 000 | {" ".join(words)}; "the {words[0]} example"')
        offset += 100
    (path / "data.noun").write_text("\n".join(lines) + "\n")
    for part in ("verb", "adj", "adv"):
        (path / f"data.{part}").write_text("")


def test_train_word2vec_command(tmp_path, capsys):
    _write_wordnet(tmp_path, np.random.default_rng(0))
    out = tmp_path / "run"
    status = cli.main(
        ["train", "word2vec", "--corpus", f"wordnet:{tmp_path}", "--out", str(out), "--dim", "8",
         "--epochs", "2", "--batch-size", "64", "--min-count", "1", "--vectors", "input", "--quiet"]
    )  # fmt: skip
    assert status == 0
    assert "word2vec  test: synonym_auc" in capsys.readouterr().out
    words, vectors = load_word2vec_format(out / "vectors.txt")
    assert vectors.shape == (len(words), 8) and "s0a" in words and "the" in words
    assert "filler" not in words  # a synset's own word list is not corpus text
    metrics = json.loads((out / "metrics.json").read_text())
    for split in ("validation", "test"):
        assert set(metrics["evaluation"][split]) == {"pairs", "word2vec", "random", "ppmi_svd"}
    assert (out / "training_curve.png").is_file() and (out / "neighbours.txt").is_file()
    assert metrics["config"]["vectors"] == "input" and metrics["config"]["optimizer"] == "sgd"
    # the command's default: fastText-style subwords (the library's Word2VecConfig stays plain)
    assert (
        metrics["config"]["subword_buckets"] == 100_000 and metrics["config"]["subword_update"] == "fasttext"
    )
    for name in ("random", "ppmi_svd"):
        baseline_words, baseline = load_word2vec_format(out / "baselines" / f"{name}.txt")
        assert baseline_words == words and baseline.shape == vectors.shape


def test_bad_corpus_argument(tmp_path, capsys):
    assert cli.main(["train", "word2vec", "--corpus", "text:x", "--out", str(tmp_path)]) == 1
    assert "--corpus must be 'wordnet' or 'wordnet:DIR'; got 'text:x'" in capsys.readouterr().err
    assert cli.main(["train", "word2vec", "--corpus", f"wordnet:{tmp_path}", "--out", str(tmp_path)]) == 1
    assert "data_dir must hold WordNet's data" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["train", "word2vec", "--loss", "hierarchical_softmax"])
