// rkv::Tokenizer: tokenizer.json loading, added-token matching, encode,
// decode and the streaming decoder.
#include "rkv/tokenizer/tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "rkv/core/error.h"
#include "rkv/core/json.h"
#include "tokenizer/regex.h"
#include "tokenizer/tokenizer_json.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode.h"

namespace rkv {

using nlohmann::json;

namespace tok {

void AddedMatcher::add(Entry e) {
  if (e.content.empty()) return;
  if (terminal_.empty()) terminal_.push_back(-1);
  int node = 0;
  for (char ch : e.content) {
    auto c = static_cast<unsigned char>(ch);
    int next = child(node, c);
    if (next < 0) {
      next = static_cast<int>(terminal_.size());
      terminal_.push_back(-1);
      edges_.emplace((static_cast<uint64_t>(node) << 8) | c, next);
    }
    node = next;
  }
  if (terminal_[static_cast<size_t>(node)] >= 0) {  // same content twice: the later one wins
    entries_[static_cast<size_t>(terminal_[static_cast<size_t>(node)])] = std::move(e);
    return;
  }
  first_byte_[static_cast<unsigned char>(e.content[0])] = true;
  terminal_[static_cast<size_t>(node)] = static_cast<int>(entries_.size());
  entries_.push_back(std::move(e));
}

int AddedMatcher::child(int node, unsigned char c) const {
  auto it = edges_.find((static_cast<uint64_t>(node) << 8) | c);
  return it == edges_.end() ? -1 : it->second;
}

namespace {

// The code point ending just before byte offset `end`, or -1.
int64_t cp_before(std::string_view s, size_t end, size_t* start = nullptr) {
  if (end == 0) return -1;
  size_t k = end - 1;
  while (k > 0 && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80 && end - k < 4) --k;
  int len = utf8_valid_length(s, k);
  if (len == 0 || k + static_cast<size_t>(len) != end) return -1;
  if (start) *start = k;
  return utf8_decode(s, k, len);
}
int64_t cp_at(std::string_view s, size_t i, int* len_out = nullptr) {
  if (i >= s.size()) return -1;
  int len = utf8_valid_length(s, i);
  if (len == 0) return -1;
  if (len_out) *len_out = len;
  return utf8_decode(s, i, len);
}
bool is_word_char(int64_t cp) {
  if (cp < 0) return false;
  if (cp < 0x80) return std::isalnum(static_cast<int>(cp)) || cp == '_';
  return !is_unicode_whitespace(static_cast<uint32_t>(cp));
}

}  // namespace

void AddedMatcher::split(std::string_view text, std::vector<Segment>& out) const {
  out.clear();
  size_t emitted = 0;  // text before this offset is already in `out`
  size_t i = 0;
  while (i < text.size()) {
    if (!first_byte_[static_cast<unsigned char>(text[i])]) {
      ++i;
      continue;
    }
    // Longest entry starting at i.
    int node = 0, best = -1;
    size_t best_end = 0;
    for (size_t k = i; k < text.size(); ++k) {
      node = child(node, static_cast<unsigned char>(text[k]));
      if (node < 0) break;
      if (terminal_[static_cast<size_t>(node)] >= 0) {
        best = terminal_[static_cast<size_t>(node)];
        best_end = k + 1;
      }
    }
    if (best < 0) {
      ++i;
      continue;
    }
    const Entry& e = entries_[static_cast<size_t>(best)];
    size_t start = i, stop = best_end;
    if (e.single_word && (is_word_char(cp_before(text, start)) || is_word_char(cp_at(text, stop)))) {
      ++i;
      continue;
    }
    if (e.lstrip) {
      size_t s = start, k;
      while (s > emitted) {
        int64_t cp = cp_before(text, s, &k);
        if (cp < 0 || !is_unicode_whitespace(static_cast<uint32_t>(cp)) || k < emitted) break;
        s = k;
      }
      start = s;
    }
    if (e.rstrip) {
      int len = 0;
      for (int64_t cp = cp_at(text, stop, &len); cp >= 0 && is_unicode_whitespace(static_cast<uint32_t>(cp));
           cp = cp_at(text, stop, &len))
        stop += static_cast<size_t>(len);
    }
    if (start > emitted) out.push_back({emitted, start, -1});
    out.push_back({start, stop, e.id});
    emitted = stop;
    i = stop;
  }
  if (emitted < text.size()) out.push_back({emitted, text.size(), -1});
}

}  // namespace tok

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  RKV_CHECK(in, path, ": cannot open");
  std::streamoff size = in.tellg();
  RKV_CHECK(size >= 0, path, ": cannot read");
  std::string data(static_cast<size_t>(size), '\0');
  in.seekg(0);
  RKV_CHECK(in.read(data.data(), size), path, ": read error");
  return data;
}

