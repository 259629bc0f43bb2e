"""The translator trained by jaxrnn.fit: freezable embeddings, pretrained word2vec vectors, exact resume,
refused resumes with other settings, and `jaxrnn translate` reading standard input."""

from __future__ import annotations

import io
import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxrnn import checkpoint as ckpt
from jaxrnn import freeze, gru_cell, make_train_step
from jaxrnn.cli import main as cli_main
from jaxrnn.seq2seq import (
    TranslatorConfig,
    init_params,
    load_translator,
    save_translator,
    seq2seq_model,
    train_translator,
    translate,
    translator_loss,
)
from jaxrnn.text import make_batch
from jaxrnn.train import init_train_state

PAIRS = [(f"w{i % 9} v{i % 4} z{i % 3}", f"x{i % 4} y{i % 9}") for i in range(60)]
CONFIG = TranslatorConfig(num_units=8, embed_size=4, attention="bahdanau", max_length=5)


def test_freeze_embeddings_matches_both_tables_and_nothing_else():
    model = seq2seq_model(10, 9, embed_size=4, encoder_cell=gru_cell(5), decoder_cell=gru_cell(5))
    params = init_params(model, jax.random.key(0))
    opt = freeze(optax.adam(0.1), "embeddings")
    step = jax.jit(make_train_step(translator_loss(model, None), opt))
    batch = tuple(jnp.asarray(x) for x in make_batch([([4, 5], [6, 7]), ([8], [4])], 3, 3))
    state, _, _ = step(init_train_state(params, opt), batch, jax.random.key(1))
    for name in ("source_embedding", "target_embedding"):
        np.testing.assert_array_equal(state.params[name]["embeddings"], params[name]["embeddings"])
    moved = jax.tree.leaves(
        jax.tree.map(lambda a, b: bool((a != b).any()), state.params["encoder"], params["encoder"])
    )
    assert all(moved) and bool((state.params["output"]["w"] != params["output"]["w"]).any())


def test_pretrained_source_vectors_are_loaded_and_can_stay_frozen(tmp_path):
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("3 4\nw1 1 2 3 4\nunseen 9 9 9 9\nz2 0.5 -0.5 0.25 -0.25\n", encoding="utf-8")
    tr, _ = train_translator(
        PAIRS, CONFIG, steps=3, source_embeddings=vectors, freeze_source_embeddings=True, progress=False
    )
    table = np.asarray(tr.params["source_embedding"]["embeddings"])
    np.testing.assert_array_equal(table[tr.source_vocab.index["w1"]], [1, 2, 3, 4])
    np.testing.assert_array_equal(table[tr.source_vocab.index["z2"]], [0.5, -0.5, 0.25, -0.25])
    vectors.write_text("1 3\nw1 1 2 3\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"have D = 3; the embedding size \(--embed-size\) is 4"):
        train_translator(PAIRS, CONFIG, steps=1, source_embeddings=vectors, progress=False)


def test_resumed_run_equals_uninterrupted_run_and_other_settings_are_refused(tmp_path):
    whole, losses = train_translator(PAIRS, CONFIG, steps=6, out=tmp_path / "a", progress=False)
    train_translator(PAIRS, CONFIG, steps=3, out=tmp_path / "b", progress=False)  # "interrupted" at 3
    resumed, resumed_losses = train_translator(PAIRS, CONFIG, steps=6, out=tmp_path / "b", progress=False)
    for a, b in zip(jax.tree.leaves(whole.params), jax.tree.leaves(resumed.params)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert resumed_losses == losses and len(losses) == 6
    run = json.loads(tmp_path.joinpath("b", "config.json").read_text())  # one file: model and training
    assert (
        {k: run[k] for k in CONFIG._fields} == CONFIG._asdict()
        and run["steps"] == 6
        and run["batch_size"] == 64
    )
    assert json.loads(tmp_path.joinpath("b", "metrics.json").read_text())["step"] == 6
    loaded = load_translator(tmp_path / "b")
    assert translate(loaded, [p[0] for p in PAIRS[:5]]) == translate(whole, [p[0] for p in PAIRS[:5]])
    with pytest.raises(
        ValueError, match=r"another configuration \(batch_size: saved 64, requested 32.*--restart"
    ):
        train_translator(PAIRS, CONFIG, steps=6, batch_size=32, out=tmp_path / "b", progress=False)
    with pytest.raises(ValueError, match=r"\(num_units: saved 8, requested 16\).*--out.*--restart"):
        train_translator(PAIRS, CONFIG._replace(num_units=16), steps=6, out=tmp_path / "b", progress=False)
    train_translator(PAIRS, CONFIG, steps=2, batch_size=32, out=tmp_path / "b", restart=True, progress=False)
    old = list(tmp_path.joinpath("b", "checkpoints").glob("replaced-*/*"))  # kept, not deleted
    assert sorted(ckpt.checkpoint_step(p) for p in old if p.name != "best") == [3, 6]
    save_translator(whole, tmp_path / "saved")  # params only: not a run that can be resumed
    with pytest.raises(
        ValueError, match=r"another configuration \(batch_size: saved None, requested 64.*--restart"
    ):
        train_translator(PAIRS, CONFIG, steps=1, out=tmp_path / "saved", progress=False)


def test_translate_reads_stdin_in_order_with_empty_lines_and_unknown_words(tmp_path, monkeypatch, capsys):
    tr, _ = train_translator(PAIRS, CONFIG, steps=2, out=tmp_path / "run", progress=False)
    lines = ["w1 v2 z0", "", "completely unknown words !", "w3", "   ", "w8 v1 z2 w1 v1"]
    expected = [translate(tr, [s], beam_width=2)[0] for s in lines]  # one sentence at a time
    assert expected[1] == expected[4] == ""
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(s + "\n" for s in lines)))
    argv = ["translate", "--checkpoint", str(tmp_path / "run"), "--beam-width", "2", "--batch-size", "2"]
    assert cli_main(argv) == 0
    captured = capsys.readouterr()
    assert captured.out.split("\n")[: len(lines)] == expected
    with pytest.raises(ValueError, match="beam_width must be a positive int; got 0"):
        translate(tr, ["w1"], beam_width=0)


