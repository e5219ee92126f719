#include "eval/text.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace rkv::eval::text {
namespace {

struct CodeRange {
  char32_t first, last;
};
#include "eval/char_tables.inc"

template <size_t N>
bool in_ranges(const CodeRange (&ranges)[N], char32_t c) {
  const CodeRange* end = ranges + N;
  const CodeRange* it = std::upper_bound(ranges, end, c, [](char32_t v, const CodeRange& r) { return v < r.first; });
  return it != ranges && c <= (it - 1)->last;
}

bool ascii_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f); }

}  // namespace

size_t code_point_size(std::string_view s, size_t i) {
  unsigned char b = static_cast<unsigned char>(s[i]);
  size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 1;
  if (i + n > s.size()) return 1;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 1;
  return n;
}

char32_t next_code_point(std::string_view s, size_t& i) {
  size_t n = code_point_size(s, i);
  unsigned char b = static_cast<unsigned char>(s[i]);
  char32_t c;
  if (n == 1) {
    c = b < 0x80 ? b : 0xFFFD;
  } else {
    c = b & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  }
  i += n;
  return c;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

size_t code_point_count(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); i += code_point_size(s, i)) ++n;
  return n;
}

bool is_space(char32_t c) { return c < 0x80 ? ascii_space(static_cast<char>(c)) : in_ranges(kSpaceRanges, c); }

bool is_word(char32_t c) {
  if (c < 0x80) return c == '_' || is_ascii_digit(static_cast<char>(c)) || is_ascii_alpha(static_cast<char>(c));
  return in_ranges(kWordRanges, c);
}

int decimal_value(char32_t c) {
  if (c < 0x80) return is_ascii_digit(static_cast<char>(c)) ? static_cast<int>(c - '0') : -1;
  const char32_t* end = kDecimalZeros + std::size(kDecimalZeros);
  const char32_t* it = std::upper_bound(kDecimalZeros, end, c);
  if (it == kDecimalZeros) return -1;
  char32_t zero = *(it - 1);
  return c - zero < 10 ? static_cast<int>(c - zero) : -1;
}

// Whitespace at either end, Unicode-aware. The end is found by scanning
// forward (UTF-8 cannot be decoded backwards safely when invalid).
static std::string_view strip_impl(std::string_view s, bool left) {
  size_t begin = 0, i = 0, last_end = 0;
  bool leading = left;
  while (i < s.size()) {
    char32_t c = next_code_point(s, i);
    if (is_space(c)) {
      if (leading) begin = i;
    } else {
      leading = false;
      last_end = i;
    }
  }
  if (last_end < begin) return s.substr(s.size(), 0);
  return s.substr(begin, last_end - begin);
}

std::string_view strip(std::string_view s) { return strip_impl(s, true); }
std::string_view rstrip(std::string_view s) { return strip_impl(s, false); }

std::string_view strip_chars(std::string_view s, std::string_view chars) {
  size_t b = s.find_first_not_of(chars);
  if (b == std::string_view::npos) return s.substr(s.size(), 0);
  size_t e = s.find_last_not_of(chars);
  return s.substr(b, e + 1 - b);
}

std::string_view rstrip_chars(std::string_view s, std::string_view chars) {
  size_t e = s.find_last_not_of(chars);
  return e == std::string_view::npos ? s.substr(0, 0) : s.substr(0, e + 1);
}

bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

size_t count(std::string_view s, std::string_view part) {
  if (part.empty()) return code_point_count(s) + 1;
  size_t n = 0;
  for (size_t at = s.find(part); at != std::string_view::npos; at = s.find(part, at + part.size())) ++n;
  return n;
}

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(s.size());
  size_t at = 0;
  for (size_t hit = s.find(from); hit != std::string_view::npos; hit = s.find(from, at)) {
    out.append(s, at, hit - at);
    out += to;
    at = hit + from.size();
  }
  out.append(s, at);
  return out;
}

