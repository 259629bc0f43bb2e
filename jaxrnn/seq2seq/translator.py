"""A ready-made translator: vocabularies + model + params; saving, loading, translating and scoring."""

from __future__ import annotations

import json
import os
import pathlib
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn import checkpoint as ckpt
from jaxrnn import runs
from jaxrnn.cells import gru_cell, lstm_cell
from jaxrnn.seq2seq.decoding import beam_search, greedy_decode
from jaxrnn.seq2seq.model import Seq2Seq, init_params, seq2seq_model
from jaxrnn.text.bucketing import encode_source
from jaxrnn.text.vocab import UNK_ID, Vocabulary, detokenize, load_vocabulary, save_vocabulary, tokenize
from jaxrnn.wrappers import stack_cells

Params = Any


class TranslatorConfig(NamedTuple):
    """Everything needed to rebuild the model (saved as ``config.json`` beside the checkpoints).

    Attributes:
      cell: ``"gru"`` or ``"lstm"``.
      num_units: units of every encoder and decoder layer.
      num_layers: layers of the encoder and of the decoder.
      embed_size: size of both embeddings.
      attention: ``"none"``, ``"bahdanau"`` or ``"luong"``.
      reverse_source: feed the source reversed (Sutskever et al. 2014).
      max_length: the most target words (``<eos>`` included) the decoders emit; training leaves out
        pairs with longer sources or targets (0.2% of the shared en-fr.tsv at 30).
      max_vocab_size: words kept per language, special tokens included; rarer words become ``[UNK]``
        (the book keeps 40,000).
    """

    cell: str = "gru"
    num_units: int = 128
    num_layers: int = 1
    embed_size: int = 64
    attention: str = "none"
    reverse_source: bool = True
    max_length: int = 30
    max_vocab_size: int = 20_000


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
    for name in ("num_units", "num_layers", "embed_size", "max_length"):
        value = getattr(config, name)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"config.{name} must be a positive int; got {value!r}")
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


def source_ids(vocab: Vocabulary, sentence: str) -> list[int]:
    """The ids the encoder reads for a raw sentence; words missing from ``vocab`` become ``[UNK]``."""
    return vocab.encode(tokenize(sentence))


