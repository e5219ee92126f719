// engine/stop: when a sequence stops — an end-of-sequence id (from the
// model's config and generation_config), a stop string appearing in the
// generated text, or max_new_tokens.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace rkv {

// Error: the request could not be served (GenerationResult::error says why);
// Cancelled: the client went away or asked; Interrupted: SIGINT / SIGTERM.
enum class StopReason { None, Eos, StopString, Length, Error, Cancelled, Interrupted };
// "", "eos", "stop", "length", "error", "cancelled", "interrupted"
const char* stop_reason_name(StopReason r);

struct StopCriteria {
  std::set<int32_t> eos_ids;
  std::vector<std::string> stop_strings;
  int64_t max_new_tokens = 256;
  bool ignore_eos = false;  // benchmarks force a length

  // Called after each generated token. text: all generated text so far.
  // For StopString, *cut receives the text length up to the stop string
  // (the stop string itself is not part of the output, as in the OpenAI API).
  // With several stop strings, the one that starts first in the text wins.
  StopReason check(int32_t token, int64_t n_generated, const std::string& text, size_t* cut = nullptr) const;
  // How much of `text` (generated so far, no stop string in it yet) can be
  // shown: all but its longest tail that begins a stop string, since later
  // tokens may complete that stop string and it is not part of the output.
  size_t settled_length(const std::string& text) const;
};

}  // namespace rkv
