// Normalizers, pre-tokenizers and decoders of tokenizer.json, with the
// semantics of Hugging Face tokenizers. Unknown types are rkv::Error.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "rkv/core/error.h"
#include "tokenizer/pipeline.h"
#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"

namespace rkv::tok {

using nlohmann::json;

namespace {

const char* kGpt2Pattern = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

std::string type_of(const json& j, const std::string& where) {
  RKV_CHECK(j.is_object(), where, ": expected an object, got ", j.type_name());
  auto it = j.find("type");
  RKV_CHECK(it != j.end() && it->is_string(), where, ": missing \"type\"");
  return it->get<std::string>();
}

template <class T>
T get_or(const json& j, const char* key, T fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  return it->get<T>();
}

std::string get_string(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  RKV_CHECK(it != j.end() && it->is_string(), where, ": missing string \"", key, "\"");
  return it->get<std::string>();
}

// A pattern object {"String": "..."} or {"Regex": "..."}.
struct Pattern {
  std::string literal;
  std::unique_ptr<Regex> regex;

  Pattern(const json& j, const std::string& where) {
    RKV_CHECK(j.is_object(), where, ": pattern must be {\"String\": ...} or {\"Regex\": ...}");
    if (auto it = j.find("String"); it != j.end() && it->is_string()) {
      literal = it->get<std::string>();
      RKV_CHECK(!literal.empty(), where, ": empty String pattern");
    } else if (auto r = j.find("Regex"); r != j.end() && r->is_string()) {
      regex = std::make_unique<Regex>(r->get<std::string>(), where);
    } else {
      fail(where, ": pattern must be {\"String\": ...} or {\"Regex\": ...}");
    }
  }
  void find_all(std::string_view s, std::vector<std::pair<size_t, size_t>>& out) const {
    out.clear();
    if (regex) {
      regex->for_each_match(s, [&](size_t a, size_t b) { out.emplace_back(a, b); });
      return;
    }
    for (size_t pos = s.find(literal); pos != std::string_view::npos; pos = s.find(literal, pos + literal.size()))
      out.emplace_back(pos, pos + literal.size());
  }
};

std::string replace_all(std::string_view s, const Pattern& p, const std::string& content) {
  std::vector<std::pair<size_t, size_t>> m;
  p.find_all(s, m);
  if (m.empty()) return std::string(s);
  std::string out;
  size_t prev = 0;
  for (auto [a, b] : m) {
    out.append(s.substr(prev, a - prev));
    out += content;
    prev = b;
  }
  out.append(s.substr(prev));
  return out;
}

// ---------------------------------------------------------------- normalizers

class NfcNormalizer : public Normalizer {
 public:
  void normalize(std::string& s) const override {
    if (!nfc_quick_yes(s)) s = nfc(s);
  }
};
class NfdNormalizer : public Normalizer {
 public:
  void normalize(std::string& s) const override { s = nfd(s); }
};
class PrependNormalizer : public Normalizer {
 public:
  explicit PrependNormalizer(std::string p) : prepend_(std::move(p)) {}
  void normalize(std::string& s) const override {
    if (!s.empty()) s.insert(0, prepend_);
  }

 private:
  std::string prepend_;
};
class ReplaceNormalizer : public Normalizer {
 public:
  ReplaceNormalizer(const json& j, const std::string& where)
      : pattern_(j.at("pattern"), where), content_(get_string(j, "content", where)) {}
  void normalize(std::string& s) const override { s = replace_all(s, pattern_, content_); }

 private:
  Pattern pattern_;
  std::string content_;
};
class StripNormalizer : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  void normalize(std::string& s) const override {
    size_t a = 0, b = s.size();
    if (left_)
      while (a < b) {
        int len = utf8_valid_length(s, a);
        if (len == 0 || !is_unicode_whitespace(utf8_decode(s, a, len))) break;
        a += static_cast<size_t>(len);
      }
    if (right_)
      while (b > a) {
        size_t k = b - 1;
        while (k > a && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
        int len = utf8_valid_length(s, k);
        if (len == 0 || !is_unicode_whitespace(utf8_decode(s, k, len))) break;
        b = k;
      }
    s = s.substr(a, b - a);
  }

