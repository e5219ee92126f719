// tokenizer/gguf_export: a Hugging Face tokenizer (tokenizer.json,
// tokenizer_config.json, chat_template.jinja) as the tokenizer.ggml.*
// metadata of a GGUF file — what llama.cpp's converter writes — such that
// Tokenizer::from_gguf on the result encodes and decodes like
// Tokenizer::load on the folder.
//
// Byte-level BPE becomes model "gpt2" (tokens, merges, token types) with the
// pre-tokenizer family (tokenizer.ggml.pre) whose normalizer and
// pre-tokenizer split a set of probe texts exactly as the tokenizer.json's
// do. SentencePiece-style BPE (U+2581 for spaces, byte fallback) becomes
// model "llama" with scores from the merge ranks, after checking that
// merging by score is merging by rank for this vocabulary. Added tokens are
// control tokens when special (or when they look special, as llama.cpp
// decides: <|...|>, <｜...｜>, <pad>, <mask>, ...), user-defined otherwise;
// ids without a token up to the model's embedding rows are "[PADn]"
// (unused). BOS / EOS / UNK / PAD ids, add_bos / add_eos (from the
// post-processor as loaded) and the chat template are carried over.
// Before returning, the vocabulary is loaded back and must give the
// folder's ids (with and without special tokens) and decoded text for
// probe texts and every added token in context. Whatever cannot be
// expressed is an rkv::Error naming it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rkv/formats/gguf.h"
#include "rkv/tokenizer/tokenizer.h"

namespace rkv {

struct GgufVocabOptions {
  int64_t n_vocab = 0;                   // the model's embedding rows (0: the tokenizer's size)
  std::optional<TokenId> bos_id, eos_id;  // config.json's, for a tokenizer_config.json naming none
};

struct GgufVocab {
  std::vector<GgufValue> metadata;  // each with .key: tokenizer.ggml.*, tokenizer.chat_template
  std::string model, pre;           // tokenizer.ggml.model / .pre
  int64_t n_tokens = 0, n_merges = 0, n_control = 0, n_user_defined = 0, n_padding = 0;
  std::optional<TokenId> bos_id, eos_id;
  std::vector<std::string> notes;  // what the GGUF says differently (for the user)

  void write_to(GgufWriter& writer) const {
    for (const GgufValue& v : metadata) writer.set(v.key, v);
  }
};

// `folder` holds tokenizer.json (and optionally tokenizer_config.json,
// chat_template.jinja).
GgufVocab export_gguf_vocab(const std::string& folder, const GgufVocabOptions& options = {});

// llama.cpp's rule for added tokens that are control tokens although not
// marked special.
bool token_looks_special(const std::string& token);

}  // namespace rkv
