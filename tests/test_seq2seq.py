"""Seq2seq model: masked loss, teacher forcing, sampled softmax, and a tiny reverse task learned end to end."""

from __future__ import annotations

import itertools
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpy_reference import dynamic_rnn, gru_step

from jaxrnn import gru_cell, lstm_cell
from jaxrnn.cli import main as cli_main
from jaxrnn.seq2seq import (
    TranslatorConfig,
    decoder_step,
    encode,
    evaluate,
    init_params,
    initial_decoder_state,
    load_translator,
    logits_teacher_forced,
    loss_fn,
    sampled_softmax_loss,
    save_translator,
    seq2seq_model,
    train_translator,
    translate,
    weighted_cross_entropy,
)
from jaxrnn.text import GO_ID, make_batch


def test_weighted_cross_entropy_matches_numpy():
    rng = np.random.default_rng(0)
    logits, targets = rng.normal(size=(2, 3, 5)), rng.integers(0, 5, (2, 3))
    weights = np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    ref = -sum(weights[b, t] * logp[b, t, targets[b, t]] for b in range(2) for t in range(3)) / weights.sum()
    got = weighted_cross_entropy(
        jnp.asarray(logits, jnp.float32), jnp.asarray(targets), jnp.asarray(weights, jnp.float32)
    )
    np.testing.assert_allclose(float(got), ref, rtol=1e-5)
    with pytest.raises(ValueError, match=r"must agree; got \(2, 3, 5\), \(2, 2\), \(2, 3\)"):
        weighted_cross_entropy(jnp.asarray(logits), jnp.asarray(targets[:, :2]), jnp.asarray(weights))


MODEL = seq2seq_model(
    10, 9, embed_size=4, encoder_cell=gru_cell(5), decoder_cell=gru_cell(5), attention="bahdanau"
)
PAIRS = [([4, 5, 6], [7, 8]), ([7], [4, 5, 6, 7]), ([5, 5], [6])]


def test_masked_loss_ignores_padding_in_loss_and_gradients():
    params = init_params(MODEL, jax.random.key(0))
    batch = make_batch(PAIRS, 4, 5)
    value_and_grad = jax.jit(jax.value_and_grad(lambda p, b: loss_fn(MODEL, p, b)))
    loss, grads = value_and_grad(params, tuple(jnp.asarray(x) for x in batch))
    # overwrite every padded position (source, decoder input and target) with real word ids
    pad_src = np.arange(4)[None, :] >= batch.source_length[:, None]
    pad_tgt = batch.target_weights == 0
    noisy = batch._replace(
        source=np.where(pad_src, 9, batch.source),
        decoder_input=np.where(pad_tgt, 8, batch.decoder_input),
        target=np.where(pad_tgt, 3, batch.target),
    )
    assert (noisy.source != batch.source).any() and (noisy.target != batch.target).any()
    loss2, grads2 = value_and_grad(params, tuple(jnp.asarray(x) for x in noisy))
    np.testing.assert_allclose(float(loss2), float(loss), rtol=1e-6)
    for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(grads2)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    # and a weight change on a real position does change the loss
    heavier = batch._replace(
        target_weights=batch.target_weights * np.array([[2.0], [1.0], [1.0]], np.float32)
    )
    assert abs(float(value_and_grad(params, tuple(jnp.asarray(x) for x in heavier))[0]) - float(loss)) > 1e-4


def _numpy_bahdanau_loss(p, batch):
    """Float64 NumPy forward of the GRU + Bahdanau translator's full-softmax loss under teacher forcing,
    written from the equations (encoder from zero state, query = the previous decoder output)."""
    source, length, dec_in, target, weights = (np.asarray(x) for x in batch)
    b, h_size = source.shape[0], p["encoder"]["Wh"].shape[0]
    x = p["source_embedding"]["embeddings"][source]
    outputs, h = dynamic_rnn(lambda s, xt: gru_step(p["encoder"], s, xt), np.zeros((b, h_size)), x, length)
    a = p["attention"]
    keys = outputs @ a["w_memory"]
    mask = np.arange(source.shape[1])[None, :] < length[:, None]
    query, total = np.zeros((b, h_size)), 0.0
    for t in range(dec_in.shape[1]):
        scores = np.where(mask, np.tanh(keys + (query @ a["w_query"])[:, None, :]) @ a["v"], -np.inf)
        att = np.exp(scores - scores.max(1, keepdims=True))
        context = np.einsum("bs,bsh->bh", att / att.sum(1, keepdims=True), outputs)
        h, _ = gru_step(
            p["decoder"], h, np.concatenate([p["target_embedding"]["embeddings"][dec_in[:, t]], context], 1)
        )
        logits = np.concatenate([h, context], 1) @ p["output"]["w"] + p["output"]["b"]
        top = logits.max(1)
        lse = top + np.log(np.exp(logits - top[:, None]).sum(1))
        total += np.sum(weights[:, t] * (lse - logits[np.arange(b), target[:, t]]))
        query = h
    return total / weights.sum()


