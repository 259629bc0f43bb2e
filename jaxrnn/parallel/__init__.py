"""Across devices: data parallelism, a layer-per-device pipelined deep RNN, and layer placement."""

from jaxrnn.parallel.data_parallel import data_parallel_train_step, make_mesh, replicate, shard_batch
from jaxrnn.parallel.pipeline import pipelined_unroll
from jaxrnn.parallel.placement import device_cell, place_params

__all__ = [
    "data_parallel_train_step",
    "device_cell",
    "make_mesh",
    "pipelined_unroll",
    "place_params",
    "replicate",
    "shard_batch",
]
