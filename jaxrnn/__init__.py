"""jaxrnn: recurrent neural networks as pure JAX functions.

Cells are values made of pure functions (``init``, ``zero_state``, ``apply``);
unrollers run them through time with ``sequence_length`` masking that matches
TF's ``dynamic_rnn``.
"""

from jaxrnn import seq2seq, text  # noqa: E402  (subpackages: jaxrnn.text, jaxrnn.seq2seq)
from jaxrnn.cells import Cell, LSTMState, basic_cell, gru_cell, lstm_cell
from jaxrnn.checkpoint import latest_checkpoint, restore_checkpoint, save_checkpoint
from jaxrnn.conv_lstm import ConvLSTMState, conv_lstm_cell
from jaxrnn.layers import Embedding, Layer, dense, embedding, freeze, time_distributed
from jaxrnn.parallel import (
    data_parallel_train_step,
    device_cell,
    make_mesh,
    pipelined_unroll,
    place_params,
    replicate,
    shard_batch,
)
from jaxrnn.tbptt import truncated_unroll, truncated_value_and_grad
from jaxrnn.train import NonFiniteLossError, TrainState, fit, make_optimizer, make_train_step
from jaxrnn.tuning import UnrollChoice, clear_unroll_cache, tune_unroll
from jaxrnn.unroll import bidirectional_unroll, dynamic_unroll, reverse_sequence, static_unroll
from jaxrnn.wrappers import dropout, output_projection, residual, stack_cells

__version__ = "0.1.0"

__all__ = [
    "basic_cell",
    "bidirectional_unroll",
    "Cell",
    "clear_unroll_cache",
    "conv_lstm_cell",
    "ConvLSTMState",
    "data_parallel_train_step",
    "dense",
    "device_cell",
    "dropout",
    "dynamic_unroll",
    "Embedding",
    "embedding",
    "fit",
    "freeze",
    "gru_cell",
    "latest_checkpoint",
    "Layer",
    "lstm_cell",
    "LSTMState",
    "make_mesh",
    "make_optimizer",
    "make_train_step",
    "NonFiniteLossError",
    "output_projection",
    "pipelined_unroll",
    "place_params",
    "replicate",
    "residual",
    "restore_checkpoint",
    "reverse_sequence",
    "save_checkpoint",
    "shard_batch",
    "stack_cells",
    "static_unroll",
    "time_distributed",
    "TrainState",
    "truncated_unroll",
    "truncated_value_and_grad",
    "tune_unroll",
    "UnrollChoice",
    "seq2seq",
    "text",
]
