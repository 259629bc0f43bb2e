"""A ready-made translator: vocabularies + model + params; training (Adam, global-norm clipping), saving,
translating and scoring (exact match, corpus BLEU)."""

from __future__ import annotations

import json
import os
import pathlib
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxrnn.cells import gru_cell, lstm_cell
from jaxrnn.seq2seq.decoding import beam_search, greedy_decode
from jaxrnn.seq2seq.model import Seq2Seq, init_params, loss_fn, seq2seq_model
from jaxrnn.text.bucketing import Batch, batches, bucketize, encode_source
from jaxrnn.text.vocab import (
    Vocabulary,
    build_vocabulary,
    detokenize,
    load_vocabulary,
    save_vocabulary,
    tokenize,
)
from jaxrnn.train import progress_bar
from jaxrnn.wrappers import stack_cells

Params = Any


class TranslatorConfig(NamedTuple):
    """Everything needed to rebuild the model (saved as JSON beside the weights)."""

    cell: str = "gru"
    num_units: int = 128
    num_layers: int = 1
    embed_size: int = 64
    attention: str = "none"
    reverse_source: bool = True
    max_length: int = 20


class Translator(NamedTuple):
    """A trained translator."""

    config: TranslatorConfig
    model: Seq2Seq
    params: Params
    source_vocab: Vocabulary
    target_vocab: Vocabulary


def build_model(config: TranslatorConfig, source_vocab_size: int, target_vocab_size: int) -> Seq2Seq:
    """The :class:`Seq2Seq` a config describes."""
    if config.cell not in ("gru", "lstm"):
        raise ValueError(f"config.cell must be 'gru' or 'lstm'; got {config.cell!r}")
    make = gru_cell if config.cell == "gru" else lstm_cell

    def cell():
        cells = [make(config.num_units) for _ in range(config.num_layers)]
        return cells[0] if config.num_layers == 1 else stack_cells(cells)

    return seq2seq_model(
        source_vocab_size,
        target_vocab_size,
        embed_size=config.embed_size,
        encoder_cell=cell(),
        decoder_cell=cell(),
        attention=config.attention,
    )


def _encode_pairs(pairs, src_vocab, tgt_vocab, lower=True):
    return [
        (src_vocab.encode(tokenize(s, lower=lower)), tgt_vocab.encode(tokenize(t, lower=lower)))
        for s, t in pairs
    ]


def train_translator(
    pairs: Sequence[tuple[str, str]],
    config: TranslatorConfig | None = None,
    *,
    steps: int = 2000,
    batch_size: int = 64,
    learning_rate: float = 3e-3,
    clip_norm: float = 5.0,
    max_vocab_size: int | None = 20_000,
    num_sampled: int | None = None,
    seed: int = 0,
    progress: bool = True,
) -> tuple[Translator, list[float]]:
    """Train on ``(source, target)`` sentence pairs with teacher forcing and Adam.

    Args:
      pairs: raw sentence pairs (tokenized with :func:`jaxrnn.text.tokenize`).
      config: model sizes and options (None: ``TranslatorConfig()``).
      steps: optimizer steps.
      batch_size: pairs per step, drawn from one length bucket.
      learning_rate: Adam's step size.
      clip_norm: clip gradients by this global norm (as in TF's seq2seq tutorial).
      max_vocab_size: vocabulary limit per language.
      num_sampled: sampled softmax with this many samples (None: full softmax).
      seed: seeds parameters and batch order.
      progress: show a tqdm bar.

    Returns:
      ``(translator, losses)``, one loss per step.
    """
    config = TranslatorConfig() if config is None else config
    if not pairs:
        raise ValueError("pairs must be non-empty; got 0 pairs")
    if not isinstance(steps, int) or steps <= 0:
        raise ValueError(f"steps must be a positive int; got {steps!r}")
    src_vocab = build_vocabulary((tokenize(s) for s, _ in pairs), max_size=max_vocab_size)
    tgt_vocab = build_vocabulary((tokenize(t) for _, t in pairs), max_size=max_vocab_size)
    model = build_model(config, len(src_vocab), len(tgt_vocab))
    ids = [(s, t) for s, t in _encode_pairs(pairs, src_vocab, tgt_vocab) if s and t]
    buckets = bucketize(ids, reverse_source=config.reverse_source)
    key = jax.random.key(seed)
    params = init_params(model, jax.random.fold_in(key, 0))
    optimizer = optax.chain(optax.clip_by_global_norm(clip_norm), optax.adam(learning_rate))
    opt_state = optimizer.init(params)

    @jax.jit
    def train_step(params, opt_state, batch, step_key):
        loss, grads = jax.value_and_grad(
            lambda p: loss_fn(model, p, batch, num_sampled=num_sampled, key=step_key)
        )(params)
        # optax mixes Python floats with its int32 step count, which strict promotion rejects
        with jax.numpy_dtype_promotion("standard"):
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return optax.apply_updates(params, updates), opt_state, loss

    losses = []
    stream = batches(buckets, batch_size, seed=seed)
    bar = progress_bar(range(steps), desc="train translator", disable=not progress)
    for step in bar:
        batch = Batch(*(jnp.asarray(x) for x in next(stream)))
        params, opt_state, loss = train_step(params, opt_state, batch, jax.random.fold_in(key, step + 1))
        if step % 50 == 0 or step == steps - 1:
            losses.append(float(loss))
            bar.set_postfix(loss=f"{losses[-1]:.4f}")
        else:
            losses.append(loss)
    losses = [float(x) for x in losses]
    return Translator(config, model, params, src_vocab, tgt_vocab), losses


