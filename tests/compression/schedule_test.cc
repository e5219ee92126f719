#include <fstream>
#include <nlohmann/json.hpp>

#include "common/testing.h"
#include "rkv/compression/schedule.h"
#include "rkv/core/error.h"

namespace rkv {
namespace {

using nlohmann::json;

TEST(KvPolicy, ParsesTheReferenceDictionary) {
  json j = json::parse(R"({"method": "rkv", "method_config": {"budget": 32, "window_size": 8, "mix_lambda": 0.1,
      "retain_ratio": 0.2, "retain_direction": "last", "first_tokens": 0}, "compression": null, "update_kv": true,
      "divide_method": "step_length", "divide_length": 16, "compression_content": "think"})");
  KvPolicy p = parse_kv_policy(j);
  EXPECT_EQ(p.method.method, Method::RKV);
  EXPECT_EQ(p.method.budget, 32);
  EXPECT_EQ(p.method.window_size, 8);
  EXPECT_DOUBLE_EQ(p.method.mix_lambda, 0.1);
  EXPECT_EQ(p.method.first_tokens, 0);
  EXPECT_EQ(p.divide_length, 16);
  EXPECT_EQ(p.content, CompressionContent::Think);
  EXPECT_EQ(p.steady_capacity(), 48);
}

TEST(KvPolicy, TheDictionaryOfAPolicyParsesBackToIt) {
  KvPolicy p;
  p.method = default_config(Method::SnapKV);
  p.method.budget = 300;
  p.method.window_size = 12;
  p.method.kernel_size = 5;
  p.method.mix_lambda = 0.3;
  p.method.retain_direction = RetainDirection::FirstPercent;
  p.method.first_tokens = 2;
  p.method.gqa_pooling = GqaPooling::Mean;
  p.method.keep_order = KeepOrder::Position;
  p.divide_method = DivideMethod::Newline;
  p.divide_length = 64;
  p.content = CompressionContent::Think;
  KvPolicy q = parse_kv_policy(kv_policy_json(p));
  EXPECT_EQ(kv_policy_json(q), kv_policy_json(p));
  EXPECT_EQ(q.method.method, Method::SnapKV);
  EXPECT_EQ(q.method.budget, 300);
  EXPECT_EQ(q.method.gqa_pooling, GqaPooling::Mean);
  EXPECT_EQ(q.method.keep_order, KeepOrder::Position);
  EXPECT_EQ(q.divide_method, DivideMethod::Newline);
  EXPECT_EQ(q.content, CompressionContent::Think);
  EXPECT_EQ(q.method.retain_direction, RetainDirection::FirstPercent);
}

TEST(KvPolicy, TheGoldenDecodeConfigsParse) {
  RKV_REQUIRE_ASSET("golden/decode/manifest.json");
  std::ifstream in(test::asset("golden/decode/manifest.json"));
  json m = json::parse(in);
  for (const auto& c : m["cases"]) {
    json merged = c["compression_config"];
    merged.update(c["model_config"]);
    KvPolicy p = parse_kv_policy(merged);
    EXPECT_EQ(p.divide_length, 16);
  }
}

TEST(KvPolicy, RejectsBadConfigurationsByName) {
  auto error_of = [](const std::string& text) {
    try {
      parse_kv_policy(json::parse(text));
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error_of(R"({"method_config": {}})").find("missing 'method'"), std::string::npos);
  EXPECT_NE(error_of(R"({"method": "rkv", "method_config": {"budget": 8, "window_size": 8}})").find("window_size"), std::string::npos);
  EXPECT_NE(error_of(R"({"method": "rkv", "method_config": {"bugdet": 8}})").find("bugdet"), std::string::npos);
  EXPECT_NE(error_of(R"({"method": "rkv", "divide_method": "sometimes"})").find("sometimes"), std::string::npos);
  EXPECT_NE(error_of(R"({"method": "rkv", "divide_length": 0})").find("divide_length"), std::string::npos);
  EXPECT_NE(error_of(R"({"method": "rkv", "method_config": {"budget": "many"}})").find("wrong type"), std::string::npos);
  EXPECT_NE(error_of(R"({"method": "quantum"})").find("quantum"), std::string::npos);
  // Integers are integers, in range: not truncated, not wrapped.
  EXPECT_NE(error_of(R"({"method": "rkv", "method_config": {"budget": 16.7}})").find("'budget' must be an integer (got 16.7)"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"method": "rkv", "method_config": {"kernel_size": 4294967297}})").find("'kernel_size' = 4294967297 is out of range"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"method": "rkv", "method_config": {"budget": 9223372036854775807}})").find("out of range"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"method": "rkv", "method_config": {"budget": 18446744073709551615}})").find("out of range"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"method": "rkv", "divide_length": -1})").find("out of range"), std::string::npos);
  EXPECT_NE(error_of(R"({"method": "rkv", "method_config": {"mix_lambda": "0.5"}})").find("wrong type"), std::string::npos);
  EXPECT_EQ(error_of(R"({"method": "rkv", "method_config": {"budget": 64, "kernel_size": 5, "mix_lambda": 1}})"), "");
}

TEST(CompressionSchedule, StepLengthNewlineAndThink) {
  KvPolicy p;
  p.divide_length = 4;
  CompressionSchedule steps(p, {}, -1);
  std::vector<int64_t> due;
  for (int64_t len = 1; len <= 13; ++len)
    if (steps.due_after(len, 0)) due.push_back(len);
  EXPECT_EQ(due, (std::vector<int64_t>{4, 8, 12}));

  p.divide_method = DivideMethod::Newline;
  p.content = CompressionContent::Think;
  CompressionSchedule lines(p, {10, 11}, 99);
  EXPECT_FALSE(lines.due_after(5, 3));
  EXPECT_TRUE(lines.due_after(6, 10));
  EXPECT_TRUE(lines.due_after(7, 11));
  EXPECT_FALSE(lines.due_after(8, 99));  // </think>: never again
  EXPECT_FALSE(lines.due_after(9, 10));
  EXPECT_TRUE(lines.think_ended());

  KvPolicy full;
  full.method = default_config(Method::FullKV);
  CompressionSchedule never(full, {}, -1);
  for (int64_t len = 1; len < 300; ++len) ASSERT_FALSE(never.due_after(len, 0));
}

}  // namespace
}  // namespace rkv
