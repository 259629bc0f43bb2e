"""Text pipeline: tokenizer, vocabulary, Tatoeba and gettext readers, numbers corpus, bucketing;
WordNet and word2vec."""

from jaxrnn.text.bucketing import Batch, auto_buckets, batches, bucketize, encode_source, make_batch
from jaxrnn.text.corpus import read_tatoeba, source_hash, split_pairs
from jaxrnn.text.gettext_corpus import clean_message, gettext_pairs, read_mo
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
    "auto_buckets",
    "batches",
    "bucketize",
    "build_vocabulary",
    "clean_message",
    "detokenize",
    "encode_source",
    "english_number",
    "french_number",
    "gettext_pairs",
    "gloss_corpus",
    "load_vocabulary",
    "load_word2vec_format",
    "make_batch",
    "numbers_corpus",
    "read_mo",
    "read_tatoeba",
    "read_wordnet",
    "save_vocabulary",
    "save_word2vec_format",
    "source_hash",
    "split_pairs",
    "tokenize",
    "train_word2vec",
    "vocabulary_from_tokens",
    "word_vectors",
]
