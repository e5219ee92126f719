// tokenizer/tokenizer: text <-> token ids exactly as the model was trained.
//
// Loads a Hugging Face tokenizer.json (byte-level BPE as Qwen2/3, Llama-3,
// DeepSeek-V3; SentencePiece-style BPE with byte fallback as Llama-2 and
// Mistral) or the tokenizer.ggml.* vocabulary of a GGUF file ("llama" and
// "gpt2"), and encodes/decodes with Hugging Face tokenizers' semantics:
// added tokens matched first, normalizer, pre-tokenizer, model,
// post-processor (add_special_tokens), decoder. StreamDecoder turns ids into
// text incrementally, never emitting a broken UTF-8 character.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rkv {

class GgufFile;
using TokenId = int32_t;

struct AddedToken {
  std::string content;
  TokenId id = -1;
  bool special = false;
  bool lstrip = false, rstrip = false, single_word = false, normalized = false;
};

class Tokenizer {
 public:
  // MODEL as the CLI takes it: a folder with tokenizer.json (and optionally
  // tokenizer_config.json), a tokenizer.json file, or a .gguf file.
  static Tokenizer load(const std::string& path);
  // A tokenizer.json file, with the tokenizers library's semantics only.
  static Tokenizer from_json_file(const std::string& path);
  // tokenizer.json text; `source` names it in error messages.
  static Tokenizer from_json(std::string_view json_text, const std::string& source = "tokenizer.json");
  // The tokenizer.ggml.* metadata of a GGUF file (or of one already open).
  static Tokenizer from_gguf(const std::string& path);
  static Tokenizer from_gguf(const GgufFile& file);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // Text must be valid UTF-8 (else rkv::Error). add_special_tokens applies
  // the post-processor (e.g. a leading BOS), as Hugging Face does.
  std::vector<TokenId> encode(std::string_view text, bool add_special_tokens = false) const;
  // Ids outside the vocabulary are skipped (as Hugging Face does).
  std::string decode(std::span<const TokenId> ids, bool skip_special_tokens = false) const;

  int64_t vocab_size() const;                     // largest id + 1
  bool valid_id(TokenId id) const;                // has a token string
  const std::string& token(TokenId id) const;     // vocabulary string ("piece"); rkv::Error if invalid
  std::optional<TokenId> find(std::string_view token) const;
  bool is_special(TokenId id) const;
  const std::vector<AddedToken>& added_tokens() const;

  // From tokenizer_config.json (folder) or GGUF metadata; empty if unknown.
  const std::string& bos_token() const;
  const std::string& eos_token() const;
  std::optional<TokenId> bos_id() const;
  std::optional<TokenId> eos_id() const;
  const std::string& chat_template() const;
  // Where the tokenizer came from (for messages).
  const std::string& source() const;

  struct Impl;

 private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  friend class TokenizerBuilder;
};

// Incremental decoding for generation: push ids one by one; each call returns
// the newly completed text (possibly empty). The concatenation of all
// returned strings plus finish() equals tokenizer.decode(all ids).
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool skip_special_tokens = false);
  std::string push(TokenId id);
  // Text still held back (an incomplete character at the very end).
  std::string finish();

 private:
  const Tokenizer* tokenizer_;
  bool skip_special_;
  std::vector<TokenId> ids_;  // window: context ids (already emitted) + ids not yet emitted
  std::string prefix_;        // decode of the context ids: the part of decode(ids_) already emitted
};

}  // namespace rkv
