// rkv template end to end: every chat vector of ../shared/tokenizers/*
// rendered through the CLI (messages written to a temp file) byte for byte,
// a tokenizer_config.json path as MODEL, and errors with exit code 2.
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/testing.h"

namespace rkv {
namespace {

using ojson = nlohmann::ordered_json;

TEST(TemplateCli, RendersEveryChatVector) {
  int checked = 0;
  for (const char* name : {"deepseek-r1-distill-qwen-1.5b", "deepseek_v3", "llama3", "llama3_1", "qwen3"}) {
    std::string rel = std::string("tokenizers/") + name + "/chat_vectors.jsonl";
    RKV_REQUIRE_ASSET(rel);
    std::ifstream in(test::asset(rel));
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      ojson v = ojson::parse(line);
      test::TempDir dir;
      std::string file = dir.path("messages.json");
      std::ofstream(file, std::ios::binary) << v["messages"].dump();
      std::string model = test::asset(std::string("tokenizers/") + name);
      if (n % 2 == 1) model += "/tokenizer_config.json";
      std::vector<std::string> args = {"template", "-m", model, "--messages", file};
      if (v["add_generation_prompt"].get<bool>()) args.push_back("--add-generation-prompt");
      auto r = test::run_rkv(args);
      ASSERT_EQ(r.exit_code, 0) << name << ": " << r.err;
      EXPECT_EQ(r.out, v["text"].get<std::string>()) << name << " line " << n + 1;
      EXPECT_EQ(r.err, "");
      ++n;
    }
    checked += n;
  }
  EXPECT_EQ(checked, 50);
}

TEST(TemplateCli, ObjectWithExtraVariables) {
  RKV_REQUIRE_ASSET("tokenizers/qwen3/tokenizer_config.json");
  test::TempDir dir;
  std::ofstream(dir.path("m.json")) << R"({"messages": [{"role": "user", "content": "Hi"}], "enable_thinking": false})";
  auto r = test::run_rkv({"template", "-m", test::asset("tokenizers/qwen3"), "--messages", dir.path("m.json"),
                          "--add-generation-prompt"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
}

TEST(TemplateCli, ErrorsExitTwo) {
  RKV_REQUIRE_ASSET("tokenizers/llama3/tokenizer_config.json");
  std::string model = test::asset("tokenizers/llama3");
  test::TempDir dir;
  auto missing = test::run_rkv({"template", "-m", model, "--messages", dir.path("nope.json")});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("nope.json"), std::string::npos) << missing.err;
  EXPECT_EQ(missing.out, "");

  std::ofstream(dir.path("bad.json")) << "[{\"role\": \"user\", ";
  auto bad = test::run_rkv({"template", "-m", model, "--messages", dir.path("bad.json")});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("not valid JSON"), std::string::npos) << bad.err;

  std::ofstream(dir.path("obj.json")) << "{\"role\": \"user\"}";
  EXPECT_EQ(test::run_rkv({"template", "-m", model, "--messages", dir.path("obj.json")}).exit_code, 2);

  std::ofstream(dir.path("ok.json")) << "[{\"role\": \"user\", \"content\": \"x\"}]";
  EXPECT_EQ(test::run_rkv({"template", "-m", dir.path("no-model"), "--messages", dir.path("ok.json")}).exit_code, 2);
  EXPECT_EQ(test::run_rkv({"template", "--messages", dir.path("ok.json")}).exit_code, 2);

  // No messages: Qwen3's template reads messages[0].role, an undefined error
  // naming the line (as in jinja2), not a crash.
  RKV_REQUIRE_ASSET("tokenizers/qwen3/tokenizer_config.json");
  std::ofstream(dir.path("empty.json")) << "[]";
  auto r = test::run_rkv({"template", "-m", test::asset("tokenizers/qwen3"), "--messages", dir.path("empty.json")});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.err.find("line 13: 'list object' has no element 0"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace rkv
