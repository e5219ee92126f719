// normalize_answer(): the reference's strip_string(), step by step in its
// order (the order matters), with the strict rules' changes marked.
#include "eval/normalize.h"

#include "eval/text.h"

namespace rkv::eval {
namespace detail {

using text::replace_all;

std::string fix_fracs(std::string_view s) {
  std::vector<std::string_view> parts = text::split(s, "\\frac");
  std::string out(parts[0]);
  for (size_t k = 1; k < parts.size(); ++k) {
    std::string_view sub = parts[k];
    out += "\\frac";
    if (!sub.empty() && sub[0] == '{') {
      out += sub;
      continue;
    }
    if (text::code_point_count(sub) < 2) return std::string(s);
    size_t a_len = text::code_point_size(sub, 0);
    size_t b_len = text::code_point_size(sub, a_len);
    std::string_view a = sub.substr(0, a_len), b = sub.substr(a_len, b_len), rest = sub.substr(a_len + b_len);
    out += "{";
    out += a;
    out += "}";
    if (b != "{") {
      out += "{";
      out += b;
      out += "}";
    } else {
      out += b;
    }
    out += rest;
  }
  return out;
}

std::string fix_a_slash_b(std::string_view s) {
  std::vector<std::string_view> parts = text::split(s, "/");
  if (parts.size() != 2) return std::string(s);
  // int(a) must print back as a: the reference asserts "{a}/{b}" == s.
  auto canonical = [](std::string_view p) { return text::contains(p, "sqrt") || text::is_canonical_int(p); };
  if (!canonical(parts[0]) || !canonical(parts[1])) return std::string(s);
  return "\\frac{" + std::string(parts[0]) + "}{" + std::string(parts[1]) + "}";
}

std::string fix_sqrt(std::string_view s) {
  std::string out;
  size_t at = 0;
  for (size_t hit = s.find("\\sqrt"); hit != std::string_view::npos; hit = s.find("\\sqrt", at)) {
    size_t end = hit + 5;
    while (end < s.size()) {
      size_t next = end;
      if (!text::is_word(text::next_code_point(s, next))) break;
      end = next;
    }
    out.append(s, at, hit + 5 - at);
    if (end > hit + 5) {
      out += "{";
      out.append(s, hit + 5, end - hit - 5);
      out += "}";
    }
    at = end;
  }
  out.append(s, at);
  return out;
}

}  // namespace detail

namespace {

using text::replace_all;

// re.sub(open + r".*?" + close, replacement(content)) with '.' not crossing
// newlines: every `open`, up to the first `close` after it.
template <class Replace>
std::string replace_lazy(std::string_view s, std::string_view open, std::string_view close, Replace replace) {
  std::string out;
  size_t at = 0, search = 0;
  while (true) {
    size_t hit = s.find(open, search);
    if (hit == std::string_view::npos) break;
    size_t body = hit + open.size();
    size_t end = s.find(close, body);
    size_t newline = s.find('\n', body);
    if (end == std::string_view::npos || (newline != std::string_view::npos && newline < end)) {
      search = hit + 1;
      continue;
    }
    out.append(s, at, hit - at);
    out += replace(s.substr(body, end - body));
    at = search = end + close.size();
  }
  out.append(s, at);
  return out;
}

// \begin{array}{...} -> \begin{pmatrix}, \end{array} -> \end{pmatrix}, bmatrix -> pmatrix.
std::string unify_matrices(std::string_view s) {
  std::string out = replace_lazy(s, "\\begin{array}{", "}", [](std::string_view) { return "\\begin{pmatrix}"; });
  out = replace_all(out, "\\end{array}", "\\end{pmatrix}");
  return replace_all(out, "bmatrix", "pmatrix");
}

// re.sub(r"\\text{.*?}$", "", s).strip(), kept only when not empty: a
// trailing unit such as "5\text{ cm}" (from the first \text{ to the end).
std::string remove_trailing_text(const std::string& s) {
  size_t hit = s.find("\\text{");
  if (hit == std::string::npos || s.empty() || s.back() != '}' || s.size() < hit + 7) return s;
  if (s.find('\n', hit) != std::string::npos) return s;
  std::string shorter(text::strip(std::string_view(s).substr(0, hit)));
  return shorter.empty() ? s : shorter;
}

// Strict rules: \textbf{x}, \mathbf{x}, \mathrm{x}, \boldsymbol{x} -> x.
std::string unwrap_font_commands(std::string s) {
  for (const char* cmd : {"\\textbf{", "\\mathbf{", "\\mathrm{", "\\boldsymbol{", "\\textit{", "\\mathit{"})
    s = replace_lazy(s, cmd, "}", [](std::string_view body) { return std::string(body); });
  return s;
}

// Strict rules: "and" only as a word, read as a list separator.
std::string replace_and_word(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    bool word = s.compare(i, 3, "and") == 0 && (i == 0 || !text::is_ascii_alpha(s[i - 1])) &&
                (i + 3 >= s.size() || !text::is_ascii_alpha(s[i + 3]));
    if (word) {
      out += ",";
      i += 3;
    } else {
      out += s[i++];
    }
  }
  return out;
}

bool ends_with_decimal_digit(std::string_view s) {
  if (s.empty()) return false;
  size_t back = s.size() - 1;
  while (back > 0 && (static_cast<unsigned char>(s[back]) & 0xC0) == 0x80) --back;
  return text::decimal_value(text::next_code_point(s, back)) >= 0;
}

// re.sub(r"(\d+)\.0*([^\d])", r"\1\2"): "5.00x" -> "5x". A match consumes
// the character after the zeros, so the scan resumes after it.
std::string drop_inner_zero_decimals(std::string_view s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '.' && ends_with_decimal_digit(out)) {
      size_t z = i + 1;
      while (z < s.size() && s[z] == '0') ++z;
      size_t after = z;
      if (z < s.size() && text::decimal_value(text::next_code_point(s, after)) < 0) {
        out.append(s, z, after - z);
        i = after;
        continue;
      }
    }
    size_t next = i + text::code_point_size(s, i);
    out.append(s, i, next - i);
    i = next;
  }
  return out;
}