 private:
  bool left_, right_;
};
class SequenceNormalizer : public Normalizer {
 public:
  std::vector<std::unique_ptr<Normalizer>> parts;
  void normalize(std::string& s) const override {
    for (const auto& p : parts) p->normalize(s);
  }
};

// ---------------------------------------------------------------- pre-tokenizers

SplitBehavior parse_behavior(const json& j, const std::string& where, SplitBehavior fallback) {
  auto it = j.find("behavior");
  if (it == j.end() || it->is_null()) return fallback;
  RKV_CHECK(it->is_string(), where, ": \"behavior\" must be a string");
  std::string b = it->get<std::string>();
  if (b == "Removed") return SplitBehavior::Removed;
  if (b == "Isolated") return SplitBehavior::Isolated;
  if (b == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (b == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (b == "Contiguous") return SplitBehavior::Contiguous;
  fail(where, ": unknown split behavior '", b, "'");
}

// A pre-tokenizer that splits every piece at the matches of a pattern.
class PatternSplit : public PreTokenizer {
 public:
  PatternSplit(std::unique_ptr<Pattern> pattern, SplitBehavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  void split(std::vector<Piece>& pieces) const override {
    std::vector<Piece> out;
    out.reserve(pieces.size() * 4);
    std::vector<std::pair<size_t, size_t>> m;
    for (const Piece& p : pieces) {
      pattern_->find_all(p.text, m);
      split_by_matches(p, m, behavior_, invert_, out);
    }
    pieces.swap(out);
  }

 private:
  std::unique_ptr<Pattern> pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

std::unique_ptr<Pattern> regex_pattern(const std::string& re, const std::string& where) {
  return std::make_unique<Pattern>(json{{"Regex", re}}, where);
}

class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex, const std::string& where)
      : add_prefix_space_(add_prefix_space) {
    if (use_regex) regex_ = regex_pattern(kGpt2Pattern, where);
  }
  void split(std::vector<Piece>& pieces) const override {
    if (add_prefix_space_)
      for (Piece& p : pieces)
        if (p.text.empty() || p.text[0] != ' ') p.text.insert(0, " ");
    if (!regex_) return;
    std::vector<Piece> out;
    std::vector<std::pair<size_t, size_t>> m;
    for (const Piece& p : pieces) {
      regex_->find_all(p.text, m);
      split_by_matches(p, m, SplitBehavior::Isolated, false, out);
    }
    pieces.swap(out);
  }
  bool byte_level() const override { return true; }

 private:
  bool add_prefix_space_;
  std::unique_ptr<Pattern> regex_;
};

enum class PrependScheme { Always, First, Never };

PrependScheme parse_prepend_scheme(const json& j, const std::string& where) {
  if (auto it = j.find("prepend_scheme"); it != j.end() && it->is_string()) {
    std::string s = it->get<std::string>();
    if (s == "always") return PrependScheme::Always;
    if (s == "first") return PrependScheme::First;
    if (s == "never") return PrependScheme::Never;
    fail(where, ": unknown prepend_scheme '", s, "'");
  }
  return get_or<bool>(j, "add_prefix_space", true) ? PrependScheme::Always : PrependScheme::Never;
}

class MetaspacePreTokenizer : public PreTokenizer {
 public:
  MetaspacePreTokenizer(const json& j, const std::string& where) {
    replacement_ = get_or<std::string>(j, "replacement", "\xE2\x96\x81");
    RKV_CHECK(!replacement_.empty() && utf8_valid(replacement_), where, ": bad replacement");
    scheme_ = parse_prepend_scheme(j, where);
    split_ = get_or<bool>(j, "split", true);
    split_pattern_ = std::make_unique<Pattern>(json{{"String", replacement_}}, where);
  }
  void split(std::vector<Piece>& pieces) const override {
    std::vector<Piece> out;
    std::vector<std::pair<size_t, size_t>> m;
    for (Piece& p : pieces) {
      std::string t;
      t.reserve(p.text.size() + 8);
      for (char c : p.text) {
        if (c == ' ')
          t += replacement_;
        else
          t += c;
      }
      bool starts = t.compare(0, replacement_.size(), replacement_) == 0;
      if (!starts && (scheme_ == PrependScheme::Always || (scheme_ == PrependScheme::First && p.at_start)))
        t.insert(0, replacement_);
      p.text = std::move(t);
      if (split_) {
        split_pattern_->find_all(p.text, m);
        split_by_matches(p, m, SplitBehavior::MergedWithNext, false, out);
      } else {
        out.push_back(std::move(p));
      }
    }
    pieces.swap(out);
  }

 private:
  std::string replacement_;
  PrependScheme scheme_ = PrependScheme::Always;
  bool split_ = true;
  std::unique_ptr<Pattern> split_pattern_;
};

class SequencePreTokenizer : public PreTokenizer {
 public:
  std::vector<std::unique_ptr<PreTokenizer>> parts;
  void split(std::vector<Piece>& pieces) const override {
    // Stages after a ByteLevel one see the GPT-2 alphabet, as in Hugging
    // Face; the pieces go back to raw bytes at the end.
    bool mapped = false;
    for (size_t k = 0; k < parts.size(); ++k) {
      parts[k]->split(pieces);
      if (!mapped && parts[k]->byte_level() && k + 1 < parts.size()) {
        const auto& table = byte_to_unicode();
        for (Piece& p : pieces) {
          std::string t;
          for (char c : p.text) t += table[static_cast<unsigned char>(c)];
          p.text = std::move(t);
        }
        mapped = true;
      }
    }
    if (mapped) {
      for (Piece& p : pieces) {
        std::string raw;
        for (size_t i = 0; i < p.text.size();) {
          int len = std::max(utf8_valid_length(p.text, i), 1);
          int b = unicode_to_byte(utf8_decode(p.text, i, len));
          if (b >= 0)
            raw += static_cast<char>(b);
          else  // a character a later stage inserted: keep it as it is
            raw.append(p.text, i, static_cast<size_t>(len));
          i += static_cast<size_t>(len);
        }
        p.text = std::move(raw);
      }
    }
  }
  bool byte_level() const override {
    for (const auto& p : parts)
      if (p->byte_level()) return true;
    return false;
  }
};

// ---------------------------------------------------------------- decoders

class ByteLevelDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string bytes;
    for (const std::string& t : tokens) {
      size_t mark = bytes.size();
      bool ok = true;
      for (size_t i = 0; i < t.size();) {
        int len = utf8_valid_length(t, i);
        int b = len ? unicode_to_byte(utf8_decode(t, i, len)) : -1;
        if (b < 0) {
          ok = false;
          break;
        }
        bytes += static_cast<char>(b);
        i += static_cast<size_t>(len);
      }
      if (!ok) {  // a token outside the alphabet (an added token): its own bytes
        bytes.resize(mark);
        bytes += t;
      }
    }
    tokens.assign(1, utf8_lossy(bytes));
  }
};

class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(const json& j, const std::string& where)
      : pattern_(j.at("pattern"), where), content_(get_string(j, "content", where)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::string& t : tokens) t = replace_all(t, pattern_, content_);
  }

