// compression/schedule: WHEN a sequence compresses (RKV-SPEC.md §2), and the
// full KV-policy configuration a user brings — the same dictionary the
// Python reference takes:
//   {"method": "rkv", "method_config": {"budget": ..., "window_size": ...,
//    "kernel_size": ..., "mix_lambda": ..., "retain_ratio": ...,
//    "retain_direction": ..., "first_tokens": ...},
//    "divide_method": "step_length"|"newline", "divide_length": 128,
//    "compression_content": "all"|"think"}
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <set>
#include <string>

#include "rkv/compression/config.h"

namespace rkv {

enum class DivideMethod { StepLength, Newline };
enum class CompressionContent { All, Think };

struct KvPolicy {
  CompressionConfig method;
  DivideMethod divide_method = DivideMethod::StepLength;
  int64_t divide_length = 128;  // the buffer: tokens appended between compressions
  CompressionContent content = CompressionContent::All;

  void validate() const;
  // Per-layer slots a compressed sequence ever needs after its first
  // compression: budget + divide_length (FullKV: unbounded, returns -1).
  int64_t steady_capacity() const;
};

// Parses the reference's configuration dictionary (see above). Unknown keys
// are an error naming them, except the reference's bookkeeping keys
// ("compression", "update_kv", "record_kept_token_indices", "buffer").
KvPolicy parse_kv_policy(const nlohmann::json& config);
KvPolicy load_kv_policy(const std::string& path);
// The policy as that dictionary (every parameter, so parse_kv_policy gives it back).
nlohmann::json kv_policy_json(const KvPolicy& policy);
DivideMethod parse_divide_method(const std::string& name);
CompressionContent parse_compression_content(const std::string& name);

// Per-sequence trigger state. After each forward pass the engine reports the
// token count and the token just predicted; `due` says whether the NEXT step
// compresses (its new token is appended, attention runs over the full cache,
// then every layer is compressed).
class CompressionSchedule {
 public:
  CompressionSchedule(const KvPolicy& policy, std::set<int32_t> newline_tokens, int32_t think_end_token);

  // length: tokens fed so far (prompt + generated). predicted: argmax token.
  bool due_after(int64_t length, int32_t predicted);
  bool think_ended() const { return think_ended_; }

 private:
  KvPolicy policy_;
  std::set<int32_t> newline_tokens_;
  int32_t think_end_token_;
  bool think_ended_ = false;
};

}  // namespace rkv
