// tests/common: a tiny GGUF model whose output is known in advance, for
// end-to-end tests of what serves and streams text (the server's reasoning
// split, stop strings, streaming vs one body). Its layers add nothing to the
// residual stream (value and output projections are zero; queries and keys
// are random so attention scores and compression have something to rank),
// so the next token depends only on the current one: a bigram table that
// makes every prompt continue with
//     "Let me think.</think>The answer is 4!" then end-of-sequence,
// and with end-of-sequence ignored, starts over. Its chat template writes
// "User: ...\n" lines and opens the thinking ("Assistant: <think>\n") as
// DeepSeek-R1-Distill's does. Context: 256 tokens.
#pragma once

#include <string>

namespace rkv::test {

inline constexpr const char* kScriptedReasoning = "Let me think.";
inline constexpr const char* kScriptedAnswer = "The answer is 4!";
inline constexpr int kScriptedTokens = 10;  // tokens before end-of-sequence
inline constexpr int kScriptedContext = 256;

// Writes the model to `path` (a .gguf file).
void write_scripted_model(const std::string& path);

}  // namespace rkv::test