 private:
  Pattern pattern_;
  std::string content_;
};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

class ByteFallbackDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    out.reserve(tokens.size());
    std::string pending;
    size_t pending_count = 0;
    auto flush = [&] {
      if (pending_count == 0) return;
      if (utf8_valid(pending)) {
        out.push_back(pending);
      } else {
        for (size_t i = 0; i < pending_count; ++i) out.emplace_back("\xEF\xBF\xBD");
      }
      pending.clear();
      pending_count = 0;
    };
    for (std::string& t : tokens) {
      if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' && hex_value(t[3]) >= 0 &&
          hex_value(t[4]) >= 0) {
        pending += static_cast<char>(hex_value(t[3]) * 16 + hex_value(t[4]));
        ++pending_count;
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    tokens.swap(out);
  }
};

class FuseDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string all;
    for (const auto& t : tokens) all += t;
    tokens.assign(1, std::move(all));
  }
};

class StripDecoder : public Decoder {
 public:
  StripDecoder(const json& j, const std::string& where) {
    content_ = get_string(j, "content", where);
    RKV_CHECK(utf8_valid(content_) && !content_.empty(), where, ": Strip content must be one character");
    int len = utf8_valid_length(content_, 0);
    RKV_CHECK(static_cast<size_t>(len) == content_.size(), where, ": Strip content must be one character");
    start_ = get_or<int64_t>(j, "start", 0);
    stop_ = get_or<int64_t>(j, "stop", 0);
    RKV_CHECK(start_ >= 0 && stop_ >= 0, where, ": negative Strip counts");
  }
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::string& t : tokens) {
      size_t a = 0, b = t.size();
      for (int64_t i = 0; i < start_ && t.compare(a, content_.size(), content_) == 0 && a < b; ++i)
        a += content_.size();
      for (int64_t i = 0; i < stop_ && b >= a + content_.size() &&
                          t.compare(b - content_.size(), content_.size(), content_) == 0;
           ++i)
        b -= content_.size();
      t = t.substr(a, b - a);
    }
  }

 private:
  std::string content_;
  int64_t start_ = 0, stop_ = 0;
};