def translate(
    translator: Translator,
    sentences: Sequence[str],
    *,
    beam_width: int = 1,
    length_penalty: float = 0.0,
    batch_size: int = 256,
) -> list[str]:
    """Translate raw sentences; ``beam_width`` 1 is greedy decoding."""
    if isinstance(sentences, str):
        raise TypeError("sentences must be a sequence of str; got one str (wrap it in a list)")
    tr = translator
    src = [tr.source_vocab.encode(tokenize(s)) or [tr.source_vocab.index["[UNK]"]] for s in sentences]
    width = max(len(s) for s in src) if src else 1
    out = []
    for i in range(0, len(src), batch_size):
        chunk = src[i : i + batch_size]
        pad = batch_size - len(chunk) if len(src) > batch_size else 0  # keep one compiled shape
        source, length = encode_source(
            chunk + [chunk[0]] * pad, width, reverse_source=tr.config.reverse_source
        )
        if beam_width == 1:
            ids = _greedy(tr.model, tr.params, source, length, tr.config.max_length)
        else:
            ids = _beam(tr.model, tr.params, source, length, tr.config.max_length, beam_width, length_penalty)
        out += [detokenize(tr.target_vocab.decode(row)) for row in np.asarray(ids)[: len(chunk)]]
    return out


@jax.jit(static_argnums=(0, 4))
def _greedy(model, params, source, length, max_length):
    return greedy_decode(model, params, source, length, max_length=max_length).ids


@jax.jit(static_argnums=(0, 4, 5, 6))
def _beam(model, params, source, length, max_length, beam_width, length_penalty):
    return beam_search(
        model,
        params,
        source,
        length,
        beam_width=beam_width,
        max_length=max_length,
        length_penalty=length_penalty,
    )[0].ids


def evaluate(translator: Translator, pairs: Sequence[tuple[str, str]], *, beam_width: int = 1) -> dict:
    """Exact match (on normalised tokens) and corpus BLEU (sacrebleu) of translations of ``pairs``."""
    import sacrebleu

    start = time.perf_counter()
    hyps = translate(translator, [s for s, _ in pairs], beam_width=beam_width)
    refs = [detokenize(tokenize(t)) for _, t in pairs]
    exact = float(np.mean([h == r for h, r in zip(hyps, refs)]))
    bleu = sacrebleu.corpus_bleu(hyps, [refs]).score
    return {"exact_match": exact, "bleu": bleu, "seconds": time.perf_counter() - start, "examples": hyps[:3]}


def save_translator(translator: Translator, directory: str | os.PathLike) -> None:
    """Write ``config.json``, ``source_vocab.json``, ``target_vocab.json`` and ``params.npz``."""
    d = pathlib.Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    (d / "config.json").write_text(json.dumps(translator.config._asdict(), indent=1))
    save_vocabulary(translator.source_vocab, d / "source_vocab.json")
    save_vocabulary(translator.target_vocab, d / "target_vocab.json")
    leaves = jax.tree.leaves(translator.params)
    np.savez(d / "params.npz", *[np.asarray(x) for x in leaves])


def load_translator(directory: str | os.PathLike) -> Translator:
    """Read a translator written by :func:`save_translator`."""
    d = pathlib.Path(directory)
    if not (d / "config.json").is_file():
        raise ValueError(f"checkpoint must be a directory written by save_translator; no config.json in {d}")
    config = TranslatorConfig(**json.loads((d / "config.json").read_text()))
    src, tgt = load_vocabulary(d / "source_vocab.json"), load_vocabulary(d / "target_vocab.json")
    model = build_model(config, len(src), len(tgt))
    template = jax.eval_shape(lambda: init_params(model, jax.random.key(0)))
    with np.load(d / "params.npz") as data:
        leaves = [jnp.asarray(data[f"arr_{i}"]) for i in range(len(data.files))]
    treedef = jax.tree.structure(template)
    if treedef.num_leaves != len(leaves):
        raise ValueError(
            f"params.npz holds {len(leaves)} arrays; the config's model needs {treedef.num_leaves}"
        )
    return Translator(config, model, jax.tree.unflatten(treedef, leaves), src, tgt)
