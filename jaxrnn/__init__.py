"""jaxrnn: recurrent neural networks as pure JAX functions.

Cells are values made of pure functions (``init``, ``zero_state``, ``apply``);
unrollers run them through time with ``sequence_length`` masking that matches
TF's ``dynamic_rnn``.
"""

from jaxrnn import seq2seq, text, wavefront  # noqa: E402  (jaxrnn.text, jaxrnn.seq2seq, jaxrnn.wavefront)
from jaxrnn.assoc_scan import LinearRNN, associative_unroll
from jaxrnn.cells import Cell, LayerStack, LSTMState, Recurrence, basic_cell, gru_cell, lstm_cell
from jaxrnn.checkpoint import latest_checkpoint, restore_checkpoint, save_checkpoint
from jaxrnn.conv_lstm import ConvLSTMState, conv_lstm_cell
from jaxrnn.fused import unroll_path
from jaxrnn.layer_norm import layer_norm_lstm_cell
from jaxrnn.layers import Embedding, Layer, dense, embedding, freeze, time_distributed
from jaxrnn.linear_rnn import LRUState, lru, min_gru, min_lstm
from jaxrnn.packing import pack_sequences, packing_plan, segment_final_states
from jaxrnn.padding import PaddedTokens, embed_padded, lengths_from_padding, segment_ids_from_tokens
from jaxrnn.parallel import (
    data_parallel_train_step,
    device_cell,
    make_mesh,
    pipelined_unroll,
    place_params,
    replicate,
    shard_batch,
)
from jaxrnn.predict import load_classifier
from jaxrnn.stacked import init_stacked_bidirectional, stacked_bidirectional_unroll
from jaxrnn.streaming import make_stream_step, reset_state, stream_chunk
from jaxrnn.tbptt import truncated_unroll, truncated_value_and_grad
from jaxrnn.train import NonFiniteLossError, TrainState, fit, make_optimizer, make_train_step
from jaxrnn.tuning import UnrollChoice, clear_unroll_cache, tune_unroll
from jaxrnn.unroll import bidirectional_unroll, dynamic_unroll, reverse_sequence, static_unroll
from jaxrnn.wrappers import dropout, output_projection, residual, stack_cells

__version__ = "0.1.0"

__all__ = [
    "associative_unroll",
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
    "embed_padded",
    "Embedding",
    "embedding",
    "fit",
    "freeze",
    "gru_cell",
    "init_stacked_bidirectional",
    "latest_checkpoint",
    "Layer",
    "layer_norm_lstm_cell",
    "LayerStack",
    "lengths_from_padding",
    "LinearRNN",
    "load_classifier",
    "lru",
    "LRUState",
    "lstm_cell",
    "LSTMState",
    "make_mesh",
    "make_optimizer",
    "make_stream_step",
    "make_train_step",
    "min_gru",
    "min_lstm",
    "NonFiniteLossError",
    "output_projection",
    "pack_sequences",
    "packing_plan",
    "PaddedTokens",
    "pipelined_unroll",
    "Recurrence",
    "place_params",
    "replicate",
    "reset_state",
    "residual",
    "restore_checkpoint",
    "reverse_sequence",
    "save_checkpoint",
    "segment_final_states",
    "segment_ids_from_tokens",
    "shard_batch",
    "stack_cells",
    "stacked_bidirectional_unroll",
    "static_unroll",
    "stream_chunk",
    "time_distributed",
    "TrainState",
    "truncated_unroll",
    "truncated_value_and_grad",
    "tune_unroll",
    "UnrollChoice",
    "unroll_path",
    "seq2seq",
    "text",
    "wavefront",
]
