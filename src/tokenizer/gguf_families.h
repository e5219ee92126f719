// tokenizer/gguf_families: what a GGUF vocabulary's names mean — the token
// types of tokenizer.ggml.token_type and the pre-tokenizer families of
// tokenizer.ggml.pre, each written as the Hugging Face normalizer and
// pre-tokenizer of the model it is named after. Shared by the GGUF reader
// (gguf_vocab.cc) and the exporter (gguf_export.cc).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace rkv::tok {

// tokenizer.ggml.token_type values.
enum GgufTokenType : int64_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

struct PreFamily {
  nlohmann::json pre_tokenizer;
  nlohmann::json normalizer;  // null: none
  bool ignore_merges = false;
};

// tokenizer.ggml.pre -> its family; rkv::Error naming `where` for a name rkv
// does not know.
PreFamily pre_family(const std::string& pre, const std::string& where);
// One name per distinct family, in the order the exporter tries them.
const std::vector<std::string>& pre_family_names();

// The "llama" (SentencePiece-style) vocabulary's text handling as
// tokenizer.json stages: spaces become U+2581, with one prepended when
// tokenizer.ggml.add_space_prefix (the default); the decoder undoes both.
nlohmann::json spm_normalizer(bool add_space_prefix);
nlohmann::json spm_decoder(bool add_space_prefix);

}  // namespace rkv::tok