// re.sub(r"(\d+)\.0*$", r"\1"): "3.0" -> "3", "3." -> "3".
std::string drop_trailing_zero_decimals(std::string s) {
  std::string_view t = text::rstrip_chars(s, "0");
  if (!t.empty() && t.back() == '.' && ends_with_decimal_digit(t.substr(0, t.size() - 1))) s.resize(t.size() - 1);
  return s;
}

// "k = 5" -> " 5": an equation whose left side is at most two characters.
std::string drop_short_lhs(const std::string& s, bool strict) {
  std::vector<std::string_view> parts = text::split(s, "=");
  if (parts.size() != 2) return s;
  if (text::code_point_count(parts[0]) <= 2) {
    std::string_view lhs = text::strip(parts[0]);
    bool variable = !lhs.empty() && text::is_ascii_alpha(lhs[0]);
    // Strict rules: "5 = x" keeps 5 (the reference keeps x).
    if (strict && !variable && !lhs.empty()) {
      std::string_view rhs = text::strip(parts[1]);
      if (text::code_point_count(rhs) <= 2 && !rhs.empty() && text::is_ascii_alpha(rhs[0])) return std::string(lhs);
    }
    return std::string(parts[1]);
  }
  if (strict) {
    std::string_view lhs = text::strip(parts[0]), rhs = text::strip(parts[1]);
    if (text::code_point_count(rhs) == 1 && text::is_ascii_alpha(rhs[0])) return std::string(parts[0]);
    // "f(x) = ..." names the function: its right side is the answer.
    bool function_name = lhs.size() == 4 && text::is_ascii_alpha(lhs[0]) && lhs[1] == '(' &&
                         text::is_ascii_alpha(lhs[2]) && lhs[3] == ')';
    if (function_name) return std::string(parts[1]);
  }
  return s;
}

std::string replace_infinity(std::string s) {
  s = replace_all(s, "infinity", "\\infty");
  if (!text::contains(s, "\\infty")) s = replace_all(s, "inf", "\\infty");
  return replace_all(s, "+\\inity", "\\infty");
}

// Steps up to the unit words.
std::string strip_layout(std::string_view answer, bool strict) {
  std::string s(text::strip(answer));
  // Strict rules: math delimiters go first, so that "$5 \text{ cm}$" loses its unit.
  if (strict) s = std::string(text::strip(replace_all(replace_all(s, "\\$", ""), "$", "")));
  s = replace_all(s, "\n", "");
  s = std::string(text::rstrip_chars(s, "."));
  s = replace_all(s, "\\!", "");
  s = unify_matrices(s);
  s = replace_all(replace_all(s, "tfrac", "frac"), "dfrac", "frac");
  s = replace_all(replace_all(replace_all(s, "\\neq", "\\ne"), "\\leq", "\\le"), "\\geq", "\\ge");
  s = replace_all(replace_all(s, "\\left", ""), "\\right", "");
  s = replace_all(replace_all(s, "\\{", "{"), "\\}", "}");
  if (strict) {
    s = unwrap_font_commands(s);
    for (const char* bar : {"\\lvert", "\\rvert", "\\vert"}) s = replace_all(s, bar, "|");
  }
  return remove_trailing_text(s);
}

