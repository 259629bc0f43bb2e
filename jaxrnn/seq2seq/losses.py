"""Losses for translation: weighted cross-entropy and sampled softmax (Jean et al. 2015)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

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
    logp = jax.nn.log_softmax(logits, axis=-1)
    nll = -jnp.take_along_axis(logp, targets[..., None].astype(jnp.int32), axis=-1)[..., 0]
    weights = weights.astype(nll.dtype)
    # where, not multiply, so a NaN/inf on a padded position cannot leak into the loss or its gradient
    total = jnp.sum(jnp.where(weights > 0, nll * weights, 0.0))
    return total / jnp.maximum(jnp.sum(weights), 1.0)


def sampled_softmax_loss(
    weights: Array,
    biases: Array,
    hidden: Array,
    labels: Array,
    *,
    num_sampled: int,
    key: Array,
    remove_accidental_hits: bool = True,
) -> Array:
    """Per-example sampled softmax loss (Jean et al. 2015, TF's ``sampled_softmax_loss``).

    ``num_sampled`` classes are drawn uniformly with replacement; each sampled logit is corrected by
    ``-log(num_sampled * q)`` (``q = 1/V``) so that ``sum_j exp(logit_j)`` estimates the full partition
    function; the loss approaches the full softmax cross-entropy as ``num_sampled`` grows. Use the full
    softmax for evaluation.

    Args:
      weights: ``[V, H]`` output embeddings (the transpose of a dense kernel).
      biases: ``[V]``.
      hidden: ``[N, H]`` decoder outputs.
      labels: int ``[N]`` true classes.
      num_sampled: the number of negative samples.
      key: PRNG key for the samples (shared by the batch, as in TF).
      remove_accidental_hits: mask samples equal to the true class.

    Returns:
      ``[N]`` losses.
    """
    if not isinstance(num_sampled, int) or num_sampled <= 0:
        raise ValueError(f"num_sampled must be a positive int; got {num_sampled!r}")
    if hidden.ndim != 2 or weights.ndim != 2 or hidden.shape[1] != weights.shape[1]:
        raise ValueError(f"hidden must be [N, H] and weights [V, H]; got {hidden.shape} and {weights.shape}")
    num_classes = weights.shape[0]
    sampled = jax.random.randint(key, (num_sampled,), 0, num_classes)
    true_logit = jnp.sum(hidden * weights[labels], axis=-1) + biases[labels]
    log_expected = jnp.log(jnp.asarray(num_sampled / num_classes, hidden.dtype))
    sampled_logits = hidden @ weights[sampled].T + biases[sampled][None, :] - log_expected
    if remove_accidental_hits:
        hit = labels[:, None] == sampled[None, :]
        sampled_logits = jnp.where(hit, -jnp.inf, sampled_logits)
    logits = jnp.concatenate([true_logit[:, None], sampled_logits], axis=1)
    return jax.nn.logsumexp(logits, axis=1) - true_logit
