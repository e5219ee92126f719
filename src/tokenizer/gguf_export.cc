// Hugging Face tokenizer -> GGUF tokenizer.ggml.* metadata (see
// rkv/tokenizer/gguf_export.h).
#include "rkv/tokenizer/gguf_export.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>

#include "rkv/core/buffer.h"
#include "rkv/core/error.h"
#include "rkv/tokenizer/chat_template.h"
#include "tokenizer/gguf_families.h"
#include "tokenizer/pipeline.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/tokenizer_json.h"
#include "tokenizer/unicode.h"

namespace rkv {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Texts that tell the pre-tokenizer families apart (digit grouping, case of
// contractions, CJK / kana / Hangul runs, punctuation, whitespace runs,
// combining marks under NFC) and exercise the model on every script.
const std::vector<std::string>& probe_texts() {
  static const std::vector<std::string> texts = {
      "Hello world",
      " Hello World! How are you?",
      "I'm sure you'RE right; they'll see, we'VE done it. He's here, 'tis",
      "1 12 123 1234 12345 123456 3.14159 -42 1,000,000 2024-06-01 0x1F",
      "abc123def 4score and 7years",
      "  leading and trailing spaces  ",
      "tabs\tand\t\tmore\ttabs",
      "line one\nline two\n\nline four\r\nwindows\r\n",
      "   \n\n   \t \n",
      "Punctuation!!! ... ??? --- (brackets) [square] {curly} <angle> \"quotes\" 'single' `tick`",
      "def f(x):\n    return x ** 2  # comment\n\nprint(f(3))",
      "https://example.com/path?q=1&r=two#frag user@mail.org",
      "\xe4\xbd\xa0\xe5\xa5\xbd\xef\xbc\x8c\xe4\xb8\x96\xe7\x95\x8c\xef\xbc\x81\xe6\x88\x91\xe4\xbb\xac"
      "\xe6\x9d\xa5\xe8\xae\xa1\xe7\xae\x97 12345 \xe3\x80\x82",
      "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf\xe3\x80\x81\xe3\x82\xab\xe3\x82\xbf"
      "\xe3\x82\xab\xe3\x83\x8a\xe3\x81\xa8\xe6\xbc\xa2\xe5\xad\x97",
      "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4 \xed\x85\x8d\xec\x8a\xa4\xed\x8a\xb8",
      "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82, \xd0\xbc\xd0\xb8\xd1\x80! \xce\x93\xce\xb5\xce\xb9"
      "\xce\xac \xcf\x83\xce\xbf\xcf\x85",
      "\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7 \xe0\xa4\xa8\xe0\xa4\xae\xe0\xa4\xb8\xe0\xa5\x8d\xe0\xa4\xa4"
      "\xe0\xa5\x87 \xe0\xb8\xaa\xe0\xb8\xa7\xe0\xb8\xb1\xe0\xb8\xaa\xe0\xb8\x94\xe0\xb8\xb5",
      "caf\xc3\xa9 na\xc3\xafve e\xcc\x81 A\xcc\x8a \xef\xac\x81 \xe2\x84\xab",
      "emoji \xf0\x9f\x98\x80\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd \xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9"
      "\xe2\x80\x8d\xf0\x9f\x91\xa7 \xe2\x9c\x85",
      "\xef\xbc\xa1\xef\xbc\xa2\xef\xbc\xa3\xef\xbc\x81 \xe2\x80\x9c" "curly\xe2\x80\x9d \xe2\x80\x98s\xe2\x80\x99 "
      "\xe2\x80\x94 \xe2\x80\xa6 \xc2\xa0nbsp \xe2\x88\x91\xe2\x88\xab\xe2\x88\x9a \xe2\x82\xac" "100",
      "$$\\frac{a}{b} = \\sqrt{x^2 + y_1}$$ \\boxed{42}",
      "<think>\nLet me check: 17 * 23 = 391.\n</think>\nThe answer is \\boxed{391}.",
      "MiXeD CaSe WORDS and ALLCAPS, O'Neil's McDonald's",
      "a",
      " ",
      "\n",
      "",
  };
  return texts;
}

std::string show(const std::string& text) {
  return json(text).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string show_ids(const std::vector<TokenId>& ids) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size() && i < 24; ++i) s += (i ? "," : "") + std::to_string(ids[i]);
  return s + (ids.size() > 24 ? ",...]" : "]");
}

// What a normalizer + pre-tokenizer make of `text`: the pieces the model sees.
std::vector<std::string> pieces_of(const tok::Normalizer* norm, const tok::PreTokenizer* pre, const std::string& text) {
  std::string s = text;
  if (norm) norm->normalize(s);
  std::vector<tok::Piece> pieces;
  if (!s.empty()) pieces.push_back({s, true});
  if (pre) pre->split(pieces);
  std::vector<std::string> out;
  for (auto& p : pieces)
    if (!p.text.empty()) out.push_back(std::move(p.text));
  return out;
}

// True when the two (normalizer, pre-tokenizer) pairs split every probe alike.
bool same_pieces(const json& norm_a, const json& pre_a, const json& norm_b, const json& pre_b, const std::string& where) {
  auto na = tok::make_normalizer(norm_a, where), nb = tok::make_normalizer(norm_b, where);
  auto pa = tok::make_pre_tokenizer(pre_a, where), pb = tok::make_pre_tokenizer(pre_b, where);
  for (const std::string& t : probe_texts())
    if (pieces_of(na.get(), pa.get(), t) != pieces_of(nb.get(), pb.get(), t)) return false;
  return true;
}

json member(const json& doc, const char* key) {
  auto it = doc.find(key);
  return it == doc.end() ? json() : *it;
}

bool is_byte_token(const std::string& t) {
  auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); };
  return t.size() == 6 && t.compare(0, 3, "<0x") == 0 && hex(t[3]) && hex(t[4]) && t[5] == '>';
}

