// libFuzzer target: arbitrary bytes as a chat template, parsed and rendered
// with a fixed conversation. It must render or throw rkv::Error — never crash,
// hang or exhaust memory (small step / size / depth limits). Seeds:
// fuzz/corpus/chat_template/.
#include <cstddef>
#include <cstdint>
#include <string>

#include "rkv/core/error.h"
#include "rkv/tokenizer/chat_template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const nlohmann::ordered_json messages = nlohmann::ordered_json::parse(
      R"([{"role": "system", "content": "You are helpful."},
          {"role": "user", "content": "What is 2+3? \u4f60\u597d"},
          {"role": "assistant", "content": "<think>\nadd\n</think>\n\n5", "tool_calls": [{"type": "function",
           "function": {"name": "add", "arguments": {"a": 2, "b": 3}}}]},
          {"role": "tool", "content": "5"},
          {"role": "user", "content": "Thanks"}])");
  static const nlohmann::ordered_json extra = {{"bos_token", "<s>"}, {"eos_token", "</s>"}};
  rkv::ChatTemplateLimits limits;
  limits.max_output_bytes = 1 << 20;
  limits.max_steps = 200000;
  limits.max_depth = 64;
  try {
    rkv::ChatTemplate t(std::string(reinterpret_cast<const char*>(data), size), "fuzz", limits);
    t.render(messages, true, extra);
  } catch (const rkv::Error&) {
  }
  return 0;
}
