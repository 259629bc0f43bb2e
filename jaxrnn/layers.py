"""Feed-forward layers used around recurrent cells: dense and embedding, params as plain dicts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxrnn import checks

Array = jax.Array
Params = Any


_INITIALIZERS = {
    "glorot_uniform": jax.nn.initializers.glorot_uniform,
    "he_normal": jax.nn.initializers.he_normal,
    "he_uniform": jax.nn.initializers.he_uniform,
    "lecun_normal": jax.nn.initializers.lecun_normal,
}


class Layer(NamedTuple):
    """A feed-forward layer: ``init(key, input_size, dtype=float32) -> params``, ``apply(params, x) -> y``."""

    init: Callable[..., Params]
    apply: Callable[[Params, Array], Array]
    output_size: int


def dense(
    output_size: int,
    activation: Callable[[Array], Array] | None = None,
    *,
    use_bias: bool = True,
    initializer: Callable[..., Array] | str | None = None,
) -> Layer:
    """A fully connected layer ``y = activation(x @ W + b)`` on the last axis.

    Args:
      output_size: O.
      activation: applied elementwise, or None for a linear layer.
      use_bias: add ``b``.
      initializer: for ``W``: a ``jax.nn.initializers`` function or one of
        ``"glorot_uniform"`` (default), ``"he_normal"``, ``"he_uniform"`` (for
        ReLU layers, as the book recommends) and ``"lecun_normal"``.

    Returns:
      A :class:`Layer` with params ``{"W": [F, O], "b": [O]}``; ``apply`` takes
      ``[..., F]`` and returns ``[..., O]``.
    """
    checks.positive_int("output_size", output_size)
    if isinstance(initializer, str) and initializer not in _INITIALIZERS:
        raise ValueError(
            f"initializer must be one of {sorted(_INITIALIZERS)} or a function; got {initializer!r}"
        )
    if not (initializer is None or isinstance(initializer, str) or callable(initializer)):
        raise TypeError(
            f"initializer must be a name or an initializer function; got {type(initializer).__name__}"
        )
    init_w = initializer if callable(initializer) else _INITIALIZERS[initializer or "glorot_uniform"]()

    def init(key: Array, input_size: int, dtype: Any = jnp.float32) -> Params:
        checks.positive_int("input_size", input_size)
        params = {"W": init_w(key, (input_size, output_size), dtype)}
        if use_bias:
            params["b"] = jnp.zeros((output_size,), dtype)
        return params

    def apply(params: Params, x: Array) -> Array:
        checks.check_float_array("x", x)
        if x.shape[-1:] != params["W"].shape[:1]:
            raise ValueError(
                f"x must have {params['W'].shape[0]} features on its last axis; got shape {tuple(x.shape)}"
            )
        y = x @ params["W"].astype(x.dtype)
        if use_bias:
            y = y + params["b"].astype(y.dtype).reshape((1,) * (y.ndim - 1) + (output_size,))
        return y if activation is None else activation(y)

    return Layer(init=init, apply=apply, output_size=output_size)


def time_distributed(layer: Layer) -> Layer:
    """Apply ``layer`` to every step of ``[batch, time, features]`` in one matmul (the book's Fig. 14-10).

    Args:
      layer: e.g. ``jaxrnn.dense(1)``.

    Returns:
      A :class:`Layer` with the same params whose ``apply`` takes ``[B, T, F]``
      (reshaped to ``[B * T, F]``) and returns ``[B, T, O]``.
    """

    def apply(params: Params, x: Array) -> Array:
        checks.check_float_array("x", x)
        checks.check_rank("x", x, 3, "[batch, time, features]")
        batch, time, features = x.shape
        y = layer.apply(params, x.reshape(batch * time, features))
        return y.reshape(batch, time, y.shape[-1])

    return Layer(init=layer.init, apply=apply, output_size=layer.output_size)


class Embedding(NamedTuple):
    """An embedding table: ``init(key, dtype=float32) -> {"embeddings": [V, E]}``, ``lookup(params, ids)``."""

    init: Callable[..., Params]
    lookup: Callable[[Params, Array], Array]
    vocab_size: int
    embed_size: int


def embedding(
    vocab_size: int, embed_size: int, *, pretrained: Any = None, trainable: bool = True
) -> Embedding:
    """Word embeddings, initialised uniform in [-1, 1] as in the book, or from a pretrained matrix.

    Args:
      vocab_size: V, the number of ids.
      embed_size: E.
      pretrained: optional ``[V, E]`` float matrix (e.g. word2vec or GloVe
        vectors) that ``init`` copies, cast to ``dtype``.
      trainable: False: ``lookup`` stops the table's gradient (to keep an
        optimizer's weight decay off it too, use :func:`freeze`).

    Returns:
      An :class:`Embedding`; ``init(key, dtype=float32) -> {"embeddings": [V, E]}``
      and ``lookup(params, ids: int [...]) -> [..., E]``. Concrete
      out-of-range ids raise ``ValueError``; under ``jit`` they are clamped.
    """
    checks.positive_int("vocab_size", vocab_size)
    checks.positive_int("embed_size", embed_size)
    if not isinstance(trainable, bool):
        raise TypeError(f"trainable must be a bool; got {type(trainable).__name__}")
    if pretrained is not None:
        checks.check_float_array("pretrained", pretrained)
        if tuple(pretrained.shape) != (vocab_size, embed_size):
            raise ValueError(
                f"pretrained must have shape [vocab_size, embed_size] = ({vocab_size}, {embed_size}); "
                f"got {tuple(pretrained.shape)}"
            )

    def init(key: Array, dtype: Any = jnp.float32) -> Params:
        if pretrained is not None:
            return {"embeddings": jnp.array(pretrained, dtype=dtype)}
        return {"embeddings": jax.random.uniform(key, (vocab_size, embed_size), dtype, -1.0, 1.0)}

    def lookup(params: Params, ids: Array) -> Array:
        if not hasattr(ids, "dtype") or not jnp.issubdtype(ids.dtype, jnp.integer):
            raise TypeError(f"ids must be an integer array; got {getattr(ids, 'dtype', type(ids).__name__)}")
        table = params["embeddings"]
        if checks.is_concrete(ids) and ids.size:
            # NumPy, not jnp: under a jit trace jnp.min of a captured constant would be a tracer
            values = np.asarray(ids)
            low, high = int(values.min()), int(values.max())
            if low < 0 or high >= table.shape[0]:
                bad = low if low < 0 else high
                raise ValueError(f"ids must lie in [0, vocab_size) = [0, {table.shape[0]}); got id {bad}")
        if not trainable:
            table = jax.lax.stop_gradient(table)
        return jnp.take(table, ids, axis=0)

    return Embedding(init=init, lookup=lookup, vocab_size=vocab_size, embed_size=embed_size)


def freeze(optimizer: optax.GradientTransformation, frozen: Any) -> optax.GradientTransformation:
    """Wrap an optax optimizer so the frozen parameters are never updated (bit-identical after any step).

    The frozen leaves get ``optax.set_to_zero()`` (``optax.multi_transform``):
    no momentum, weight decay or schedule touches them, and no state is kept.

    Args:
      optimizer: e.g. ``optax.adam(1e-3)``.
      frozen: which leaves to freeze: a name or sequence of names, matched
        against each leaf's key path (``"embeddings"`` freezes every leaf
        whose path contains ``['embeddings']``); or a pytree of bools shaped
        like the params; or a function ``params -> pytree of bools``.

    Returns:
      An ``optax.GradientTransformation``.

    >>> opt = freeze(optax.adam(1e-2), "embeddings")  # train the RNN, keep pretrained vectors
    """
    if isinstance(frozen, str):
        frozen = (frozen,)
    if isinstance(frozen, (tuple, list)) and all(isinstance(n, str) for n in frozen):
        names = tuple(frozen)
        if not names:
            raise ValueError("frozen must name at least one parameter; got an empty sequence")

        def mask(params: Params) -> Any:
            return jax.tree_util.tree_map_with_path(
                lambda path, _: any(f"[{n!r}]" in jax.tree_util.keystr(path) for n in names), params
            )

    elif callable(frozen):
        mask = frozen
    else:
        mask = lambda params: frozen

    def labels(params: Params) -> Any:
        return jax.tree.map(lambda f: "frozen" if f else "trainable", mask(params))

    return optax.multi_transform({"trainable": optimizer, "frozen": optax.set_to_zero()}, labels)
