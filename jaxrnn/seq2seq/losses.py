"""Losses for translation: weighted cross-entropy, and sampled softmax (Jean et al. 2015) with TF's
default log-uniform (Zipfian) candidate sampler."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

Array = jax.Array


def weighted_cross_entropy(logits: Array, targets: Array, weights: Array) -> Array:
    """TF's ``sequence_loss``: cross-entropy weighted by the target weights, divided by their sum.

    Args:
      logits: ``[B, T, V]``.
      targets: int ``[B, T]``.
      weights: ``[B, T]``, 1.0 up to ``<eos>``, 0.0 on padding.

    Returns:
      A scalar: ``sum(w * -log p(target)) / sum(w)``.
    """
    if logits.shape[:2] != targets.shape or targets.shape != weights.shape:
        raise ValueError(
            f"logits [B, T, V], targets [B, T] and weights [B, T] must agree; "
            f"got {logits.shape}, {targets.shape}, {weights.shape}"
        )
    # -log p(t) = logsumexp(logits) - logits[t], with logits[t] picked by comparing with an iota rather
    # than gathered: the backward pass of a gather is a scatter into a zero [B, T, V] array, while this
    # one fuses into the softmax's single elementwise pass over the logits
    classes = lax.broadcasted_iota(jnp.int32, logits.shape, logits.ndim - 1)
    picked = classes == targets[..., None].astype(jnp.int32)
    true_logit = jnp.sum(jnp.where(picked, logits, 0.0), axis=-1)
    nll = jax.nn.logsumexp(logits, axis=-1) - true_logit
    weights = weights.astype(nll.dtype)
    # where, not multiply, so a NaN/inf on a padded position cannot leak into the loss or its gradient
    total = jnp.sum(jnp.where(weights > 0, nll * weights, 0.0))
    return total / jnp.maximum(jnp.sum(weights), 1.0)


class SampledValues(NamedTuple):
    """What a candidate sampler drew (TF's ``sampled_values`` triple).

    Attributes:
      sampled: int32 ``[num_sampled]`` sampled class ids (distinct when drawn with ``unique=True``).
      true_expected_count: ``[N]``: how many times each label was expected among the draws.
      sampled_expected_count: ``[num_sampled]``: the same for each sampled class.
    """

    sampled: Array
    true_expected_count: Array
    sampled_expected_count: Array


def log_uniform_probability(ids: Array, range_max: int) -> Array:
    """TF's log-uniform (Zipfian) distribution: ``P(k) = log((k + 2) / (k + 1)) / log(range_max + 1)``.

    It suits ids sorted by decreasing frequency (word ranks, as :func:`jaxrnn.text.build_vocabulary`
    assigns them): id 0 is drawn most often.

    Args:
      ids: int ``[...]`` in ``[0, range_max)``.
      range_max: V, the number of classes.

    Returns:
      float32 ``[...]`` probabilities; they sum to 1 over ``range(range_max)``.
    """
    k = jnp.asarray(ids).astype(jnp.float32)
    # log1p(1 / (k + 1)) = log((k + 2) / (k + 1)) without the cancellation of a difference of logs
    return jnp.log1p(1.0 / (k + 1.0)) / jnp.log(jnp.float32(range_max + 1))


def log_uniform_sample(
    key: Array, labels: Array, *, num_sampled: int, range_max: int, unique: bool = True
) -> SampledValues:
    """Draw classes as TF's ``log_uniform_candidate_sampler`` does (its default in ``sampled_softmax_loss``).

    With ``unique=True`` (TF's default) TF draws with replacement, discarding repeats, until it has
    ``num_sampled`` distinct classes after ``num_tries`` draws, and reports the expected counts
    ``-expm1(num_tries * log1p(-P(k)))``. The same distribution is drawn here without a data-dependent
    loop: Gumbel top-k gives the distinct classes in the order sequential sampling would find them, and
    the repeats between the k-th and (k+1)-th new class are geometric with success probability
    ``1 - (P of the k classes found so far)``, so ``num_tries`` is drawn exactly as well.
    With ``unique=False`` the classes are drawn with replacement and expected ``num_sampled * P(k)`` times.

    Args:
      key: PRNG key (one draw shared by the whole batch, as in TF).
      labels: int ``[N]`` true classes.
      num_sampled: the number of classes to draw; at most ``range_max`` when ``unique``.
      range_max: V.
      unique: draw distinct classes.

    Returns:
      A :class:`SampledValues`.
    """
    for name, value in (("num_sampled", num_sampled), ("range_max", range_max)):
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{name} must be a positive int; got {value!r}")
    if unique and num_sampled > range_max:
        raise ValueError(
            f"num_sampled must be at most range_max = {range_max} with unique=True; got {num_sampled}"
        )
    k_draw, k_tries = jax.random.split(key)
    classes = jnp.arange(range_max, dtype=jnp.int32)
    logp = jnp.log(log_uniform_probability(classes, range_max))
    if not unique:
        sampled = jax.random.categorical(k_draw, logp, shape=(num_sampled,)).astype(jnp.int32)
        expected = lambda ids: num_sampled * log_uniform_probability(ids, range_max)
        return SampledValues(sampled, expected(labels), expected(sampled))
    _, sampled = lax.top_k(logp + jax.random.gumbel(k_draw, (range_max,), jnp.float32), num_sampled)
    sampled = sampled.astype(jnp.int32)
    p = log_uniform_probability(sampled, range_max)
    found = jnp.cumsum(p) - p  # probability mass already found before the k-th new class
    u = jax.random.uniform(k_tries, (num_sampled,), jnp.float32, minval=jnp.finfo(jnp.float32).tiny)
    # failures before a success of probability 1 - found: floor(log u / log found), 0 when found = 0
    repeats = jnp.where(found > 0, jnp.floor(jnp.log(u) / jnp.log(jnp.maximum(found, 1e-30))), 0.0)
    num_tries = num_sampled + jnp.sum(repeats)
    expected = lambda ids: -jnp.expm1(num_tries * jnp.log1p(-log_uniform_probability(ids, range_max)))
    return SampledValues(sampled, expected(labels), expected(sampled))


def sampled_softmax_loss(
    weights: Array,
    biases: Array,
    hidden: Array,
    labels: Array,
    *,
    num_sampled: int,
    key: Array | None = None,
    sampled_values: SampledValues | None = None,
    remove_accidental_hits: bool = True,
) -> Array:
    """Per-example sampled softmax loss, as TF's ``tf.nn.sampled_softmax_loss`` computes it.

    The logits of the true class and of ``num_sampled`` classes drawn by :func:`log_uniform_sample`
    are each corrected by ``-log(expected count)``; sampled classes equal to the label get ``-inf``
    (TF: ``-FLT_MAX``); the loss is the softmax cross-entropy with the true class first. It approaches
    the full softmax cross-entropy as ``num_sampled`` grows; use the full softmax for evaluation.

    Args:
      weights: ``[V, H]`` output embeddings (the transpose of a dense kernel).
      biases: ``[V]``.
      hidden: ``[N, H]`` decoder outputs.
      labels: int ``[N]`` true classes.
      num_sampled: the number of negative classes.
      key: PRNG key for the draw (ignored when ``sampled_values`` is given).
      sampled_values: the classes and expected counts, to reproduce a draw (TF's argument of that name).
      remove_accidental_hits: mask sampled classes equal to the label.

    Returns:
      ``[N]`` losses.
    """
    if not isinstance(num_sampled, int) or isinstance(num_sampled, bool) or num_sampled <= 0:
        raise ValueError(f"num_sampled must be a positive int; got {num_sampled!r}")
    if hidden.ndim != 2 or weights.ndim != 2 or hidden.shape[1] != weights.shape[1]:
        raise ValueError(f"hidden must be [N, H] and weights [V, H]; got {hidden.shape} and {weights.shape}")
    if sampled_values is None:
        if key is None:
            raise ValueError("key is required when sampled_values is not given (the classes are drawn)")
        sampled_values = log_uniform_sample(key, labels, num_sampled=num_sampled, range_max=weights.shape[0])
    sampled, true_count, sampled_count = sampled_values
    if sampled.shape != (num_sampled,):
        raise ValueError(f"sampled_values.sampled must have shape ({num_sampled},); got {sampled.shape}")
    true_logit = jnp.sum(hidden * weights[labels], axis=-1) + biases[labels]
    true_logit = true_logit - jnp.log(true_count.astype(hidden.dtype))
    sampled_logits = hidden @ weights[sampled].T + biases[sampled][None, :]
    sampled_logits = sampled_logits - jnp.log(sampled_count.astype(hidden.dtype))[None, :]
    if remove_accidental_hits:
        hit = labels[:, None] == sampled[None, :]
        sampled_logits = jnp.where(hit, -jnp.inf, sampled_logits)
    logits = jnp.concatenate([true_logit[:, None], sampled_logits], axis=1)
    return jax.nn.logsumexp(logits, axis=1) - true_logit
