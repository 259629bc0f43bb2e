"""Vector-to-sequence (the book's Figure 14-4): spell an MNIST digit's English name letter by letter.

A convolutional encoder turns the image into one vector, which becomes the
initial hidden state ``h(0)`` of an LSTM decoder; the decoder then emits the
letters of the name ("seven") and an end token, reading the previous letter at
each step (teacher forcing in training, its own greedy choice at test time).
A prediction counts only when the whole name is exactly right.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxrnn import train
from jaxrnn.cells import Cell, LSTMState, lstm_cell
from jaxrnn.data.batching import sequential_batches, shuffled_batches
from jaxrnn.layers import dense, embedding
from jaxrnn.tasks.configs import SpellConfig
from jaxrnn.tasks.fit_config import finish_run, fit_run, start_run
from jaxrnn.tasks.vision import conv_encoder
from jaxrnn.unroll import dynamic_unroll

Array = jax.Array
NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
END, GO = 0, 1
LETTERS = "".join(sorted(set("".join(NAMES))))
VOCAB = ("<end>", "<go>", *LETTERS)
MAX_STEPS = max(len(n) for n in NAMES) + 1  # the longest name and its end token


def spell_targets(digits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Token ids of each digit's name followed by ``<end>`` (and padded with it).

    Args:
      digits: ``int [N]`` in 0..9.

    Returns:
      ``(targets int32 [N, MAX_STEPS], lengths int32 [N])``: lengths count the end token.
    """
    digits = np.asarray(digits)
    if digits.size and (digits.min() < 0 or digits.max() > 9):
        raise ValueError(f"digits must lie in [0, 9]; got values in [{digits.min()}, {digits.max()}]")
    table = np.full((10, MAX_STEPS), END, np.int32)
    for d, name in enumerate(NAMES):
        table[d, : len(name)] = [VOCAB.index(ch) for ch in name]
    lengths = np.array([len(n) + 1 for n in NAMES], np.int32)
    return table[digits], lengths[digits]


def decode_names(tokens: np.ndarray) -> list[str]:
    """Token ids ``[N, steps]`` -> strings, each cut at its first ``<end>``."""
    words = []
    for row in np.asarray(tokens):
        letters = []
        for t in row:
            if t == END:
                break
            letters.append(VOCAB[t] if t > GO else "?")
        words.append("".join(letters))
    return words


class Speller(NamedTuple):
    """``init(key) -> params``; ``logits(params, images [B, 28, 28], previous [B, T]) -> [B, T, V]``
    (teacher forcing); ``spell(params, images) -> tokens int32 [B, MAX_STEPS]`` (greedy)."""

    init: Callable[[Array], Any]
    logits: Callable[[Any, Array, Array], Array]
    spell: Callable[[Any, Array], Array]


def speller(units: int = 64, embed_size: int = 16, *, cell: Cell | None = None) -> Speller:
    """An image encoder whose vector starts an LSTM decoder over letters.

    Args:
      units: the decoder LSTM's units (and the image vector's size).
      embed_size: the letter embeddings' size.
      cell: replace the decoder cell (its state must be an :class:`~jaxrnn.LSTMState` of ``units``);
        for experiments.

    Returns:
      A :class:`Speller`.
    """
    encoder = conv_encoder((16, 32), (3, 3), (2, 2))
    features = 7 * 7 * encoder.output_size
    to_state = dense(units, jnp.tanh)
    letters = embedding(len(VOCAB), embed_size)
    decoder = cell or lstm_cell(units)
    readout = dense(len(VOCAB))

    def init(key: Array) -> dict:
        keys = jax.random.split(key, 5)
        return {
            "encoder": encoder.init(keys[0], 1),
            "to_state": to_state.init(keys[1], features),
            "letters": letters.init(keys[2]),
            "decoder": decoder.init(keys[3], embed_size),
            "readout": readout.init(keys[4], decoder.output_size),
        }

    def initial_state(params: dict, images: Array) -> LSTMState:
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise ValueError(f"images must have shape [batch, 28, 28]; got {images.shape}")
        vector = encoder.apply(params["encoder"], images[..., None]).reshape(images.shape[0], features)
        h = to_state.apply(params["to_state"], vector)
        return LSTMState(jnp.zeros_like(h), h)

    def logits(params: dict, images: Array, previous: Array) -> Array:
        inputs = letters.lookup(params["letters"], previous)
        outputs, _ = dynamic_unroll(
            decoder, params["decoder"], inputs, initial_state=initial_state(params, images)
        )
        return readout.apply(params["readout"], outputs)

    def spell(params: dict, images: Array) -> Array:
        state = initial_state(params, images)
        token = jnp.full((images.shape[0],), GO, jnp.int32)
        tokens = []
        for _ in range(MAX_STEPS):  # a few steps: a Python loop traces them all at once under jit
            state, y = decoder.apply(params["decoder"], state, letters.lookup(params["letters"], token))
            token = jnp.argmax(readout.apply(params["readout"], y), axis=-1).astype(jnp.int32)
            tokens.append(token)
        return jnp.stack(tokens, axis=1)

    return Speller(init, logits, spell)


