"""Training a translator with the shared loop, :func:`jaxrnn.fit`: buckets, sampled softmax, checkpoints,
exact resume and a time budget that counts over resumes."""

from __future__ import annotations

import hashlib
import os
import pathlib
import tempfile
from collections.abc import Iterator, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxrnn import checkpoint as ckpt
from jaxrnn import runs
from jaxrnn.layers import freeze
from jaxrnn.seq2seq.model import Seq2Seq, init_params, loss_fn
from jaxrnn.seq2seq.translator import (
    SOURCE_VOCAB,
    TARGET_VOCAB,
    TRAINING_FIELDS,
    Translator,
    TranslatorConfig,
    build_model,
)
from jaxrnn.text.bucketing import Batch, bucketize
from jaxrnn.text.vocab import build_vocabulary, load_vocabulary, save_vocabulary, tokenize
from jaxrnn.text.word2vec_format import load_word2vec_rows
from jaxrnn.train import fit, make_optimizer, make_train_step

CHECKPOINT_MINUTES = 2.0


def epoch_batches(buckets: Sequence[Batch], batch_size: int, epoch: int, seed: int) -> Iterator[Batch]:
    """One epoch: every pair of every bucket once (the last batch of a bucket topped up from its start),
    in ``batch_size`` rows from one bucket at a time, in an order fixed by ``(seed, epoch)``."""
    rng = np.random.default_rng((seed, epoch))
    plan = []
    for b, bucket in enumerate(buckets):
        n = len(bucket.source)
        perm = rng.permutation(n)
        perm = np.concatenate([perm, perm[np.arange((-n) % batch_size) % n]])
        plan += [(b, rows) for rows in perm.reshape(-1, batch_size)]
    for i in rng.permutation(len(plan)):
        b, rows = plan[i]
        yield Batch(*(x[rows] for x in buckets[b]))


def translator_loss(model: Seq2Seq, num_sampled: int | None):
    """``loss(params, batch, key) -> (loss, {})`` for :func:`jaxrnn.fit`: sampled softmax when
    ``num_sampled`` is an int (clipped to the target vocabulary), else the full softmax."""
    if num_sampled is not None:
        num_sampled = min(num_sampled, model.target_vocab_size)

    def loss(params: Any, batch: Batch, key: jax.Array):
        return loss_fn(model, params, tuple(batch), num_sampled=num_sampled, key=key), {}

    return loss


def _digest(pairs: Sequence[Sequence[str]]) -> str:
    h = hashlib.md5()
    for p in pairs:
        h.update(f"{p[0]}\t{p[1]}\n".encode())
    return h.hexdigest()


def train_translator(
    pairs: Sequence[Sequence[str]],
    config: TranslatorConfig | None = None,
    *,
    steps: int | None = 2000,
    minutes: float | None = None,
    batch_size: int = 64,
    learning_rate: float = 3e-3,
    clip_norm: float = 5.0,
    num_sampled: int | None = None,
    seed: int = 0,
    out: str | os.PathLike | None = None,
    restart: bool = False,
    source_embeddings: str | os.PathLike | None = None,
    freeze_source_embeddings: bool = False,
    progress: bool = True,
) -> tuple[Translator, list[float]]:
    """Train on ``(source, target[, catalogue])`` pairs with teacher forcing, Adam and :func:`jaxrnn.fit`.

    ``out`` is a run directory of :func:`jaxrnn.fit`: ``config.json`` (the model config's fields and
    the training settings), ``metrics.json``, ``training_curves.png`` and checkpoints
    under ``out/checkpoints`` about every two minutes, with the vocabularies beside them
    (``source_vocab.json``, ``target_vocab.json``). Calling again with the same ``out`` resumes exactly
    (the same batches and keys as an uninterrupted run) and refuses other settings
    (:class:`jaxrnn.runs.ConfigMismatchError`), except ``steps`` and ``minutes``. ``minutes`` counts
    over resumes (fit keeps the seconds used in the checkpoint).

    Args:
      pairs: raw sentence pairs (tokenized with :func:`jaxrnn.text.tokenize`).
      config: model sizes and options (None: ``TranslatorConfig()``).
      steps: optimizer steps (None: until ``minutes`` are spent).
      minutes: stop after this much training time, in total over resumes (None: no limit).
      batch_size: pairs per step, drawn from one length bucket.
      learning_rate: Adam's step size.
      clip_norm: clip gradients by this global norm (as in TF's seq2seq tutorial).
      num_sampled: sampled softmax with this many classes drawn by TF's log-uniform sampler over the
        frequency-sorted target ids (None: full softmax). Evaluation always uses the full softmax.
      seed: seeds parameters and batch order.
      out: the run directory (None: a temporary one, removed afterwards).
      restart: start over in ``out`` (the old checkpoints are moved to ``checkpoints/replaced-<time>``).
      source_embeddings: a word2vec text file whose vectors replace the source embedding rows of
        the words it has.
      freeze_source_embeddings: never update the source embeddings (``freeze(opt, "source_embedding")``).
      progress: show a progress bar with loss, target tokens per second and the time left.

    Returns:
      ``(translator, losses)``, one loss per step since the start of the run.
    """
    config = TranslatorConfig() if config is None else config
    if not pairs:
        raise ValueError("pairs must be non-empty; got 0 pairs")
    for name, value, lowest in (("steps", steps, 1), ("batch_size", batch_size, 1)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < lowest):
            raise ValueError(f"{name} must be a positive int; got {value!r}")
    if steps is None and minutes is None:
        raise ValueError("steps and minutes must not both be None (the run would never end)")
    if minutes is not None and (
        isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or minutes <= 0
    ):
        raise ValueError(f"minutes must be a positive number or None; got {minutes!r}")
    if num_sampled is not None and (
        not isinstance(num_sampled, int) or isinstance(num_sampled, bool) or num_sampled <= 0
    ):
        raise ValueError(f"num_sampled must be a positive int or None; got {num_sampled!r}")
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float)) or learning_rate <= 0:
        raise ValueError(f"learning_rate must be a positive number; got {learning_rate!r}")
    if source_embeddings is not None and not pathlib.Path(source_embeddings).is_file():
        raise FileNotFoundError(f"source_embeddings file {str(source_embeddings)!r} does not exist")
    run = {
        **config._asdict(),
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "clip_norm": clip_norm,
        "num_sampled": num_sampled,
        "seed": seed,
        "source_embeddings": None if source_embeddings is None else str(source_embeddings),
        "freeze_source_embeddings": freeze_source_embeddings,
        "pairs_md5": _digest(pairs),
        "steps": steps,
        "minutes": minutes,
    }
    assert set(run) == set(TranslatorConfig._fields) | set(TRAINING_FIELDS)  # what load_translator reads
    with tempfile.TemporaryDirectory(prefix="jaxrnn-translator-") as tmp:
        directory = pathlib.Path(tmp if out is None else out)
        return _train(pairs, config, run, directory, restart, progress)


