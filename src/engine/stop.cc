#include "rkv/engine/stop.h"

#include <algorithm>

namespace rkv {

const char* stop_reason_name(StopReason r) {
  switch (r) {
    case StopReason::None: return "";
    case StopReason::Eos: return "eos";
    case StopReason::StopString: return "stop";
    case StopReason::Length: return "length";
    case StopReason::Error: return "error";
    case StopReason::Cancelled: return "cancelled";
    case StopReason::Interrupted: return "interrupted";
  }
  return "";
}

StopReason StopCriteria::check(int32_t token, int64_t n_generated, const std::string& text, size_t* cut) const {
  if (!ignore_eos && eos_ids.count(token)) return StopReason::Eos;
  size_t first = std::string::npos;
  for (const auto& s : stop_strings) {
    if (s.empty()) continue;
    // Only the tail can hold a new match: the last token added at most
    // text.size() - previous size bytes, but a stop string may span tokens.
    size_t from = text.size() > s.size() + 64 ? text.size() - s.size() - 64 : 0;
    first = std::min(first, text.find(s, from));
  }
  if (first != std::string::npos) {
    if (cut) *cut = first;
    return StopReason::StopString;
  }
  if (n_generated >= max_new_tokens) return StopReason::Length;
  return StopReason::None;
}

size_t StopCriteria::settled_length(const std::string& text) const {
  size_t held = 0;
  for (const auto& s : stop_strings)
    for (size_t n = std::min(s.size() > 0 ? s.size() - 1 : 0, text.size()); n > held; --n)
      if (text.compare(text.size() - n, n, s, 0, n) == 0) {
        held = n;
        break;
      }
  return text.size() - held;
}

}  // namespace rkv