def spell_loss(model: Speller) -> train.LossFn:
    """``loss_fn(params, batch, key)``: cross-entropy per letter up to the end token, and letter accuracy.

    ``batch``: ``images [B, 28, 28]``, ``targets int [B, T]``, ``lengths int [B]``.
    """

    def loss_fn(params: Any, batch: dict, key: Array) -> tuple[Array, dict]:
        targets = batch["targets"]
        previous = jnp.concatenate([jnp.full_like(targets[:, :1], GO), targets[:, :-1]], axis=1)
        logits = model.logits(params, batch["images"], previous)
        steps = jnp.arange(targets.shape[1], dtype=jnp.int32)[None, :]
        mask = (steps < batch["lengths"][:, None]).astype(logits.dtype)
        losses = optax.softmax_cross_entropy_with_integer_labels(logits, targets)
        loss = jnp.sum(losses * mask) / jnp.sum(mask)
        hits = (jnp.argmax(logits, -1) == targets).astype(logits.dtype)
        return loss, {"letter_accuracy": jnp.sum(hits * mask) / jnp.sum(mask)}

    return loss_fn


def exact_accuracy(model: Speller, params: Any, images: np.ndarray, digits: np.ndarray) -> float:
    """Fraction of images whose greedily decoded name is exactly the digit's name."""
    spell = jax.jit(model.spell)
    names = []
    for (batch,) in sequential_batches((images,), 1000):
        names += decode_names(np.asarray(spell(params, jnp.asarray(batch))))
    return float(np.mean([name == NAMES[d] for name, d in zip(names, digits)]))


def _as_batch(images: np.ndarray, digits: np.ndarray) -> dict[str, np.ndarray]:
    targets, lengths = spell_targets(digits)
    return {"images": images.astype(np.float32) / np.float32(255.0), "targets": targets, "lengths": lengths}


def train_spell(
    config: SpellConfig, splits: dict[str, Any] | None = None, *, model: Speller | None = None
) -> dict:
    """Train the speller with :func:`jaxrnn.fit` (validation each epoch), then measure exact names on test.

    Args:
      config: a :class:`SpellConfig`.
      splits: ``{"train", "validation", "test"}`` of ``(images uint8 [N, 28, 28], digits [N])``;
        default: MNIST from ``config.data_dir`` split by :func:`~jaxrnn.data.moving_mnist.mnist_splits`
        (train: first 55,000 training images; validation: the last 5,000; test: the test set).
      model: train this model instead of the one ``config`` describes (an ablation, say).

    Returns:
      A dict: ``config``, ``history``, ``validation`` and ``test`` (``exact``: whole names right,
      ``letter_accuracy``, ``loss``), ``examples`` (first test names spelled), ``seconds``, ``params``.
    """
    model = model or speller(config.units, config.embed_size)
    run = start_run("spell", config, spell_loss(model))
    if splits is None:
        from jaxrnn.data.mnist import load_mnist
        from jaxrnn.data.moving_mnist import mnist_splits

        splits = mnist_splits(*load_mnist(config.data_dir))
    sets = {}
    for name, (images, digits) in splits.items():
        limit = config.train_size if name == "train" else config.eval_size
        sets[name] = _as_batch(images[:limit], digits[:limit])
    names = tuple(sets["train"])
    batches = shuffled_batches(tuple(sets["train"].values()), config.batch_size, seed=config.seed)

    def held_out(name: str) -> Any:
        return (dict(zip(names, b)) for b in sequential_batches(tuple(sets[name].values()), 1000))

    state, history, start = fit_run(
        run,
        model.init,
        lambda epoch: (dict(zip(names, b)) for b in batches(epoch)),
        lambda: held_out("validation"),
        len(splits["train"][0]),
    )
    params = state.params
    results = {}
    for name in ("validation", "test"):
        images, digits = splits[name]
        images = images[: config.eval_size]
        metrics = train.evaluate(run.eval_fn, params, held_out(name))
        metrics["exact"] = exact_accuracy(model, params, sets[name]["images"], digits[: len(images)])
        results[name] = metrics
    spelled = decode_names(np.asarray(jax.jit(model.spell)(params, jnp.asarray(sets["test"]["images"][:20]))))
    result = {
        "history": history,
        **results,
        "examples": [{"digit": int(d), "spelled": s} for d, s in zip(splits["test"][1][:20], spelled)],
        "params": params,
    }
    return finish_run(run, result, start, "MNIST digit -> name (vector-to-sequence)")