// SentencePiece-style vocabulary: the score of each token is minus the rank
// of the first merge that makes it. Merging by highest score (what a GGUF
// "llama" vocabulary does) is merging by lowest rank (what BPE does) when
// (1) every way to split a token into two tokens is a merge and (2) the
// merges making one token have consecutive ranks; anything else is an error.
std::vector<float> scores_from_merges(const tok::TokenizerJson& raw, const Tokenizer& ref,
                                      const std::vector<int64_t>& types, const std::string& where) {
  const size_t n = types.size();
  std::vector<int64_t> first(n, -1), last(n, -1), count(n, 0);
  std::unordered_set<std::string> merge_keys;
  merge_keys.reserve(raw.merges.size() * 2);
  for (size_t r = 0; r < raw.merges.size(); ++r) {
    const auto& [a, b] = raw.merges[r];
    const std::string t = a + b;
    std::optional<TokenId> id = ref.find(t);
    RKV_CHECK(id && (types[static_cast<size_t>(*id)] == tok::kNormal), where, ": merge ", show(a + " " + b),
              " makes ", show(t), ", which is not a plain vocabulary token (a GGUF \"llama\" vocabulary cannot express it)");
    const size_t i = static_cast<size_t>(*id);
    if (first[i] < 0) first[i] = static_cast<int64_t>(r);
    last[i] = static_cast<int64_t>(r);
    ++count[i];
    merge_keys.insert(a + '\0' + b);
  }
  std::vector<float> scores(n, 0.0f);
  for (size_t i = 0; i < n; ++i) {
    if (count[i] == 0) continue;
    RKV_CHECK(last[i] - first[i] + 1 == count[i], where, ": the merges making ", show(ref.token(static_cast<TokenId>(i))),
              " are not consecutive (ranks ", first[i], " to ", last[i],
              "): scores cannot order them as the merges do (a GGUF \"llama\" vocabulary cannot express it)");
    scores[i] = -static_cast<float>(first[i] + 1);
  }
  auto symbol = [&](std::string_view s) {  // a vocabulary token, or one character (a symbol before any merge)
    if (ref.find(s)) return true;
    return tok::utf8_valid_length(s, 0) == static_cast<int>(s.size());
  };
  for (size_t i = 0; i < n; ++i) {
    if (types[i] != tok::kNormal && types[i] != tok::kUserDefined) continue;
    const std::string& t = ref.token(static_cast<TokenId>(i));
    for (size_t k = 0; k < t.size();) {
      int len = tok::utf8_valid_length(t, k);
      k += static_cast<size_t>(std::max(len, 1));
      if (k >= t.size()) break;
      std::string_view a(t.data(), k), b(t.data() + k, t.size() - k);
      if (!symbol(a) || !symbol(b)) continue;
      RKV_CHECK(merge_keys.count(std::string(a) + '\0' + std::string(b)), where, ": ", show(t), " = ",
                show(std::string(a)), " + ", show(std::string(b)),
                " but no merge makes it so (merging by score would; a GGUF \"llama\" vocabulary cannot express it)");
    }
  }
  return scores;
}

