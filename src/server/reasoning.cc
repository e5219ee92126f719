#include "rkv/server/reasoning.h"

#include "rkv/core/error.h"

namespace rkv::server {

namespace {
constexpr std::string_view kOpen = "<think>", kClose = "</think>";

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// Length of the longest tail of `text` that is a proper prefix of `tag`.
size_t partial_tag(std::string_view text, std::string_view tag) {
  for (size_t n = std::min(text.size(), tag.size() - 1); n > 0; --n)
    if (text.substr(text.size() - n) == tag.substr(0, n)) return n;
  return 0;
}
}  // namespace

ReasoningFormat parse_reasoning_format(const std::string& name) {
  if (name == "none") return ReasoningFormat::None;
  if (name == "deepseek") return ReasoningFormat::DeepSeek;
  fail("--reasoning-format: unknown reasoning format '", name, "' (expected none or deepseek)");
}

bool prompt_opens_thinking(std::string_view tail) {
  while (!tail.empty() && is_space(tail.back())) tail.remove_suffix(1);
  return tail.size() >= kOpen.size() && tail.substr(tail.size() - kOpen.size()) == kOpen;
}

ReasoningSplitter::ReasoningSplitter(bool starts_in_thinking)
    : state_(starts_in_thinking ? State::Thinking : State::Start),
      saw_thinking_(starts_in_thinking),
      trim_(starts_in_thinking) {}

ReasoningSplitter::Delta ReasoningSplitter::push(std::string_view text) {
  pending_.append(text);
  Delta out;
  drain(out, false);
  return out;
}

ReasoningSplitter::Delta ReasoningSplitter::finish() {
  Delta out;
  drain(out, true);
  return out;
}

void ReasoningSplitter::drain(Delta& out, bool final) {
  for (;;) {
    if (trim_) {
      size_t n = 0;
      while (n < pending_.size() && is_space(pending_[n])) ++n;
      pending_.erase(0, n);
      if (pending_.empty()) return;
      trim_ = false;
    }
    if (state_ == State::Start) {
      // The output may open the thinking itself, after whitespace.
      size_t ws = 0;
      while (ws < pending_.size() && is_space(pending_[ws])) ++ws;
      std::string_view rest = std::string_view(pending_).substr(ws);
      if (rest.substr(0, kOpen.size()) == kOpen) {
        pending_.erase(0, ws + kOpen.size());
        state_ = State::Thinking;
        saw_thinking_ = trim_ = true;
        continue;
      }
      if (!final && rest.size() < kOpen.size() && kOpen.substr(0, rest.size()) == rest) return;  // maybe "<think>" yet
      state_ = State::Content;
      continue;
    }
    if (state_ == State::Content) {
      out.content += pending_;
      pending_.clear();
      return;
    }
    // Thinking: up to "</think>", holding back a tail that may begin it.
    const size_t close = pending_.find(kClose);
    if (close != std::string::npos) {
      out.reasoning.append(pending_, 0, close);
      pending_.erase(0, close + kClose.size());
      state_ = State::Content;
      trim_ = true;
      continue;
    }
    const size_t keep = final ? 0 : partial_tag(pending_, kClose);
    out.reasoning.append(pending_, 0, pending_.size() - keep);
    pending_.erase(0, pending_.size() - keep);
    return;
  }
}

}  // namespace rkv::server
