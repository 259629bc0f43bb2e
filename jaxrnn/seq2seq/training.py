"""Training a translator with the shared loop, :func:`jaxrnn.fit`: buckets, sampled softmax, checkpoints,
exact resume and a time budget that counts over resumes."""

from __future__ import annotations

import hashlib
import json
import math
import os
import pathlib
import tempfile
import time
from collections.abc import Iterator, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxrnn import checkpoint as ckpt
from jaxrnn.layers import freeze
from jaxrnn.seq2seq.model import Seq2Seq, init_params, loss_fn
from jaxrnn.seq2seq.pretrained import load_word2vec_rows
from jaxrnn.seq2seq.translator import (
    Translator,
    TranslatorConfig,
    build_model,
    read_translator_files,
    write_translator_files,
)
from jaxrnn.text.bucketing import Batch, bucketize
from jaxrnn.text.vocab import build_vocabulary, tokenize
from jaxrnn.train import fit, make_optimizer, make_train_step, progress_bar

# fields of run.json that may change when a run is resumed
RESUMABLE = ("steps", "minutes")
CHUNK_SECONDS = 120.0


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


def _check_resume(out: pathlib.Path, run: dict) -> None:
    if not (out / "run.json").is_file():
        raise ValueError(
            f"{out} holds checkpoints but no run.json (not a training run of train_translator); "
            "choose a new --out, or pass --restart"
        )
    saved = json.loads((out / "run.json").read_text())
    differ = sorted(k for k in set(saved) | set(run) if k not in RESUMABLE and saved.get(k) != run.get(k))
    if differ:
        shown = ", ".join(f"{k}: saved {saved.get(k)!r}, requested {run.get(k)!r}" for k in differ)
        raise ValueError(
            f"{out} holds a run with other settings ({shown}); choose a new --out, or pass --restart "
            "to start over there (the old checkpoints are kept in checkpoints.old-*)"
        )


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

    With ``out``, the config, vocabularies and ``run.json`` are written there and checkpoints under
    ``out/checkpoints`` about every two minutes; calling again with the same ``out`` resumes exactly
    (the same batches and keys as an uninterrupted run) and refuses other settings, except ``steps``
    and ``minutes``. ``minutes`` counts over resumes (``out/progress.json``).

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
      restart: ignore a run already in ``out`` (its checkpoints are moved to ``checkpoints.old-<time>``).
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
        "config": config._asdict(),
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
    with tempfile.TemporaryDirectory(prefix="jaxrnn-translator-") as tmp:
        directory = pathlib.Path(tmp if out is None else out)
        return _train(pairs, config, run, directory, restart, progress)


def _train(pairs, config, run, out: pathlib.Path, restart: bool, progress: bool):
    checkpoints = out / "checkpoints"
    resuming = not restart and ckpt.latest_checkpoint(checkpoints) is not None
    if resuming:
        _check_resume(out, run)
        _, src_vocab, tgt_vocab = read_translator_files(out)
    else:
        if checkpoints.exists():
            checkpoints.rename(out / f"checkpoints.old-{time.strftime('%Y%m%d-%H%M%S')}")
        src_vocab = build_vocabulary((tokenize(p[0]) for p in pairs), max_size=config.max_vocab_size)
        tgt_vocab = build_vocabulary((tokenize(p[1]) for p in pairs), max_size=config.max_vocab_size)
        write_translator_files(config, src_vocab, tgt_vocab, out)
        (out / "progress.json").unlink(missing_ok=True)
    (out / "run.json").write_text(json.dumps(run, indent=1))
    model = build_model(config, len(src_vocab), len(tgt_vocab))
    ids = [(src_vocab.encode(tokenize(p[0])), tgt_vocab.encode(tokenize(p[1]))) for p in pairs]
    # pairs longer than the decoders may emit are left out rather than cut (a cut target has no <eos>)
    ids = [(s, t) for s, t in ids if 0 < len(s) <= config.max_length and 0 < len(t) < config.max_length]
    if not ids:
        raise ValueError(f"no pair has 1 to {config.max_length} source and target tokens (config.max_length)")
    buckets = bucketize(ids, reverse_source=config.reverse_source)
    batch_size, seed = run["batch_size"], run["seed"]
    per_epoch = sum(-(-len(b.source) // batch_size) for b in buckets)
    tokens_per_step = sum(float(b.target_weights.sum()) for b in buckets) / max(len(ids), 1) * batch_size
    params = init_params(model, jax.random.key(seed))
    if run["source_embeddings"] is not None:
        table, _ = load_word2vec_rows(
            run["source_embeddings"], src_vocab, np.asarray(params["source_embedding"]["embeddings"])
        )
        params["source_embedding"]["embeddings"] = jnp.asarray(table)
    optimizer: optax.GradientTransformation = make_optimizer(run["learning_rate"], clip_norm=run["clip_norm"])
    if run["freeze_source_embeddings"]:
        optimizer = freeze(optimizer, "source_embedding")
    loss = translator_loss(model, run["num_sampled"])
    step_fn = jax.jit(make_train_step(loss, optimizer))
    steps = run["steps"] if run["steps"] is not None else 2**31 - 1
    budget = math.inf if run["minutes"] is None else 60.0 * run["minutes"]
    record = out / "progress.json"
    seconds = json.loads(record.read_text())["seconds"] if resuming and record.is_file() else 0.0
    latest = ckpt.latest_checkpoint(checkpoints)
    step = ckpt.checkpoint_step(latest) if resuming and latest is not None else 0
    bar = progress_bar(
        total=None if run["steps"] is None else steps, initial=step, disable=not progress, unit="step"
    )
    chunk = 20
    try:
        while step < steps and seconds < budget:
            start = time.perf_counter()
            state, history = fit(
                loss,
                params,
                lambda epoch: epoch_batches(buckets, batch_size, epoch, seed),
                key=jax.random.key(seed + 1),
                epochs=-(-steps // per_epoch),
                optimizer=optimizer,
                checkpoint_dir=checkpoints,
                max_to_keep=2,
                max_steps=min(step + chunk, steps),
                quiet=True,
                step_fn=step_fn,
            )
            elapsed = time.perf_counter() - start
            seconds += elapsed
            record.write_text(json.dumps({"step": int(state.step), "seconds": seconds}))
            done, step = int(state.step) - step, int(state.step)
            bar.update(done)
            bar.set_postfix(
                loss=f"{np.mean(history['loss'][-done:]):.3f}",
                tok_s=f"{tokens_per_step * done / elapsed:.0f}",
                left_min="-" if budget == math.inf else f"{max(budget - seconds, 0) / 60:.1f}",
            )
            # about two minutes per chunk (each ends with a checkpoint, which fit writes and reads back
            # whole: ~170 MB with 20,000-word vocabularies), cut to the time left
            per_step = elapsed / max(done, 1)
            chunk = int(max(1, min(CHUNK_SECONDS, budget - seconds) / per_step))
    finally:
        bar.close()
    if step == 0:
        raise ValueError(f"minutes={run['minutes']} left no time to train (already spent {seconds:.0f} s)")
    raw = ckpt.restore_checkpoint(checkpoints)
    params = ckpt.structure_like(params, raw["train_state"]["params"])
    losses = json.loads(raw["history"])["history"]["loss"]
    translator = Translator(config, model, jax.tree.map(jnp.asarray, params), src_vocab, tgt_vocab)
    return translator, [float(x) for x in losses]