// Strict rules: 0.1\overline{6} -> \frac{15}{90} (the exact value).
std::string repeating_decimals(const std::string& s) {
  size_t at = s.find(".");
  std::string out = s;
  for (; at != std::string::npos; at = out.find(".", at + 1)) {
    size_t start = at;
    while (start > 0 && text::is_ascii_digit(out[start - 1])) --start;
    size_t frac_end = at + 1;
    while (frac_end < out.size() && text::is_ascii_digit(out[frac_end])) ++frac_end;
    if (out.compare(frac_end, 10, "\\overline{") != 0) continue;
    size_t rep_end = out.find('}', frac_end + 10);
    if (rep_end == std::string::npos) continue;
    std::string whole = out.substr(start, at - start), fixed = out.substr(at + 1, frac_end - at - 1),
                repeat = out.substr(frac_end + 10, rep_end - frac_end - 10);
    bool digits = !repeat.empty() && repeat.find_first_not_of("0123456789") == std::string::npos;
    if (!digits || whole.size() + fixed.size() + repeat.size() > 15) continue;
    // x = whole.fixed(repeat)... : (whole fixed repeat - whole fixed) / ((10^r - 1) 10^f)
    long long all = std::stoll("0" + whole + fixed + repeat), head = std::stoll("0" + whole + fixed);
    long long den = 1;
    for (size_t k = 0; k < repeat.size(); ++k) den *= 10;
    den -= 1;
    for (size_t k = 0; k < fixed.size(); ++k) den *= 10;
    std::string frac = "\\frac{" + std::to_string(all - head) + "}{" + std::to_string(den) + "}";
    out = out.substr(0, start) + frac + out.substr(rep_end + 1);
    at = start;
  }
  return out;
}

// Strict rules: "5 apples" -> "5", a number followed only by words.
std::string drop_words_after_number(const std::string& s) {
  std::string_view t = text::strip(s);
  size_t i = 0;
  if (i < t.size() && t[i] == '-') ++i;
  size_t digits_start = i;
  while (i < t.size() && (text::is_ascii_digit(t[i]) || t[i] == ',' || t[i] == '.')) ++i;
  if (i == digits_start || i >= t.size() || t[i] != ' ') return s;
  std::string_view rest = text::strip(t.substr(i));
  if (rest.empty() || !text::is_ascii_alpha(rest[0])) return s;
  for (char c : rest)
    if (!text::is_ascii_alpha(c) && c != ' ' && c != '.') return s;
  return std::string(t.substr(0, i));
}

// Strict rules: spaces go, except one between a command and a letter
// ("\pi r" stays "\pi r", not the unknown command "\pir").
std::string remove_spaces(const std::string& s, bool strict) {
  if (!strict) return replace_all(s, " ", "");
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != ' ') {
      out += s[i];
      continue;
    }
    size_t k = out.size();
    while (k > 0 && text::is_ascii_alpha(out[k - 1])) --k;
    std::string_view command = std::string_view(out).substr(k);
    // \frac ab and \sqrt x read their arguments without the space.
    bool takes_arguments = command.ends_with("frac") || command == "sqrt" || command.ends_with("binom");
    bool after_command = k < out.size() && k > 0 && out[k - 1] == '\\' && !takes_arguments;
    size_t next = s.find_first_not_of(' ', i);
    if (after_command && next != std::string::npos && text::is_ascii_alpha(s[next])) out += ' ';
    i = (next == std::string::npos ? s.size() : next) - 1;
  }
  return out;
}

std::string strip_symbols(std::string s, bool strict) {
  s = replace_all(replace_all(s, "^{\\circ}", ""), "^\\circ", "");
  s = replace_all(replace_all(s, "\\$", ""), "$", "");
  s = replace_all(replace_all(s, "\\(", ""), "\\)", "");
  s = detail::convert_number_words(s);
  s = replace_lazy(s, "\\text{", "}", [](std::string_view body) { return std::string(body); });
  for (const char* key : {"x=", "y=", "z=", "x\\in", "y\\in", "z\\in", "x\\to", "y\\to", "z\\to"})
    s = replace_all(s, key, "");
  s = replace_all(s, "\\emptyset", "{}");
  s = replace_all(s, "(-\\infty,\\infty)", "\\mathbb{R}");
  // Strict rules keep a percent sign ("50%"): the comparison reads it.
  s = strict ? replace_all(s, "\\%", "%") : replace_all(replace_all(s, "\\%", ""), "%", "");
  if (strict) s = repeating_decimals(s);
  s = replace_all(replace_all(s, " .", " 0."), "{.", "{0.");
  s = replace_infinity(std::move(s));
  s = strict ? replace_and_word(s) : replace_all(s, "and", "");
  s = replace_all(s, "\\mathbf", "");
  return replace_lazy(s, "\\mbox{", "}", [](std::string_view) { return std::string(); });
}

std::string strip_string(std::string_view answer, bool strict) {
  std::string s = strip_layout(answer, strict);
  s = strict ? detail::strip_trailing_units(s) : detail::strip_unit_words(s);
  s = strip_symbols(std::move(s), strict);
  if (strict) s = drop_words_after_number(s);
  if (text::contains(s, "j") && !text::contains(s, "i")) s = replace_all(s, "j", "i");
  s = drop_trailing_zero_decimals(drop_inner_zero_decimals(s));
  if (s.empty()) return s;
  if (s[0] == '.') s = "0" + s;
  s = drop_short_lhs(s, strict);
  s = detail::fix_sqrt(s);
  s = remove_spaces(s, strict);
  s = detail::fix_fracs(s);
  return detail::fix_a_slash_b(s);
}

}  // namespace

std::string normalize_answer(std::string_view answer, Rules rules) {
  return strip_string(answer, rules == Rules::kStrict);
}

}  // namespace rkv::eval
