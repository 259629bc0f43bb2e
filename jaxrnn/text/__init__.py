"""Text pipeline: tokenizer, vocabulary, Tatoeba reader, numbers corpus, bucketing; WordNet and word2vec."""

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
from jaxrnn.text.word2vec import Word2VecConfig, Word2VecParams, train_word2vec
from jaxrnn.text.word2vec_format import load_word2vec_format, save_word2vec_format, word_vectors
from jaxrnn.text.wordnet import gloss_corpus, read_wordnet

__all__ = [
    "EOS",
    "EOS_ID",
    "GO",
    "GO_ID",
    "NUM",
    "PAD",
    "PAD_ID",
    "SPECIAL_TOKENS",
    "UNK",
    "UNK_ID",
    "URL",
    "Batch",
    "Vocabulary",
    "Word2VecConfig",
    "Word2VecParams",
    "batches",
    "bucketize",
    "build_vocabulary",
    "detokenize",
    "encode_source",
    "english_number",
    "french_number",
    "gloss_corpus",
    "load_vocabulary",
    "load_word2vec_format",
    "make_batch",
    "numbers_corpus",
    "read_tatoeba",
    "read_wordnet",
    "save_vocabulary",
    "save_word2vec_format",
    "split_pairs",
    "tokenize",
    "train_word2vec",
    "vocabulary_from_tokens",
    "word_vectors",
]
