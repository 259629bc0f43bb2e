"""The book's first example: 3 inputs, 5 neurons, 2 time steps, a batch of 4."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxrnn.cells import basic_cell
from jaxrnn.unroll import dynamic_unroll, static_unroll

# Géron, ch. 14: instance 1 has a single valid step; its t=1 vector is padding
X0_BATCH = np.array([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 0, 1]], np.float32)
X1_BATCH = np.array([[9, 8, 7], [0, 0, 0], [6, 5, 4], [3, 2, 1]], np.float32)
SEQUENCE_LENGTH = np.array([2, 1, 2, 2], np.int32)


def run_demo(seed: int = 42) -> dict[str, np.ndarray]:
    """Run the 2-step, 4-instance example through both unrollers and print what they give.

    Returns:
      A dict of NumPy arrays: ``static_outputs``, ``dynamic_outputs`` and
      ``masked_outputs`` ``[4, 2, 5]``, ``masked_state`` ``[4, 5]``.
    """
    cell = basic_cell(5)
    params = cell.init(jax.random.key(seed), 3)
    (y0, y1), _ = static_unroll(cell, params, [jnp.asarray(X0_BATCH), jnp.asarray(X1_BATCH)])
    x_batch = jnp.stack([X0_BATCH, X1_BATCH], axis=1)  # [batch, time, features]
    dynamic_outputs, _ = jax.jit(lambda p, x: dynamic_unroll(cell, p, x))(params, x_batch)
    masked_outputs, masked_state = dynamic_unroll(
        cell, params, x_batch, sequence_length=jnp.asarray(SEQUENCE_LENGTH)
    )
    np.set_printoptions(precision=4, suppress=True)
    print("Basic RNN cell, n_inputs=3, n_neurons=5, two time steps, batch of 4 (Géron ch. 14)")
    print("static_unroll, list form -- Y0:\n", np.asarray(y0), "\nY1:\n", np.asarray(y1))
    print("dynamic_unroll (lax.scan) outputs [batch, time, neurons]:\n", np.asarray(dynamic_outputs))
    print("max |static - dynamic| =", float(jnp.max(jnp.abs(jnp.stack([y0, y1], 1) - dynamic_outputs))))
    print(f"with sequence_length={SEQUENCE_LENGTH.tolist()} -- outputs:\n", np.asarray(masked_outputs))
    print("final states (instance 1 keeps its t=0 output):\n", np.asarray(masked_state))
    return {
        "static_outputs": np.asarray(jnp.stack([y0, y1], 1)),
        "dynamic_outputs": np.asarray(dynamic_outputs),
        "masked_outputs": np.asarray(masked_outputs),
        "masked_state": np.asarray(masked_state),
    }
