// Finding the answer in a model's output: the reference's extract_answer()
// (last "boxed", "the answer is", "final answer is", last number) and the
// clean-ups around it, then normalisation.
#include "eval/extract.h"

#include "eval/text.h"

namespace rkv::eval::detail {
namespace {

// Text after the last "boxed": brace-matched when it opens with '{' (an
// unclosed group runs to the end), else up to the next '$', trimmed.
std::string boxed_argument(std::string_view after) {
  if (after.empty()) return {};
  if (after[0] != '{') return std::string(text::strip(text::split(after, "$")[0]));
  std::string out;
  int depth = 1;
  for (size_t i = 1; i < after.size(); ++i) {
    char c = after[i];
    if (c == '{') ++depth;
    if (c == '}' && --depth == 0) break;
    out += c;
  }
  return out;
}

// Strict rules: the last \boxed or \fbox command (with its backslash), so
// the word "boxed" in later prose does not count.
std::optional<std::string> strict_boxed(std::string_view s) {
  size_t best = std::string_view::npos, best_len = 0;
  for (std::string_view cmd : {std::string_view("\\boxed"), std::string_view("\\fbox")}) {
    size_t at = s.rfind(cmd);
    while (at != std::string_view::npos) {
      size_t end = at + cmd.size();
      bool whole = end >= s.size() || !text::is_ascii_alpha(s[end]);
      if (whole) break;
      at = at == 0 ? std::string_view::npos : s.rfind(cmd, at - 1);
    }
    if (at != std::string_view::npos && (best == std::string_view::npos || at > best)) {
      best = at;
      best_len = cmd.size();
    }
  }
  if (best == std::string_view::npos) return std::nullopt;
  std::string_view after = s.substr(best + best_len);
  std::string_view trimmed = after.substr(std::min(after.find_first_not_of(' '), after.size()));
  if (!trimmed.empty() && trimmed[0] == '{') return boxed_argument(trimmed);
  return boxed_argument(after);
}

// re.findall(r"-?\d*\.?\d+", s)[-1] (commas removed first); \d is any
// Unicode decimal digit, as in Python.
std::string last_number(std::string_view raw) {
  std::string s = text::replace_all(raw, ",", "");
  std::vector<size_t> offsets;  // byte offset of each code point, and the end
  std::vector<char32_t> cps;
  for (size_t i = 0; i < s.size();) {
    offsets.push_back(i);
    cps.push_back(text::next_code_point(s, i));
  }
  offsets.push_back(s.size());
  auto digit = [&](size_t k) { return k < cps.size() && text::decimal_value(cps[k]) >= 0; };
  std::string last;
  for (size_t i = 0; i < cps.size();) {
    size_t j = i + (cps[i] == U'-'), d = j;
    while (digit(d)) ++d;
    size_t end = 0;
    if (d < cps.size() && cps[d] == U'.' && digit(d + 1)) {
      for (end = d + 1; digit(end);) ++end;
    } else if (d > j) {
      end = d;
    } else {
      ++i;
      continue;
    }
    last = s.substr(offsets[i], offsets[end] - offsets[i]);
    i = end;
  }
  return last;
}

std::string text_after_last(std::string_view s, std::string_view marker) {
  return std::string(text::strip(s.substr(s.rfind(marker) + marker.size())));
}

// Strict rules: "the answer is 42. Let me check..." reads 42 — the rest of
// the line up to a sentence end.
std::string strict_sentence(std::string_view s) {
  s = s.substr(0, s.find('\n'));
  for (size_t at = s.find(". "); at != std::string_view::npos; at = s.find(". ", at + 1)) return std::string(s.substr(0, at));
  return std::string(s);
}

std::string raw_answer(std::string_view s, bool strict) {
  if (text::contains(s, "final answer is $") && text::contains(s, "$. I hope")) {
    std::string_view tail = s.substr(s.find("final answer is $") + 17);
    return std::string(text::strip(tail.substr(0, tail.find("$. I hope"))));
  }
  if (strict) {
    if (auto boxed = strict_boxed(s)) return *boxed;
  } else if (text::contains(s, "boxed")) {
    return boxed_argument(s.substr(s.rfind("boxed") + 5));
  }
  for (std::string_view marker : {std::string_view("he answer is"), std::string_view("final answer is")}) {
    if (!text::contains(s, marker)) continue;
    std::string after = text_after_last(s, marker);
    return strict ? std::string(text::strip(strict_sentence(after))) : after;
  }
  const std::string_view chinese = "\xE7\xAD\x94\xE6\xA1\x88\xE6\x98\xAF";  // 答案是
  if (text::contains(s, chinese)) {
    std::string_view after = text::split(s, chinese)[1];
    return std::string(text::strip(text::split(text::strip(after), "\n\n")[0]));
  }
  return last_number(s);
}

// re.sub(r"\n\s*", "", s): a newline and the whitespace after it.
std::string join_lines(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    if (s[i] != '\n') {
      out += s[i++];
      continue;
    }
    ++i;
    while (i < s.size()) {
      size_t next = i;
      if (!text::is_space(text::next_code_point(s, next))) break;
      i = next;
    }
  }
  return out;
}

}  // namespace

std::string cut_at_stop_words(std::string_view output) {
  bool cut = false;
  std::string_view s = output;
  for (std::string_view stop : {std::string_view("</s>"), std::string_view("<|im_end|>"),
                                std::string_view("<|endoftext|>"), std::string_view("\n\xE9\xA2\x98\xE7\x9B\xAE\xEF\xBC\x9A")}) {
    size_t at = s.find(stop);
    if (at == std::string_view::npos) continue;
    s = text::strip(s.substr(0, at));
    cut = true;
  }
  return std::string(cut ? s : output);
}

std::string extract_raw_answer(std::string_view output, bool strict) {
  std::string s = text::replace_all(output, "\xD0\xBA\xD0\xB8", "");  // "ки" step tags
  std::string pred = join_lines(raw_answer(s, strict));
  if (!pred.empty() && pred[0] == ':') pred.erase(0, 1);
  if (!pred.empty() && pred.back() == '.') pred.pop_back();
  if (!pred.empty() && pred.back() == '/') pred.pop_back();
  return pred;
}

}  // namespace rkv::eval::detail