// SAX handler: builds the JSON document except model.vocab and model.merges,
// which are large (150k+ entries) and go straight into flat vectors.
class TokenizerJsonSax : public nlohmann::json_sax<json> {
 public:
  explicit TokenizerJsonSax(json& root) : dom_(root, true) {}

  std::vector<std::pair<std::string, int64_t>> vocab;
  std::vector<std::pair<std::string, std::string>> merges;
  bool has_vocab = false, has_merges = false;
  std::string error;

  bool null() override { return scalar([&] { return dom_.null(); }); }
  bool boolean(bool v) override { return scalar([&] { return dom_.boolean(v); }); }
  bool number_integer(number_integer_t v) override {
    if (mode_ == Mode::Vocab) return vocab_id(v);
    return scalar([&] { return dom_.number_integer(v); });
  }
  bool number_unsigned(number_unsigned_t v) override {
    if (mode_ == Mode::Vocab) return vocab_id(v > static_cast<uint64_t>(INT64_MAX) ? -1 : static_cast<int64_t>(v));
    return scalar([&] { return dom_.number_unsigned(v); });
  }
  bool number_float(number_float_t v, const string_t& s) override {
    return scalar([&] { return dom_.number_float(v, s); });
  }
  bool string(string_t& v) override {
    if (mode_ == Mode::Merges) {
      if (pair_depth_ == 0) {
        size_t sp = v.find(' ');
        if (sp == std::string::npos || v.find(' ', sp + 1) != std::string::npos)
          return bad("merge '" + v + "' is not two tokens separated by one space");
        merges.emplace_back(v.substr(0, sp), v.substr(sp + 1));
        return true;
      }
      if (pair_.size() >= 2) return bad("a merge pair has more than two tokens");
      pair_.push_back(std::move(v));
      return true;
    }
    return scalar([&] { return dom_.string(v); });
  }
  bool binary(binary_t& v) override { return scalar([&] { return dom_.binary(v); }); }
  bool start_object(std::size_t n) override {
    if (mode_ != Mode::None) return bad(mode_ == Mode::Vocab ? "vocab values must be integer ids" : "bad merge entry");
    if (pending_ == Mode::Vocab) {
      mode_ = Mode::Vocab;
      pending_ = Mode::None;
      has_vocab = true;
      return true;
    }
    pending_ = Mode::None;
    path_.emplace_back();
    return dom_.start_object(n);
  }
  bool key(string_t& k) override {
    if (mode_ == Mode::Vocab) {
      token_ = k;
      return true;
    }
    if (!path_.empty()) path_.back() = k;
    if (path_.size() == 2 && path_[0] == "model" && (k == "vocab" || k == "merges"))
      pending_ = k == "vocab" ? Mode::Vocab : Mode::Merges;
    return dom_.key(k);
  }
  bool end_object() override {
    if (mode_ == Mode::Vocab) {
      mode_ = Mode::None;
      return dom_.null();
    }
    if (mode_ != Mode::None) return bad("bad merge entry");
    path_.pop_back();
    return dom_.end_object();
  }
  bool start_array(std::size_t n) override {
    if (mode_ == Mode::Merges) {
      if (pair_depth_ != 0) return bad("bad merge entry");
      pair_depth_ = 1;
      pair_.clear();
      return true;
    }
    if (mode_ != Mode::None) return bad("vocab values must be integer ids");
    if (pending_ == Mode::Merges) {
      mode_ = Mode::Merges;
      pending_ = Mode::None;
      has_merges = true;
      return true;
    }
    pending_ = Mode::None;
    path_.emplace_back();
    return dom_.start_array(n);
  }
  bool end_array() override {
    if (mode_ == Mode::Merges) {
      if (pair_depth_ == 1) {
        if (pair_.size() != 2) return bad("a merge pair must have two tokens");
        merges.emplace_back(std::move(pair_[0]), std::move(pair_[1]));
        pair_depth_ = 0;
        return true;
      }
      mode_ = Mode::None;
      return dom_.null();
    }
    path_.pop_back();
    return dom_.end_array();
  }
  bool parse_error(std::size_t pos, const std::string& last, const nlohmann::detail::exception& ex) override {
    error = ex.what();
    (void)pos;
    (void)last;
    return false;
  }

