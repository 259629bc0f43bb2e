"""Text pipeline for translation: tokenizer, vocabulary, Tatoeba reader, numbers corpus, bucketing."""

from jaxrnn.text.bucketing import Batch, batches, bucketize, encode_source, make_batch
from jaxrnn.text.corpus import read_tatoeba, split_pairs
from jaxrnn.text.numbers_fr import english_number, french_number, numbers_corpus
from jaxrnn.text.vocab import (
    EOS,
    EOS_ID,
    GO,
    GO_ID,
    NUM,
    PAD,
    PAD_ID,
    SPECIAL_TOKENS,
    UNK,
    UNK_ID,
    URL,
    Vocabulary,
    build_vocabulary,
    detokenize,
    load_vocabulary,
    save_vocabulary,
    tokenize,
    vocabulary_from_tokens,
)

__all__ = [
    "EOS", "EOS_ID", "GO", "GO_ID", "NUM", "PAD", "PAD_ID", "SPECIAL_TOKENS", "UNK", "UNK_ID", "URL",
    "Batch", "Vocabulary", "batches", "bucketize", "build_vocabulary", "detokenize", "encode_source",
    "english_number", "french_number", "load_vocabulary", "make_batch", "numbers_corpus", "read_tatoeba",
    "save_vocabulary", "split_pairs", "tokenize", "vocabulary_from_tokens",
]