std::vector<std::string_view> split(std::string_view s, std::string_view sep) {
  std::vector<std::string_view> parts;
  size_t at = 0;
  for (size_t hit = s.find(sep); hit != std::string_view::npos; hit = s.find(sep, at)) {
    parts.push_back(s.substr(at, hit - at));
    at = hit + sep.size();
  }
  parts.push_back(s.substr(at));
  return parts;
}

std::vector<std::string_view> split_whitespace(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t i = 0, start = 0;
  bool in_word = false;
  while (i < s.size()) {
    size_t at = i;
    char32_t c = next_code_point(s, i);
    if (is_space(c)) {
      if (in_word) parts.push_back(s.substr(start, at - start));
      in_word = false;
    } else if (!in_word) {
      in_word = true;
      start = at;
    }
  }
  if (in_word) parts.push_back(s.substr(start));
  return parts;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Python's float() grammar on ASCII text (decimal digits already mapped):
// digit groups separated by single underscores.
static bool take_digits(std::string_view s, size_t& i, std::string& out) {
  size_t start = out.size();
  while (i < s.size()) {
    if (is_ascii_digit(s[i])) {
      out += s[i++];
    } else if (s[i] == '_' && out.size() > start && i + 1 < s.size() && is_ascii_digit(s[i + 1])) {
      ++i;
    } else {
      break;
    }
  }
  return out.size() > start;
}

std::optional<double> parse_float(std::string_view raw) {
  std::string s;  // ASCII form: Unicode decimal digits mapped to '0'..'9'
  for (size_t i = 0; i < raw.size();) {
    char32_t c = next_code_point(raw, i);
    int d = decimal_value(c);
    if (d >= 0) {
      s += static_cast<char>('0' + d);
    } else if (is_space(c)) {
      s += ' ';
    } else {
      append_utf8(s, c);
    }
  }
  std::string_view t = strip_chars(s, " ");
  bool negative = false;
  if (!t.empty() && (t[0] == '+' || t[0] == '-')) {
    negative = t[0] == '-';
    t.remove_prefix(1);
  }
  std::string word = lower(t);
  if (word == "inf" || word == "infinity") return negative ? -HUGE_VAL : HUGE_VAL;
  if (word == "nan") return std::nan("");
  std::string clean;
  size_t i = 0;
  bool int_digits = take_digits(t, i, clean);
  bool frac_digits = false;
  if (i < t.size() && t[i] == '.') {
    clean += t[i++];
    frac_digits = take_digits(t, i, clean);
  }
  if (!int_digits && !frac_digits) return std::nullopt;
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    clean += 'e';
    ++i;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) clean += t[i++];
    if (!take_digits(t, i, clean)) return std::nullopt;
  }
  if (i != t.size()) return std::nullopt;
  double v = std::strtod(clean.c_str(), nullptr);  // overflow gives inf, as Python
  return negative ? -v : v;
}

std::string float_repr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string sci(buf, res.ptr);  // "-d.ddde+XX"
  bool negative = sci[0] == '-';
  if (negative) sci.erase(0, 1);
  size_t e = sci.find('e');
  int exponent = std::atoi(sci.c_str() + e + 1);
  std::string digits;
  for (size_t k = 0; k < e; ++k)
    if (sci[k] != '.') digits += sci[k];
  std::string out = negative ? "-" : "";
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out += "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    } else if (static_cast<int>(digits.size()) <= exponent + 1) {
      out += digits + std::string(static_cast<size_t>(exponent + 1) - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, static_cast<size_t>(exponent) + 1) + "." + digits.substr(static_cast<size_t>(exponent) + 1);
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  char exp_buf[16];
  std::snprintf(exp_buf, sizeof(exp_buf), "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
  return out + exp_buf;
}

bool is_canonical_int(std::string_view s) {
  bool negative = !s.empty() && s[0] == '-';
  std::string_view digits = negative ? s.substr(1) : s;
  if (digits.empty()) return false;
  for (char c : digits)
    if (!is_ascii_digit(c)) return false;
  if (digits.size() > 1 && digits[0] == '0') return false;
  return !(negative && digits == "0");
}

}  // namespace rkv::eval::text