 private:
  enum class Mode { None, Vocab, Merges };
  template <class F>
  bool scalar(F&& forward) {
    if (mode_ == Mode::Vocab) return bad("vocab values must be integer ids");
    if (mode_ == Mode::Merges) return bad("merges must be \"a b\" strings or [\"a\", \"b\"] pairs");
    pending_ = Mode::None;
    return forward();
  }
  bool vocab_id(int64_t v) {
    vocab.emplace_back(std::move(token_), v);
    return true;
  }
  bool bad(std::string message) {
    if (error.empty()) error = std::move(message);
    return false;
  }
  nlohmann::detail::json_sax_dom_parser<json> dom_;
  std::vector<std::string> path_;  // key per open container ("" for arrays)
  Mode mode_ = Mode::None, pending_ = Mode::None;
  std::string token_;
  int pair_depth_ = 0;
  std::vector<std::string> pair_;
};

bool get_bool(const json& j, const char* key, bool fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  RKV_CHECK(it->is_boolean(), "\"", key, "\" must be true or false");
  return it->get<bool>();
}

constexpr int64_t kMaxVocab = 1 << 24;

TokenId parse_id(const json& v, const std::string& where) {
  RKV_CHECK(v.is_number_integer(), where, ": token id must be an integer");
  int64_t id = v.get<int64_t>();
  RKV_CHECK(id >= 0 && id < kMaxVocab, where, ": token id ", id, " out of range");
  return static_cast<TokenId>(id);
}

