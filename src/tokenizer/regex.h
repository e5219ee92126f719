// tokenizer/regex: a PCRE2 pattern compiled with UTF + UCP (Unicode property
// classes such as \p{L}, \p{N}) and JIT, and an iterator over its matches.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace rkv::tok {

class Regex {
 public:
  // Throws rkv::Error naming `what` and PCRE2's message if the pattern is bad.
  Regex(const std::string& pattern, const std::string& what);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Calls on_match(start, end) for each non-overlapping match in s, left to
  // right (an empty match advances by one character). s must be valid UTF-8.
  void for_each_match(std::string_view s, const std::function<void(size_t, size_t)>& on_match) const;
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  void* code_ = nullptr;  // pcre2_code_8*
  bool jit_ = false;
};

}  // namespace rkv::tok
