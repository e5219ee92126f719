// llama.cpp's tokenizer vectors (../shared/tokenizers/llamacpp-vocab): the
// .inp strings (separated by "\n__ggml_vocab_test__\n") must encode to the
// .out ids (from Hugging Face, add_special_tokens=False). GGUF vocabularies
// are read from the .gguf; the vocabularies whose big GGUF is not stored are
// checked through the Hugging Face tokenizer.json of the same vocabulary.
#include <fstream>
#include <sstream>

#include "common/testing.h"
#include "rkv/tokenizer/tokenizer.h"

namespace rkv {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Case {
  std::string text, expected;
};

std::vector<Case> read_cases(const std::string& stem) {
  std::string inp = slurp(test::asset(stem + ".inp")), out = slurp(test::asset(stem + ".out"));
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  for (size_t pos = 0;;) {
    size_t next = inp.find(sep, pos);
    if (next == std::string::npos) break;
    texts.push_back(inp.substr(pos, next - pos));
    pos = next + sep.size();
  }
  std::vector<std::string> lines;
  std::istringstream ls(out);
  for (std::string line; std::getline(ls, line);) lines.push_back(line);
  EXPECT_EQ(texts.size(), lines.size()) << stem;
  std::vector<Case> cases;
  for (size_t i = 0; i < texts.size() && i < lines.size(); ++i) {
    std::string e = lines[i];
    while (!e.empty() && e.front() == ' ') e.erase(0, 1);
    while (!e.empty() && (e.back() == ' ' || e.back() == '\r')) e.pop_back();
    cases.push_back({texts[i], e});
  }
  return cases;
}

std::string join(const std::vector<TokenId>& ids) {
  std::string s;
  for (TokenId id : ids) s += (s.empty() ? "" : " ") + std::to_string(id);
  return s;
}

int check(const Tokenizer& tok, const std::string& stem, const std::string& label) {
  std::vector<Case> cases = read_cases(stem);
  int matched = 0;
  for (const Case& c : cases) {
    std::string got = join(tok.encode(c.text, false));
    EXPECT_EQ(got, c.expected) << label << " text: '" << c.text << "'";
    if (got == c.expected) ++matched;
  }
  std::printf("%s: %d/%zu vectors match\n", label.c_str(), matched, cases.size());
  EXPECT_GE(cases.size(), 30u);
  return matched;
}

class GgufVocab : public ::testing::TestWithParam<std::string> {};

TEST_P(GgufVocab, EveryVectorMatches) {
  const std::string stem = "tokenizers/llamacpp-vocab/ggml-vocab-" + GetParam() + ".gguf";
  RKV_REQUIRE_ASSET(stem);
  RKV_REQUIRE_ASSET(stem + ".inp");
  Tokenizer tok = Tokenizer::from_gguf(test::asset(stem));
  check(tok, stem, GetParam());
}

INSTANTIATE_TEST_SUITE_P(LlamaCpp, GgufVocab,
                         ::testing::Values("llama-spm", "phi-3", "gpt-2", "mpt", "starcoder", "refact", "falcon",
                                           "deepseek-coder", "deepseek-llm"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

TEST(LlamaCppVectors, LlamaBpeThroughLlama3TokenizerJson) {
  RKV_REQUIRE_ASSET("tokenizers/llamacpp-vocab/ggml-vocab-llama-bpe.gguf.inp");
  RKV_REQUIRE_ASSET("tokenizers/llama3/tokenizer.json");
  Tokenizer tok = Tokenizer::from_json_file(test::asset("tokenizers/llama3/tokenizer.json"));
  check(tok, "tokenizers/llamacpp-vocab/ggml-vocab-llama-bpe.gguf", "llama-bpe (llama3 tokenizer.json)");
  Tokenizer tok31 = Tokenizer::from_json_file(test::asset("tokenizers/llama3_1/tokenizer.json"));
  check(tok31, "tokenizers/llamacpp-vocab/ggml-vocab-llama-bpe.gguf", "llama-bpe (llama3_1 tokenizer.json)");
}

TEST(LlamaCppVectors, Qwen2ThroughQwen3TokenizerJson) {
  RKV_REQUIRE_ASSET("tokenizers/llamacpp-vocab/ggml-vocab-qwen2.gguf.inp");
  RKV_REQUIRE_ASSET("tokenizers/qwen3/tokenizer.json");
  Tokenizer tok = Tokenizer::from_json_file(test::asset("tokenizers/qwen3/tokenizer.json"));
  check(tok, "tokenizers/llamacpp-vocab/ggml-vocab-qwen2.gguf", "qwen2 (qwen3 tokenizer.json)");
}

}  // namespace
}  // namespace rkv
