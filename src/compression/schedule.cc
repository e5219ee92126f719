#include "rkv/compression/schedule.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "rkv/core/buffer.h"
#include "rkv/core/error.h"
#include "rkv/core/json.h"

namespace rkv {

void KvPolicy::validate() const {
  method.validate();
  if (method.method == Method::FullKV) return;
  RKV_CHECK(divide_length > 0 && divide_length <= kMaxTokens, "divide_length must be in [1, ", kMaxTokens, "] (got ",
            divide_length, ")");
}

int64_t KvPolicy::steady_capacity() const {
  if (method.method == Method::FullKV) return -1;
  return method.budget + divide_length;
}

DivideMethod parse_divide_method(const std::string& name) {
  if (name == "step_length") return DivideMethod::StepLength;
  if (name == "newline") return DivideMethod::Newline;
  fail("unknown divide_method '", name, "' (expected step_length or newline)");
}

CompressionContent parse_compression_content(const std::string& name) {
  if (name == "all") return CompressionContent::All;
  if (name == "think") return CompressionContent::Think;
  fail("unknown compression_content '", name, "' (expected all or think)");
}

namespace {

template <class T>
T get_as(const nlohmann::json& value, const std::string& key) {
  try {
    return value.get<T>();
  } catch (const nlohmann::json::exception&) {
    fail("kv config: '", key, "' has the wrong type (", value.type_name(), ")");
  }
}

// An integer as written (16.7 or "16" is an error, not 16) within [min, max]
// (4294967297 is an error, not 1); validate() then checks what the method needs.
int64_t get_integer(const nlohmann::json& value, const std::string& key, int64_t min, int64_t max) {
  RKV_CHECK(value.is_number(), "kv config: '", key, "' has the wrong type (", value.type_name(), "); expected an integer");
  RKV_CHECK(value.is_number_integer(), "kv config: '", key, "' must be an integer (got ", value.dump(), ")");
  const bool fits = value.is_number_unsigned() ? value.get<uint64_t>() <= static_cast<uint64_t>(max)
                                               : value.get<int64_t>() >= min && value.get<int64_t>() <= max;
  RKV_CHECK(fits, "kv config: '", key, "' = ", value.dump(), " is out of range [", min, ", ", max, "]");
  return value.get<int64_t>();
}

double get_number(const nlohmann::json& value, const std::string& key) {
  RKV_CHECK(value.is_number(), "kv config: '", key, "' has the wrong type (", value.type_name(), "); expected a number");
  return value.get<double>();
}

}  // namespace

KvPolicy parse_kv_policy(const nlohmann::json& config) {
  RKV_CHECK(config.is_object(), "kv config: expected a JSON object");
  RKV_CHECK(config.contains("method"), "kv config: missing 'method'");
  KvPolicy p;
  p.method = default_config(parse_method(get_as<std::string>(config["method"], "method")));
  for (auto it = config.begin(); it != config.end(); ++it) {
    const std::string& key = it.key();
    const auto& v = it.value();
    if (key == "method" || key == "compression" || key == "update_kv") continue;
    if (key == "divide_method") p.divide_method = parse_divide_method(get_as<std::string>(v, key));
    else if (key == "divide_length") p.divide_length = get_integer(v, key, 0, kMaxTokens);
    else if (key == "compression_content") p.content = parse_compression_content(get_as<std::string>(v, key));
    else if (key == "method_config") {
      RKV_CHECK(v.is_object(), "kv config: 'method_config' must be an object");
      CompressionConfig& c = p.method;
      for (auto m = v.begin(); m != v.end(); ++m) {
        const std::string& k = m.key();
        const auto& x = m.value();
        if (k == "budget") c.budget = get_integer(x, k, 0, kMaxTokens);
        else if (k == "window_size") c.window_size = get_integer(x, k, 0, kMaxTokens);
        else if (k == "kernel_size") c.kernel_size = static_cast<int>(get_integer(x, k, 0, INT32_MAX));
        else if (k == "mix_lambda") c.mix_lambda = get_number(x, k);
        else if (k == "retain_ratio") c.retain_ratio = get_number(x, k);
        else if (k == "retain_direction") c.retain_direction = parse_retain_direction(get_as<std::string>(x, k));
        else if (k == "first_tokens") c.first_tokens = get_integer(x, k, 0, kMaxTokens);
        else if (k == "gqa_pooling" || k == "pooling") c.gqa_pooling = parse_gqa_pooling(get_as<std::string>(x, k));
        else if (k == "keep_order") c.keep_order = parse_keep_order(get_as<std::string>(x, k));
        else if (k == "record_kept_token_indices") continue;
        else if (k == "buffer") p.divide_length = get_integer(x, k, 0, kMaxTokens);
        else fail("kv config: unknown method_config key '", k, "'");
      }
    } else {
      fail("kv config: unknown key '", key, "'");
    }
  }
  p.validate();
  return p;
}

KvPolicy load_kv_policy(const std::string& path) {
  std::string text = read_text_file(path);
  check_json_depth(text, path);
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  RKV_CHECK(!j.is_discarded(), path, ": not valid JSON");
  try {
    return parse_kv_policy(j);
  } catch (const Error& e) {
    fail(path, ": ", e.what());
  }
}

nlohmann::json kv_policy_json(const KvPolicy& policy) {
  const CompressionConfig& c = policy.method;
  return {{"method", method_name(c.method)},
          {"method_config",
           {{"budget", c.budget},
            {"window_size", c.window_size},
            {"kernel_size", c.kernel_size},
            {"mix_lambda", c.mix_lambda},
            {"retain_ratio", c.retain_ratio},
            {"retain_direction", retain_direction_name(c.retain_direction)},
            {"first_tokens", c.first_tokens},
            {"gqa_pooling", c.gqa_pooling == GqaPooling::Max ? "max" : "mean"},
            {"keep_order", c.keep_order == KeepOrder::TopK ? "topk" : "position"}}},
          {"divide_method", policy.divide_method == DivideMethod::StepLength ? "step_length" : "newline"},
          {"divide_length", policy.divide_length},
          {"compression_content", policy.content == CompressionContent::All ? "all" : "think"}};
}

CompressionSchedule::CompressionSchedule(const KvPolicy& policy, std::set<int32_t> newline_tokens, int32_t think_end_token)
    : policy_(policy), newline_tokens_(std::move(newline_tokens)), think_end_token_(think_end_token) {}

bool CompressionSchedule::due_after(int64_t length, int32_t predicted) {
  if (predicted == think_end_token_ && think_end_token_ >= 0) think_ended_ = true;
  if (policy_.method.method == Method::FullKV) return false;
  if (policy_.content == CompressionContent::Think && think_ended_) return false;
  if (policy_.divide_method == DivideMethod::StepLength) return length % policy_.divide_length == 0;
  return newline_tokens_.count(predicted) > 0;
}

}  // namespace rkv