class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(const json& j, const std::string& where) {
    replacement_ = get_or<std::string>(j, "replacement", "\xE2\x96\x81");
    RKV_CHECK(!replacement_.empty(), where, ": empty replacement");
    scheme_ = parse_prepend_scheme(j, where);
  }
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      const std::string& t = tokens[i];
      std::string out;
      out.reserve(t.size());
      for (size_t k = 0; k < t.size();) {
        if (t.compare(k, replacement_.size(), replacement_) == 0) {
          if (!(i == 0 && scheme_ != PrependScheme::Never)) out += ' ';
          k += replacement_.size();
        } else {
          out += t[k++];
        }
      }
      tokens[i] = std::move(out);
    }
  }

 private:
  std::string replacement_;
  PrependScheme scheme_ = PrependScheme::Always;
};

class SequenceDecoder : public Decoder {
 public:
  std::vector<std::unique_ptr<Decoder>> parts;
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (const auto& p : parts) p->decode_chain(tokens);
  }
};

const json& array_field(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  RKV_CHECK(it != j.end() && it->is_array(), where, ": missing array \"", key, "\"");
  return *it;
}

}  // namespace

bool is_unicode_whitespace(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

void split_by_matches(const Piece& p, const std::vector<std::pair<size_t, size_t>>& ranges, SplitBehavior behavior,
                      bool invert, std::vector<Piece>& out) {
  const std::string& s = p.text;
  if (ranges.empty()) {  // fast path: one part, a non-match (or a match when inverted)
    if (s.empty()) return;
    if (invert && behavior == SplitBehavior::Removed) return;
    if (!invert && behavior == SplitBehavior::Removed) {
      out.push_back(p);
      return;
    }
    out.push_back(p);
    return;
  }
  // Parts covering s: (start, end, is_match).
  struct Part {
    size_t a, b;
    bool match;
  };
  std::vector<Part> parts;
  parts.reserve(ranges.size() * 2 + 1);
  size_t prev = 0;
  for (auto [a, b] : ranges) {
    if (a > prev) parts.push_back({prev, a, invert});
    if (b > a) parts.push_back({a, b, !invert});
    prev = b;
  }
  if (prev < s.size()) parts.push_back({prev, s.size(), invert});

  std::vector<std::pair<size_t, size_t>> spans;
  spans.reserve(parts.size());
  switch (behavior) {
    case SplitBehavior::Removed:
      for (const Part& x : parts)
        if (!x.match) spans.emplace_back(x.a, x.b);
      break;
    case SplitBehavior::Isolated:
      for (const Part& x : parts) spans.emplace_back(x.a, x.b);
      break;
    case SplitBehavior::Contiguous: {
      bool previous_match = false;
      for (const Part& x : parts) {
        if (x.match == previous_match && !spans.empty())
          spans.back().second = x.b;
        else
          spans.emplace_back(x.a, x.b);
        previous_match = x.match;
      }
      break;
    }
    case SplitBehavior::MergedWithPrevious: {
      bool previous_match = false;
      for (const Part& x : parts) {
        if (x.match && !previous_match && !spans.empty())
          spans.back().second = x.b;
        else
          spans.emplace_back(x.a, x.b);
        previous_match = x.match;
      }
      break;
    }
    case SplitBehavior::MergedWithNext: {
      bool previous_match = false;
      for (size_t k = parts.size(); k-- > 0;) {
        const Part& x = parts[k];
        if (x.match && !previous_match && !spans.empty())
          spans.back().first = x.a;
        else
          spans.emplace_back(x.a, x.b);
        previous_match = x.match;
      }
      std::reverse(spans.begin(), spans.end());
      break;
    }
  }
  for (auto [a, b] : spans)
    if (b > a) out.push_back({s.substr(a, b - a), p.at_start && a == 0});
}

std::unique_ptr<Normalizer> make_normalizer(const json& j, const std::string& where) {
  if (j.is_null()) return nullptr;
  std::string type = type_of(j, where);
  std::string here = where + " (" + type + ")";
  if (type == "NFC") return std::make_unique<NfcNormalizer>();
  if (type == "NFD") return std::make_unique<NfdNormalizer>();
  if (type == "Prepend") return std::make_unique<PrependNormalizer>(get_string(j, "prepend", here));
  if (type == "Replace") return std::make_unique<ReplaceNormalizer>(j, here);
  if (type == "Strip")
    return std::make_unique<StripNormalizer>(get_or<bool>(j, "strip_left", true), get_or<bool>(j, "strip_right", true));
  if (type == "Sequence") {
    auto seq = std::make_unique<SequenceNormalizer>();
    const json& list = array_field(j, "normalizers", here);
    for (size_t i = 0; i < list.size(); ++i)
      if (auto n = make_normalizer(list[i], here + "[" + std::to_string(i) + "]")) seq->parts.push_back(std::move(n));
    return seq;
  }
  fail(where, ": unsupported normalizer type '", type, "'");
}

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json& j, const std::string& where) {
  if (j.is_null()) return nullptr;
  std::string type = type_of(j, where);
  std::string here = where + " (" + type + ")";
  if (type == "Split") {
    auto pattern = std::make_unique<Pattern>(j.at("pattern"), here);
    return std::make_unique<PatternSplit>(std::move(pattern), parse_behavior(j, here, SplitBehavior::Isolated),
                                          get_or<bool>(j, "invert", false));
  }
  if (type == "ByteLevel")
    return std::make_unique<ByteLevelPreTokenizer>(get_or<bool>(j, "add_prefix_space", true),
                                                   get_or<bool>(j, "use_regex", true), here);
  if (type == "Metaspace") return std::make_unique<MetaspacePreTokenizer>(j, here);
  if (type == "Digits") {
    bool individual = get_or<bool>(j, "individual_digits", false);
    return std::make_unique<PatternSplit>(regex_pattern(individual ? "\\p{N}" : "\\p{N}+", here),
                                          SplitBehavior::Isolated, false);
  }
  if (type == "Punctuation") {
    return std::make_unique<PatternSplit>(regex_pattern("[\\p{P}!-/:-@\\[-`{-~]", here),
                                          parse_behavior(j, here, SplitBehavior::Isolated), false);
  }
  if (type == "Sequence") {
    auto seq = std::make_unique<SequencePreTokenizer>();
    const json& list = array_field(j, "pretokenizers", here);
    for (size_t i = 0; i < list.size(); ++i) {
      auto p = make_pre_tokenizer(list[i], here + "[" + std::to_string(i) + "]");
      if (p) seq->parts.push_back(std::move(p));
    }
    return seq;
  }
  fail(where, ": unsupported pre-tokenizer type '", type, "'");
}

std::unique_ptr<Decoder> make_decoder(const json& j, const std::string& where) {
  if (j.is_null()) return nullptr;
  std::string type = type_of(j, where);
  std::string here = where + " (" + type + ")";
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Replace") return std::make_unique<ReplaceDecoder>(j, here);
  if (type == "Strip") return std::make_unique<StripDecoder>(j, here);
  if (type == "Metaspace") return std::make_unique<MetaspaceDecoder>(j, here);
  if (type == "Sequence") {
    auto seq = std::make_unique<SequenceDecoder>();
    const json& list = array_field(j, "decoders", here);
    for (size_t i = 0; i < list.size(); ++i)
      if (auto d = make_decoder(list[i], here + "[" + std::to_string(i) + "]")) seq->parts.push_back(std::move(d));
    return seq;
  }
  fail(where, ": unsupported decoder type '", type, "'");
}

}  // namespace rkv::tok