void check_round_trip(const Tokenizer& ref, const Tokenizer& back, const std::vector<std::string>& texts,
                      const std::string& where) {
  for (const std::string& text : texts) {
    for (bool add : {false, true}) {
      std::vector<TokenId> a = ref.encode(text, add), b = back.encode(text, add);
      RKV_CHECK(a == b, where, ": the GGUF vocabulary would not tokenize like tokenizer.json: ", show(text),
                add ? " (with special tokens)" : "", " gives ", show_ids(b), " instead of ", show_ids(a));
      if (add) continue;
      std::string da = ref.decode(a), db = back.decode(a);
      RKV_CHECK(da == db, where, ": the GGUF vocabulary would not decode like tokenizer.json: ", show_ids(a), " gives ",
                show(db), " instead of ", show(da));
    }
  }
}

GgufValue with_key(std::string key, GgufValue v) {
  v.key = std::move(key);
  return v;
}

}  // namespace

bool token_looks_special(const std::string& t) {
  auto wraps = [&](std::string_view open, std::string_view close) {
    return t.size() >= open.size() + close.size() && t.compare(0, open.size(), open) == 0 &&
           t.compare(t.size() - close.size(), close.size(), close) == 0;
  };
  return t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]" || wraps("<|", "|>") ||
         wraps("<\xef\xbd\x9c", "\xef\xbd\x9c>") || wraps("<unused", ">");
}

