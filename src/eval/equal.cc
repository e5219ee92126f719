// math_equal(): is a normalised prediction the gold answer? The layers of the
// reference's grader.py in its order; strict rules change the marked steps.
#include "eval/equal.h"

#include <cmath>
#include <vector>

#include "eval/text.h"
#include "rkv/eval/latex_expr.h"

namespace rkv::eval::detail {
namespace {

// Tuples and matrices recurse per element; hostile input must not recurse
// without bound (a verdict of "not equal" beyond this depth).
constexpr int kMaxDepth = 32;

bool word_boundary_letter(const std::vector<char32_t>& s, size_t i) {
  bool before = i == 0 || !text::is_word(s[i - 1]);
  bool after = i + 1 >= s.size() || !text::is_word(s[i + 1]);
  return s[i] >= U'A' && s[i] <= U'E' && before && after;
}

// re.findall(r"\b(A|B|C|D|E)\b", s.upper())
std::vector<char> choice_letters_in(std::string_view s) {
  std::vector<char32_t> cps;
  for (size_t i = 0; i < s.size();) {
    char32_t c = text::next_code_point(s, i);
    cps.push_back(c >= U'a' && c <= U'z' ? c - 32 : c);
  }
  std::vector<char> letters;
  for (size_t i = 0; i < cps.size(); ++i)
    if (word_boundary_letter(cps, i)) letters.push_back(static_cast<char>(cps[i]));
  return letters;
}

std::string trim_choice(std::string_view s) {
  s = text::strip_chars(s, "\n");
  s = text::rstrip_chars(text::rstrip_chars(s, "."), "/");
  s = text::strip_chars(s, " ");
  return std::string(s.substr(std::min(s.find_first_not_of(':'), s.size())));
}

// grader.py's choice_answer_clean(): the last choice letter, else the text.
std::string grader_choice(std::string_view pred) {
  std::string s = trim_choice(pred);
  std::vector<char> letters = choice_letters_in(s);
  std::string out = letters.empty() ? std::string(text::strip_chars(text::strip(s), ".")) : std::string(1, letters.back());
  return std::string(text::rstrip_chars(text::rstrip_chars(out, "."), "/"));
}

std::string remove_chars(std::string_view s, std::string_view chars) {
  std::string out;
  for (char c : s)
    if (chars.find(c) == std::string_view::npos) out += c;
  return out;
}

bool is_close(double reference, double prediction, double rel_tol) {
  if (reference == prediction) return true;
  if (std::isinf(reference) || std::isinf(prediction)) return false;
  double diff = std::fabs(reference - prediction);
  return diff <= rel_tol * std::fabs(reference) || diff <= rel_tol * std::fabs(prediction);
}

// Numbers: the reference accepts gold/100, gold and gold*100 with relative
// tolerance 1e-4.
bool numbers_equal(double pred, double gold) {
  for (double candidate : {gold / 100, gold, gold * 100})
    if (is_close(candidate, pred, 1e-4)) return true;
  return false;
}

// Strict rules: the same number (to 1e-9), where "50%" is 50 or 0.5.
std::vector<double> strict_values(std::string_view s) {
  std::string t = remove_chars(s, ",");
  bool percent = !t.empty() && t.back() == '%';
  if (percent) t.pop_back();
  auto v = text::parse_float(t);
  if (!v) return {};
  if (percent) return {*v, *v / 100};
  return {*v};
}

std::optional<bool> strict_numbers_equal(std::string_view pred, std::string_view gold) {
  std::vector<double> p = strict_values(pred), g = strict_values(gold);
  if (p.empty() || g.empty()) return std::nullopt;
  for (double a : p)
    for (double b : g)
      if (is_close(b, a, 1e-9)) return true;
  return false;
}

// Strict rules: unions of intervals in any order.
bool unions_equal(std::string_view pred, std::string_view ref, int depth);

std::string_view without_last_code_point(std::string_view s) {
  size_t i = 0, last = 0;
  while (i < s.size()) {
    last = i;
    i += text::code_point_size(s, i);
  }
  return s.substr(0, last);
}

// str_to_pmatrix(): "{1,2}" -> "\begin{pmatrix}1\2\end{pmatrix}" (a single
// backslash, as the reference writes it); "" when there is no "{..,..}".
std::string to_pmatrix(std::string_view ref) {
  ref = text::strip(ref);
  size_t open = ref.find('{');
  while (open != std::string_view::npos) {
    size_t close = ref.rfind('}');
    size_t comma = ref.find(',', open + 1);
    if (close != std::string_view::npos && comma != std::string_view::npos && comma < close) {
      std::string_view m = text::strip_chars(ref.substr(open, close + 1 - open), "{}");
      return "\\begin{pmatrix}" + text::replace_all(m, ",", "\\") + "\\end{pmatrix}";
    }
    open = ref.find('{', open + 1);
  }
  return {};
}

bool bracketed(std::string_view s, char open, char close) { return !s.empty() && s.front() == open && s.back() == close; }

// "(1,2)" vs "1,2": brackets and braces do not count. Strict rules: both
// sides keep their own brackets when they have different ones.
bool equal_without_brackets(std::string_view pred, std::string_view ref, bool strict) {
  std::string_view p = pred, r = ref;
  if ((bracketed(pred, '[', ']') && !(!ref.empty() && ref[0] == '(')) ||
      (bracketed(pred, '(', ')') && !(!ref.empty() && ref[0] == '['))) {
    if (strict && !ref.empty() && (ref.front() != pred.front() || ref.back() != pred.back()) &&
        (ref.front() == '(' || ref.front() == '[')) {
      return false;
    }
    p = text::strip_chars(p, "[]()");
    r = text::strip_chars(r, "[]()");
  }
  return text::lower(remove_chars(p, "{}()")) == text::lower(remove_chars(r, "{}()"));
}

// regex.match(r"(\(|\[).+(\)|\])", s): opens with ( or [ and has ) or ]
// somewhere after at least one more character.
bool looks_like_tuple(std::string_view s) {
  if (s.empty() || (s[0] != '(' && s[0] != '[')) return false;
  size_t first_char_end = 1;
  if (s.size() <= first_char_end) return false;
  size_t after_one = first_char_end + text::code_point_size(s, first_char_end);
  return s.find_first_of(")]", after_one) != std::string_view::npos;
}

bool parts_equal(const std::vector<std::string_view>& p, const std::vector<std::string_view>& r, bool strict, int depth);

bool tuples_equal(std::string_view pred, std::string_view ref, bool strict, int depth) {
  if (!looks_like_tuple(pred) || !looks_like_tuple(ref)) return false;
  if (strict && (pred.front() != ref.front() || pred.back() != ref.back())) return false;
  std::string_view p = without_last_code_point(pred.substr(1)), r = without_last_code_point(ref.substr(1));
  return parts_equal(text::split(p, ","), text::split(r, ","), strict, depth);
}

bool is_matrix(std::string_view s) {
  bool begins = s.starts_with("\\begin{pmatrix}") || s.starts_with("\\begin{bmatrix}");
  bool ends = s.ends_with("\\end{pmatrix}") || s.ends_with("\\end{bmatrix}");
  return begins && ends;
}

std::vector<std::string_view> matrix_rows(std::string_view s) {
  constexpr size_t kBegin = 15, kEnd = 13;  // "\begin{pmatrix}", "\end{pmatrix}"
  std::string_view body = s.size() >= kBegin + kEnd ? s.substr(kBegin, s.size() - kBegin - kEnd) : std::string_view();
  std::vector<std::string_view> rows;
  for (std::string_view row : text::split(body, "\\\\")) {
    row = text::strip(row);
    if (!row.empty()) rows.push_back(row);
  }
  return rows;
}

bool matrices_equal(std::string_view pred, std::string_view ref, bool strict, int depth) {
  if (!is_matrix(pred) || !is_matrix(ref)) return false;
  std::vector<std::string_view> p = matrix_rows(pred), r = matrix_rows(ref);
  if (p.size() != r.size()) return false;
  for (size_t i = 0; i < p.size(); ++i)
    if (!parts_equal(text::split(p[i], "&"), text::split(r[i], "&"), strict, depth)) return false;
  return true;
}

bool math_equal_at(std::string_view pred, std::string_view ref, bool strict, int depth);

bool parts_equal(const std::vector<std::string_view>& p, const std::vector<std::string_view>& r, bool strict, int depth) {
  if (p.size() != r.size()) return false;
  for (size_t i = 0; i < p.size(); ++i)
    if (!math_equal_at(p[i], r[i], strict, depth + 1)) return false;
  return true;
}

std::string as_difference(std::string_view equation) {
  std::vector<std::string_view> sides = text::split(equation, "=");
  return std::string(text::strip(sides[0])) + " - (" + std::string(text::strip(sides[1])) + ")";
}

// "a = b" vs "c = d": a-(b) against c-(d) or its negation. One side an
// equation with a short left side ("k = 5") and the other none: its right side.
std::optional<bool> equations_equal(std::string_view pred, std::string_view ref, bool strict, int depth) {
  size_t pe = text::count(pred, "="), re = text::count(ref, "=");
  if (pe == 1 && re == 1) {
    std::string p = as_difference(pred), r = as_difference(ref);
    if (symbolic_equal(p, r, strict) || symbolic_equal("-(" + p + ")", r, strict)) return true;
  } else if (pe == 1 && text::code_point_count(text::strip(text::split(pred, "=")[0])) <= 2 && re == 0) {
    if (math_equal_at(text::split(pred, "=")[1], ref, strict, depth + 1)) return true;
  } else if (re == 1 && text::code_point_count(text::strip(text::split(ref, "=")[0])) <= 2 && pe == 0) {
    if (math_equal_at(pred, text::split(ref, "=")[1], strict, depth + 1)) return true;
  }
  return std::nullopt;
}

bool math_equal_at(std::string_view pred_in, std::string_view ref_in, bool strict, int depth) {
  if (depth > kMaxDepth) return false;
  if (text::lower(text::strip(pred_in)) == text::lower(text::strip(ref_in))) return true;
  if (ref_in.size() == 1 && ref_in[0] >= 'A' && ref_in[0] <= 'E' && grader_choice(pred_in) == ref_in) return true;
  if (strict) {
    if (auto same = strict_numbers_equal(pred_in, ref_in)) return *same;
  } else {
    std::optional<double> p_num = parse_digits(pred_in), r_num = parse_digits(ref_in);
    if (p_num && r_num) return numbers_equal(*p_num, *r_num);
  }
  if (pred_in.empty()) return false;

  std::string_view pred = text::strip(pred_in);
  std::string ref_storage(text::strip(ref_in));
  if (text::contains(pred, "pmatrix") && !text::contains(ref_storage, "pmatrix")) ref_storage = to_pmatrix(ref_storage);
  std::string_view ref = ref_storage;

  if (equal_without_brackets(pred, ref, strict)) return true;
  if (tuples_equal(pred, ref, strict, depth)) return true;
  if (matrices_equal(pred, ref, strict, depth)) return true;
  if (auto eq = equations_equal(pred, ref, strict, depth)) return *eq;
  if (strict && unions_equal(pred, ref, depth)) return true;
  return symbolic_equal(pred, ref, strict);
}

bool unions_equal(std::string_view pred, std::string_view ref, int depth) {
  std::vector<std::string_view> p = text::split(pred, "\\cup"), r = text::split(ref, "\\cup");
  if (p.size() < 2 || p.size() != r.size() || p.size() > 8) return false;
  std::vector<bool> used(r.size(), false);
  for (std::string_view part : p) {
    bool matched = false;
    for (size_t k = 0; k < r.size() && !matched; ++k) {
      if (used[k] || !math_equal_at(part, r[k], true, depth + 1)) continue;
      used[k] = matched = true;
    }
    if (!matched) return false;
  }
  return true;
}

}  // namespace

std::optional<double> parse_digits(std::string_view s) {
  std::string num = remove_chars(s, ",");
  if (auto v = text::parse_float(num)) return v;
  if (num.empty() || num.back() != '%') return std::nullopt;
  num.pop_back();
  if (!num.empty() && num.back() == '\\') num.pop_back();
  if (auto v = text::parse_float(num)) return *v / 100;
  return std::nullopt;
}

std::string clean_choice_answer(std::string_view input) {
  std::string_view pred = text::strip_chars(input, "\n");
  bool icl = text::count(pred, "choice is") > 1 || text::count(pred, "answer is") > 1;
  if (icl) pred = text::split(pred, "\n\n")[0];
  // re.split("choice is|answer is"): the text after the last trigger.
  size_t cut = std::string_view::npos, cut_len = 0;
  for (std::string_view trigger : {std::string_view("choice is"), std::string_view("answer is")}) {
    size_t at = pred.rfind(trigger);
    if (at != std::string_view::npos && (cut == std::string_view::npos || at > cut)) {
      cut = at;
      cut_len = trigger.size();
    }
  }
  bool answer_flag = cut != std::string_view::npos;
  if (answer_flag) pred = pred.substr(cut + cut_len);
  std::string s = trim_choice(pred);
  std::vector<char> letters = choice_letters_in(s);
  std::string out;
  if (!letters.empty()) {
    out = std::string(1, answer_flag ? letters.front() : letters.back());
  } else {
    out = std::string(text::strip_chars(text::strip(s), "."));
  }
  return std::string(text::rstrip_chars(text::rstrip_chars(out, "."), "/"));
}

bool math_equal(std::string_view pred, std::string_view gold, bool strict) {
  return math_equal_at(pred, gold, strict, 0);
}

}  // namespace rkv::eval::detail
