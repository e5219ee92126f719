// rkv generate end to end: greedy ids of the golden HF models (--ids, --json),
// stories260K text against its reference, and exit code 2 on bad input.
#include <nlohmann/json.hpp>

#include "common/testing.h"
#include "rkv/core/buffer.h"
#include "rkv/formats/safetensors.h"

namespace rkv {
namespace {

using nlohmann::json;

std::string join(const std::vector<int64_t>& ids) {
  std::string s;
  for (auto id : ids) s += (s.empty() ? "" : ",") + std::to_string(id);
  return s;
}

std::vector<int64_t> ids_of(const TensorView& v) {
  const int64_t* p = v.as<const int64_t>(DType::I64);
  return std::vector<int64_t>(p, p + v.numel());
}

TEST(GenerateCli, GoldenGreedyIds) {
  for (const char* name : {"pub_llama_llama3rope", "pub_qwen2", "pub_qwen3", "pub_mistral"}) {
    const std::string dir = std::string("golden/hf/") + name;
    RKV_REQUIRE_ASSET(dir + "/golden.safetensors");
    SafetensorsFile g(test::asset(dir + "/golden.safetensors"));
    auto prompt = ids_of(g.get("prompt_ids"));
    auto expect = ids_of(g.get("greedy_ids"));
    auto r = test::run_rkv({"generate", "-m", test::asset(dir), "--ids", join(prompt), "-n",
                            std::to_string(expect.size()), "--ignore-eos", "--json", "--threads", "2"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json j = json::parse(r.out);
    EXPECT_EQ(j["ids"].get<std::vector<int64_t>>(), expect) << name;
    EXPECT_EQ(j["prompt_ids"].get<std::vector<int64_t>>(), prompt);
    EXPECT_TRUE(j["text"].is_null());
    EXPECT_EQ(j["stop"], "length");
    EXPECT_GT(j["kv_peak_bytes"].get<int64_t>(), 0);
  }
}

TEST(GenerateCli, Stories260KText) {
  RKV_REQUIRE_ASSET("models/stories260K.gguf");
  json ref = json::parse(read_text_file(test::asset("models/stories260K.reference.json")));
  auto expect = ref["greedy_ids"].get<std::vector<int64_t>>();
  auto prompt = ref["prompt_ids"].get<std::vector<int64_t>>();
  const size_t n_new = expect.size() - prompt.size();
  auto r = test::run_rkv({"generate", "-m", test::asset("models/stories260K.gguf"), "--ids", join(prompt), "-n",
                          std::to_string(n_new), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  std::vector<int64_t> all = prompt;
  for (auto id : j["ids"].get<std::vector<int64_t>>()) all.push_back(id);
  EXPECT_EQ(all, expect);
  // Text prompt through the GGUF vocabulary.
  auto t = test::run_rkv({"generate", "-m", test::asset("models/stories260K.gguf"), "-p", ref["prompt"].get<std::string>(),
                          "-n", std::to_string(n_new), "--json"});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  json jt = json::parse(t.out);
  EXPECT_EQ(jt["prompt_ids"].get<std::vector<int64_t>>(), prompt);
  EXPECT_EQ(ref["prompt"].get<std::string>() + jt["text"].get<std::string>(), ref["greedy_text"].get<std::string>());
}

TEST(GenerateCli, BadInputExits2) {
  RKV_REQUIRE_ASSET("golden/hf/pub_qwen2/config.json");
  auto a = test::run_rkv({"generate", "-m", "/nonexistent/model", "--ids", "1,2"});
  EXPECT_EQ(a.exit_code, 2);
  auto b = test::run_rkv({"generate", "-m", test::asset("golden/hf/pub_qwen2"), "--ids", "1,99999"});
  EXPECT_EQ(b.exit_code, 2);
  EXPECT_NE(b.err.find("99999"), std::string::npos) << b.err;
  auto c = test::run_rkv({"generate", "-m", test::asset("golden/hf/pub_qwen2"), "-p", "hello"});
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_NE(c.err.find("tokenizer"), std::string::npos) << c.err;
}

}  // namespace
}  // namespace rkv