def _train(pairs, config: TranslatorConfig, run: dict, out: pathlib.Path, restart: bool, progress: bool):
    checkpoints = out / "checkpoints"
    resuming = not restart and ckpt.latest_checkpoint(checkpoints) is not None
    # refuse another run's directory before building anything (fit checks again, idempotently)
    runs.prepare_run(out, run, restart=restart)
    if resuming:
        src_vocab, tgt_vocab = load_vocabulary(out / SOURCE_VOCAB), load_vocabulary(out / TARGET_VOCAB)
    else:
        src_vocab = build_vocabulary((tokenize(p[0]) for p in pairs), max_size=config.max_vocab_size)
        tgt_vocab = build_vocabulary((tokenize(p[1]) for p in pairs), max_size=config.max_vocab_size)
        save_vocabulary(src_vocab, out / SOURCE_VOCAB)
        save_vocabulary(tgt_vocab, out / TARGET_VOCAB)
    model = build_model(config, len(src_vocab), len(tgt_vocab))
    ids = [(src_vocab.encode(tokenize(p[0])), tgt_vocab.encode(tokenize(p[1]))) for p in pairs]
    # pairs longer than the decoders may emit are left out rather than cut (a cut target has no <eos>)
    ids = [(s, t) for s, t in ids if 0 < len(s) <= config.max_length and 0 < len(t) < config.max_length]
    if not ids:
        raise ValueError(f"no pair has 1 to {config.max_length} source and target tokens (config.max_length)")
    buckets = bucketize(ids, reverse_source=config.reverse_source)
    batch_size, seed = run["batch_size"], run["seed"]
    params = init_params(model, jax.random.key(seed))
    if run["source_embeddings"] is not None:
        table, _ = load_word2vec_rows(
            run["source_embeddings"], src_vocab, np.asarray(params["source_embedding"]["embeddings"])
        )
        params["source_embedding"]["embeddings"] = jnp.asarray(table)
    optimizer: optax.GradientTransformation = make_optimizer(run["learning_rate"], clip_norm=run["clip_norm"])
    if run["freeze_source_embeddings"]:
        optimizer = freeze(optimizer, "source_embedding")
    steps = run["steps"]
    loss = translator_loss(model, run["num_sampled"])
    state, history = fit(
        loss,
        params,
        lambda epoch: epoch_batches(buckets, batch_size, epoch, seed),
        key=jax.random.key(seed + 1),
        # no epoch limit: steps (max_steps) or minutes ends the run
        epochs=None,
        optimizer=optimizer,
        # the old state is donated to the new one: the step updates the ~15 M parameters and Adam's two
        # moments in place instead of allocating (and page-faulting in) three fresh copies every step
        step_fn=jax.jit(make_train_step(loss, optimizer), donate_argnums=(0,)),
        out_dir=out,
        config=run,
        restart=restart,
        # a checkpoint is written and read back whole (~170 MB with 20,000-word vocabularies) and a
        # step takes 0.25-1 s on the real corpus: every two minutes rather than every so many steps
        checkpoint_minutes=CHECKPOINT_MINUTES,
        max_to_keep=2,
        max_steps=steps,
        minutes=run["minutes"],
        quiet=not progress,
        units="tok",
        batch_size_fn=target_tokens,
    )
    translator = Translator(config, model, jax.tree.map(jnp.asarray, state.params), src_vocab, tgt_vocab)
    return translator, [float(x) for x in history["loss"]]


def target_tokens(batch: Batch) -> int:
    """The target tokens of a batch, ``<eos>`` included (what the progress bar's ``tok/s`` counts)."""
    return int(np.asarray(batch.target_weights).sum())
