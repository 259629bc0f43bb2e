"""Encoder-decoder translation: model, attention, losses, greedy and beam-search decoding, translator."""

from jaxrnn.seq2seq.alignment import Alignment, align, attention_weights
from jaxrnn.seq2seq.attention import Attention, attend, bahdanau_attention, luong_attention, source_mask
from jaxrnn.seq2seq.decoding import Decoded, beam_search, gnmt_length_penalty, greedy_decode
from jaxrnn.seq2seq.losses import (
    SampledValues,
    log_uniform_probability,
    log_uniform_sample,
    sampled_softmax_loss,
    weighted_cross_entropy,
)
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
    teacher_forced,
    teacher_forced_hidden,
)
from jaxrnn.seq2seq.training import epoch_batches, train_translator, translator_loss
from jaxrnn.seq2seq.translator import (
    Translator,
    TranslatorConfig,
    evaluate,
    load_translator,
    save_translator,
    score_translations,
    translate,
)
from jaxrnn.text.word2vec_format import load_word2vec_rows

__all__ = [
    "Alignment",
    "Attention",
    "Decoded",
    "DecoderState",
    "Memory",
    "SampledValues",
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
    "epoch_batches",
    "evaluate",
    "gnmt_length_penalty",
    "greedy_decode",
    "init_params",
    "initial_decoder_state",
    "load_translator",
    "load_word2vec_rows",
    "log_uniform_probability",
    "log_uniform_sample",
    "logits_teacher_forced",
    "loss_fn",
    "luong_attention",
    "sampled_softmax_loss",
    "save_translator",
    "score_translations",
    "seq2seq_model",
    "source_mask",
    "teacher_forced",
    "teacher_forced_hidden",
    "train_translator",
    "translate",
    "translator_loss",
    "weighted_cross_entropy",
]