def translate(
    translator: Translator,
    sentences: Sequence[str],
    *,
    beam_width: int = 1,
    length_penalty: float = 0.0,
    batch_size: int = 64,
    progress: Callable[[int], None] | None = None,
    match_case: bool = True,
) -> list[str]:
    """Translate raw sentences, in batches; ``beam_width`` 1 is greedy decoding.

    Sentences are decoded in batches of similar length (then put back in order); every batch is padded
    to ``batch_size`` rows and a source width rounded up to a multiple of 8, so few shapes compile.
    A sentence with no token (an empty line) translates to ``""``; unknown words are read as ``[UNK]``.

    Args:
      translator: a :class:`Translator`.
      sentences: raw sentences.
      beam_width: 1 for greedy decoding, K > 1 for beam search.
      length_penalty: GNMT's alpha for beam search.
      batch_size: sentences decoded together.
      progress: called with the number of sentences done after each batch.
      match_case: the model writes lower case; give the translation's first letter the case of the
        source's first letter ("Open the file" -> "Ouvrir le fichier").

    Returns:
      One translation per sentence, in order.
    """
    if isinstance(sentences, str):
        raise TypeError("sentences must be a sequence of str; got one str (wrap it in a list)")
    if not isinstance(beam_width, int) or isinstance(beam_width, bool) or beam_width <= 0:
        raise ValueError(f"beam_width must be a positive int; got {beam_width!r}")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive int; got {batch_size!r}")
    if isinstance(length_penalty, bool) or not isinstance(length_penalty, (int, float)) or length_penalty < 0:
        raise ValueError(f"length_penalty must be a number >= 0 (GNMT's alpha); got {length_penalty!r}")
    tr = translator
    ids = [source_ids(tr.source_vocab, s) for s in sentences]
    out = [""] * len(ids)
    todo = sorted((i for i, s in enumerate(ids) if s), key=lambda i: len(ids[i]))
    for start in range(0, len(todo), batch_size):
        rows = todo[start : start + batch_size]
        chunk = [ids[i] for i in rows]
        width = -(-max(len(s) for s in chunk) // 8) * 8
        pad = batch_size - len(chunk) if len(todo) > batch_size else 0  # one compiled batch size
        source, length = encode_source(
            chunk + [[UNK_ID]] * pad, width, reverse_source=tr.config.reverse_source
        )
        if beam_width == 1:
            decoded = _greedy(tr.model, tr.params, source, length, tr.config.max_length)
        else:
            decoded = _beam(
                tr.model,
                tr.params,
                source,
                length,
                tr.config.max_length,
                beam_width,
                jnp.float32(length_penalty),
            )
        for i, row in zip(rows, np.asarray(decoded)):
            out[i] = detokenize(tr.target_vocab.decode(row))
            if match_case and sentences[i][:1].isupper():
                out[i] = out[i][:1].upper() + out[i][1:]
        if progress is not None:
            progress(len(rows))
    if progress is not None and len(ids) > len(todo):
        progress(len(ids) - len(todo))
    return out


@jax.jit(static_argnums=(0, 4))
def _greedy(model, params, source, length, max_length):
    return greedy_decode(model, params, source, length, max_length=max_length).ids


# length_penalty is traced, not static: choosing it among several values compiles beam search once
@jax.jit(static_argnums=(0, 4, 5))
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


def score_translations(hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Corpus BLEU (cased and case-insensitive) and chrF of sacrebleu, against the raw references."""
    import sacrebleu

    refs = [list(references)]
    return {
        "bleu": sacrebleu.corpus_bleu(hypotheses, refs).score,
        "bleu_uncased": sacrebleu.corpus_bleu(hypotheses, refs, lowercase=True).score,
        "chrf": sacrebleu.corpus_chrf(hypotheses, refs).score,
    }


def evaluate(
    translator: Translator,
    pairs: Sequence[Sequence[str]],
    *,
    beam_width: int = 1,
    length_penalty: float = 0.0,
) -> dict:
    """Translate the sources of ``pairs`` and score them against their targets.

    Returns:
      ``exact_match`` (on normalised tokens, the first letter in either case), ``bleu``/``bleu_uncased``/
      ``chrf`` (sacrebleu, on the raw references: the model writes lower case and :func:`translate` only
      restores the first letter's case, so cased BLEU counts the rest against it),
      ``seconds`` and the first three translations under ``examples``.
    """
    start = time.perf_counter()
    hyps = translate(translator, [p[0] for p in pairs], beam_width=beam_width, length_penalty=length_penalty)
    normalised = [detokenize(tokenize(p[1])) for p in pairs]
    # match_case only upper-cases a first letter
    exact = float(np.mean([h[:1].lower() + h[1:] == r for h, r in zip(hyps, normalised)])) if pairs else 0.0
    scores = score_translations(hyps, [p[1] for p in pairs])
    return {"exact_match": exact, **scores, "seconds": time.perf_counter() - start, "examples": hyps[:3]}


def choose_length_penalty(
    translator: Translator,
    pairs: Sequence[Sequence[str]],
    *,
    alphas: Sequence[float] = (0.0, 0.6, 1.0),
    beam_width: int = 4,
) -> tuple[float, dict[float, float]]:
    """GNMT's alpha with the highest BLEU of beam search on ``pairs`` (a validation split).

    Args:
      translator: a :class:`Translator`.
      pairs: ``(source, reference[, ...])`` pairs, never the test split.
      alphas: the candidates, each >= 0; on a tie the first one wins.
      beam_width: the beam search it is chosen for.

    Returns:
      ``(alpha, {alpha: BLEU})``.
    """
    if not pairs:
        raise ValueError("pairs must be non-empty to choose a length penalty; got 0 pairs")
    if not alphas or any(isinstance(a, bool) or not isinstance(a, (int, float)) or a < 0 for a in alphas):
        raise ValueError(f"alphas must be a non-empty sequence of numbers >= 0; got {alphas!r}")
    bleu = {
        float(a): evaluate(translator, pairs, beam_width=beam_width, length_penalty=float(a))["bleu"]
        for a in alphas
    }
    return max(bleu, key=lambda a: bleu[a]), bleu


SOURCE_VOCAB = "source_vocab.json"
# beam search's settings chosen at the end of training (written by `jaxrnn train translator`)
DECODING = "decoding.json"
TARGET_VOCAB = "target_vocab.json"
# the fields a training run's config.json has beside the TranslatorConfig ones (see train_translator)
TRAINING_FIELDS = (
    "batch_size",
    "learning_rate",
    "clip_norm",
    "num_sampled",
    "seed",
    "source_embeddings",
    "freeze_source_embeddings",
    "pairs_md5",
    "steps",
    "minutes",
)


def write_translator_files(config: TranslatorConfig, src: Vocabulary, tgt: Vocabulary, directory) -> None:
    """Write ``config.json`` (the model config) and the two vocabularies into ``directory``.

    A training run's ``config.json`` (written by :func:`jaxrnn.fit`) has the same fields, beside the
    training settings (:data:`TRAINING_FIELDS`), so :func:`read_translator_files` reads both.
    """
    d = pathlib.Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    runs.write_json(d / "config.json", config._asdict())
    save_vocabulary(src, d / SOURCE_VOCAB)
    save_vocabulary(tgt, d / TARGET_VOCAB)


def write_decoding_settings(directory, length_penalty: float, beam_width: int, valid_bleu: dict) -> None:
    """Write the length penalty chosen on validation into a run directory (``decoding.json``)."""
    runs.write_json(
        pathlib.Path(directory) / DECODING,
        {
            "length_penalty": float(length_penalty),
            "beam_width": int(beam_width),
            "valid_bleu_by_length_penalty": {str(k): v for k, v in valid_bleu.items()},
        },
    )


def read_length_penalty(directory) -> float | None:
    """The length penalty a training run chose on validation, or None when it chose none."""
    path = pathlib.Path(directory) / DECODING
    if not path.is_file():
        return None
    return float(json.loads(path.read_text())["length_penalty"])


def read_translator_files(directory) -> tuple[TranslatorConfig, Vocabulary, Vocabulary]:
    """The model config and the two vocabularies of a training run or of :func:`save_translator`."""
    d = pathlib.Path(directory)
    if not (d / "config.json").is_file():
        raise ValueError(
            f"checkpoint must be a directory written by `jaxrnn train translator`; no config.json in {d}"
        )
    saved = json.loads((d / "config.json").read_text())
    unknown = sorted(set(saved) - set(TranslatorConfig._fields) - set(TRAINING_FIELDS))
    if unknown:
        raise ValueError(f"{d / 'config.json'} has fields a translator run does not know: {unknown}")
    config = TranslatorConfig(**{k: v for k, v in saved.items() if k in TranslatorConfig._fields})
    return config, load_vocabulary(d / SOURCE_VOCAB), load_vocabulary(d / TARGET_VOCAB)


def save_translator(translator: Translator, directory: str | os.PathLike) -> None:
    """Write the config, the vocabularies and the params (a checkpoint under ``checkpoints/``)."""
    write_translator_files(translator.config, translator.source_vocab, translator.target_vocab, directory)
    ckpt.save_checkpoint(pathlib.Path(directory) / "checkpoints", 0, {"params": translator.params})


def load_translator(directory: str | os.PathLike) -> Translator:
    """Read a translator from a directory written by training or by :func:`save_translator`.

    The params are those of the latest good checkpoint in ``directory/checkpoints``.
    """
    config, src, tgt = read_translator_files(directory)
    model = build_model(config, len(src), len(tgt))
    raw = ckpt.restore_checkpoint(pathlib.Path(directory) / "checkpoints")
    raw = raw["train_state"] if "train_state" in raw else raw
    template = jax.eval_shape(lambda: init_params(model, jax.random.key(0)))
    params = ckpt.structure_like(template, raw["params"], directory)
    return Translator(config, model, jax.tree.map(jnp.asarray, params), src, tgt)
