// Reference tokenizations made by Hugging Face's implementation
// (../shared/tokenizers/<name>/vectors.jsonl): every line must match, and
// decode must give the text back where the tokenizer is lossless.
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "common/testing.h"
#include "rkv/tokenizer/tokenizer.h"

namespace rkv {
namespace {

using nlohmann::json;

const Tokenizer& cached(const std::string& name) {
  static std::map<std::string, Tokenizer> loaded;
  auto it = loaded.find(name);
  if (it == loaded.end())
    it = loaded.emplace(name, Tokenizer::from_json_file(test::asset("tokenizers/" + name + "/tokenizer.json"))).first;
  return it->second;
}

std::string ids_string(const std::vector<TokenId>& ids) {
  std::string s;
  for (TokenId id : ids) s += std::to_string(id) + " ";
  return s;
}

class Vectors : public ::testing::TestWithParam<std::string> {};

TEST_P(Vectors, EveryLineMatches) {
  const std::string name = GetParam();
  RKV_REQUIRE_ASSET("tokenizers/" + name + "/vectors.jsonl");
  const Tokenizer& tok = cached(name);
  std::ifstream in(test::asset("tokenizers/" + name + "/vectors.jsonl"));
  std::string line;
  int lines = 0, matched = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json v = json::parse(line);
    std::string text = v["text"];
    std::vector<TokenId> expect = v["ids"].get<std::vector<TokenId>>();
    std::vector<TokenId> got = tok.encode(text, v["add_special_tokens"].get<bool>());
    ++lines;
    EXPECT_EQ(ids_string(got), ids_string(expect)) << name << " text: " << json(text).dump();
    if (got == expect) ++matched;
  }
  EXPECT_EQ(matched, lines);
  EXPECT_GE(lines, 40);
  std::printf("%s: %d/%d vectors match\n", name.c_str(), matched, lines);
}

TEST_P(Vectors, DecodeGivesTheTextBack) {
  const std::string name = GetParam();
  RKV_REQUIRE_ASSET("tokenizers/" + name + "/vectors.jsonl");
  const Tokenizer& tok = cached(name);
  std::ifstream in(test::asset("tokenizers/" + name + "/vectors.jsonl"));
  std::string line;
  int checked = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json v = json::parse(line);
    if (v["add_special_tokens"].get<bool>()) continue;
    std::string text = v["text"];
    std::vector<TokenId> ids = v["ids"].get<std::vector<TokenId>>();
    std::string decoded = tok.decode(ids);
    if (name == "qwen3" && text.find("e\xCC\x81") != std::string::npos) continue;  // NFC changes it
    if (name == "mistral7b_v0.1" && text.find("<s>") != std::string::npos) {
      // Legacy SentencePiece: a segment after a special token gains a space.
      EXPECT_EQ(decoded.substr(0, 10), "<s> [INST]");
      continue;
    }
    if (name == "mistral7b_v0.1" && text.find("</s>") != std::string::npos && text != "</s>") continue;
    EXPECT_EQ(decoded, text) << name;
    ++checked;
  }
  EXPECT_GE(checked, 40);
}

INSTANTIATE_TEST_SUITE_P(HuggingFace, Vectors,
                         ::testing::Values("qwen3", "llama3", "llama3_1", "deepseek_v3", "mistral7b_v0.1"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (c == '.') c = '_';
                           return n;
                         });

}  // namespace
}  // namespace rkv
