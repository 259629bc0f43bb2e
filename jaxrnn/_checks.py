"""Eager input checks shared by the public functions.

Each check runs in Python on shapes and dtypes before any tracing, so a user
gets a message naming the argument instead of an XLA error. Values (such as
``sequence_length``) are checked only when they are concrete; under ``jit``
they are tracers and the check is skipped.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def is_concrete(x: Any) -> bool:
    """True when ``x``'s values can be read in Python (not a tracer)."""
    return not isinstance(x, jax.core.Tracer)


def check_float_array(name: str, x: Any) -> None:
    """Raise TypeError unless ``x`` is an array of a floating dtype."""
    if not hasattr(x, "shape") or not hasattr(x, "dtype"):
        raise TypeError(f"{name} must be an array; got {type(x).__name__}")
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(
            f"{name} must have a floating dtype (float32, bfloat16, float64, ...); got {x.dtype}. "
            "Cast it first, e.g. x.astype(jnp.float32); for token ids use an embedding."
        )


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


def check_state(name: str, state: Any, expected: Any) -> None:
    """Check ``state`` has the structure, shapes and a float dtype of ``expected``."""
    got_def = jax.tree.structure(state)
    want_def = jax.tree.structure(expected)
    if got_def != want_def:
        raise ValueError(f"{name} must have the cell's state structure {want_def}; got {got_def}")
    for path, got, want in zip(
        jax.tree_util.tree_flatten_with_path(state)[0],
        jax.tree.leaves(state),
        jax.tree.leaves(expected),
    ):
        where = name + jax.tree_util.keystr(path[0])
        if not hasattr(got, "shape"):
            raise TypeError(f"{where} must be an array; got {type(got).__name__}")
        if tuple(got.shape) != tuple(want.shape):
            raise ValueError(f"{where} must have shape {tuple(want.shape)}; got {tuple(got.shape)}")
        if not jnp.issubdtype(got.dtype, jnp.floating):
            raise TypeError(f"{where} must have a floating dtype; got {got.dtype}")


def check_params_input_size(name: str, cell: Any, params: Any, features: int) -> None:
    """Check the inputs' feature size matches what ``params`` were made for."""
    try:
        expected = cell.input_size(params)
    except (KeyError, TypeError, IndexError, AttributeError) as e:
        raise ValueError(
            f"params do not look like this cell's parameters (could not read the input size: {e!r})"
        ) from e
    if expected != features:
        raise ValueError(f"{name} feature size must match params (input_size={expected}); got {features}")
