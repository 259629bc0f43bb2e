"""jaxrnn: recurrent neural networks as pure JAX functions.

Cells are values made of pure functions (``init``, ``zero_state``, ``apply``);
unrollers run them through time with ``sequence_length`` masking that matches
TF's ``dynamic_rnn``.
"""

from jaxrnn import seq2seq, text  # noqa: E402  (subpackages: jaxrnn.text, jaxrnn.seq2seq)
from jaxrnn.cells import Cell, LSTMState, basic_cell, gru_cell, lstm_cell
from jaxrnn.layers import Embedding, Layer, dense, embedding, freeze, time_distributed
from jaxrnn.tbptt import truncated_unroll, truncated_value_and_grad
from jaxrnn.unroll import bidirectional_unroll, dynamic_unroll, reverse_sequence, static_unroll
from jaxrnn.wrappers import dropout, output_projection, residual, stack_cells

__version__ = "0.1.0"

__all__ = [
    "Embedding",
    "Layer",
    "dense",
    "embedding",
    "dropout",
    "freeze",
    "residual",
    "truncated_unroll",
    "truncated_value_and_grad",
    "output_projection",
    "stack_cells",
    "time_distributed",
    "Cell",
    "LSTMState",
    "basic_cell",
    "bidirectional_unroll",
    "dynamic_unroll",
    "gru_cell",
    "lstm_cell",
    "reverse_sequence",
    "static_unroll",
    "seq2seq",
    "text",
]
