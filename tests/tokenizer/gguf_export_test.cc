// Hugging Face tokenizer -> GGUF vocabulary: the exported tokenizer.ggml.*
// metadata, loaded back with Tokenizer::from_gguf, reproduces Hugging Face's
// reference tokenizations (../shared/tokenizers/<name>/vectors.jsonl) and the
// folder tokenizer's special-token handling, and renders the chat vectors
// with the GGUF's template and BOS / EOS texts; what GGUF cannot express is
// an error naming it.
#include "rkv/tokenizer/gguf_export.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "common/testing.h"
#include "rkv/core/error.h"
#include "rkv/tokenizer/chat_template.h"

namespace rkv {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// A folder holding links to the asset's tokenizer files (never copies).
void link_tokenizer(const test::TempDir& dir, const std::string& json_from, const std::string& config_from) {
  fs::create_symlink(test::asset("tokenizers/" + json_from + "/tokenizer.json"), dir.dir() / "tokenizer.json");
  if (!config_from.empty())
    fs::create_symlink(test::asset("tokenizers/" + config_from + "/tokenizer_config.json"),
                       dir.dir() / "tokenizer_config.json");
}

struct Exported {
  GgufVocab vocab;
  std::vector<uint8_t> bytes;
  std::unique_ptr<GgufFile> file;
};

// export_gguf_vocab refuses the folder with a message containing `words`.
void expect_refused(const std::string& folder, const std::string& words, const GgufVocabOptions& options = {}) {
  try {
    export_gguf_vocab(folder, options);
    ADD_FAILURE() << "accepted; expected a refusal mentioning: " << words;
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find(words), std::string::npos) << err.what();
  }
}

Exported export_and_reload(const std::string& folder, const GgufVocabOptions& options = {}) {
  Exported e;
  e.vocab = export_gguf_vocab(folder, options);
  GgufWriter w;
  e.vocab.write_to(w);
  e.bytes = w.serialize();
  e.file = std::make_unique<GgufFile>(e.bytes.data(), e.bytes.size(), "exported");
  return e;
}

struct Case {
  const char* tokenizer;  // tokenizers/<name>/tokenizer.json
  const char* config;     // tokenizers/<name>/tokenizer_config.json
  const char* model;      // expected tokenizer.ggml.model
  const char* pre;        // expected tokenizer.ggml.pre
};

class GgufExport : public ::testing::TestWithParam<Case> {};

TEST_P(GgufExport, ReproducesTheReferenceVectors) {
  const Case c = GetParam();
  RKV_REQUIRE_ASSET(std::string("tokenizers/") + c.tokenizer + "/vectors.jsonl");
  test::TempDir dir;
  link_tokenizer(dir, c.tokenizer, c.config);
  Exported e = export_and_reload(dir.dir().string());
  EXPECT_EQ(e.vocab.model, c.model);
  EXPECT_EQ(e.vocab.pre, c.pre);
  EXPECT_EQ(e.file->get_string("tokenizer.ggml.model", ""), c.model);
  Tokenizer folder = Tokenizer::load(dir.dir().string());
  Tokenizer gguf = Tokenizer::from_gguf(*e.file);
  EXPECT_EQ(gguf.vocab_size(), folder.vocab_size());
  EXPECT_EQ(gguf.bos_id(), folder.bos_id());
  EXPECT_EQ(gguf.eos_id(), folder.eos_id());
  EXPECT_EQ(gguf.bos_token(), folder.bos_token());
  EXPECT_EQ(gguf.eos_token(), folder.eos_token());
  EXPECT_EQ(gguf.chat_template(), folder.chat_template());
  std::ifstream in(test::asset(std::string("tokenizers/") + c.tokenizer + "/vectors.jsonl"));
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json v = json::parse(line);
    const std::string text = v["text"];
    const bool add = v["add_special_tokens"];
    std::vector<TokenId> got = gguf.encode(text, add);
    // The reference is the raw tokenizer.json; a folder's tokenizer_config.json
    // may change the post-processor (LlamaTokenizerFast's add_bos_token).
    std::vector<TokenId> expect = add ? folder.encode(text, true) : v["ids"].get<std::vector<TokenId>>();
    EXPECT_EQ(got, expect) << c.tokenizer << " " << json(text).dump() << (add ? " (special)" : "");
    EXPECT_EQ(gguf.decode(got), folder.decode(got)) << c.tokenizer << " " << json(text).dump();
    ++lines;
  }
  EXPECT_GE(lines, 45);
  // Every added token keeps its id; special ones become control tokens.
  for (const AddedToken& a : folder.added_tokens()) {
    EXPECT_EQ(gguf.find(a.content), std::optional<TokenId>(a.id)) << a.content;
    EXPECT_EQ(gguf.is_special(a.id), a.special || token_looks_special(a.content)) << a.content;
  }
}

