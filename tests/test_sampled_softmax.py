"""Sampled softmax with TF's log-uniform candidate sampler, against NumPy float64 re-implementations of
TF's ``LogUniformSampler`` (rejection sampling of distinct classes) and ``_compute_sampled_logits``."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import pytest

from jaxrnn.seq2seq import SampledValues, log_uniform_probability, log_uniform_sample, sampled_softmax_loss


def _tf_probability(k, v):
    return (np.log(k + 2.0) - np.log(k + 1.0)) / np.log(v + 1.0)


def _tf_unique_draws(rng, v, m, rounds):
    """TF's LogUniformSampler with unique=True: draw floor(exp(u log(V+1))) - 1 until m distinct classes."""
    counts, tries = np.zeros(v), []
    for _ in range(rounds):
        found, n = set(), 0
        while len(found) < m:
            found.add(int(np.exp(rng.uniform() * np.log(v + 1.0))) - 1)
            n += 1
        counts[list(found)] += 1
        tries.append(n)
    return counts / rounds, np.mean(tries)


def test_log_uniform_probability_is_tf_formula_and_sums_to_one():
    v = 1000
    got = np.asarray(log_uniform_probability(jnp.arange(v), v), np.float64)
    np.testing.assert_allclose(got, _tf_probability(np.arange(v, dtype=np.float64), v), rtol=1e-5)
    assert abs(got.sum() - 1.0) < 1e-4
    assert (np.diff(got) < 0).all()  # frequency-sorted ids: id 0 is the most likely


def test_unique_sampler_matches_tf_rejection_sampler():
    v, m, rounds = 30, 6, 3000
    labels = jnp.array([0, 7, 29], jnp.int32)
    draw = jax.jit(jax.vmap(lambda k: log_uniform_sample(k, labels, num_sampled=m, range_max=v)))
    values = draw(jax.random.split(jax.random.key(0), rounds))
    sampled = np.asarray(values.sampled)
    assert all(len(set(row)) == m for row in sampled)  # distinct classes
    inclusion = np.bincount(sampled.reshape(-1), minlength=v) / rounds
    ref_inclusion, ref_tries = _tf_unique_draws(np.random.default_rng(1), v, m, rounds)
    # binomial standard error ~0.009 per class for both estimates
    np.testing.assert_allclose(inclusion, ref_inclusion, atol=0.045)
    # the expected counts are TF's -expm1(num_tries * log1p(-P)); recover num_tries from class 0's
    p = _tf_probability(np.arange(v, dtype=np.float64), v)
    true_count = np.asarray(values.true_expected_count, np.float64)
    tries = np.log1p(-true_count[:, 0]) / np.log1p(-p[0])
    assert abs(tries.mean() / ref_tries - 1) < 0.05, (tries.mean(), ref_tries)
    np.testing.assert_allclose(true_count, -np.expm1(tries[:, None] * np.log1p(-p[[0, 7, 29]])), rtol=1e-3)
    sampled_count = np.asarray(values.sampled_expected_count, np.float64)
    np.testing.assert_allclose(sampled_count, -np.expm1(tries[:, None] * np.log1p(-p[sampled])), rtol=1e-3)


def test_sampler_with_replacement_draws_log_uniform_frequencies():
    v, m = 20, 4000
    values = log_uniform_sample(
        jax.random.key(3), jnp.array([5], jnp.int32), num_sampled=m, range_max=v, unique=False
    )
    freq = np.bincount(np.asarray(values.sampled), minlength=v) / m
    p = _tf_probability(np.arange(v, dtype=np.float64), v)
    np.testing.assert_allclose(freq, p, atol=0.025)
    np.testing.assert_allclose(np.asarray(values.true_expected_count), [m * p[5]], rtol=1e-4)


def _tf_sampled_loss(w, b, h, labels, sampled, true_count, sampled_count):
    """tf.nn.sampled_softmax_loss in float64: log-q correction, -FLT_MAX on accidental hits, true first."""
    true_logit = (h * w[labels]).sum(1) + b[labels] - np.log(true_count)
    sampled_logits = h @ w[sampled].T + b[sampled] - np.log(sampled_count)
    sampled_logits = sampled_logits + np.where(
        labels[:, None] == sampled[None, :], -np.finfo(np.float32).max, 0.0
    )
    logits = np.concatenate([true_logit[:, None], sampled_logits], 1)
    top = logits.max(1, keepdims=True)
    return (np.log(np.exp(logits - top).sum(1)) + top[:, 0]) - true_logit


def test_sampled_loss_matches_tf_reference():
    rng = np.random.default_rng(0)
    v, d, n, m = 40, 6, 5, 8
    w, b, h = rng.normal(size=(v, d)), rng.normal(size=v), rng.normal(size=(n, d))
    labels = np.array([0, 3, 17, 3, 39])
    sampled = np.array([0, 1, 2, 3, 5, 8, 13, 21])  # labels 0 and 3 are accidental hits
    true_count, sampled_count = rng.uniform(0.1, 1, n), rng.uniform(0.1, 1, m)
    values = SampledValues(*(jnp.asarray(x) for x in (sampled, true_count, sampled_count)))
    values = values._replace(
        sampled=values.sampled.astype(jnp.int32),
        true_expected_count=values.true_expected_count.astype(jnp.float32),
        sampled_expected_count=values.sampled_expected_count.astype(jnp.float32),
    )
    f32 = lambda x: jnp.asarray(x, jnp.float32)
    got = sampled_softmax_loss(
        f32(w), f32(b), f32(h), jnp.asarray(labels, jnp.int32), num_sampled=m, sampled_values=values
    )
    ref = _tf_sampled_loss(w, b, h, labels, sampled, true_count, sampled_count)
    np.testing.assert_allclose(np.asarray(got, np.float64), ref, rtol=1e-5, atol=1e-5)


@pytest.fixture
def x64():
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", False)


def test_sampled_loss_gradient_matches_finite_differences(x64):
    rng = np.random.default_rng(1)
    v, d, n, m = 12, 3, 4, 5
    w, b = jnp.asarray(rng.normal(size=(v, d))), jnp.asarray(rng.normal(size=v))
    h, labels = jnp.asarray(rng.normal(size=(n, d))), jnp.asarray([1, 2, 0, 7], jnp.int32)
    values = log_uniform_sample(jax.random.key(0), labels, num_sampled=m, range_max=v)
    values = SampledValues(values.sampled, *(x.astype(jnp.float64) for x in values[1:]))
    loss = jax.jit(
        lambda w, h: sampled_softmax_loss(w, b, h, labels, num_sampled=m, sampled_values=values).sum()
    )
    jax.test_util.check_grads(loss, (w, h), order=1, modes=["rev"])


def test_bad_sampler_arguments():
    labels = jnp.array([1], jnp.int32)
    with pytest.raises(ValueError, match="num_sampled must be at most range_max = 5 with unique=True; got 6"):
        log_uniform_sample(jax.random.key(0), labels, num_sampled=6, range_max=5)
    with pytest.raises(ValueError, match="range_max must be a positive int; got 0"):
        log_uniform_sample(jax.random.key(0), labels, num_sampled=1, range_max=0)
    w = jnp.zeros((5, 2))
    with pytest.raises(ValueError, match="key is required when sampled_values is not given"):
        sampled_softmax_loss(w, jnp.zeros(5), jnp.zeros((1, 2)), labels, num_sampled=2)