GgufVocab export_gguf_vocab(const std::string& folder, const GgufVocabOptions& options) {
  const fs::path dir(folder);
  const std::string json_path = (dir / "tokenizer.json").string();
  RKV_CHECK(fs::exists(json_path), folder, ": no tokenizer.json");
  const std::string where = json_path;
  Tokenizer ref = Tokenizer::load(folder);
  const Tokenizer::Impl& impl = TokenizerBuilder::impl(ref);
  tok::TokenizerJson raw = tok::read_tokenizer_json(read_text_file(json_path), json_path);
  const json& model = raw.doc["model"];
  const json norm_json = member(raw.doc, "normalizer"), pre_json = member(raw.doc, "pre_tokenizer");

  GgufVocab out;
  const int64_t n_ref = ref.vocab_size();
  RKV_CHECK(options.n_vocab == 0 || n_ref <= options.n_vocab, folder, ": the tokenizer has token ids up to ", n_ref - 1,
            " but the model's embedding has only ", options.n_vocab, " rows");
  const int64_t n = std::max(n_ref, options.n_vocab);
  for (const AddedToken& a : ref.added_tokens())
    RKV_CHECK(!a.lstrip && !a.rstrip && !a.single_word, where, ": added token ", show(a.content),
              " strips whitespace or matches single words only (lstrip / rstrip / single_word), which GGUF cannot express");

  const bool byte_level = impl.pre_tokenizer && impl.pre_tokenizer->byte_level();
  auto flag = [&](const char* key) { return model.contains(key) && model[key].is_boolean() && model[key].get<bool>(); };
  auto nonempty = [&](const char* key) {
    return model.contains(key) && model[key].is_string() && !model[key].get<std::string>().empty();
  };
  RKV_CHECK(!nonempty("continuing_subword_prefix") && !nonempty("end_of_word_suffix"), where,
            ": BPE with continuing_subword_prefix / end_of_word_suffix cannot be written as a GGUF vocabulary");
  bool add_space_prefix = true;
  if (byte_level) {
    out.model = "gpt2";
    RKV_CHECK(!flag("byte_fallback"), where, ": byte-level BPE with byte_fallback cannot be written as a GGUF vocabulary");
    const json dec = member(raw.doc, "decoder");
    RKV_CHECK(dec.is_object() && dec.value("type", "") == "ByteLevel", where, ": byte-level BPE whose decoder is not ByteLevel (",
              dec.is_object() ? dec.value("type", "?") : "none", ") cannot be written as a GGUF vocabulary");
    const bool ignore_merges = flag("ignore_merges");
    for (const std::string& name : tok::pre_family_names()) {
      tok::PreFamily fam = tok::pre_family(name, where);
      if (fam.ignore_merges == ignore_merges &&
          same_pieces(norm_json, pre_json, fam.normalizer, fam.pre_tokenizer, where + ": pre-tokenizer family " + name)) {
        out.pre = name;
        break;
      }
    }
    if (out.pre.empty()) {
      std::string names;
      for (const std::string& name : tok::pre_family_names()) names += (names.empty() ? "" : ", ") + name;
      fail(where, ": the normalizer and pre-tokenizer split text like none of the GGUF pre-tokenizer families rkv knows (",
           names, "); this tokenizer cannot be written as a GGUF vocabulary");
    }
  } else {
    out.model = "llama";
    out.pre = "default";
    RKV_CHECK(!flag("ignore_merges"), where, ": SentencePiece-style BPE with ignore_merges cannot be written as a GGUF vocabulary");
    bool matched = false;
    for (bool prefix : {true, false})
      if (same_pieces(norm_json, pre_json, tok::spm_normalizer(prefix), json(), where)) {
        add_space_prefix = prefix;
        matched = true;
        break;
      }
    RKV_CHECK(matched, where,
              ": neither byte-level BPE nor SentencePiece-style BPE (spaces as U+2581, no splitting): the tokenizer type "
              "cannot be mapped to a GGUF vocabulary (gpt2 or llama)");
  }

  // Tokens and their types.
  std::vector<std::string> tokens(static_cast<size_t>(n));
  std::vector<int64_t> types(static_cast<size_t>(n), tok::kNormal);
  std::vector<uint8_t> added(static_cast<size_t>(n), 0);
  for (const AddedToken& a : ref.added_tokens()) added[static_cast<size_t>(a.id)] = 1;
  std::optional<TokenId> unk;
  if (model.contains("unk_token") && model["unk_token"].is_string()) unk = ref.find(model["unk_token"].get<std::string>());
  for (int64_t i = 0; i < n; ++i) {
    const size_t k = static_cast<size_t>(i);
    if (i >= n_ref || !ref.valid_id(static_cast<TokenId>(i))) {
      tokens[k] = "[PAD" + std::to_string(i) + "]";
      types[k] = tok::kUnused;
      ++out.n_padding;
      continue;
    }
    tokens[k] = ref.token(static_cast<TokenId>(i));
    if (added[k]) {
      const bool control = ref.is_special(static_cast<TokenId>(i)) || token_looks_special(tokens[k]);
      types[k] = control ? tok::kControl : tok::kUserDefined;
      ++(control ? out.n_control : out.n_user_defined);
    } else if (out.model == "llama" && unk && *unk == i) {
      types[k] = tok::kUnknown;
    } else if (out.model == "llama" && is_byte_token(tokens[k])) {
      types[k] = tok::kByte;
    }
  }
  out.n_tokens = n;

  // Special ids.
  out.bos_id = ref.bos_id() ? ref.bos_id() : options.bos_id;
  out.eos_id = ref.eos_id() ? ref.eos_id() : options.eos_id;
  auto check_id = [&](std::optional<TokenId>& id, const char* what) {
    if (id && (*id < 0 || *id >= n)) {
      out.notes.push_back(std::string(what) + " id " + std::to_string(*id) + " is outside the vocabulary: left out");
      id.reset();
    }
  };
  check_id(out.bos_id, "BOS");
  check_id(out.eos_id, "EOS");
  // The post-processor may add the BOS before and the EOS after the text:
  // GGUF's add_bos_token / add_eos_token, nothing more.
  auto post_adds = [&](const std::vector<TokenId>& ids, std::optional<TokenId>& special, const char* side, const char* name) {
    if (ids.empty()) return false;
    RKV_CHECK(ids.size() == 1 && (!special || ids[0] == *special), where, ": the post-processor adds ", show_ids(ids), " ",
              side, " the text, not just the ", name, " token ", special ? std::to_string(*special) : "(none)",
              ": GGUF cannot express it");
    special = ids[0];
    return true;
  };
  const bool add_bos = post_adds(impl.post_prefix, out.bos_id, "before", "BOS");
  const bool add_eos = post_adds(impl.post_suffix, out.eos_id, "after", "EOS");
  std::optional<TokenId> pad;
  if (fs::exists(dir / "tokenizer_config.json")) {
    json cfg = json::parse(read_text_file((dir / "tokenizer_config.json").string()), nullptr, false);
    if (cfg.is_object() && cfg.contains("pad_token")) {
      std::string text = special_token_text(cfg["pad_token"]);
      if (!text.empty()) {
        pad = ref.find(text);
        if (!pad) out.notes.push_back("pad_token " + show(text) + " is not a token: left out");
      }
    }
  }
  if (!ref.bos_token().empty() && !ref.bos_id())
    out.notes.push_back("bos_token " + show(ref.bos_token()) + " of tokenizer_config.json is not a token: the GGUF has " +
                        (out.bos_id ? "id " + std::to_string(*out.bos_id) : std::string("none")));
  if (!ref.eos_token().empty() && !ref.eos_id())
    out.notes.push_back("eos_token " + show(ref.eos_token()) + " of tokenizer_config.json is not a token: the GGUF has " +
                        (out.eos_id ? "id " + std::to_string(*out.eos_id) : std::string("none")));

  auto& md = out.metadata;
  md.push_back(with_key("tokenizer.ggml.model", GgufValue::of_string(out.model)));
  md.push_back(with_key("tokenizer.ggml.pre", GgufValue::of_string(out.pre)));
  md.push_back(with_key("tokenizer.ggml.tokens", GgufValue::of_strings(tokens)));
  md.push_back(with_key("tokenizer.ggml.token_type", GgufValue::of_ints(GgufType::I32, types)));
  if (out.model == "gpt2") {
    std::vector<std::string> merges;
    merges.reserve(raw.merges.size());
    for (const auto& [a, b] : raw.merges) {
      RKV_CHECK(a.find(' ') == std::string::npos && b.find(' ') == std::string::npos && !a.empty() && !b.empty(), where,
                ": merge ", show(a + " " + b), " has a token with a space, which GGUF merges cannot hold");
      merges.push_back(a + " " + b);
    }
    out.n_merges = static_cast<int64_t>(merges.size());
    md.push_back(with_key("tokenizer.ggml.merges", GgufValue::of_strings(std::move(merges))));
  } else {
    std::vector<float> scores = scores_from_merges(raw, ref, types, where);
    md.push_back(with_key("tokenizer.ggml.scores",
                          GgufValue::of_floats(GgufType::F32, std::vector<double>(scores.begin(), scores.end()))));
    md.push_back(with_key("tokenizer.ggml.add_space_prefix", GgufValue::of_uint(GgufType::BOOL, add_space_prefix)));
  }
  auto put_id = [&](const char* key, const std::optional<TokenId>& id) {
    if (id) md.push_back(with_key(key, GgufValue::of_uint(GgufType::U32, static_cast<uint64_t>(*id))));
  };
  put_id("tokenizer.ggml.bos_token_id", out.bos_id);
  put_id("tokenizer.ggml.eos_token_id", out.eos_id);
  put_id("tokenizer.ggml.unknown_token_id", unk);
  put_id("tokenizer.ggml.padding_token_id", pad);
  md.push_back(with_key("tokenizer.ggml.add_bos_token", GgufValue::of_uint(GgufType::BOOL, add_bos)));
  md.push_back(with_key("tokenizer.ggml.add_eos_token", GgufValue::of_uint(GgufType::BOOL, add_eos)));
  if (!ref.chat_template().empty()) md.push_back(with_key("tokenizer.chat_template", GgufValue::of_string(ref.chat_template())));

  // Load the vocabulary back and compare.
  GgufWriter probe;
  out.write_to(probe);
  const std::vector<uint8_t> bytes = probe.serialize();
  GgufFile file(bytes.data(), bytes.size(), folder + " (as a GGUF vocabulary)");
  Tokenizer back = Tokenizer::from_gguf(file);
  std::vector<std::string> texts = probe_texts();
  for (const AddedToken& a : ref.added_tokens()) texts.push_back("Hi " + a.content + "there\n" + a.content + " 42");
  check_round_trip(ref, back, texts, where);
  return out;
}

}  // namespace rkv
