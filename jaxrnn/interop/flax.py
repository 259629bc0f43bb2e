"""A ``flax.linen`` module that runs any jaxrnn cell (or stack) with a jaxrnn unroller.

The cell's params live in the Flax variable tree under ``params/<module>/cell``
with exactly jaxrnn's layout, so ``variables["params"]["rnn"]["cell"]`` can be
passed to ``cell.apply``/``dynamic_unroll`` directly, and trained with
``flax.training.train_state.TrainState`` like any other Flax parameter.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

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