void parse_post_processor(const json& j, Tokenizer::Impl& t, const std::string& where) {
  if (j.is_null()) return;
  RKV_CHECK(j.is_object() && j.contains("type") && j["type"].is_string(), where, ": missing \"type\"");
  std::string type = j["type"].get<std::string>();
  std::string here = where + " (" + type + ")";
  if (type == "ByteLevel") return;
  if (type == "Sequence") {
    RKV_CHECK(j.contains("processors") && j["processors"].is_array(), here, ": missing \"processors\"");
    for (size_t i = 0; i < j["processors"].size(); ++i) {
      Tokenizer::Impl inner;
      parse_post_processor(j["processors"][i], inner, here + "[" + std::to_string(i) + "]");
      t.post_prefix.insert(t.post_prefix.begin(), inner.post_prefix.begin(), inner.post_prefix.end());
      t.post_suffix.insert(t.post_suffix.end(), inner.post_suffix.begin(), inner.post_suffix.end());
    }
    return;
  }
  if (type == "TemplateProcessing") {
    RKV_CHECK(j.contains("single") && j["single"].is_array(), here, ": missing \"single\"");
    const json specials = j.value("special_tokens", json::object());
    RKV_CHECK(specials.is_object(), here, ": \"special_tokens\" must be an object");
    bool seen_sequence = false;
    for (const json& item : j["single"]) {
      RKV_CHECK(item.is_object(), here, ": template items must be objects");
      if (item.contains("Sequence")) {
        RKV_CHECK(!seen_sequence, here, ": more than one sequence in the single template");
        seen_sequence = true;
      } else if (item.contains("SpecialToken")) {
        const json& st = item["SpecialToken"];
        RKV_CHECK(st.is_object() && st.contains("id") && st["id"].is_string(), here, ": bad SpecialToken");
        std::string name = st["id"].get<std::string>();
        auto it = specials.find(name);
        RKV_CHECK(it != specials.end() && it->is_object() && it->contains("ids") && (*it)["ids"].is_array(), here,
                  ": special token '", name, "' is not in special_tokens");
        auto& target = seen_sequence ? t.post_suffix : t.post_prefix;
        for (const json& id : (*it)["ids"]) target.push_back(parse_id(id, here));
      } else {
        fail(here, ": unknown template item ", item.dump());
      }
    }
    RKV_CHECK(seen_sequence, here, ": the single template has no sequence");
    return;
  }
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    for (const char* key : {"cls", "sep"}) {
      RKV_CHECK(j.contains(key) && j[key].is_array() && j[key].size() == 2, here, ": missing \"", key, "\"");
      (std::string(key) == "cls" ? t.post_prefix : t.post_suffix).push_back(parse_id(j[key][1], here));
    }
    return;
  }
  fail(where, ": unsupported post-processor type '", type, "'");
}

}  // namespace

namespace tok {

TokenizerJson read_tokenizer_json(std::string_view text, const std::string& source) {
  check_json_depth(text, source);
  TokenizerJson out;
  json& j = out.doc;
  TokenizerJsonSax sax(j);
  bool ok = false;
  try {
    ok = json::sax_parse(text.begin(), text.end(), &sax);
  } catch (const json::exception& e) {
    fail(source, ": not valid JSON: ", e.what());
  }
  RKV_CHECK(ok, source, ": not valid JSON: ", sax.error.empty() ? "parse error" : sax.error);
  RKV_CHECK(j.is_object(), source, ": expected a JSON object");
  RKV_CHECK(j.contains("model") && j["model"].is_object(), source, ": missing \"model\"");
  const json& m = j["model"];
  std::string type = m.contains("type") && m["type"].is_string() ? m["type"].get<std::string>() : "BPE";
  RKV_CHECK(type == "BPE", source, ": unsupported model type '", type, "' (supported: BPE)");
  RKV_CHECK(sax.has_vocab, source, ": model has no \"vocab\" object");
  // Ids are dense in real files; a far larger id is a corrupt file (and
  // would make us allocate for nothing).
  const size_t n_added = j.contains("added_tokens") && j["added_tokens"].is_array() ? j["added_tokens"].size() : 0;
  const int64_t id_limit = std::min<int64_t>(kMaxVocab, static_cast<int64_t>(2 * (sax.vocab.size() + n_added) + 1024));
  for (auto& [token, id] : sax.vocab) {
    RKV_CHECK(id < id_limit, source, ": vocab entry '", token, "': token id ", id, " is far beyond the ",
              sax.vocab.size(), " entries");
    RKV_CHECK(id >= 0 && id < kMaxVocab, source, ": vocab entry '", token, "': token id ", id, " out of range");
    RKV_CHECK(!token.empty(), source, ": empty token in vocab");
    if (static_cast<size_t>(id) >= out.vocab.size()) out.vocab.resize(static_cast<size_t>(id) + 1);
    out.vocab[static_cast<size_t>(id)] = std::move(token);
  }
  out.merges = std::move(sax.merges);
  return out;
}

}  // namespace tok

