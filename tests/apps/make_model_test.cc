// rkv make-model: every format x type loads, runs, and the GGUF and
// safetensors variants are what inspect and the forward expect; prefill
// (batched) and decode (one token at a time) give the same ids.
#include <nlohmann/json.hpp>

#include "common/testing.h"

namespace rkv {
namespace {

using nlohmann::json;

TEST(MakeModelCli, FormatsAndTypesLoadAndGenerate) {
  test::TempDir dir;
  struct C {
    const char* arch;
    const char* format;
    const char* type;
  } cases[] = {{"qwen2", "safetensors", "bf16"}, {"llama", "safetensors", "f32"}, {"qwen3", "gguf", "f16"},
               {"llama", "gguf", "q4_k"},        {"qwen2", "gguf", "q8_0"},        {"mistral", "gguf", "q6_k"},
               {"qwen3", "gguf", "q5_k"},        {"llama", "gguf", "q4_0"}};
  int i = 0;
  for (const auto& c : cases) {
    std::string out = dir.path(std::string("m") + std::to_string(i++) + (std::string(c.format) == "gguf" ? ".gguf" : ""));
    auto r = test::run_rkv({"make-model", "--arch", c.arch, "--hidden", "256", "--layers", "2", "--heads", "4",
                            "--kv-heads", "2", "--intermediate", "512", "--vocab", "400", "--format", c.format, "--type",
                            c.type, "-o", out});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto ins = test::run_rkv({"inspect", "-m", out, "--json"});
    ASSERT_EQ(ins.exit_code, 0) << ins.err;
    json j = json::parse(ins.out);
    EXPECT_EQ(j["hidden_size"], 256);
    EXPECT_EQ(j["layers"], 2);
    EXPECT_EQ(j["vocab_size"], 400);
    EXPECT_NE(j["weight_types"].get<std::string>().find(c.type), std::string::npos) << j["weight_types"];
    // Same ids whether the prompt is prefilled in one batch or token by token.
    std::vector<std::string> base = {"generate", "-m", out, "--ids", "5,6,7,8,9,10,11", "-n", "6", "--json", "--ignore-eos"};
    auto a = base, b = base;
    b.insert(b.end(), {"--batch", "1"});
    auto ra = test::run_rkv(a), rb = test::run_rkv(b);
    ASSERT_EQ(ra.exit_code, 0) << ra.err;
    ASSERT_EQ(rb.exit_code, 0) << rb.err;
    EXPECT_EQ(json::parse(ra.out)["ids"], json::parse(rb.out)["ids"]) << c.arch << " " << c.type;
    // The tokenizer written with the model encodes text.
    auto t = test::run_rkv({"generate", "-m", out, "-p", "hello", "-n", "2", "--json"});
    EXPECT_EQ(t.exit_code, 0) << t.err;
  }
}

TEST(MakeModelCli, BadArguments) {
  test::TempDir dir;
  EXPECT_EQ(test::run_rkv({"make-model", "--shape", "nope", "-o", dir.path("x")}).exit_code, 2);
  EXPECT_EQ(test::run_rkv({"make-model", "--shape", "tiny", "--format", "safetensors", "--type", "q4_k", "-o", dir.path("x")}).exit_code, 2);
  EXPECT_EQ(test::run_rkv({"make-model", "--shape", "tiny", "--arch", "gpt2", "-o", dir.path("x")}).exit_code, 2);
}

}  // namespace
}  // namespace rkv
