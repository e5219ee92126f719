// Unit-word removal: the reference's loop over MathQA unit words, and the
// strict rules' narrower version.
#include <array>
#include <set>

#include "eval/normalize.h"
#include "eval/text.h"

namespace rkv::eval::detail {
namespace {

// The reference harness's unit words, in its order (the order matters: each
// word is removed in turn, twice over). Each is a pattern: '.' stands for any
// character. The list is followed by every word with an "s" appended.
constexpr const char* kReferenceUnits[] = {
    "east",    "degree",     "mph",     "kmph",   "ft",        "m sqaure",  " m east", "sq m",     "deg",
    "mile",    "q .",        "monkey",  "prime",  "ratio",     "profit of rs", "rd",   "o",        "gm",
    "p . m",   "lb",         "tile",    "per",    "dm",        "lt",        "gain",    "ab",       "way",
    "west",    "a .",        "b .",     "c .",    "d .",       "e .",       "f .",     "g .",      "h .",
    "t",       "a",          "h",       "no change", "men",    "soldier",   "pie",     "bc",       "excess",
    "st",      "inches",     "noon",    "percent", "by",       "gal",       "kmh",     "c",        "acre",
    "rise",    "a . m",      "th",      "π r 2",  "sq",        "mark",      "l",       "toy",      "coin",
    "sq . m",  "gallon",     "° f",     "profit", "minw",      "yr",        "women",   "feet",     "am",
    "pm",      "hr",         "cu cm",   "square", "v â € ™",    "are",       "rupee",   "rounds",   "cubic",
    "cc",      "mtr",        "s",       "ohm",    "number",    "kmph",      "day",     "hour",     "minute",
    "min",     "second",     "man",     "woman",  "sec",       "cube",      "mt",      "sq inch",  "mp",
    "∏ cm ³",  "hectare",    "more",    "sec",    "unit",      "cu . m",    "cm 2",    "rs .",     "rs",
    "kg",      "g",          "month",   "km",     "m",         "cm",        "mm",      "apple",    "liter",
    "loss",    "yard",       "pure",    "year",   "increase",  "decrease",  "d",       "less",     "Surface",
    "litre",   "pi sq m",    "s .",     "metre",  "meter",     "inch",
};

std::u32string decode(std::string_view s) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) out += text::next_code_point(s, i);
  return out;
}

std::string encode(const std::u32string& s) {
  std::string out;
  for (char32_t c : s) text::append_utf8(out, c);
  return out;
}

const std::vector<std::u32string>& reference_units() {
  static const std::vector<std::u32string> units = [] {
    std::vector<std::u32string> out;
    for (const char* u : kReferenceUnits) out.push_back(decode(u));
    for (const char* u : kReferenceUnits) out.push_back(decode(std::string(u) + "s"));
    return out;
  }();
  return units;
}

bool unit_matches_at(const std::u32string& s, size_t at, const std::u32string& unit) {
  if (at + unit.size() > s.size()) return false;
  for (size_t k = 0; k < unit.size(); ++k) {
    char32_t want = unit[k], got = s[at + k];
    if (want == U'.' ? got == U'\n' : got != want) return false;
  }
  return true;
}

// One match of (^|\W)unit($|\W) starting at `at`, the way Python's re tries
// it: the '^' alternative first, then a non-word character. Returns the end
// of the match and the boundary characters it consumed.
struct UnitMatch {
  size_t end = 0;
  std::u32string boundary;  // \1\2: what the substitution puts back
};

std::optional<UnitMatch> match_unit(const std::u32string& s, size_t at, const std::u32string& unit) {
  auto finish = [&](size_t unit_start, std::u32string before) -> std::optional<UnitMatch> {
    size_t e = unit_start + unit.size();
    if (e == s.size()) return UnitMatch{e, before};
    if (!text::is_word(s[e])) return UnitMatch{e + 1, before + s[e]};
    return std::nullopt;
  };
  if (at == 0 && unit_matches_at(s, 0, unit))
    if (auto m = finish(0, {})) return m;
  if (at < s.size() && !text::is_word(s[at]) && unit_matches_at(s, at + 1, unit))
    return finish(at + 1, std::u32string(1, s[at]));
  return std::nullopt;
}