namespace {

std::unique_ptr<Tokenizer::Impl> parse_tokenizer_json(std::string_view text, const std::string& source) {
  tok::TokenizerJson parts = tok::read_tokenizer_json(text, source);
  const json& j = parts.doc;
  auto t = std::make_unique<Tokenizer::Impl>();
  t->source = source;
  try {
    const json& m = j["model"];
    const size_t n_added = j.contains("added_tokens") && j["added_tokens"].is_array() ? j["added_tokens"].size() : 0;
    const int64_t id_limit = std::min<int64_t>(kMaxVocab, static_cast<int64_t>(2 * (parts.vocab.size() + n_added) + 1024));
    tok::BpeConfig cfg;
    cfg.vocab = std::move(parts.vocab);
    cfg.merges = std::move(parts.merges);
    RKV_CHECK(!m.contains("dropout") || m["dropout"].is_null() || m["dropout"] == 0.0 || m["dropout"] == 1.0,
              source, ": BPE dropout is not supported");
    cfg.byte_fallback = get_bool(m, "byte_fallback", false);
    cfg.fuse_unk = get_bool(m, "fuse_unk", false);
    cfg.ignore_merges = get_bool(m, "ignore_merges", false);
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
      if (m.contains(key) && !m[key].is_null()) {
        RKV_CHECK(m[key].is_string(), source, ": \"", key, "\" must be a string");
        (std::string(key) == "continuing_subword_prefix" ? cfg.continuing_subword_prefix : cfg.end_of_word_suffix) =
            m[key].get<std::string>();
      }
    }

    if (j.contains("added_tokens") && !j["added_tokens"].is_null()) {
      RKV_CHECK(j["added_tokens"].is_array(), source, ": \"added_tokens\" must be an array");
      for (const json& a : j["added_tokens"]) {
        RKV_CHECK(a.is_object() && a.contains("content") && a["content"].is_string() && a.contains("id"), source,
                  ": bad added token ", a.dump().substr(0, 200));
        AddedToken tok;
        tok.content = a["content"].get<std::string>();
        tok.id = parse_id(a["id"], source + ": added token '" + tok.content + "'");
        RKV_CHECK(tok.id < id_limit, source, ": added token '", tok.content, "': id ", tok.id,
                  " is far beyond the vocabulary");
        tok.special = get_bool(a, "special", false);
        tok.lstrip = get_bool(a, "lstrip", false);
        tok.rstrip = get_bool(a, "rstrip", false);
        tok.single_word = get_bool(a, "single_word", false);
        tok.normalized = get_bool(a, "normalized", !tok.special);
        RKV_CHECK(!tok.content.empty() && tok::utf8_valid(tok.content), source, ": added token ", tok.id,
                  " has empty or invalid content");
        t->added.push_back(std::move(tok));
      }
    }

    if (m.contains("unk_token") && m["unk_token"].is_string()) {
      std::string unk = m["unk_token"].get<std::string>();
      for (size_t id = 0; id < cfg.vocab.size(); ++id)
        if (cfg.vocab[id] == unk) cfg.unk = static_cast<TokenId>(id);
      RKV_CHECK(cfg.unk.has_value(), source, ": unk_token '", unk, "' is not in the vocabulary");
    }

    t->normalizer = tok::make_normalizer(j.value("normalizer", json()), source + ": normalizer");
    t->pre_tokenizer = tok::make_pre_tokenizer(j.value("pre_tokenizer", json()), source + ": pre_tokenizer");
    t->decoder = tok::make_decoder(j.value("decoder", json()), source + ": decoder");
    parse_post_processor(j.value("post_processor", json()), *t, source + ": post_processor");
    cfg.byte_level = t->pre_tokenizer && t->pre_tokenizer->byte_level();
    t->model = tok::make_bpe(cfg, source + ": model");
    t->vocab = std::move(cfg.vocab);
  } catch (const json::exception& e) {
    fail(source, ": unexpected JSON structure: ", e.what());
  }
  t->finalize();
  return t;
}

