"""Word2Vec skip-gram (Mikolov et al. 2013): negative sampling, NCE or sampled softmax; word2vec text files.

Three losses for one batch of ``(center c, context o)`` pairs, with ``v = W_in[c]``, ``u = W_out``:

- ``"negative_sampling"`` (SGNS): ``-log σ(v·u_o) - Σ_k log σ(-v·u_k)``, ``k`` drawn per pair from
  the noise distribution ``q`` (unigram^0.75).
- ``"nce"`` (TF's ``nce_loss``, the TF word2vec tutorial): logits ``s_w = v·u_w + b_w - log(K q(w))``
  for the context and ``K`` noise words shared by the batch; sigmoid cross entropy, 1 for the
  context, 0 for the noise words.
- ``"sampled_softmax"`` (TF's ``sampled_softmax_loss``): the same corrected logits in a softmax over
  the context and the ``K`` shared samples, samples equal to the context masked out.

The vectors people use are the rows of ``W_in``.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxrnn.checks import positive_int
from jaxrnn.text.skipgram import (
    SkipGramCorpus,
    noise_distribution,
    sampling_table,
    skipgram_pairs,
)
from jaxrnn.text.subwords import Subwords, compose, subword_table
from jaxrnn.train import NonFiniteLossError, progress_bar

LOSSES = ("negative_sampling", "nce", "sampled_softmax")
SUBWORD_UPDATES = ("exact", "fasttext")
OPTIMIZERS = {"adam": 2e-3, "sgd": 0.05}  # name -> default learning rate


class Word2VecParams(NamedTuple):
    """Skip-gram params: ``input`` ``[V, D]`` (the word vectors), ``output`` ``[V, D]``, ``bias`` ``[V]``."""

    input: jax.Array
    output: jax.Array
    bias: jax.Array


def init_word2vec(key: jax.Array, vocab_size: int, dim: int, *, extra_rows: int = 0) -> Word2VecParams:
    """word2vec's initialisation: ``input`` uniform in ``±0.5 / dim``, ``output`` and ``bias`` zero.

    ``extra_rows`` adds input rows after the ``vocab_size`` word rows (subword buckets).
    """
    positive_int("vocab_size", vocab_size)
    positive_int("dim", dim)
    if isinstance(extra_rows, bool) or not isinstance(extra_rows, int) or extra_rows < 0:
        raise ValueError(f"extra_rows must be an int >= 0; got {extra_rows!r}")
    w = jax.random.uniform(key, (vocab_size + extra_rows, dim), jnp.float32, -0.5 / dim, 0.5 / dim)
    return Word2VecParams(w, jnp.zeros((vocab_size, dim), jnp.float32), jnp.zeros((vocab_size,), jnp.float32))


def skipgram_loss(
    params: Word2VecParams,
    centers: jax.Array,
    contexts: jax.Array,
    noise: jax.Array,
    log_q: jax.Array,
    *,
    loss: str = "negative_sampling",
    hits: jax.Array | None = None,
) -> jax.Array:
    """Mean skip-gram loss of a batch (see the module docstring for the three losses).

    Args:
      params: the model.
      centers: ``[B]`` int center word ids.
      contexts: ``[B]`` int context word ids.
      noise: ``[B, K]`` noise word ids per pair for ``"negative_sampling"``; ``[K]`` shared by
        the batch for ``"nce"`` and ``"sampled_softmax"``.
      log_q: ``[V]`` log of the noise distribution (used by ``"nce"`` and ``"sampled_softmax"``).
      loss: one of :data:`LOSSES`.
      hits: ``[B, K]`` bool, which shared samples equal the pair's context (sampled softmax masks
        them out); default: compared from ``noise`` and ``contexts``.

    Returns:
      A scalar: the mean over the batch.
    """
    v = params.input[centers]  # [B, D]
    u_o = params.output[contexts]  # [B, D]
    positive = jnp.sum(v * u_o, axis=-1)  # [B]
    if loss == "negative_sampling":
        negative = jnp.einsum("bd,bkd->bk", v, params.output[noise])  # [B, K]
        return jnp.mean(jax.nn.softplus(-positive) + jnp.sum(jax.nn.softplus(negative), axis=-1))
    log_k = jnp.log(jnp.asarray(noise.shape[-1], v.dtype))
    true_logit = positive + params.bias[contexts] - (log_k + log_q[contexts])  # [B]
    noise_logit = v @ params.output[noise].T + (params.bias[noise] - (log_k + log_q[noise]))[None, :]
    if loss == "nce":
        return jnp.mean(jax.nn.softplus(-true_logit) + jnp.sum(jax.nn.softplus(noise_logit), axis=-1))
    if loss == "sampled_softmax":
        # a sample that is the true context would count it as its own negative (TF: remove_accidental_hits)
        hits = noise[None, :] == contexts[:, None] if hits is None else hits
        noise_logit = jnp.where(hits, -jnp.inf, noise_logit)
        logits = jnp.concatenate([true_logit[:, None], noise_logit], axis=-1)
        return jnp.mean(jax.nn.logsumexp(logits, axis=-1) - true_logit)
    raise ValueError(f"loss must be one of {LOSSES}; got {loss!r}")


def draw_noise(key: jax.Array, table: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """Noise word ids of ``shape`` drawn from a :func:`jaxrnn.text.skipgram.sampling_table`."""
    return table[jax.random.randint(key, shape, 0, table.shape[0])]


def sparse_step(
    params: Word2VecParams,
    opt_state: optax.OptState,
    centers: jax.Array,
    contexts: jax.Array,
    noise: jax.Array,
    log_q: jax.Array,
    *,
    optimizer: optax.GradientTransformation,
    loss: str,
    subwords: Subwords | None = None,
    subword_update: str = "exact",
) -> tuple[tuple[Word2VecParams, optax.OptState], jax.Array]:
    """One step that touches only the rows of the batch (word2vec's own sparse SGD).

    The loss is differentiated with respect to the gathered rows; ``optimizer`` (an elementwise,
    row-independent transformation such as ``optax.sgd``) turns those row gradients into updates,
    which are scatter-added back, so a step costs ``O(B K D)`` instead of ``O(V D)``. For SGD this
    equals the dense step: a row's gradient is the sum over its occurrences either way.

    With ``subwords`` (:func:`jaxrnn.text.subwords.subword_table`, as arrays) a center's vector is
    the weighted sum (the mean) of its input rows. ``subword_update="exact"`` gives each row its
    weight times the vector's update (the true gradient: a word of ``n`` rows moves each by ``1/n``);
    ``"fasttext"`` gives every row the vector's full update, as fastText's skip-gram does
    (``Model::update`` adds the hidden vector's gradient to each input row unscaled).

    Returns:
      ``((params, opt_state), loss)``, the loss before the step.
    """
    b, d = centers.shape[0], params.input.shape[1]
    if subword_update not in SUBWORD_UPDATES:
        raise ValueError(f"subword_update must be one of {SUBWORD_UPDATES}; got {subword_update!r}")
    if subwords is None:
        rows, weights = centers[:, None], jnp.ones((b, 1), params.input.dtype)
    else:
        rows, weights = subwords.rows[centers], subwords.weights[centers].astype(params.input.dtype)
    # what each input row receives of the composed vector's update (padding slots: nothing)
    share = weights if subword_update == "exact" else (weights > 0).astype(weights.dtype)
    out_ids = jnp.concatenate([contexts, noise.ravel()])
    v = compose(params.input, rows, weights)
    local = Word2VecParams(v, params.output[out_ids], params.bias[out_ids])
    local_noise = b + jnp.arange(noise.size).reshape(noise.shape)
    hits = noise[None, :] == contexts[:, None] if noise.ndim == 1 else None
    local_ids = jnp.arange(b)
    value, grads = jax.value_and_grad(skipgram_loss)(
        local, local_ids, local_ids, local_noise, log_q[out_ids], loss=loss, hits=hits
    )
    with jax.numpy_dtype_promotion("standard"):  # optax's internals mix int counts and floats
        updates, opt_state = optimizer.update(grads, opt_state, local)
    params = Word2VecParams(
        params.input.at[rows.ravel()].add((updates.input[:, None, :] * share[..., None]).reshape(-1, d)),
        params.output.at[out_ids].add(updates.output),
        params.bias.at[out_ids].add(updates.bias),
    )
    return (params, opt_state), value


@functools.partial(
    jax.jit,
    static_argnames=("optimizer", "loss", "num_noise", "sparse", "subword_update"),
    donate_argnums=(0, 1),
)
def train_chunk(
    params: Word2VecParams,
    opt_state: optax.OptState,
    centers: jax.Array,
    contexts: jax.Array,
    key: jax.Array,
    table: jax.Array,
    log_q: jax.Array,
    *,
    optimizer: optax.GradientTransformation,
    loss: str,
    num_noise: int,
    sparse: bool = False,
    subwords: Subwords | None = None,
    subword_update: str = "exact",
) -> tuple[Word2VecParams, optax.OptState, jax.Array]:
    """Several optax steps in one ``lax.scan`` (fewer host round trips).

    Args:
      params, opt_state: the model and its optimizer state (donated).
      centers, contexts: ``[S, B]`` int32 pairs, one row per step.
      key: PRNG key; step ``i`` draws its noise words with ``fold_in(key, i)``.
      table: the noise sampling table; ``log_q``: ``[V]`` log noise distribution.
      optimizer: the optax transformation; ``loss``: one of :data:`LOSSES`; ``num_noise``: ``K``.
      sparse: update only the batch's rows (:func:`sparse_step`; for row-independent optimizers).
      subwords: the words' input rows (sparse steps only); subword_update: see :func:`sparse_step`.

    Returns:
      ``(params, opt_state, losses [S])``.
    """
    batch = centers.shape[1]
    shape = (batch, num_noise) if loss == "negative_sampling" else (num_noise,)

    def step(carry, xs):
        params, opt_state = carry
        i, c, o = xs
        noise = draw_noise(jax.random.fold_in(key, i), table, shape)
        if sparse:
            return sparse_step(
                params,
                opt_state,
                c,
                o,
                noise,
                log_q,
                optimizer=optimizer,
                loss=loss,
                subwords=subwords,
                subword_update=subword_update,
            )
        value, grads = jax.value_and_grad(skipgram_loss)(params, c, o, noise, log_q, loss=loss)
        with jax.numpy_dtype_promotion("standard"):  # optax's internals mix int counts and floats
            updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), value

    steps = jnp.arange(centers.shape[0])
    (params, opt_state), losses = jax.lax.scan(step, (params, opt_state), (steps, centers, contexts))
    return params, opt_state, losses


@dataclasses.dataclass(frozen=True)
class Word2VecConfig:
    """Hyperparameters of :func:`train_word2vec` (word2vec's defaults where they apply).

    Attributes:
      dim: vector size ``D``.
      window: largest center-context distance (each center draws its own in ``1..window``).
      num_noise: ``K`` noise words per pair (SGNS) or per batch (NCE, sampled softmax).
      loss: one of :data:`LOSSES`.
      subsample: the frequent-word subsampling threshold ``t`` (``0``: off).
      epochs: passes over the corpus (pairs redrawn each epoch).
      batch_size: pairs per step.
      optimizer: ``"sgd"`` (word2vec's sparse SGD: only the batch's rows, :func:`sparse_step`;
        2-3x faster per epoch here) or ``"adam"`` (dense updates of every row).
      learning_rate: the peak step size, decayed linearly to 0 over the run; for ``"sgd"`` it is
        per pair as in word2vec (whose default is ``0.025``) and multiplied by ``batch_size`` (the
        loss is a batch mean). Default: ``0.05`` (sgd), ``2e-3`` (adam).
      subword_buckets: ``0`` (plain word2vec), or the rows of hashed character n-grams
        (fastText; :mod:`jaxrnn.text.subwords`); needs ``optimizer="sgd"``.
      subword_min, subword_max: the n-gram lengths.
      subword_update: ``"exact"`` (each of a word's ``n`` rows gets ``1/n`` of its vector's update,
        the true gradient) or ``"fasttext"`` (each row gets the full update, as fastText does);
        see :func:`sparse_step`.
      steps_per_call: optimizer steps per jitted ``lax.scan`` call.
    """

    dim: int = 100
    window: int = 5
    num_noise: int = 5
    loss: str = "negative_sampling"
    subsample: float = 1e-3
    epochs: int = 15
    batch_size: int = 1024
    optimizer: str = "sgd"
    learning_rate: float | None = None
    subword_buckets: int = 0
    subword_min: int = 3
    subword_max: int = 6
    subword_update: str = "exact"
    steps_per_call: int = 100

    def __post_init__(self) -> None:
        positive = ("dim", "window", "num_noise", "epochs", "batch_size", "subword_min", "subword_max")
        for name in (*positive, "steps_per_call"):
            positive_int(name, getattr(self, name))
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}; got {self.loss!r}")
        b = self.subword_buckets
        if isinstance(b, bool) or not isinstance(b, int) or b < 0:
            raise ValueError(f"subword_buckets must be an int >= 0; got {b!r}")
        if b and self.optimizer != "sgd":
            raise ValueError(f"subword_buckets needs optimizer='sgd' (sparse steps); got {self.optimizer!r}")
        if self.subword_update not in SUBWORD_UPDATES:
            raise ValueError(f"subword_update must be one of {SUBWORD_UPDATES}; got {self.subword_update!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {tuple(OPTIMIZERS)}; got {self.optimizer!r}")
        s = self.subsample
        if isinstance(s, bool) or not isinstance(s, (int, float)) or s < 0:
            raise ValueError(f"subsample must be a number >= 0; got {s!r}")
        lr = self.learning_rate
        if lr is not None and (isinstance(lr, bool) or not isinstance(lr, (int, float)) or lr <= 0):
            raise ValueError(f"learning_rate must be a positive number or None; got {lr!r}")

    @property
    def step_size(self) -> float:
        """``learning_rate``, or the optimizer's default when it is None."""
        return OPTIMIZERS[self.optimizer] if self.learning_rate is None else self.learning_rate


def train_word2vec(
    corpus: SkipGramCorpus, config: Word2VecConfig, *, key: jax.Array, progress: bool = True
) -> tuple[Word2VecParams, dict]:
    """Train skip-gram vectors on an encoded corpus.

    Args:
      corpus: from :func:`jaxrnn.text.skipgram.encode_corpus`.
      config: the hyperparameters.
      key: PRNG key (keyword-only): initialisation, noise words, and a seed for the pairs' NumPy draws.
      progress: show a tqdm bar.

    Returns:
      ``(params, history)``; ``history`` holds ``loss`` (mean per call), ``step`` and ``pairs_per_epoch``.
    """
    if not isinstance(config, Word2VecConfig):
        raise TypeError(f"config must be a Word2VecConfig; got {type(config).__name__}")
    init_key, noise_key, data_key = jax.random.split(key, 3)
    rng = np.random.default_rng(np.asarray(jax.random.key_data(data_key)).ravel().tolist())
    q = noise_distribution(corpus.counts)
    table, log_q = jnp.asarray(sampling_table(q)), jnp.asarray(np.log(q), jnp.float32)
    subwords = None
    if config.subword_buckets:
        table_np = subword_table(
            corpus.words, buckets=config.subword_buckets, min_n=config.subword_min, max_n=config.subword_max
        )
        subwords = Subwords(jnp.asarray(table_np.rows), jnp.asarray(table_np.weights))
    params = init_word2vec(init_key, len(corpus.words), config.dim, extra_rows=config.subword_buckets)
    first = skipgram_pairs(corpus, window=config.window, subsample=config.subsample, rng=rng)
    steps = len(first[0]) // config.batch_size
    if steps == 0:
        raise ValueError(
            f"batch_size must be at most the {len(first[0])} pairs an epoch draws; got {config.batch_size}"
        )
    per_call = min(config.steps_per_call, steps)
    calls = steps // per_call
    # decayed linearly to 0, as word2vec does
    sparse = config.optimizer == "sgd"
    peak = config.step_size * (config.batch_size if sparse else 1)
    schedule = optax.linear_schedule(peak, 0.0, config.epochs * calls * per_call)
    optimizer = optax.sgd(schedule) if sparse else optax.adam(schedule)
    opt_state = optimizer.init(params)
    history: dict = {"loss": [], "step": [], "pairs_per_epoch": []}
    bar = progress_bar(total=config.epochs * calls, desc="word2vec", unit="call", disable=not progress)
    size = calls * per_call * config.batch_size
    for epoch in range(config.epochs):
        pairs = (
            first
            if epoch == 0
            else skipgram_pairs(corpus, window=config.window, subsample=config.subsample, rng=rng)
        )
        history["pairs_per_epoch"].append(len(pairs[0]))
        # every epoch runs the same number of steps (one compiled shape, one schedule): pairs beyond
        # them are dropped (the next epoch reshuffles) and an epoch that drew fewer repeats some
        centers, contexts = (np.resize(p, size).reshape(calls, per_call, config.batch_size) for p in pairs)
        for i in range(calls):
            params, opt_state, losses = train_chunk(
                params,
                opt_state,
                jnp.asarray(centers[i]),
                jnp.asarray(contexts[i]),
                jax.random.fold_in(noise_key, epoch * calls + i),
                table,
                log_q,
                optimizer=optimizer,
                loss=config.loss,
                num_noise=config.num_noise,
                sparse=sparse,
                subwords=subwords,
                subword_update=config.subword_update,
            )
            loss = float(jnp.mean(losses))
            if not np.isfinite(loss):
                step = (epoch * calls + i + 1) * per_call
                raise NonFiniteLossError(
                    f"word2vec loss became {loss} by step {step} (epoch {epoch}); "
                    "try a smaller --learning-rate",
                    step,
                    None,
                )
            history["loss"].append(loss)
            history["step"].append((epoch * calls + i + 1) * per_call)
            bar.set_postfix(epoch=epoch + 1, loss=f"{loss:.3f}")
            bar.update()
    bar.close()
    return params, history
