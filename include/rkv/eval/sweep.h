// eval/sweep: what one `rkv eval` run covers — the methods and budgets
// (`fullkv,rkv:128,snapkv:256`), the slice of problems a shard owns, and the
// prompt each question is wrapped in:
//   rkv         the raw prompt of the R-KV reference's run_math.py (the
//               paper's setting), encoded with the tokenizer's own specials;
//   chat        the model's chat template, the user message being the question
//               and DeepSeek's instruction for R1 models ("Please reason step
//               by step, and put your final answer within \boxed{}.");
//   FILE        a template file in which every `{question}` is replaced (raw text);
//   chat:FILE   the same text as the user message of the chat template.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rkv/compression/config.h"
#include "rkv/engine/loaded_model.h"

namespace rkv::eval {

struct SweepPoint {
  Method method = Method::FullKV;
  int64_t budget = 0;  // 0 for fullkv
  std::string label;   // "fullkv", "rkv:128"
};
// "fullkv,rkv:128,snapkv:256": every method but fullkv needs a budget; no
// point twice. rkv::Error naming the bad item.
std::vector<SweepPoint> parse_sweep(const std::string& text);

// --shard I/N: problem p belongs to shard p % N.
struct Shard {
  int64_t index = 0, count = 1;
  static Shard parse(const std::string& text);  // "I/N", 0 <= I < N
  bool owns(int64_t problem) const { return problem % count == index; }
  std::string label() const { return std::to_string(index) + "/" + std::to_string(count); }
};

class PromptFormat {
 public:
  // "rkv", "chat", a template file, or "chat:" + a template file.
  static PromptFormat parse(const std::string& spec);
  // The request input for one question (text, or a chat message).
  RequestSpec input_for(const std::string& question) const;
  // What config.json records (style and template text).
  nlohmann::json describe() const;
  bool uses_chat_template() const { return chat_; }

  static const char* reference_template();  // the R-KV run_math.py prompt
  static const char* r1_instruction();      // DeepSeek's recommendation for R1 models

 private:
  std::string style_;     // rkv | chat | file
  std::string template_;  // with {question}
  bool chat_ = false;
};

}  // namespace rkv::eval
