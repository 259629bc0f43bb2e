"""A ``flax.linen`` module that runs any jaxrnn cell (or stack) with a jaxrnn unroller.

The cell's params live in the Flax variable tree under ``params/<module>/cell``
with exactly jaxrnn's layout, so ``variables["params"]["rnn"]["cell"]`` can be
passed to ``cell.apply``/``dynamic_unroll`` directly, and trained with
``flax.training.train_state.TrainState`` like any other Flax parameter.
:class:`NNXRNN` does the same for ``flax.nnx``.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax import nnx

from jaxrnn.cells import Cell
from jaxrnn.unroll import dynamic_unroll


class RNNLayer(nn.Module):
    """Unroll a jaxrnn cell over ``[batch, time, features]`` inside a Flax model.

    Attributes:
      cell: any jaxrnn :class:`~jaxrnn.Cell` (``lstm_cell(...)``, ``stack_cells([...])``, ...).
      return_state: return ``(outputs, final_state)`` instead of ``outputs``.
      param_dtype: dtype of the cell's params.
      time_major: inputs are ``[time, batch, features]``.
      reverse: run backwards in time.

    Call arguments: ``inputs: [B, T, F]``, optional ``sequence_length: [B]``,
    ``initial_state``, ``training``. With ``training=True`` the PRNG stream
    ``"dropout"`` is drawn for stochastic cells when the model was given one.

    >>> layer = RNNLayer(jaxrnn.lstm_cell(8))  # doctest: +SKIP
    >>> variables = layer.init(jax.random.key(0), jnp.ones((2, 5, 3)))  # doctest: +SKIP
    """

    cell: Cell
    return_state: bool = False
    param_dtype: Any = jnp.float32
    time_major: bool = False
    reverse: bool = False

    @nn.compact
    def __call__(
        self,
        inputs: jax.Array,
        *,
        sequence_length: jax.Array | None = None,
        initial_state: Any = None,
        training: bool = False,
    ) -> Any:
        if not isinstance(self.cell, Cell):
            raise TypeError(f"cell must be a jaxrnn Cell; got {type(self.cell).__name__}")
        if getattr(inputs, "ndim", None) != 3:
            raise ValueError(
                f"inputs must have rank 3 [batch, time, features]; got shape {getattr(inputs, 'shape', None)}"
            )
        features = int(inputs.shape[-1])
        params = self.param("cell", lambda key: self.cell.init(key, features, self.param_dtype))
        key = self.make_rng("dropout") if training and self.has_rng("dropout") else None
        outputs, state = dynamic_unroll(
            self.cell,
            params,
            inputs,
            sequence_length=sequence_length,
            initial_state=initial_state,
            time_major=self.time_major,
            reverse=self.reverse,
            key=key,
            training=training,
        )
        return (outputs, state) if self.return_state else outputs


class NNXRNN(nnx.Module):
    """The ``flax.nnx`` counterpart of :class:`RNNLayer`: a jaxrnn cell's params as ``nnx.Param`` leaves.

    The params keep jaxrnn's layout (one ``nnx.Param`` per array), so
    ``nnx.Optimizer(model, tx, wrt=nnx.Param)`` trains them and
    :meth:`jaxrnn_params` hands back the plain pytree for ``cell.apply``.

    Args:
      cell: any jaxrnn :class:`~jaxrnn.Cell`.
      in_features: F, the input size.
      rngs: ``nnx.Rngs``; its ``params`` stream initialises the cell.
      param_dtype: dtype of the params.
    """

    def __init__(self, cell: Cell, in_features: int, *, rngs: nnx.Rngs, param_dtype: Any = jnp.float32):
        if not isinstance(cell, Cell):
            raise TypeError(f"cell must be a jaxrnn Cell; got {type(cell).__name__}")
        self.cell = nnx.static(cell)
        self.params = nnx.data(jax.tree.map(nnx.Param, cell.init(rngs.params(), in_features, param_dtype)))

    def jaxrnn_params(self) -> Any:
        """The params as the plain pytree jaxrnn's functions take."""
        return jax.tree.map(lambda v: v[...], self.params, is_leaf=lambda v: isinstance(v, nnx.Variable))

    def __call__(
        self,
        inputs: jax.Array,
        *,
        sequence_length: jax.Array | None = None,
        initial_state: Any = None,
        key: jax.Array | None = None,
        training: bool = False,
    ) -> tuple[jax.Array, Any]:
        """Unroll over ``inputs: [B, T, F]``; returns ``(outputs [B, T, O], final_state)``."""
        return dynamic_unroll(
            self.cell,
            self.jaxrnn_params(),
            inputs,
            sequence_length=sequence_length,
            initial_state=initial_state,
            key=key,
            training=training,
        )