// bos_token / eos_token in tokenizer_config.json: a string or {"content": ...}.
std::string config_token(const json& config, const char* key) {
  auto it = config.find(key);
  if (it == config.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
    return (*it)["content"].get<std::string>();
  return "";
}

void apply_config(Tokenizer::Impl& t, const std::string& config_path, bool rebuild_post_processor) {
  json c;
  try {
    const std::string text = read_file(config_path);
    check_json_depth(text, config_path);
    c = json::parse(text);
  } catch (const json::exception& e) {
    fail(config_path, ": not valid JSON: ", e.what());
  }
  RKV_CHECK(c.is_object(), config_path, ": expected a JSON object");
  t.bos_token = config_token(c, "bos_token");
  t.eos_token = config_token(c, "eos_token");
  if (auto it = c.find("chat_template"); it != c.end()) {
    if (it->is_string()) {
      t.chat_template = it->get<std::string>();
    } else if (it->is_array()) {  // [{"name": "default", "template": ...}, ...]
      for (const json& e : *it)
        if (e.is_object() && e.value("name", "") == "default" && e.contains("template") && e["template"].is_string())
          t.chat_template = e["template"].get<std::string>();
    }
  }
  auto find_id = [&](const std::string& s) -> std::optional<TokenId> {
    if (s.empty()) return std::nullopt;
    TokenId id = t.token_to_id.find(s);
    return id < 0 ? std::nullopt : std::optional<TokenId>(id);
  };
  t.bos_id = find_id(t.bos_token);
  t.eos_id = find_id(t.eos_token);
  // transformers' LlamaTokenizerFast rebuilds the post-processor from
  // add_bos_token / add_eos_token (defaults true / false).
  std::string cls = c.value("tokenizer_class", "");
  if (rebuild_post_processor && (cls == "LlamaTokenizerFast" || cls == "LlamaTokenizer")) {
    bool add_bos = c.contains("add_bos_token") && c["add_bos_token"].is_boolean() ? c["add_bos_token"].get<bool>() : true;
    bool add_eos = c.contains("add_eos_token") && c["add_eos_token"].is_boolean() ? c["add_eos_token"].get<bool>() : false;
    t.post_prefix.clear();
    t.post_suffix.clear();
    if (add_bos) {
      RKV_CHECK(t.bos_id, config_path, ": add_bos_token is set but bos_token '", t.bos_token, "' is not a token");
      t.post_prefix.push_back(*t.bos_id);
    }
    if (add_eos) {
      RKV_CHECK(t.eos_id, config_path, ": add_eos_token is set but eos_token '", t.eos_token, "' is not a token");
      t.post_suffix.push_back(*t.eos_id);
    }
  }
}

}  // namespace

void Tokenizer::Impl::finalize() {
  for (const AddedToken& a : added)
    if (static_cast<size_t>(a.id) >= vocab.size()) vocab.resize(static_cast<size_t>(a.id) + 1);
  special.assign(vocab.size(), 0);
  for (const AddedToken& a : added) {
    vocab[static_cast<size_t>(a.id)] = a.content;
    special[static_cast<size_t>(a.id)] = a.special ? 1 : 0;
  }
  token_to_id = {};
  size_t bytes = 0;
  for (const std::string& v : vocab) bytes += v.size();
  token_to_id.reserve(vocab.size(), bytes);
  for (size_t id = 0; id < vocab.size(); ++id)
    if (!vocab[id].empty()) token_to_id.insert(vocab[id], static_cast<TokenId>(id));
  for (const AddedToken& a : added) token_to_id.assign(a.content, a.id);
  raw_matcher = {};
  normalized_matcher = {};
  for (const AddedToken& a : added) {
    if (a.normalized && normalizer) {
      std::string content = a.content;
      normalizer->normalize(content);
      normalized_matcher.add({content, a.id, a.lstrip, a.rstrip, a.single_word});
    } else if (a.normalized) {
      normalized_matcher.add({a.content, a.id, a.lstrip, a.rstrip, a.single_word});
    } else {
      raw_matcher.add({a.content, a.id, a.lstrip, a.rstrip, a.single_word});
    }
  }
  for (TokenId id : post_prefix)
    RKV_CHECK(static_cast<size_t>(id) < vocab.size(), source, ": post-processor id ", id, " is not in the vocabulary");
  for (TokenId id : post_suffix)
    RKV_CHECK(static_cast<size_t>(id) < vocab.size(), source, ": post-processor id ", id, " is not in the vocabulary");
}