// (llama3 is llama3_1's vocabulary without the BOS post-processor: left out
// to keep the sanitizer run short.)
INSTANTIATE_TEST_SUITE_P(Tokenizers, GgufExport,
                         ::testing::Values(Case{"qwen3", "qwen3", "gpt2", "qwen2"},
                                           Case{"llama3_1", "llama3_1", "gpt2", "llama-bpe"},
                                           Case{"deepseek_v3", "deepseek_v3", "gpt2", "deepseek-v3"},
                                           Case{"mistral7b_v0.1", "mistral7b_v0.1", "llama", "default"}),
                         [](const auto& info) {
                           std::string s = info.param.tokenizer;
                           for (char& ch : s)
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return s;
                         });

// The chat template and BOS / EOS texts travel: the GGUF renders every chat
// vector as Hugging Face did (R1-Distill's template, which writes BOS and
// EOS, over DeepSeek-V3's vocabulary, which holds those tokens; the other
// templates are compared as text above).
TEST(GgufExportChat, RendersTheChatVectors) {
  using ojson = nlohmann::ordered_json;
  const std::pair<const char*, const char*> cases[] = {{"deepseek_v3", "deepseek-r1-distill-qwen-1.5b"}};
  int rendered = 0;
  for (const auto& [tokenizer, config] : cases) {
    RKV_REQUIRE_ASSET(std::string("tokenizers/") + config + "/chat_vectors.jsonl");
    test::TempDir dir;
    link_tokenizer(dir, tokenizer, config);
    Exported e = export_and_reload(dir.dir().string());
    Tokenizer gguf = Tokenizer::from_gguf(*e.file);
    ASSERT_FALSE(gguf.chat_template().empty()) << config;
    ChatTemplate t(gguf.chat_template(), "gguf");
    t.set_special_tokens({{"bos_token", gguf.bos_token()}, {"eos_token", gguf.eos_token()}});
    std::ifstream in(test::asset(std::string("tokenizers/") + config + "/chat_vectors.jsonl"));
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      ojson v = ojson::parse(line);
      EXPECT_EQ(t.render(v["messages"], v["add_generation_prompt"].get<bool>()), v["text"].get<std::string>()) << config;
      ++rendered;
    }
  }
  EXPECT_EQ(rendered, 10);
}

