// compression/config: every parameter of the KV-compression methods (R-KV,
// SnapKV, H2O, StreamingLLM, FullKV), their defaults (RKV-SPEC.md §4) and
// validation. An invalid combination is an rkv::Error at configuration time,
// before any model is loaded.
#pragma once

#include <cstdint>
#include <climits>
#include <string>

#include "rkv/ops/redundancy.h"

namespace rkv {

enum class Method { RKV, SnapKV, H2O, StreamingLLM, FullKV };
enum class GqaPooling { Max, Mean };
// topk: the reference's order (selected tokens by descending score, then the
// window). position: every kept token re-sorted by original position.
enum class KeepOrder { TopK, Position };

// The most tokens a budget, window or compression interval may name:
// positions are 32-bit, so larger counts are errors, and sizes computed from
// them cannot overflow 64-bit arithmetic.
constexpr int64_t kMaxTokens = INT32_MAX;

struct CompressionConfig {
  Method method = Method::RKV;
  int64_t budget = 1024;       // tokens kept per head after a compression
  int64_t window_size = 8;     // most recent tokens always kept; their queries score the rest
  int kernel_size = 7;         // max-pool width over importance (odd)
  double mix_lambda = 0.07;    // weight of importance vs redundancy
  double retain_ratio = 0.2;   // for retain_direction *_percent
  RetainDirection retain_direction = RetainDirection::Last;
  GqaPooling gqa_pooling = GqaPooling::Max;
  int64_t first_tokens = 0;    // attention sinks: original positions < N are never evicted
  KeepOrder keep_order = KeepOrder::TopK;

  // Throws rkv::Error naming the bad parameter.
  void validate() const;
  // Tokens that are always kept at the end (H2O forces 1; StreamingLLM keeps
  // budget - first_tokens recent tokens).
  int64_t effective_window() const;
  // How many recent queries the scorer needs (0 for streamingllm/fullkv).
  int64_t query_window() const;
};

// Default configuration of `method`; first_tokens defaults to 4 for rkv and
// streamingllm (the seed configuration), 0 otherwise.
CompressionConfig default_config(Method method);

Method parse_method(const std::string& name);  // rkv|r1kv|snapkv|h2o|streamingllm|fullkv
std::string method_name(Method method);
RetainDirection parse_retain_direction(const std::string& name);
std::string retain_direction_name(RetainDirection d);
GqaPooling parse_gqa_pooling(const std::string& name);
KeepOrder parse_keep_order(const std::string& name);

}  // namespace rkv