def test_model_defaults_follow_the_corpus_and_explicit_flags_win():
    from jaxrnn.cli import build_parser
    from jaxrnn.seq2seq.cli import model_defaults

    parser = build_parser()
    numbers = model_defaults(parser.parse_args(["train", "translator"]))
    assert (numbers.attention, numbers.num_units, numbers.embed_size) == ("luong", 128, 64)
    real = model_defaults(parser.parse_args(["train", "translator", "--corpus", "en-fr.tsv"]))
    assert (real.attention, real.num_units, real.embed_size) == ("bahdanau", 256, 128)
    argv = [
        "train",
        "translator",
        "--corpus",
        "f.tsv",
        "--attention",
        "none",
        "--units",
        "8",
        "--embed-size",
        "4",
    ]
    mine = model_defaults(parser.parse_args(argv))
    assert (mine.attention, mine.num_units, mine.embed_size) == ("none", 8, 4)


def test_translate_uses_the_length_penalty_the_run_chose_unless_given(tmp_path, monkeypatch, capsys):
    from jaxrnn.seq2seq import cli as seq2seq_cli
    from jaxrnn.seq2seq.translator import read_length_penalty, write_decoding_settings

    train_translator(PAIRS, CONFIG, steps=1, out=tmp_path / "run", progress=False)
    seen = []

    def spy(translator, sentences, **kwargs):
        seen.append(kwargs["length_penalty"])
        return translate(translator, sentences, **kwargs)

    monkeypatch.setattr(seq2seq_cli, "translate", spy)
    argv = ["translate", "--checkpoint", str(tmp_path / "run"), "--beam-width", "2", "w1 v2"]
    assert read_length_penalty(tmp_path / "run") is None
    assert cli_main(argv) == 0  # no choice stored: 0
    write_decoding_settings(tmp_path / "run", 0.6, 4, {0.0: 1.0, 0.6: 2.0, 1.0: 1.5})
    assert cli_main(argv) == 0  # the stored choice
    assert cli_main([*argv, "--length-penalty", "0.3"]) == 0  # the flag wins
    assert seen == [0.0, 0.6, 0.3]
    with pytest.raises(ValueError, match="length_penalty must be a number >= 0 .*; got -1"):
        translate(load_translator(tmp_path / "run"), ["w1"], beam_width=2, length_penalty=-1)
