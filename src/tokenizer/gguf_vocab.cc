// GGUF vocabularies (tokenizer.ggml.*): "llama" (SentencePiece pieces with
// scores, byte fallback, "▁" for spaces) and "gpt2" (byte-level BPE with
// merges; the pre-tokenizer comes from tokenizer.ggml.pre, one of the
// families below, written as the tokenizer.json pre_tokenizer of the model
// the family is named after).
#include <nlohmann/json.hpp>

#include "rkv/core/error.h"
#include "rkv/formats/gguf.h"
#include "tokenizer/gguf_families.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode.h"

namespace rkv {

using nlohmann::json;

namespace tok {

namespace {

json split(const std::string& regex) {
  return {{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}, {"invert", false}};
}
json byte_level(bool use_regex) {
  return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", use_regex}};
}
json sequence(std::vector<json> parts) { return {{"type", "Sequence"}, {"pretokenizers", parts}}; }

const char* kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// CJK ideographs U+4E00-U+9FA5, U+0800-U+4E00 and Hangul U+AC00-U+D7FF.
const char* kCjkRuns = R"([\x{4E00}-\x{9FA5}\x{0800}-\x{4E00}\x{AC00}-\x{D7FF}]+)";

}  // namespace

// tokenizer.ggml.pre -> the Hugging Face pre-tokenizer of that family.
PreFamily pre_family(const std::string& pre, const std::string& where) {
  if (pre == "default" || pre == "gpt-2" || pre == "gpt2" || pre == "olmo" || pre == "jais")
    return {byte_level(true), json(), false};
  if (pre == "mpt" || pre == "gpt-neox") return {byte_level(true), json{{"type", "NFC"}}, false};
  if (pre == "starcoder" || pre == "refact")
    return {sequence({{{"type", "Digits"}, {"individual_digits", true}}, byte_level(true)}), json(), false};
  if (pre == "llama-bpe" || pre == "llama3" || pre == "smaug-bpe")
    return {sequence({split(kLlama3Regex), byte_level(false)}), json(), true};
  if (pre == "qwen2") return {sequence({split(kQwen2Regex), byte_level(false)}), json{{"type", "NFC"}}, false};
  if (pre == "falcon")
    return {sequence({{{"type", "Punctuation"}, {"behavior", "Contiguous"}},
                      byte_level(true),
                      {{"type", "Digits"}, {"individual_digits", false}},
                      split("[0-9][0-9][0-9]")}),
            json(), false};
  if (pre == "deepseek-coder")
    return {sequence({split("[\r\n]"), split(R"(\s?\p{L}+)"), split(R"(\s?\p{P}+)"), split(kCjkRuns),
                      {{"type", "Digits"}, {"individual_digits", true}}, byte_level(false)}),
            json(), false};
  if (pre == "deepseek-llm")
    // Letters with case (the tokenizer.json spells them out as ranges), ASCII
    // and full-width punctuation, trailing whitespace, CJK runs, digits.
    return {sequence({split("[\r\n]"), split(R"(\s?[A-Za-z\p{Lu}\p{Ll}\p{Lt}]+)"),
                      split(R"(\s?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}]+)"),
                      split(R"(\s+$)"), split(kCjkRuns), {{"type", "Digits"}, {"individual_digits", true}},
                      byte_level(false)}),
            json(), false};
  if (pre == "deepseek-v3")
    return {sequence({split(R"(\p{N}{1,3})"), split(R"([\x{4E00}-\x{9FA5}\x{3040}-\x{309F}\x{30A0}-\x{30FF}]+)"),
                      split("[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| "
                            "?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"),
                      byte_level(false)}),
            json(), false};
  fail(where, ": unsupported tokenizer.ggml.pre '", pre,
       "' (supported: default, gpt-2, mpt, starcoder, refact, llama-bpe, qwen2, falcon, deepseek-coder, deepseek-llm, "
       "deepseek-v3)");
}

json spm_normalizer(bool add_space_prefix) {
  json norm = {{"type", "Sequence"}, {"normalizers", json::array()}};
  if (add_space_prefix) norm["normalizers"].push_back({{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}});
  norm["normalizers"].push_back({{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xE2\x96\x81"}});
  return norm;
}

json spm_decoder(bool add_space_prefix) {
  return {{"type", "Sequence"},
          {"decoders",
           {{{"type", "Replace"}, {"pattern", {{"String", "\xE2\x96\x81"}}}, {"content", " "}},
            {{"type", "ByteFallback"}},
            {{"type", "Fuse"}},
            {{"type", "Strip"}, {"content", " "}, {"start", add_space_prefix ? 1 : 0}, {"stop", 0}}}}};
}

const std::vector<std::string>& pre_family_names() {
  static const std::vector<std::string> names = {"llama-bpe",      "qwen2",     "deepseek-v3", "deepseek-llm",
                                                 "deepseek-coder", "gpt-2",     "mpt",         "starcoder",
                                                 "falcon"};
  return names;
}

}  // namespace tok

namespace {

using namespace tok;

std::optional<TokenId> optional_id(const GgufFile& f, const std::string& key, size_t n) {
  const GgufValue* v = f.find(key);
  if (!v) return std::nullopt;
  int64_t id = v->as_int();
  if (id < 0 || static_cast<size_t>(id) >= n) return std::nullopt;  // e.g. -1 / 0xFFFFFFFF = none
  return static_cast<TokenId>(id);
}

}  // namespace

Tokenizer Tokenizer::from_gguf(const std::string& path) {
  GgufFile f(path);
  return from_gguf(f);
}

Tokenizer Tokenizer::from_gguf(const GgufFile& f) {
  const std::string where = f.path();
  auto t = std::make_unique<Impl>();
  t->source = where;
  RKV_CHECK(f.has("tokenizer.ggml.model"), where, ": no tokenizer.ggml.model (not a GGUF with a vocabulary)");
  const std::string model = f.get("tokenizer.ggml.model").as_string();
  const GgufValue& tokens_value = f.get("tokenizer.ggml.tokens");
  RKV_CHECK(tokens_value.is_array() && tokens_value.array_type() == GgufType::STRING, where,
            ": tokenizer.ggml.tokens must be an array of strings");
  const std::vector<std::string>& tokens = tokens_value.strings();
  const size_t n = tokens.size();
  RKV_CHECK(n > 0 && n < (size_t{1} << 24), where, ": tokenizer.ggml.tokens has ", n, " entries");
  std::vector<int64_t> types(n, kNormal);
  if (const GgufValue* v = f.find("tokenizer.ggml.token_type")) {
    types = v->ints();
    RKV_CHECK(types.size() == n, where, ": tokenizer.ggml.token_type has ", types.size(), " entries, tokens ", n);
  }
  for (size_t i = 0; i < n; ++i)
    RKV_CHECK(tok::utf8_valid(tokens[i]), where, ": token ", i, " is not valid UTF-8");

  t->vocab = tokens;
  for (size_t i = 0; i < n; ++i) {
    if (tokens[i].empty()) continue;
    if (types[i] == kControl || types[i] == kUserDefined) {
      AddedToken a;
      a.content = tokens[i];
      a.id = static_cast<TokenId>(i);
      a.special = types[i] == kControl;
      a.normalized = false;
      t->added.push_back(std::move(a));
    }
  }
  std::optional<TokenId> unk = optional_id(f, "tokenizer.ggml.unknown_token_id", n);
  t->bos_id = optional_id(f, "tokenizer.ggml.bos_token_id", n);
  t->eos_id = optional_id(f, "tokenizer.ggml.eos_token_id", n);

  bool add_bos = false, add_eos = false;
  if (model == "llama") {
    if (!unk)
      for (size_t i = 0; i < n && !unk; ++i)
        if (types[i] == kUnknown) unk = static_cast<TokenId>(i);
    tok::SpmConfig cfg;
    cfg.vocab = tokens;
    cfg.scores.assign(n, 0.0f);
    if (const GgufValue* v = f.find("tokenizer.ggml.scores")) {
      cfg.scores = v->floats();
      RKV_CHECK(cfg.scores.size() == n, where, ": tokenizer.ggml.scores has ", cfg.scores.size(), " entries, tokens ",
                n);
    }
    cfg.mergeable.resize(n);
    for (size_t i = 0; i < n; ++i) cfg.mergeable[i] = types[i] == kNormal || types[i] == kUserDefined;
    cfg.unk = unk;
    t->model = tok::make_spm(std::move(cfg), where);
    bool space_prefix = true;
    if (const GgufValue* v = f.find("tokenizer.ggml.add_space_prefix")) space_prefix = v->as_bool();
    t->normalizer = tok::make_normalizer(spm_normalizer(space_prefix), where + ": normalizer");
    t->decoder = tok::make_decoder(spm_decoder(space_prefix), where + ": decoder");
    add_bos = true;
  } else if (model == "gpt2") {
    tok::BpeConfig cfg;
    cfg.vocab = tokens;
    for (size_t i = 0; i < n; ++i)  // added tokens are matched before the model, not by it
      if (types[i] == kControl || types[i] == kUserDefined) cfg.vocab[i].clear();
    const GgufValue& merges = f.get("tokenizer.ggml.merges");
    RKV_CHECK(merges.is_array() && merges.array_type() == GgufType::STRING, where,
              ": tokenizer.ggml.merges must be an array of strings");
    cfg.merges.reserve(merges.array_size());
    for (const std::string& m : merges.strings()) {
      size_t sp = m.find(' ', 1);
      RKV_CHECK(sp != std::string::npos, where, ": merge '", m, "' has no space");
      cfg.merges.emplace_back(m.substr(0, sp), m.substr(sp + 1));
    }
    std::string pre = f.get_string("tokenizer.ggml.pre", "default");
    PreFamily family = pre_family(pre, where);
    t->pre_tokenizer = tok::make_pre_tokenizer(family.pre_tokenizer, where + ": pre-tokenizer '" + pre + "'");
    t->normalizer = tok::make_normalizer(family.normalizer, where + ": normalizer");
    cfg.byte_level = true;
    cfg.ignore_merges = family.ignore_merges;
    cfg.unk = unk;
    t->model = tok::make_bpe(std::move(cfg), where);
    t->decoder = tok::make_decoder(json{{"type", "ByteLevel"}}, where + ": decoder");
  } else {
    fail(where, ": unsupported tokenizer.ggml.model '", model, "' (supported: llama, gpt2)");
  }
  if (const GgufValue* v = f.find("tokenizer.ggml.add_bos_token")) add_bos = v->as_bool();
  if (const GgufValue* v = f.find("tokenizer.ggml.add_eos_token")) add_eos = v->as_bool();
  if (add_bos && t->bos_id) t->post_prefix.push_back(*t->bos_id);
  if (add_eos && t->eos_id) t->post_suffix.push_back(*t->eos_id);
  if (t->bos_id) t->bos_token = tokens[static_cast<size_t>(*t->bos_id)];
  if (t->eos_id) t->eos_token = tokens[static_cast<size_t>(*t->eos_id)];
  t->chat_template = f.get_string("tokenizer.chat_template", "");
  t->finalize();
  return TokenizerBuilder::make(std::move(t));
}

}  // namespace rkv
