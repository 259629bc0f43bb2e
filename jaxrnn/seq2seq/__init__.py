"""Encoder-decoder translation: model, attention, losses, greedy and beam-search decoding, translator."""

from jaxrnn.seq2seq.alignment import Alignment, align, attention_weights
from jaxrnn.seq2seq.attention import Attention, attend, bahdanau_attention, luong_attention, source_mask
from jaxrnn.seq2seq.decoding import Decoded, beam_search, greedy_decode
from jaxrnn.seq2seq.losses import sampled_softmax_loss, weighted_cross_entropy
from jaxrnn.seq2seq.model import (
    DecoderState,
    Memory,
    Seq2Seq,
    decoder_hidden,
    decoder_step,
    encode,
    init_params,
    initial_decoder_state,
    logits_teacher_forced,
    loss_fn,
    seq2seq_model,
)
from jaxrnn.seq2seq.translator import (
    Translator,
    TranslatorConfig,
    evaluate,
    load_translator,
    save_translator,
    train_translator,
    translate,
)

__all__ = [
    "Alignment",
    "Attention",
    "Decoded",
    "DecoderState",
    "Memory",
    "Seq2Seq",
    "Translator",
    "TranslatorConfig",
    "align",
    "attend",
    "attention_weights",
    "bahdanau_attention",
    "beam_search",
    "decoder_hidden",
    "decoder_step",
    "encode",
    "evaluate",
    "greedy_decode",
    "init_params",
    "initial_decoder_state",
    "load_translator",
    "logits_teacher_forced",
    "loss_fn",
    "luong_attention",
    "sampled_softmax_loss",
    "save_translator",
    "seq2seq_model",
    "source_mask",
    "train_translator",
    "translate",
    "weighted_cross_entropy",
]
