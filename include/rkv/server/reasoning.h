// server/reasoning: a reasoning model's output split into its thinking and
// its answer, as vLLM's `--reasoning-parser deepseek_r1` and llama-server's
// `--reasoning-format deepseek` do: the text up to `</think>` is the
// reasoning (message.reasoning_content), the rest the answer (content).
// DeepSeek-R1-Distill templates end the prompt with "<think>\n", so the
// output starts inside the thinking; other models may open it themselves
// with "<think>" at the very start; without either the whole output is the
// answer. The splitter takes the text as it streams in pieces of any size:
// a tag split across pieces is held back until it is whole, so any way of
// cutting the same text gives the same reasoning and content. Leading
// whitespace of the reasoning and of the answer after `</think>` is dropped.
#pragma once

#include <string>
#include <string_view>

namespace rkv::server {

enum class ReasoningFormat { None, DeepSeek };
ReasoningFormat parse_reasoning_format(const std::string& name);  // "none" | "deepseek"

// Whether a prompt leaves the model inside the thinking: it ends with
// "<think>" (trailing whitespace aside).
bool prompt_opens_thinking(std::string_view prompt_tail);

class ReasoningSplitter {
 public:
  explicit ReasoningSplitter(bool starts_in_thinking);

  struct Delta {
    std::string reasoning, content;
    bool empty() const { return reasoning.empty() && content.empty(); }
  };
  Delta push(std::string_view text);
  Delta finish();  // what was held back (a partial tag at the end is text)

  bool thinking() const { return state_ == State::Thinking; }
  bool saw_thinking() const { return saw_thinking_; }  // the output had a thinking part

 private:
  enum class State { Start, Thinking, Content };
  void drain(Delta& out, bool final);
  State state_;
  bool saw_thinking_;
  bool trim_ = false;  // drop leading whitespace of the part that just began
  std::string pending_;
};

}  // namespace rkv::server
