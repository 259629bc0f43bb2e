"""Data parallelism on JAX's own sharding: split the batch over a ``data`` mesh axis.

Parameters and optimizer state are replicated on every device; each device
runs the model on its slice of the batch; because the loss is the mean over
the *global* batch, XLA's partitioner inserts the all-reduce that averages the
per-device gradients (what ``pmap`` + ``lax.pmean`` does by hand). The same
code runs on one CPU, several GPUs, a TPU slice, and several hosts.

Multi-host recipe (one process per host, e.g. a TPU pod slice or a GPU cluster)::

    jax.distributed.initialize()              # before any other JAX call
    mesh = jaxrnn.make_mesh()                 # all devices of all hosts, axis "data"
    step = jaxrnn.data_parallel_train_step(loss_fn, optax.adam(1e-3), mesh)
    params, opt_state = jaxrnn.replicate((params, opt.init(params)), mesh)
    for local_batch in loader:                # each host loads ITS OWN slice of the global batch
        batch = jaxrnn.shard_batch(local_batch, mesh)   # global batch = hosts x local batch
        params, opt_state, loss = step(params, opt_state, batch)

Every host must run the same steps in the same order with the same shapes,
and start from the same parameters (same seed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np
import optax
from jax.sharding import AxisType, Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

Array = jax.Array


def make_mesh(devices: Sequence[Any] | None = None, axis_name: str = "data") -> Mesh:
    """A one-axis device mesh: ``"data"`` for data parallelism, or ``"layer"`` for a pipeline.

    Args:
      devices: the devices, in order (default ``jax.devices()``: every device
        of every host after ``jax.distributed.initialize()``).
      axis_name: the name of the mesh axis.

    Returns:
      A ``jax.sharding.Mesh`` of shape ``{axis_name: len(devices)}`` whose axis
      is of the automatic kind (XLA's partitioner places the collectives).

    Raises:
      ValueError: on an empty device list or a non-string axis name.
    """
    devices = jax.devices() if devices is None else list(devices)
    if len(devices) == 0:
        raise ValueError("devices must be a non-empty sequence of jax devices; got an empty sequence")
    if not isinstance(axis_name, str) or not axis_name:
        raise ValueError(f"axis_name must be a non-empty string; got {axis_name!r}")
    return Mesh(np.asarray(devices, dtype=object), (axis_name,), axis_types=(AxisType.Auto,))


def check_mesh_axis(mesh: Any, axis: str) -> int:
    """Check ``mesh`` is a ``Mesh`` with axis ``axis``; return that axis' size."""
    if not isinstance(mesh, Mesh):
        raise TypeError(f"mesh must be a jax.sharding.Mesh (see jaxrnn.make_mesh); got {type(mesh).__name__}")
    if axis not in mesh.axis_names:
        raise ValueError(
            f"mesh must have an axis named {axis!r}; got axes {tuple(mesh.axis_names)} "
            f"(make one with jaxrnn.make_mesh(devices, axis_name={axis!r}))"
        )
    return int(mesh.shape[axis])


def _check_batch(batch: Any, num_shards: int, axis: str) -> None:
    leaves = jax.tree_util.tree_flatten_with_path(batch)[0]
    if not leaves:
        raise ValueError("batch must contain at least one array; got an empty pytree")
    for path, leaf in leaves:
        where = "batch" + jax.tree_util.keystr(path)
        shape = np.shape(leaf)
        if len(shape) == 0:
            raise ValueError(f"{where} must have a leading batch dimension; got a scalar")
        if shape[0] % num_shards:
            raise ValueError(
                f"{where} batch size must be divisible by the number of devices on mesh axis {axis!r} "
                f"({num_shards}); got batch size {shape[0]} (shape {tuple(shape)})"
            )


def shard_batch(batch: Any, mesh: Mesh, *, axis: str = "data") -> Any:
    """Split every array of ``batch`` along its first dimension over the mesh axis ``axis``.

    On one host ``batch`` is the whole batch. On several hosts each process
    passes its own slice and gets back one global array
    (``jax.make_array_from_process_local_data``), so the global batch is the
    concatenation of the hosts' slices.

    Args:
      batch: a pytree of arrays ``[B, ...]`` (inputs, targets, ``sequence_length``...).
      mesh: a mesh with an axis ``axis`` of D devices.
      axis: the mesh axis to split over.

    Returns:
      The same pytree, each leaf a global ``jax.Array`` sharded ``P(axis)``.

    Raises:
      ValueError: when ``B`` is not divisible by D (per host: by the number of
        local devices on the axis), or the mesh lacks the axis.
    """
    num_shards = check_mesh_axis(mesh, axis)
    local = num_shards // jax.process_count() if jax.process_count() > 1 else num_shards
    _check_batch(batch, max(local, 1), axis)
    sharding = NamedSharding(mesh, P(axis))
    return jax.tree.map(lambda x: jax.make_array_from_process_local_data(sharding, x), batch)


def replicate(tree: Any, mesh: Mesh) -> Any:
    """Put a full copy of every array of ``tree`` on every device of ``mesh`` (params, optimizer state)."""
    if not isinstance(mesh, Mesh):
        raise TypeError(f"mesh must be a jax.sharding.Mesh (see jaxrnn.make_mesh); got {type(mesh).__name__}")
    return jax.device_put(tree, NamedSharding(mesh, P()))


def data_parallel_train_step(
    loss_fn: Callable[..., Array],
    optimizer: optax.GradientTransformation,
    mesh: Mesh,
    *,
    axis: str = "data",
    donate: bool = False,
) -> Callable[..., tuple[Any, Any, Array]]:
    """Build a jitted optax training step whose batch is split over the mesh axis ``axis``.

    The step is ``loss, grads = value_and_grad(loss_fn)(params, batch[, key])``
    then ``optimizer.update`` and ``optax.apply_updates``, with ``batch``
    sharded over ``axis`` and everything else replicated. ``loss_fn`` must
    return the *mean* over the batch: its gradient is then the average of the
    per-device gradients, so the step equals the single-device step (up to
    float summation order).

    Args:
      loss_fn: ``loss_fn(params, batch) -> scalar``, or ``loss_fn(params,
        batch, key) -> scalar`` when the step is called with a ``key``.
      optimizer: an optax ``GradientTransformation``.
      mesh: a mesh with an axis ``axis`` (see :func:`make_mesh`).
      axis: the batch axis' name.
      donate: donate the old params and optimizer state buffers to the update.

    Returns:
      ``step(params, opt_state, batch, key=None) -> (params, opt_state, loss)``.
      ``batch`` may be host arrays (single host) or the output of
      :func:`shard_batch`; every leaf's first dimension B must be divisible by
      the axis size D, checked before tracing.

    Raises:
      ValueError, TypeError: on a mesh without ``axis`` or a non-optax optimizer
        (here); on a batch not divisible by D (when the step is called).
    """
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable; got {type(loss_fn).__name__}")
    if not isinstance(optimizer, optax.GradientTransformation):
        raise TypeError(f"optimizer must be an optax GradientTransformation; got {type(optimizer).__name__}")
    num_shards = check_mesh_axis(mesh, axis)
    replicated = NamedSharding(mesh, P())
    split = NamedSharding(mesh, P(axis))

    def update(params, opt_state, batch, key):
        args = (batch,) if key is None else (batch, key)
        loss, grads = jax.value_and_grad(loss_fn)(params, *args)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    jitted = jax.jit(
        update,
        in_shardings=(replicated, replicated, split, replicated),
        out_shardings=(replicated, replicated, replicated),
        donate_argnums=(0, 1) if donate else (),
    )

    def step(params: Any, opt_state: Any, batch: Any, key: Array | None = None):
        _check_batch(batch, num_shards, axis)
        return jitted(params, opt_state, batch, key)

    step.mesh = mesh  # the trainer can read where the step runs
    return step