def test_full_softmax_loss_and_gradients_match_a_float64_numpy_model():
    params = init_params(MODEL, jax.random.key(3))
    batch = make_batch(PAIRS, 4, 5)
    ref_params = jax.tree.map(lambda a: np.asarray(a, np.float64), params)
    loss, grads = jax.value_and_grad(lambda p: loss_fn(MODEL, p, tuple(jnp.asarray(x) for x in batch)))(
        params
    )
    np.testing.assert_allclose(float(loss), _numpy_bahdanau_loss(ref_params, batch), rtol=1e-5)
    # central differences of the float64 model at the entries the loss formulation and the hoisted
    # target-embedding lookup touch: output weights and biases (target and non-target words), the
    # embedding rows of the decoder's input words, and the encoder and attention
    rng = np.random.default_rng(0)
    checks = [(("output", "w"), (i, j)) for i, j in zip(rng.integers(0, 10, 4), rng.integers(0, 9, 4))]
    checks += [(("output", "b"), (j,)) for j in range(9)]
    checks += [
        (("target_embedding", "embeddings"), (int(w), k))
        for w in np.unique(batch.decoder_input)
        for k in (0, 3)
    ]
    checks += [(("encoder", "Wx"), (1, 2)), (("attention", "v"), (0,)), (("attention", "w_query"), (2, 1))]
    eps = 1e-6
    for path, index in checks:

        def shifted(delta, path=path, index=index):
            p = jax.tree.map(np.copy, ref_params)
            p[path[0]][path[1]][index] += delta
            return _numpy_bahdanau_loss(p, batch)

        numeric = (shifted(eps) - shifted(-eps)) / (2 * eps)
        got = float(np.asarray(grads[path[0]][path[1]])[index])
        np.testing.assert_allclose(got, numeric, rtol=2e-3, atol=2e-6, err_msg=f"{path} {index}")


@pytest.mark.parametrize("attention", ["none", "luong", "bahdanau"])
def test_teacher_forcing_equals_hand_chained_decoder_steps(attention):
    model = seq2seq_model(
        10, 9, embed_size=4, encoder_cell=lstm_cell(5), decoder_cell=lstm_cell(5), attention=attention
    )
    params = init_params(model, jax.random.key(1))
    b = make_batch(PAIRS, 4, 5)
    logits = logits_teacher_forced(
        model, params, jnp.asarray(b.source), jnp.asarray(b.source_length), jnp.asarray(b.decoder_input)
    )
    memory, enc_state = encode(model, params, jnp.asarray(b.source), jnp.asarray(b.source_length))
    state = initial_decoder_state(model, enc_state, 3, jnp.float32)
    for t in range(5):
        state, step_logits = decoder_step(model, params, state, jnp.asarray(b.decoder_input[:, t]), memory)
        np.testing.assert_allclose(logits[:, t], step_logits, rtol=1e-5, atol=1e-6)
    assert (b.decoder_input[:, 0] == GO_ID).all()


def test_sampled_softmax_expectation_approaches_full_loss():
    rng = np.random.default_rng(0)
    v, h, n = 50, 8, 6
    w = jnp.asarray(rng.normal(size=(v, h)), jnp.float32)
    bias = jnp.asarray(rng.normal(size=(v,)), jnp.float32)
    hidden = jnp.asarray(rng.normal(size=(n, h)) * 0.5, jnp.float32)
    labels = jnp.asarray(rng.integers(0, v, n), jnp.int32)
    logits = np.asarray(hidden, np.float64) @ np.asarray(w, np.float64).T + np.asarray(bias, np.float64)
    full = np.log(np.exp(logits).sum(1)) - logits[np.arange(n), np.asarray(labels)]
    gaps = []
    for m in (2, 10, 49):  # distinct classes (TF's unique sampler), so at most V - 1 negatives
        losses = jax.jit(
            jax.vmap(lambda k, m=m: sampled_softmax_loss(w, bias, hidden, labels, num_sampled=m, key=k))
        )(jax.random.split(jax.random.key(0), 2000))
        gaps.append(np.abs(np.asarray(losses, np.float64).mean(0) - full).mean())
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 0.1, gaps
    with pytest.raises(ValueError, match="num_sampled must be a positive int; got 0"):
        sampled_softmax_loss(w, bias, hidden, labels, num_sampled=0, key=jax.random.key(0))


