"""Data parallelism on JAX's own sharding: split the batch over a ``data`` mesh axis.

Parameters and optimizer state are replicated on every device; each device
runs the model on its slice of the batch; because the loss is the mean over
the *global* batch, XLA's partitioner inserts the all-reduce that averages the
per-device gradients (what ``pmap`` + ``lax.pmean`` does by hand). The same
code runs on one CPU, several GPUs, a TPU slice, and several hosts.

Multi-host recipe (one process per host, e.g. a TPU pod slice or a GPU cluster; it is what
``tests/test_distributed.py`` runs with two CPU processes on one machine)::

    jax.distributed.initialize(coordinator, num_processes, process_id)  # before any other JAX call
    mesh = jaxrnn.make_mesh()                 # all devices of all hosts, axis "data"
    step = jaxrnn.data_parallel_train_step(loss_fn, optimizer, mesh)
    state, history = jaxrnn.fit(loss_fn, params, local_batches, key=seed, epochs=...,
                                optimizer=optimizer, step_fn=step, checkpoint_dir=...)

``local_batches(epoch)`` gives each process ITS OWN slice of every global batch (global
batch = processes x local batch); the first process writes the checkpoints (use a
shared file system so that every process resumes from them). On CPU, collectives across
processes need ``jax.config.update("jax_cpu_collectives_implementation", "gloo")``.

Every host must run the same steps in the same order with the same shapes,
and start from the same parameters (same seed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
import optax
from jax.sharding import AxisType, Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from jaxrnn.train_step import LossFn, StepFn, TrainState, make_train_step

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
    """Put a full copy of every array of ``tree`` on every device of ``mesh`` (params, optimizer state).

    On several processes every process must pass the same values (same seed, same checkpoint).
    """
    if not isinstance(mesh, Mesh):
        raise TypeError(f"mesh must be a jax.sharding.Mesh (see jaxrnn.make_mesh); got {type(mesh).__name__}")
    sharding = NamedSharding(mesh, P())
    if jax.process_count() == 1:
        return jax.device_put(tree, sharding)

    # several processes: device_put cannot reach other hosts' devices; each process gives its copy
    def to_global(x: Any) -> Any:
        if isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            data = to_global(jax.random.key_data(x))
            return jax.random.wrap_key_data(data, impl=jax.random.key_impl(x))
        return jax.make_array_from_process_local_data(sharding, np.asarray(x))

    return jax.tree.map(to_global, tree)


def _is_on(tree: Any, sharding: NamedSharding) -> bool:
    return all(isinstance(x, jax.Array) and x.sharding == sharding for x in jax.tree.leaves(tree))


def data_parallel_train_step(
    loss_fn: LossFn,
    optimizer: optax.GradientTransformation,
    mesh: Mesh,
    *,
    axis: str = "data",
    ema_decay: float | None = None,
    donate: bool = False,
) -> StepFn:
    """:func:`jaxrnn.make_train_step`'s step, jitted with the batch split over the mesh axis ``axis``.

    The very step :func:`jaxrnn.fit` runs on one device, ``step(state, batch, key) -> (state,
    loss, metrics)``, with ``batch`` sharded over ``axis`` and the :class:`jaxrnn.TrainState`
    and key replicated, so ``fit(..., step_fn=data_parallel_train_step(loss_fn, opt, mesh))``
    trains data-parallel. ``loss_fn`` must return the *mean* over the batch: its gradient is then
    the average of the per-device gradients (XLA's partitioner inserts the all-reduce), so the
    step equals the single-device step up to float summation order.

    On several processes (after ``jax.distributed.initialize()``) each process passes its own
    slice of the global batch (see :func:`shard_batch`) and the same state and key; the step
    turns host values into global arrays itself.

    Args:
      loss_fn: ``loss_fn(params, batch, key) -> (loss scalar, {name: scalar})``, as for ``fit``.
      optimizer: an optax ``GradientTransformation``.
      mesh: a mesh with an axis ``axis`` (see :func:`make_mesh`).
      axis: the batch axis' name.
      ema_decay: as for :func:`jaxrnn.make_train_step` (weight averaging), or None.
      donate: donate the old state's buffers to the new one.

    Returns:
      ``step(state, batch, key) -> (state, loss, metrics)``; every batch leaf's first dimension
      must be divisible by the number of devices on ``axis`` (per process: its local devices),
      checked before tracing. ``step.mesh`` is the mesh.

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
    jitted = jax.jit(
        make_train_step(loss_fn, optimizer, ema_decay),
        in_shardings=(replicated, split, replicated),
        out_shardings=(replicated, replicated, replicated),
        donate_argnums=(0,) if donate else (),
    )
    several = jax.process_count() > 1

    def step(state: TrainState, batch: Any, key: Array):
        if several:
            # host values become global arrays: the state and key as full copies, the batch as
            # this process' slice of the global batch
            if not _is_on(batch, split):
                batch = shard_batch(batch, mesh, axis=axis)
            if not _is_on(state, replicated):
                state = replicate(state, mesh)
            if not _is_on(key, replicated):
                key = replicate(key, mesh)
        else:
            _check_batch(batch, num_shards, axis)
        return jitted(state, batch, key)

    step.mesh = mesh  # type: ignore[attr-defined]  # the trainer can read where the step runs
    return step
