// tokenizer/pipeline: the internal stages of a tokenizer, in the order text
// flows through them (Hugging Face tokenizers' model):
//   added tokens -> Normalizer -> PreTokenizer -> Model -> post-processor,
// and back: ids -> tokens -> Decoder -> text. Built from tokenizer.json
// objects (make_* below) or from GGUF metadata (gguf_vocab.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rkv::tok {

using TokenId = int32_t;

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(std::string& s) const = 0;
};

// A piece of text on its way to the model; at_start: it begins at offset 0 of
// the original input (Metaspace's prepend_scheme "first" needs this).
struct Piece {
  std::string text;
  bool at_start = false;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  virtual void split(std::vector<Piece>& pieces) const = 0;
  // True when the pieces leave as GPT-2 byte-level text: the model then works
  // on raw bytes (the byte -> code point mapping is folded into its vocab).
  virtual bool byte_level() const { return false; }
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
};

class Model {
 public:
  virtual ~Model() = default;
  // Appends the ids of one pre-tokenized piece (already byte-level raw bytes
  // when the model was built for byte-level input).
  virtual void encode(std::string_view piece, std::vector<TokenId>& out) const = 0;
};

// Split behaviours shared by Split, Digits, Punctuation, Metaspace.
enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };
// ranges: sorted, non-overlapping [start, end) matches inside s.
void split_by_matches(const Piece& s, const std::vector<std::pair<size_t, size_t>>& ranges, SplitBehavior behavior,
                      bool invert, std::vector<Piece>& out);

// Factories from tokenizer.json objects; `where` names the place for errors.
// A null JSON value gives nullptr (no stage).
std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& j, const std::string& where);
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& j, const std::string& where);
std::unique_ptr<Decoder> make_decoder(const nlohmann::json& j, const std::string& where);

// BPE (tokenizer.json "BPE" and GGUF "gpt2"): rank-ordered merges.
struct BpeConfig {
  std::vector<std::string> vocab;  // id -> token string ("" for holes)
  std::vector<std::pair<std::string, std::string>> merges;  // in rank order
  bool byte_level = false;     // input pieces are raw bytes; vocab is in the GPT-2 alphabet
  bool byte_fallback = false;  // unknown characters become <0xXX> tokens
  bool fuse_unk = false;
  bool ignore_merges = false;  // a piece that is itself in the vocab is one token
  std::optional<TokenId> unk;
  std::string continuing_subword_prefix, end_of_word_suffix;
};
std::unique_ptr<Model> make_bpe(const BpeConfig& config, const std::string& where);

// SentencePiece-style BPE by scores (GGUF "llama"): merge the adjacent pair
// whose concatenation has the highest score; unknown characters fall back to
// <0xXX> byte tokens, else unk.
struct SpmConfig {
  std::vector<std::string> vocab;
  std::vector<float> scores;
  std::vector<bool> mergeable;  // normal / user-defined pieces
  std::optional<TokenId> unk;
};
std::unique_ptr<Model> make_spm(SpmConfig config, const std::string& where);

bool is_unicode_whitespace(uint32_t cp);

}  // namespace rkv::tok