void Tokenizer::Impl::encode_text(std::string_view text, bool at_start, std::vector<TokenId>& out) const {
  std::string s(text);
  if (normalizer) normalizer->normalize(s);
  if (s.empty()) return;
  std::vector<tok::AddedMatcher::Segment> local;
  if (!normalized_matcher.empty()) {
    normalized_matcher.split(s, local);
  } else {
    local.push_back({0, s.size(), -1});
  }
  std::vector<tok::Piece> pieces;
  for (const auto& seg : local) {
    if (seg.id >= 0) {
      out.push_back(seg.id);
      continue;
    }
    pieces.clear();
    pieces.push_back({s.substr(seg.start, seg.end - seg.start), at_start && seg.start == 0});
    if (pre_tokenizer) pre_tokenizer->split(pieces);
    for (const tok::Piece& p : pieces) model->encode(p.text, out);
  }
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_json(std::string_view json_text, const std::string& source) {
  return Tokenizer(parse_tokenizer_json(json_text, source));
}

Tokenizer Tokenizer::from_json_file(const std::string& path) { return from_json(read_file(path), path); }

Tokenizer Tokenizer::load(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  RKV_CHECK(fs::exists(path, ec), path, ": no such file or folder");
  if (fs::is_directory(path, ec)) {
    fs::path dir(path);
    RKV_CHECK(fs::exists(dir / "tokenizer.json", ec), path, ": folder has no tokenizer.json");
    Tokenizer t = from_json_file((dir / "tokenizer.json").string());
    if (fs::exists(dir / "tokenizer_config.json", ec))
      apply_config(*t.impl_, (dir / "tokenizer_config.json").string(), /*rebuild_post_processor=*/true);
    if (fs::exists(dir / "chat_template.jinja", ec)) t.impl_->chat_template = read_file((dir / "chat_template.jinja").string());
    return t;
  }
  std::string ext = fs::path(path).extension().string();
  if (ext == ".gguf") return from_gguf(path);
  Tokenizer t = from_json_file(path);
  fs::path config = fs::path(path).parent_path() / "tokenizer_config.json";
  if (fs::exists(config, ec)) apply_config(*t.impl_, config.string(), /*rebuild_post_processor=*/false);
  return t;
}

std::vector<TokenId> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  const Impl& t = *impl_;
  RKV_CHECK(tok::utf8_valid(text), "tokenize: input text is not valid UTF-8");
  std::vector<TokenId> ids;
  ids.reserve(text.size() / 3 + 4);
  if (add_special_tokens) ids.insert(ids.end(), t.post_prefix.begin(), t.post_prefix.end());
  if (t.raw_matcher.empty()) {
    t.encode_text(text, true, ids);
  } else {
    std::vector<tok::AddedMatcher::Segment> segments;
    t.raw_matcher.split(text, segments);
    for (const auto& seg : segments) {
      if (seg.id >= 0)
        ids.push_back(seg.id);
      else
        t.encode_text(text.substr(seg.start, seg.end - seg.start), seg.start == 0, ids);
    }
  }
  if (add_special_tokens) ids.insert(ids.end(), t.post_suffix.begin(), t.post_suffix.end());
  return ids;
}

std::string Tokenizer::decode(std::span<const TokenId> ids, bool skip_special_tokens) const {
  const Impl& t = *impl_;
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (TokenId id : ids) {
    if (!valid_id(id)) continue;
    if (skip_special_tokens && t.special[static_cast<size_t>(id)]) continue;
    tokens.push_back(t.vocab[static_cast<size_t>(id)]);
  }
  if (t.decoder) {
    t.decoder->decode_chain(tokens);
    std::string out;
    for (const auto& s : tokens) out += s;
    return out;
  }
  std::string out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i) out += ' ';
    out += tokens[i];
  }
  return out;
}

