// rkv tokenize end to end: ids, --json / --pieces, --add-special-tokens (the
// tokenizer.json post-processor, or transformers' rules for a folder),
// GGUF vocabularies, --decode, and one-line errors with exit code 2.
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/testing.h"

namespace rkv {
namespace {

using nlohmann::json;

std::string tokdir(const std::string& name) { return test::asset("tokenizers/" + name); }

TEST(TokenizeCli, PrintsIdsOfAFolder) {
  RKV_REQUIRE_ASSET("tokenizers/qwen3/tokenizer.json");
  auto r = test::run_rkv({"tokenize", "-m", tokdir("qwen3"), "-p", "Hello world"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "9707 1879\n");
}

TEST(TokenizeCli, JsonWithPieces) {
  RKV_REQUIRE_ASSET("tokenizers/qwen3/tokenizer.json");
  auto r = test::run_rkv({"tokenize", "-m", tokdir("qwen3") + "/tokenizer.json", "-p", "Hello world", "--json",
                          "--pieces"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json out = json::parse(r.out);
  EXPECT_EQ(out["ids"], json({9707, 1879}));
  EXPECT_EQ(out["pieces"], json({"Hello", "\xC4\xA0world"}));
  auto plain = test::run_rkv({"tokenize", "-m", tokdir("qwen3"), "-p", "Hello world", "--json"});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.out, "{\"ids\":[9707,1879]}\n");
}

TEST(TokenizeCli, PiecesLines) {
  RKV_REQUIRE_ASSET("tokenizers/qwen3/tokenizer.json");
  auto r = test::run_rkv({"tokenize", "-m", tokdir("qwen3"), "-p", "Hello world", "--pieces"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "9707 1879\n9707\t\"Hello\"\n1879\t\"\xC4\xA0world\"\n");
}

TEST(TokenizeCli, AddSpecialTokensFollowsThePostProcessor) {
  RKV_REQUIRE_ASSET("tokenizers/llama3_1/tokenizer.json");
  auto r = test::run_rkv({"tokenize", "-m", tokdir("llama3_1"), "-p", "Hello world", "--add-special-tokens"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "128000 9906 1917\n");
  auto off = test::run_rkv({"tokenize", "-m", tokdir("llama3_1"), "-p", "Hello world"});
  EXPECT_EQ(off.out, "9906 1917\n");
  // Qwen3 never adds BOS.
  auto q = test::run_rkv({"tokenize", "-m", tokdir("qwen3"), "-p", "Hello world", "--add-special-tokens"});
  EXPECT_EQ(q.out, "9707 1879\n");
}

TEST(TokenizeCli, FolderUsesTransformersBosRulesFileDoesNot) {
  RKV_REQUIRE_ASSET("tokenizers/deepseek_v3/tokenizer.json");
  // tokenizer_config.json: LlamaTokenizerFast with add_bos_token -> BOS (id 0)
  // is prepended, as transformers does; the bare tokenizer.json adds nothing.
  auto folder = test::run_rkv({"tokenize", "-m", tokdir("deepseek_v3"), "-p", "Hello world", "--add-special-tokens"});
  ASSERT_EQ(folder.exit_code, 0) << folder.err;
  EXPECT_EQ(folder.out, "0 19923 2058\n");
  auto file = test::run_rkv(
      {"tokenize", "-m", tokdir("deepseek_v3") + "/tokenizer.json", "-p", "Hello world", "--add-special-tokens"});
  EXPECT_EQ(file.out, "19923 2058\n");
}

TEST(TokenizeCli, GgufVocabulary) {
  RKV_REQUIRE_ASSET("tokenizers/llamacpp-vocab/ggml-vocab-llama-spm.gguf");
  std::string model = test::asset("tokenizers/llamacpp-vocab/ggml-vocab-llama-spm.gguf");
  auto r = test::run_rkv({"tokenize", "-m", model, "-p", "Hello world"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "15043 3186\n");
  auto bos = test::run_rkv({"tokenize", "-m", model, "-p", "Hello world", "--add-special-tokens"});
  EXPECT_EQ(bos.out, "1 15043 3186\n");
  auto dec = test::run_rkv({"tokenize", "-m", model, "--decode", "1,15043,3186"});
  EXPECT_EQ(dec.out, "<s> Hello world");
  auto skip = test::run_rkv({"tokenize", "-m", model, "--decode", "1,15043,3186", "--skip-special-tokens"});
  EXPECT_EQ(skip.out, "Hello world");
}

TEST(TokenizeCli, FileInputAndDecodeRoundTrip) {
  RKV_REQUIRE_ASSET("tokenizers/llama3/tokenizer.json");
  test::TempDir dir;
  const std::string text = "line one\n  indented: 42 + \xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x98\x80\n";
  {
    std::ofstream(dir.path("in.txt"), std::ios::binary) << text;
  }
  auto r = test::run_rkv({"tokenize", "-m", tokdir("llama3"), "-f", dir.path("in.txt"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string ids;
  json parsed = json::parse(r.out);
  for (const auto& id : parsed["ids"]) ids += (ids.empty() ? "" : ",") + std::to_string(id.get<int>());
  ASSERT_FALSE(ids.empty()) << r.out;
  auto d = test::run_rkv({"tokenize", "-m", tokdir("llama3"), "--decode", ids});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(d.out, text);
}

TEST(TokenizeCli, DecodeSkipsSpecialTokens) {
  RKV_REQUIRE_ASSET("tokenizers/qwen3/tokenizer.json");
  // <|im_start|> is special, <think> (151667) is not.
  auto all = test::run_rkv({"tokenize", "-m", tokdir("qwen3"), "--decode", "151644,9707,151667"});
  EXPECT_EQ(all.out, "<|im_start|>Hello<think>");
  auto skip = test::run_rkv({"tokenize", "-m", tokdir("qwen3"), "--decode", "151644,9707,151667", "--skip-special-tokens"});
  EXPECT_EQ(skip.out, "Hello<think>");
}

TEST(TokenizeCli, ChatRendersTheTemplateWithTheGenerationPrompt) {
  RKV_REQUIRE_ASSET("tokenizers/qwen3/tokenizer_config.json");
  // --chat == tokenizing the Qwen3 template's rendering of one user message
  // with the generation prompt.
  const std::string rendered = "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n";
  auto direct = test::run_rkv({"tokenize", "-m", tokdir("qwen3"), "-p", rendered});
  for (const std::string& model : {tokdir("qwen3"), tokdir("qwen3") + "/tokenizer.json"}) {
    auto chat = test::run_rkv({"tokenize", "-m", model, "-p", "What is 2+2?", "--chat"});
    ASSERT_EQ(chat.exit_code, 0) << chat.err;
    EXPECT_EQ(chat.out, direct.out);
    EXPECT_EQ(chat.out.rfind("151644 ", 0), 0u) << chat.out;  // starts with <|im_start|>
  }
}

TEST(TokenizeCli, ChatFromAGgufTemplate) {
  RKV_REQUIRE_ASSET("tokenizers/llamacpp-vocab/ggml-vocab-phi-3.gguf");
  std::string model = test::asset("tokenizers/llamacpp-vocab/ggml-vocab-phi-3.gguf");
  auto chat = test::run_rkv({"tokenize", "-m", model, "-p", "Hi", "--chat"});
  ASSERT_EQ(chat.exit_code, 0) << chat.err;
  auto direct = test::run_rkv({"tokenize", "-m", model, "-p", "<s><|user|>\nHi<|end|>\n<|assistant|>\n"});
  EXPECT_EQ(chat.out, direct.out);
  EXPECT_EQ(chat.out.rfind("1 32010 ", 0), 0u) << chat.out;  // <s> <|user|>
  auto none = test::run_rkv({"tokenize", "-m", test::asset("tokenizers/llamacpp-vocab/ggml-vocab-gpt-2.gguf"), "-p",
                             "Hi", "--chat"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("chat_template"), std::string::npos) << none.err;
}

void expect_error(const std::vector<std::string>& args, const std::string& needle) {
  auto r = test::run_rkv(args);
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(TokenizeCli, ErrorsAreOneLineWithExitCode2) {
  RKV_REQUIRE_ASSET("tokenizers/qwen3/tokenizer.json");
  test::TempDir dir;
  expect_error({"tokenize", "-p", "x"}, "missing -m");
  expect_error({"tokenize", "-m", dir.path("nope")}, "give the text");
  expect_error({"tokenize", "-m", dir.path("nope"), "-p", "x"}, "no such file");
  expect_error({"tokenize", "-m", dir.dir().string(), "-p", "x"}, "no tokenizer.json");
  expect_error({"tokenize", "-m", tokdir("qwen3"), "--decode", "1,x"}, "not an integer");
  expect_error({"tokenize", "-m", tokdir("qwen3"), "--decode", "99999999"}, "not in the vocabulary");
  expect_error({"tokenize", "-m", tokdir("qwen3"), "-f", dir.path("missing.txt")}, "cannot open");
  {
    std::ofstream(dir.path("bad.txt"), std::ios::binary) << "abc\xFF\xFE";
  }
  expect_error({"tokenize", "-m", tokdir("qwen3"), "-f", dir.path("bad.txt")}, "not valid UTF-8");
  {
    std::ofstream(dir.path("wp.json")) << R"({"model": {"type": "WordPiece", "vocab": {"a": 0}}})";
  }
  expect_error({"tokenize", "-m", dir.path("wp.json"), "-p", "a"}, "unsupported model type 'WordPiece'");
  {
    std::ofstream(dir.path("norm.json"))
        << R"({"normalizer": {"type": "Precompiled"}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}})";
  }
  expect_error({"tokenize", "-m", dir.path("norm.json"), "-p", "a"}, "unsupported normalizer type 'Precompiled'");
  {
    std::ofstream(dir.path("broken.json")) << "{\"model\": ";
  }
  expect_error({"tokenize", "-m", dir.path("broken.json"), "-p", "a"}, "not valid JSON");
}

}  // namespace
}  // namespace rkv