def test_sampled_softmax_training_loss_is_finite_and_needs_a_key():
    params = init_params(MODEL, jax.random.key(0))
    batch = tuple(jnp.asarray(x) for x in make_batch(PAIRS, 4, 5))
    sampled = loss_fn(MODEL, params, batch, num_sampled=4, key=jax.random.key(1))
    assert np.isfinite(float(sampled)) and float(sampled) > 0
    with pytest.raises(ValueError, match="key is required when num_sampled is given"):
        loss_fn(MODEL, params, batch, num_sampled=4)


def test_reverse_task_learned_to_exact_match_and_checkpoint_round_trip(tmp_path, capsys):
    letters = "abcde"
    seqs = [" ".join(s) for n in (1, 2, 3, 4) for s in itertools.product(letters, repeat=n)]
    rng = np.random.default_rng(0)
    rng.shuffle(seqs)
    pairs = [(s, " ".join(s.split()[::-1])) for s in seqs]
    train, held_out = pairs[:-60], pairs[-60:]
    config = TranslatorConfig(num_units=32, embed_size=16, attention="luong", max_length=6)
    translator, losses = train_translator(
        train, config, steps=250, batch_size=32, learning_rate=1e-2, progress=False
    )
    assert losses[-1] < losses[0] / 10
    result = evaluate(translator, held_out)
    assert result["exact_match"] == 1.0, result
    save_translator(translator, tmp_path / "ckpt")
    loaded = load_translator(tmp_path / "ckpt")
    sentences = [s for s, _ in held_out[:10]]
    assert translate(loaded, sentences) == translate(translator, sentences)
    assert translate(loaded, sentences, beam_width=3) == [t for _, t in held_out[:10]]
    # the model reads and writes lower case; the output's first letter follows the source's
    capitalised = [s[:1].upper() + s[1:] for s in sentences]
    assert translate(loaded, capitalised) == [t[:1].upper() + t[1:] for _, t in held_out[:10]]
    assert translate(loaded, capitalised, match_case=False) == [t for _, t in held_out[:10]]
    assert cli_main(["translate", "--checkpoint", str(tmp_path / "ckpt"), held_out[0][0]]) == 0
    assert capsys.readouterr().out.strip() == held_out[0][1]


def test_cli_train_translator_on_a_tatoeba_file(tmp_path, capsys):
    corpus = tmp_path / "pairs.txt"
    corpus.write_text("".join(f"w{i} x{i}.\tv{i} y{i} !\tCC-BY\n" for i in range(40)), encoding="utf-8")
    ckpt = tmp_path / "ckpt"
    argv = ["train", "translator", "--corpus", str(corpus), "--attention", "none", "--steps", "3"]
    assert cli_main([*argv, "--num-units", "8", "--embed-size", "4", "--out", str(ckpt), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "checkpoint written to" in out
    assert load_translator(ckpt).config.attention == "none"
    # the length penalty chosen on the validation pairs at the end of training, for `jaxrnn translate`
    chosen = json.loads((ckpt / "decoding.json").read_text())
    assert chosen["length_penalty"] in (0.0, 0.6, 1.0) and chosen["beam_width"] == 4
    assert f"length penalty {chosen['length_penalty']} chosen on" in out
    with pytest.raises(SystemExit):
        cli_main(["train", "translator", "--attention", "dot"])


def test_bad_model_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"decoder_cell.state_size must equal encoder_cell.state_size"):
        seq2seq_model(5, 5, embed_size=3, encoder_cell=gru_cell(4), decoder_cell=gru_cell(6))
    with pytest.raises(ValueError, match="attention must be None, 'none', 'bahdanau', 'luong'"):
        seq2seq_model(5, 5, embed_size=3, encoder_cell=gru_cell(4), decoder_cell=gru_cell(4), attention="dot")
    with pytest.raises(ValueError, match="embed_size must be a positive int; got 0"):
        seq2seq_model(5, 5, embed_size=0, encoder_cell=gru_cell(4), decoder_cell=gru_cell(4))
    with pytest.raises(ValueError, match="no config.json in"):
        load_translator(tmp_path)
    with pytest.raises(TypeError, match="sentences must be a sequence of str; got one str"):
        translate(None, "hello")
