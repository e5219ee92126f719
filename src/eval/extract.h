// eval/extract: the parts of answer extraction shared by grade.cc and tests.
#pragma once

#include <string>
#include <string_view>

namespace rkv::eval::detail {

// The harness's stop words ("</s>", "<|im_end|>", "<|endoftext|>", "\n题目：")
// end the output there (then trimmed); outputs without them are unchanged.
std::string cut_at_stop_words(std::string_view output);
// The answer text before normalisation: after the last "boxed" (strict: the
// last \boxed or \fbox command), else after "the answer is" / "final answer
// is", else the last number; lines joined, a leading ':' and a trailing '.'
// or '/' removed.
std::string extract_raw_answer(std::string_view output, bool strict);

}  // namespace rkv::eval::detail