int64_t Tokenizer::vocab_size() const { return static_cast<int64_t>(impl_->vocab.size()); }
bool Tokenizer::valid_id(TokenId id) const {
  return id >= 0 && static_cast<size_t>(id) < impl_->vocab.size() && !impl_->vocab[static_cast<size_t>(id)].empty();
}
const std::string& Tokenizer::token(TokenId id) const {
  RKV_CHECK(valid_id(id), impl_->source, ": token id ", id, " is not in the vocabulary (size ", vocab_size(), ")");
  return impl_->vocab[static_cast<size_t>(id)];
}
std::optional<TokenId> Tokenizer::find(std::string_view token) const {
  TokenId id = impl_->token_to_id.find(token);
  if (id < 0) return std::nullopt;
  return id;
}
bool Tokenizer::is_special(TokenId id) const { return valid_id(id) && impl_->special[static_cast<size_t>(id)]; }
const std::vector<AddedToken>& Tokenizer::added_tokens() const { return impl_->added; }
const std::string& Tokenizer::bos_token() const { return impl_->bos_token; }
const std::string& Tokenizer::eos_token() const { return impl_->eos_token; }
std::optional<TokenId> Tokenizer::bos_id() const { return impl_->bos_id; }
std::optional<TokenId> Tokenizer::eos_id() const { return impl_->eos_id; }
const std::string& Tokenizer::chat_template() const { return impl_->chat_template; }
const std::string& Tokenizer::source() const { return impl_->source; }

// ---------------------------------------------------------------- streaming

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tokenizer_(&tokenizer), skip_special_(skip_special_tokens) {}

namespace {
bool ends_with_replacement(const std::string& s) {
  return s.size() >= 3 && s.compare(s.size() - 3, 3, "\xEF\xBF\xBD") == 0;
}
}  // namespace

std::string StreamDecoder::push(TokenId id) {
  ids_.push_back(id);
  std::string text = tokenizer_->decode(ids_, skip_special_);
  if (text.size() <= prefix_.size() || ends_with_replacement(text)) return "";
  std::string out;
  if (text.compare(0, prefix_.size(), prefix_) == 0) {
    out = text.substr(prefix_.size());
  } else {  // the decoder rewrote earlier text: emit what differs (best effort)
    size_t common = 0;
    while (common < prefix_.size() && text[common] == prefix_[common]) ++common;
    out = text.substr(std::min(common, text.size()));
  }
  // The last ids just emitted become the context of the next window (so a
  // decoder's start-of-text rule, e.g. stripping a leading space, applies to
  // the context only): the shortest tail that starts on a character boundary,
  // i.e. whose decode does not begin with U+FFFD.
  size_t keep = 1;
  std::string context_text;
  for (size_t k = 1; k <= std::min<size_t>(8, ids_.size()); ++k) {
    std::vector<TokenId> tail(ids_.end() - static_cast<long>(k), ids_.end());
    std::string d = tokenizer_->decode(tail, skip_special_);
    if (k == 1) context_text = d;
    if (d.compare(0, 3, "\xEF\xBF\xBD") != 0) {
      keep = k;
      context_text = std::move(d);
      break;
    }
  }
  ids_.erase(ids_.begin(), ids_.end() - static_cast<long>(keep));
  prefix_ = std::move(context_text);
  return out;
}

std::string StreamDecoder::finish() {
  std::string text = tokenizer_->decode(ids_, skip_special_);
  std::string out = text.size() > prefix_.size() && text.compare(0, prefix_.size(), prefix_) == 0
                        ? text.substr(prefix_.size())
                        : "";
  ids_.clear();
  prefix_.clear();
  return out;
}

}  // namespace rkv