// Padding up to the model's rows, the fallback BOS / EOS ids of config.json,
// and the refusals.
TEST(GgufExportRules, PaddingFallbacksAndRefusals) {
  test::TempDir dir;
  auto write = [&](const std::string& name, const json& j) { std::ofstream(dir.path(name)) << j.dump(); };
  json vocab = json::object();
  const char* letters[] = {"a", "b", "c", "d", "\xc4\xa0", "ab", "abc"};
  for (int i = 0; i < 7; ++i) vocab[letters[i]] = i;
  json tj = {{"version", "1.0"},
             {"added_tokens", json::array({{{"id", 7}, {"content", "<|end|>"}, {"special", false}},
                                           {{"id", 8}, {"content", "[X]"}, {"special", false}}})},
             {"normalizer", nullptr},
             {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
             {"post_processor", nullptr},
             {"decoder", {{"type", "ByteLevel"}}},
             {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", json::array({"a b", "ab c"})}}}};
  write("tokenizer.json", tj);
  GgufVocabOptions opt;
  opt.n_vocab = 12;
  opt.bos_id = 7;
  opt.eos_id = 8;
  Exported e = export_and_reload(dir.dir().string(), opt);
  EXPECT_EQ(e.vocab.model, "gpt2");
  EXPECT_EQ(e.vocab.pre, "gpt-2");
  EXPECT_EQ(e.vocab.n_tokens, 12);
  EXPECT_EQ(e.vocab.n_padding, 3);
  EXPECT_EQ(e.vocab.n_merges, 2);
  EXPECT_EQ(e.vocab.n_control, 1) << "<|end|> looks special";
  EXPECT_EQ(e.vocab.n_user_defined, 1);
  const auto& tokens = e.file->get("tokenizer.ggml.tokens").strings();
  ASSERT_EQ(tokens.size(), 12u);
  EXPECT_EQ(tokens[9], "[PAD9]");
  EXPECT_EQ(e.file->get("tokenizer.ggml.token_type").ints(), (std::vector<int64_t>{1, 1, 1, 1, 1, 1, 1, 3, 4, 5, 5, 5}));
  EXPECT_EQ(e.file->get("tokenizer.ggml.merges").strings(), (std::vector<std::string>{"a b", "ab c"}));
  EXPECT_EQ(e.file->get_int("tokenizer.ggml.bos_token_id", -1), 7);
  EXPECT_EQ(e.file->get_int("tokenizer.ggml.eos_token_id", -1), 8);
  EXPECT_FALSE(e.file->get("tokenizer.ggml.add_bos_token").as_bool());
  Tokenizer gguf = Tokenizer::from_gguf(*e.file);
  EXPECT_EQ(gguf.encode("abc abd<|end|>"), (std::vector<TokenId>{6, 4, 5, 3, 7}));

  // More token ids than the model has rows.
  opt.n_vocab = 8;
  expect_refused(dir.dir().string(), "has only 8 rows", opt);
  // An added token that strips whitespace.
  json stripping = tj;
  stripping["added_tokens"][1]["lstrip"] = true;
  write("tokenizer.json", stripping);
  expect_refused(dir.dir().string(), "[X]");
  // A pre-tokenizer no GGUF family reproduces (whitespace split before byte level).
  json unknown = tj;
  const json whitespace_split = {{"type", "Split"}, {"pattern", {{"Regex", "\\s+"}}}, {"behavior", "Removed"}};
  unknown["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers", json::array({whitespace_split, {{"type", "ByteLevel"}, {"use_regex", false}}})}};
  write("tokenizer.json", unknown);
  expect_refused(dir.dir().string(), "pre-tokenizer families");
  // Neither byte-level nor SentencePiece-style (character BPE with a whitespace split).
  json plain = tj;
  plain["pre_tokenizer"] = whitespace_split;
  plain["decoder"] = nullptr;
  write("tokenizer.json", plain);
  expect_refused(dir.dir().string(), "cannot be mapped");
  // A SentencePiece-style vocabulary where merging by score is not merging by rank.
  json spm_vocab = {{"<unk>", 0}, {"\xe2\x96\x81", 1}, {"a", 2}, {"b", 3}, {"\xe2\x96\x81" "a", 4}, {"ab", 5},
                    {"\xe2\x96\x81" "ab", 6}};
  json spm = {{"version", "1.0"},
              {"added_tokens", json::array({{{"id", 0}, {"content", "<unk>"}, {"special", true}}})},
              {"normalizer",
               {{"type", "Sequence"},
                {"normalizers", json::array({{{"type", "Prepend"}, {"prepend", "\xe2\x96\x81"}},
                                             {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xe2\x96\x81"}}})}}},
              {"pre_tokenizer", nullptr},
              {"decoder",
               {{"type", "Sequence"},
                {"decoders", json::array({{{"type", "Replace"}, {"pattern", {{"String", "\xe2\x96\x81"}}}, {"content", " "}},
                                          {{"type", "ByteFallback"}},
                                          {{"type", "Fuse"}},
                                          {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}})}}},
              {"model", {{"type", "BPE"}, {"unk_token", "<unk>"}, {"byte_fallback", true}, {"vocab", spm_vocab},
                         {"merges", json::array({"\xe2\x96\x81 a", "a b", "\xe2\x96\x81" "a b"})}}}};
  write("tokenizer.json", spm);
  expect_refused(dir.dir().string(), "no merge makes it");
  spm["model"]["merges"].push_back("\xe2\x96\x81 ab");  // every split of "▁ab" is now a merge, and consecutive
  write("tokenizer.json", spm);
  Exported s = export_and_reload(dir.dir().string());
  EXPECT_EQ(s.vocab.model, "llama");
  EXPECT_EQ(s.file->get("tokenizer.ggml.scores").floats(), (std::vector<float>{0, 0, 0, 0, -1, -2, -3}));
  EXPECT_EQ(Tokenizer::from_gguf(*s.file).encode("ab a"), (std::vector<TokenId>{6, 4}));
}

}  // namespace
}  // namespace rkv
