// PCRE2 wrapper: UTF + UCP, JIT when available, per-thread match data.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/regex.h"

#include <pcre2.h>

#include "rkv/core/error.h"

namespace rkv::tok {
namespace {

struct ThreadState {
  pcre2_match_data* data = nullptr;
  pcre2_jit_stack* stack = nullptr;
  pcre2_match_context* context = nullptr;
  ThreadState() {
    data = pcre2_match_data_create(32, nullptr);
    stack = pcre2_jit_stack_create(32 * 1024, 4 * 1024 * 1024, nullptr);
    context = pcre2_match_context_create(nullptr);
    if (context && stack) pcre2_jit_stack_assign(context, nullptr, stack);
  }
  ~ThreadState() {
    pcre2_match_data_free(data);
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(stack);
  }
};
ThreadState& thread_state() {
  thread_local ThreadState state;
  return state;
}

}  // namespace

Regex::Regex(const std::string& pattern, const std::string& what) : pattern_(pattern) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
  if (!code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof(message));
    fail(what, ": bad regex at offset ", offset, ": ", reinterpret_cast<const char*>(message), " in '", pattern, "'");
  }
  code_ = code;
  jit_ = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

void Regex::for_each_match(std::string_view s, const std::function<void(size_t, size_t)>& on_match) const {
  ThreadState& st = thread_state();
  RKV_CHECK(st.data && st.context, "regex: out of memory");
  auto* code = static_cast<pcre2_code*>(code_);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(s.data());
  size_t pos = 0;
  while (pos <= s.size()) {
    // The subject was validated once by the caller: skip PCRE2's UTF check.
    int rc = jit_ ? pcre2_jit_match(code, subject, s.size(), pos, PCRE2_NO_UTF_CHECK, st.data, st.context)
                  : pcre2_match(code, subject, s.size(), pos, PCRE2_NO_UTF_CHECK, st.data, st.context);
    if (rc == PCRE2_ERROR_NOMATCH) return;
    if (rc < 0) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof(message));
      fail("regex '", pattern_, "': match failed: ", reinterpret_cast<const char*>(message));
    }
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(st.data);
    size_t start = ov[0], end = ov[1];
    if (end > start) {
      on_match(start, end);
      pos = end;
    } else {  // empty match: step over one character
      if (start >= s.size()) return;
      pos = start + 1;
      while (pos < s.size() && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) ++pos;
    }
  }
}

}  // namespace rkv::tok
