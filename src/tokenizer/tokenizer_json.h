// tokenizer/tokenizer_json: tokenizer.json read once into its document and
// its two large tables, for the loader (tokenizer.cc) and the GGUF
// vocabulary export (gguf_export.cc), which needs the merges the loaded
// model no longer keeps as text.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rkv::tok {

struct TokenizerJson {
  nlohmann::json doc;               // the file without model.vocab / model.merges (null there)
  std::vector<std::string> vocab;   // model.vocab: id -> token ("" = no token with that id)
  std::vector<std::pair<std::string, std::string>> merges;  // model.merges in rank order
};

// Parses tokenizer.json text (model type BPE); rkv::Error naming `source`
// for malformed JSON, a non-BPE model, bad or far-out-of-range ids.
TokenizerJson read_tokenizer_json(std::string_view text, const std::string& source);

}  // namespace rkv::tok
