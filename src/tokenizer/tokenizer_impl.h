// tokenizer/tokenizer_impl: the state behind rkv::Tokenizer, shared by the
// tokenizer.json loader (tokenizer.cc) and the GGUF vocabulary loader
// (gguf_vocab.cc).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rkv/tokenizer/tokenizer.h"
#include "tokenizer/pipeline.h"
#include "tokenizer/string_table.h"

namespace rkv {

namespace tok {

// Leftmost-longest matcher over added-token contents (a byte trie), with
// Hugging Face's lstrip / rstrip / single_word rules.
class AddedMatcher {
 public:
  struct Entry {
    std::string content;
    TokenId id;
    bool lstrip, rstrip, single_word;
  };
  struct Segment {
    size_t start, end;
    TokenId id;  // -1: plain text
  };
  void add(Entry e);
  bool empty() const { return entries_.empty(); }
  // Splits text into plain-text and token segments (in order, covering it).
  void split(std::string_view text, std::vector<Segment>& out) const;

 private:
  int child(int node, unsigned char c) const;
  std::vector<Entry> entries_;
  std::vector<int> terminal_;  // node -> entry index or -1
  std::unordered_map<uint64_t, int> edges_;  // (node << 8 | byte) -> node
  bool first_byte_[256] = {};
};

}  // namespace tok

struct Tokenizer::Impl {
  std::string source;
  std::vector<std::string> vocab;  // id -> token string ("" = no token)
  std::vector<uint8_t> special;    // id -> 1 if a special added token
  std::vector<AddedToken> added;
  tok::StringTable token_to_id;

  std::unique_ptr<tok::Normalizer> normalizer;
  std::unique_ptr<tok::PreTokenizer> pre_tokenizer;
  std::unique_ptr<tok::Model> model;
  std::unique_ptr<tok::Decoder> decoder;
  tok::AddedMatcher raw_matcher, normalized_matcher;
  std::vector<TokenId> post_prefix, post_suffix;  // add_special_tokens=true

  std::string bos_token, eos_token, chat_template;
  std::optional<TokenId> bos_id, eos_id;

  // After vocab / added / normalizer are set: builds the lookup tables and
  // the added-token matchers.
  void finalize();
  void encode_text(std::string_view text, bool at_start, std::vector<TokenId>& out) const;
};

class TokenizerBuilder {
 public:
  static Tokenizer make(std::unique_ptr<Tokenizer::Impl> impl) { return Tokenizer(std::move(impl)); }
  static const Tokenizer::Impl& impl(const Tokenizer& t) { return *t.impl_; }
};

}  // namespace rkv
