"""Eager input checks shared by the public functions, on shapes and dtypes before any tracing.

Values (such as ``sequence_length``) are checked only when concrete, not under ``jit``.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def is_concrete(x: Any) -> bool:
    """True when ``x``'s values can be read in Python (not a tracer)."""
    return not isinstance(x, jax.core.Tracer)


def positive_int(name: str, value: Any, *, minimum: int = 1, what: str = "") -> int:
    """``value`` as a Python int if it is an int ``>= minimum``; else a ``ValueError`` naming ``name``.

    NumPy integers count as ints. ``bool`` is rejected although Python counts it as an int:
    ``unroll=True`` is a mistake, not 1.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        kind = {1: "positive int", 0: "non-negative int"}.get(minimum, f"int >= {minimum}")
        raise ValueError(f"{name} must be a {kind}{f' ({what})' if what else ''}; got {value!r}")
    return int(value)


def check_key(key: Any) -> None:
    """Raise TypeError unless ``key`` is None or a PRNG key array."""
    if key is not None and not (hasattr(key, "dtype") and hasattr(key, "shape")):
        raise TypeError(f"key must be a PRNG key from jax.random.key; got {type(key).__name__}")


def check_step_input(name: str, x: Any, features: int) -> None:
    """Check one step's input is ``[batch, features]`` (called by ``cell.apply`` on concrete inputs)."""
    check_float_array(name, x)
    check_rank(name, x, 2, "[batch, features]")
    if x.shape[-1] != features:
        raise ValueError(
            f"{name} must have {features} features (the params' input size); got shape {tuple(x.shape)}"
        )


def check_float_array(name: str, x: Any) -> None:
    """Raise TypeError unless ``x`` is an array of a floating dtype."""
    if not hasattr(x, "shape") or not hasattr(x, "dtype"):
        raise TypeError(f"{name} must be an array; got {type(x).__name__}")
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(
            f"{name} must have a floating dtype (float32, bfloat16, float64, ...); got {x.dtype}. "
            "Cast it first, e.g. x.astype(jnp.float32); for token ids use an embedding."
        )


def float_dtype(name: str, value: Any) -> Any:
    """``value`` as a NumPy dtype, None staying None; TypeError naming ``name`` unless it is a float dtype."""
    if value is None:
        return None
    try:
        dtype = jnp.dtype(value)
    except TypeError:
        dtype = None
    if dtype is None or not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"{name} must be None or a float dtype such as jnp.bfloat16; got {value!r}")
    return dtype


def check_rank(name: str, x: Any, rank: int, layout: str) -> None:
    if x.ndim != rank:
        raise ValueError(f"{name} must have rank {rank} {layout}; got shape {tuple(x.shape)}")


def check_sequence_length(sequence_length: Any, batch_size: int, num_steps: int) -> Any:
    """Check ``sequence_length`` is ``[batch]`` ints in ``[0, num_steps]``; return it as an array."""
    if sequence_length is None:
        return None
    if not hasattr(sequence_length, "dtype"):
        try:
            sequence_length = np.asarray(sequence_length)
        except Exception as e:  # pragma: no cover - exotic inputs
            raise TypeError(f"sequence_length must be an int array of shape [batch]; got {e}") from e
    if not jnp.issubdtype(sequence_length.dtype, jnp.integer):
        raise TypeError(f"sequence_length must have an integer dtype; got {sequence_length.dtype}")
    if tuple(sequence_length.shape) != (batch_size,):
        raise ValueError(
            f"sequence_length must have shape [batch] = ({batch_size},); "
            f"got shape {tuple(sequence_length.shape)}"
        )
    if is_concrete(sequence_length):
        values = np.asarray(sequence_length)
        bad = (values < 0) | (values > num_steps)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(
                f"sequence_length values must lie in [0, time] = [0, {num_steps}]; "
                f"got sequence_length[{i}] = {int(values[i])}"
            )
    # traced lengths cannot be checked: clamp so out-of-range values act as 0 or time
    return jnp.clip(jnp.asarray(sequence_length, jnp.int32), 0, num_steps)


def same_structure(a: Any, b: Any) -> bool:
    """Whether two pytrees have the same tree structure (node types, keys, leaf count)."""
    a_def: Any = jax.tree.structure(a)  # PyTreeDef comes from C; mypy cannot see its __eq__
    return bool(a_def == jax.tree.structure(b))


def check_tree(name: str, tree: Any, expected: Any, *, mismatch: str, where: str = "") -> None:
    """Check ``tree`` has ``expected``'s key paths and shapes and floating leaves; errors name the key path.

    Args:
      name: the argument, e.g. ``"params"``; key paths are appended (``params['Wx']``).
      tree: the pytree given.
      expected: a pytree of ``jax.ShapeDtypeStruct`` (from ``jax.eval_shape``).
      mismatch: the message's start when keys or structure differ.
      where: appended to expected shapes, e.g. ``" for this cell on 3 input features"``.
    """
    want, got = (
        {jax.tree_util.keystr(p): leaf for p, leaf in jax.tree_util.tree_flatten_with_path(t)[0]}
        for t in (expected, tree)
    )
    odd = next((k for k in [*want, *got] if (k in want) != (k in got)), None)
    if odd is not None or not same_structure(tree, expected):
        if odd is None:
            detail = f"got {jax.tree.structure(tree)}"
        elif odd in want:
            detail = f"{name}{odd} is missing (expected shape {tuple(want[odd].shape)}{where})"
        else:
            detail = f"{name}{odd} is not one of them (expected only {sorted(want)}{where})"
        raise ValueError(f"{mismatch}: {detail}")
    for path, w in want.items():
        g, at = got[path], name + path
        if not hasattr(g, "shape") or not hasattr(g, "dtype"):
            raise TypeError(f"{at} must be an array; got {type(g).__name__}")
        if tuple(g.shape) != tuple(w.shape):
            raise ValueError(f"{at} must have shape {tuple(w.shape)}{where}; got {tuple(g.shape)}")
        if not jnp.issubdtype(g.dtype, jnp.floating):
            raise TypeError(f"{at} must have a floating dtype; got {g.dtype}")


def check_state(name: str, state: Any, expected: Any) -> None:
    """Check a state pytree against the cell's (``expected``: arrays or ``jax.ShapeDtypeStruct``)."""
    mismatch = f"{name} must have the cell's state structure {jax.tree.structure(expected)}"
    check_tree(name, state, expected, mismatch=mismatch)


def check_params(name: str, cell: Any, params: Any, features: int) -> None:
    """Check ``params`` against ``jax.eval_shape(cell.init, key, features)`` (:func:`check_tree`), jit or not.

    ``name`` names the inputs whose feature size must match what the params were made for.
    """
    try:
        made_for = cell.input_size(params)
    except (KeyError, TypeError, IndexError, AttributeError):
        made_for = None  # check_tree says what is wrong
    if made_for is not None and made_for != features:
        raise ValueError(f"{name} feature size must match params (input_size={made_for}); got {features}")
    where = f" for this cell on {features} input features (from cell.init)"
    mismatch = "params do not look like this cell's parameters (params of another cell?)"
    try:
        expected = _init_shapes(cell, features)
    except TypeError:  # an unhashable cell (e.g. a list inside state_size): no cache
        expected = _init_shapes.__wrapped__(cell, features)
    check_tree("params", params, expected, mismatch=mismatch, where=where)


@functools.lru_cache(maxsize=256)
def _init_shapes(cell: Any, features: int) -> Any:
    return jax.eval_shape(lambda: cell.init(jax.random.key(0), features))