// re.sub(r"(^|\W)" + unit + r"($|\W)", r"\1\2", s)
std::u32string remove_unit(const std::u32string& s, const std::u32string& unit) {
  std::u32string out;
  size_t copied = 0;
  for (size_t at = 0; at <= s.size();) {
    if (auto m = match_unit(s, at, unit)) {
      out.append(s, copied, at - copied);
      out += m->boundary;
      at = copied = m->end;
    } else {
      ++at;
    }
  }
  out.append(s, copied);
  return out;
}

// Units a careful reader removes after a number: lengths, areas, volumes,
// times, masses, money, angles (my own list, not the reference's).
const std::set<std::string>& strict_units() {
  static const std::set<std::string> units = [] {
    std::set<std::string> out;
    for (const char* u :
         {"m",       "cm",     "mm",     "km",       "meter",  "metre",   "centimeter", "millimeter", "kilometer",
          "in",      "inch",   "inches", "ft",       "foot",   "feet",    "yd",         "yard",       "mi",
          "mile",    "sq",     "square", "cubic",    "cu",     "acre",    "hectare",    "l",          "liter",
          "litre",   "ml",     "gal",    "gallon",   "cc",     "s",       "sec",        "second",     "min",
          "minute",  "h",      "hr",     "hour",     "day",    "week",    "month",      "year",       "yr",
          "g",       "gm",     "gram",   "kg",       "kilogram", "mg",    "lb",         "pound",      "oz",
          "ounce",   "ton",    "dollar", "cent",     "rupee",  "rs",      "degree",     "deg",        "radian",
          "mph",     "kmph",   "kmh",    "unit",     "percent", "ohm"}) {
      out.insert(u);
      out.insert(std::string(u) + "s");
    }
    return out;
  }();
  return units;
}

bool is_unit_phrase(std::string_view run) {
  std::vector<std::string_view> words = text::split_whitespace(run);
  if (words.empty()) return false;
  for (std::string_view w : words) {
    std::string_view bare = text::rstrip_chars(w, ".");
    if (bare.empty() || !strict_units().count(std::string(bare))) return false;
  }
  return true;
}

}  // namespace

std::string strip_unit_words(std::string_view input) {
  std::u32string s = decode(input);
  for (int pass = 0; pass < 2; ++pass) {
    for (const std::u32string& unit : reference_units()) {
      if (s.find(unit[0]) == std::u32string::npos) continue;  // cannot match
      std::u32string stripped = remove_unit(s, unit);
      if (!stripped.empty()) s = std::move(stripped);
    }
  }
  return encode(s);
}

std::string strip_trailing_units(std::string_view input) {
  std::string_view s = text::strip(input);
  for (std::string_view power : {"^{2}", "^{3}", "^2", "^3", ""}) {
    if (s.size() < power.size() || s.substr(s.size() - power.size()) != power) continue;
    std::string_view body = s.substr(0, s.size() - power.size());
    size_t start = body.size();
    while (start > 0 && (text::is_ascii_alpha(body[start - 1]) || body[start - 1] == ' ' || body[start - 1] == '.'))
      --start;
    while (start < body.size() && (body[start] == ' ' || body[start] == '.')) ++start;
    if (start == body.size() || start == 0 || body[start - 1] != ' ') continue;
    if (!is_unit_phrase(body.substr(start))) continue;
    std::string_view number = text::rstrip(body.substr(0, start));
    if (number.empty()) continue;
    char last = number.back();
    if (text::is_ascii_digit(last) || last == '}' || last == ')') return std::string(number);
  }
  return std::string(s);
}

}  // namespace rkv::eval::detail
