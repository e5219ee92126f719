#include "rkv/compression/config.h"

#include <cmath>

#include "rkv/core/error.h"

namespace rkv {

void CompressionConfig::validate() const {
  if (method == Method::FullKV) return;
  RKV_CHECK(budget > 0 && budget <= kMaxTokens, "budget must be in [1, ", kMaxTokens, "] (got ", budget, ")");
  RKV_CHECK(window_size <= kMaxTokens, "window_size must be at most ", kMaxTokens, " (got ", window_size, ")");
  if (method == Method::StreamingLLM) {
    RKV_CHECK(first_tokens >= 0 && first_tokens < budget, "streamingllm: first_tokens (", first_tokens,
              ") must be in [0, budget = ", budget, ")");
    return;
  }
  if (method != Method::H2O) {
    RKV_CHECK(window_size > 0, "window_size must be positive (got ", window_size, ")");
    RKV_CHECK(budget > window_size, "budget (", budget, ") must be larger than window_size (", window_size, ")");
    RKV_CHECK(kernel_size > 0 && kernel_size % 2 == 1, "kernel_size must be odd and positive (got ", kernel_size, ")");
  } else {
    RKV_CHECK(budget > 1, "h2o: budget must be at least 2 (got ", budget, ")");
  }
  RKV_CHECK(std::isfinite(mix_lambda) && mix_lambda >= 0 && mix_lambda <= 1, "mix_lambda must be in [0, 1] (got ",
            mix_lambda, ")");
  RKV_CHECK(std::isfinite(retain_ratio) && retain_ratio > 0 && retain_ratio <= 1, "retain_ratio must be in (0, 1] (got ",
            retain_ratio, ")");
  RKV_CHECK(first_tokens >= 0, "first_tokens must be >= 0 (got ", first_tokens, ")");
  RKV_CHECK(first_tokens <= budget - effective_window(), "first_tokens (", first_tokens,
            ") leaves no room: at most budget - window = ", budget - effective_window(), " sinks fit");
}

int64_t CompressionConfig::effective_window() const {
  switch (method) {
    case Method::H2O: return 1;
    case Method::StreamingLLM: return budget - first_tokens;
    case Method::FullKV: return 0;
    default: return window_size;
  }
}

int64_t CompressionConfig::query_window() const {
  switch (method) {
    case Method::RKV:
    case Method::SnapKV: return window_size;
    case Method::H2O: return 1;
    default: return 0;
  }
}

CompressionConfig default_config(Method method) {
  CompressionConfig c;
  c.method = method;
  c.first_tokens = (method == Method::RKV || method == Method::StreamingLLM) ? 4 : 0;
  return c;
}

Method parse_method(const std::string& name) {
  if (name == "rkv" || name == "r1kv" || name == "r-kv") return Method::RKV;
  if (name == "snapkv") return Method::SnapKV;
  if (name == "h2o") return Method::H2O;
  if (name == "streamingllm") return Method::StreamingLLM;
  if (name == "fullkv") return Method::FullKV;
  fail("unknown method '", name, "' (expected rkv, snapkv, h2o, streamingllm or fullkv)");
}

std::string method_name(Method method) {
  switch (method) {
    case Method::RKV: return "rkv";
    case Method::SnapKV: return "snapkv";
    case Method::H2O: return "h2o";
    case Method::StreamingLLM: return "streamingllm";
    case Method::FullKV: return "fullkv";
  }
  return "?";
}

RetainDirection parse_retain_direction(const std::string& name) {
  if (name == "last") return RetainDirection::Last;
  if (name == "first") return RetainDirection::First;
  if (name == "last_percent") return RetainDirection::LastPercent;
  if (name == "first_percent") return RetainDirection::FirstPercent;
  fail("unknown retain_direction '", name, "' (expected last, first, last_percent or first_percent)");
}

std::string retain_direction_name(RetainDirection d) {
  switch (d) {
    case RetainDirection::Last: return "last";
    case RetainDirection::First: return "first";
    case RetainDirection::LastPercent: return "last_percent";
    case RetainDirection::FirstPercent: return "first_percent";
  }
  return "?";
}

GqaPooling parse_gqa_pooling(const std::string& name) {
  if (name == "max") return GqaPooling::Max;
  if (name == "mean") return GqaPooling::Mean;
  fail("unknown gqa pooling '", name, "' (expected max or mean)");
}

KeepOrder parse_keep_order(const std::string& name) {
  if (name == "topk") return KeepOrder::TopK;
  if (name == "position") return KeepOrder::Position;
  fail("unknown keep order '", name, "' (expected topk or position)");
}

}  // namespace rkv
