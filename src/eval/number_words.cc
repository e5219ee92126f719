// Number words -> digits with the semantics of the word2number package
// (w2n.word_to_num) that the reference calls on every answer: words that are
// not number words are ignored, so "five apples" reads as 5; anything that is
// not a well-formed number is left as it was.
#include <cstdint>
#include <map>
#include <optional>

#include "eval/normalize.h"
#include "eval/text.h"

namespace rkv::eval::detail {
namespace {

const std::map<std::string, int64_t, std::less<>>& number_words() {
  static const std::map<std::string, int64_t, std::less<>> words = {
      {"zero", 0},        {"one", 1},          {"two", 2},          {"three", 3},       {"four", 4},
      {"five", 5},        {"six", 6},          {"seven", 7},        {"eight", 8},       {"nine", 9},
      {"ten", 10},        {"eleven", 11},      {"twelve", 12},      {"thirteen", 13},   {"fourteen", 14},
      {"fifteen", 15},    {"sixteen", 16},     {"seventeen", 17},   {"eighteen", 18},   {"nineteen", 19},
      {"twenty", 20},     {"thirty", 30},      {"forty", 40},       {"fifty", 50},      {"sixty", 60},
      {"seventy", 70},    {"eighty", 80},      {"ninety", 90},      {"hundred", 100},   {"thousand", 1000},
      {"million", 1000000}, {"billion", 1000000000}};
  return words;
}

using Words = std::vector<std::string_view>;

int64_t value_of(std::string_view w) { return number_words().find(w)->second; }

// w2n's number_formation(): a group of up to four words before a multiplier.
std::optional<int64_t> group_value(const Words& w, size_t begin, size_t end) {
  if (begin >= end) return std::nullopt;  // Python: IndexError, caught
  std::vector<int64_t> n;
  for (size_t i = begin; i < end; ++i) n.push_back(value_of(w[i]));
  if (n.size() == 4) return n[0] * n[1] + n[2] + n[3];
  if (n.size() == 3) return n[0] * n[1] + n[2];
  if (n.size() == 2) return (n[0] == 100 || n[1] == 100) ? n[0] * n[1] : n[0] + n[1];
  return n[0];
}

ptrdiff_t index_of(const Words& w, std::string_view word) {
  for (size_t i = 0; i < w.size(); ++i)
    if (w[i] == word) return static_cast<ptrdiff_t>(i);
  return -1;
}

size_t occurrences(const Words& w, std::string_view word) {
  size_t n = 0;
  for (auto x : w) n += x == word;
  return n;
}

std::optional<int64_t> integer_part(const Words& w) {
  if (w.empty()) return 0;
  if (w.size() == 1) return value_of(w[0]);
  ptrdiff_t b = index_of(w, "billion"), m = index_of(w, "million"), t = index_of(w, "thousand");
  const size_t size = w.size();
  int64_t total = 0;
  auto add_group = [&](size_t begin, size_t end, int64_t scale) {
    auto v = group_value(w, begin, end);
    if (v) total += *v * scale;
    return v.has_value();
  };
  if (b > -1 && !add_group(0, static_cast<size_t>(b), 1000000000)) return std::nullopt;
  if (m > -1 && !add_group(b > -1 ? static_cast<size_t>(b + 1) : 0, static_cast<size_t>(m), 1000000)) return std::nullopt;
  if (t > -1) {
    size_t begin = m > -1 ? static_cast<size_t>(m + 1) : b > -1 ? static_cast<size_t>(b + 1) : 0;
    if (!add_group(begin, static_cast<size_t>(t), 1000)) return std::nullopt;
  }
  std::optional<size_t> rest;
  if (t > -1 && static_cast<size_t>(t) != size - 1) rest = static_cast<size_t>(t + 1);
  else if (m > -1 && static_cast<size_t>(m) != size - 1) rest = static_cast<size_t>(m + 1);
  else if (b > -1 && static_cast<size_t>(b) != size - 1) rest = static_cast<size_t>(b + 1);
  else if (t == -1 && m == -1 && b == -1) rest = 0;
  if (rest && !add_group(*rest, size, 1)) return std::nullopt;
  return total;
}

std::string python_str(int64_t integer, std::optional<double> fraction) {
  if (!fraction) return std::to_string(integer);
  return text::float_repr(static_cast<double>(integer) + *fraction);
}

// get_decimal_sum(): digit words after "point"; 0 (an int) when any word is
// not a single digit.
std::optional<double> decimal_part(const Words& w) {
  static const char* kDigits[] = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"};
  std::string digits = "0.";
  for (std::string_view word : w) {
    int d = -1;
    for (int k = 0; k < 10; ++k)
      if (word == kDigits[k]) d = k;
    if (d < 0) return std::nullopt;
    digits += static_cast<char>('0' + d);
  }
  return text::parse_float(digits);
}

// The ASCII digits of a string made only of decimal digits (any script).
std::optional<std::string> decimal_digits(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    int d = text::decimal_value(text::next_code_point(s, i));
    if (d < 0) return std::nullopt;
    out += static_cast<char>('0' + d);
  }
  if (out.empty()) return std::nullopt;
  return out;
}

std::optional<std::string> word_to_num(std::string_view input) {
  std::string sentence = text::lower(text::replace_all(input, "-", " "));
  if (auto digits = decimal_digits(sentence)) {  // int(s): drops leading zeros
    size_t nz = digits->find_first_not_of('0');
    return nz == std::string::npos ? "0" : digits->substr(nz);
  }
  Words words;
  for (std::string_view w : text::split_whitespace(sentence))
    if (w == "point" || number_words().count(w)) words.push_back(w);
  if (words.empty()) return std::nullopt;
  for (const char* once : {"thousand", "million", "billion", "point"})
    if (occurrences(words, once) > 1) return std::nullopt;
  Words decimals;
  ptrdiff_t point = index_of(words, "point");
  if (point > -1) {
    decimals.assign(words.begin() + point + 1, words.end());
    words.resize(static_cast<size_t>(point));
  }
  ptrdiff_t b = index_of(words, "billion"), m = index_of(words, "million"), t = index_of(words, "thousand");
  if ((t > -1 && (t < m || t < b)) || (m > -1 && m < b)) return std::nullopt;
  std::optional<int64_t> integer = integer_part(words);
  if (!integer) return std::nullopt;
  std::optional<double> fraction;
  if (!decimals.empty()) {
    fraction = decimal_part(decimals);
    if (!fraction) return std::to_string(*integer);  // the int 0 added: stays an int
  }
  return python_str(*integer, fraction);
}

}  // namespace

std::string convert_number_words(std::string_view s) {
  // Python's str.isdigit() is also true for superscripts; int() then fails
  // and the text stays, as it does here.
  if (auto n = word_to_num(s)) return *n;
  return std::string(s);
}

}  // namespace rkv::eval::detail
