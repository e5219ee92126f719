// Replays the tokenizer.json fuzzer's seed corpus (fuzz/corpus/tokenizer_json):
// each file loads or fails with rkv::Error, and loaded ones encode, decode and
// stream-decode without trouble; the valid seeds must load.
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/testing.h"
#include "rkv/core/error.h"
#include "rkv/tokenizer/tokenizer.h"

namespace rkv {
namespace {

TEST(TokenizerJsonCorpus, EverySeedLoadsOrFailsCleanly) {
  std::filesystem::path dir = std::filesystem::path(RKV_SOURCE_DIR) / "fuzz" / "corpus" / "tokenizer_json";
  ASSERT_TRUE(std::filesystem::exists(dir));
  const std::set<std::string> valid = {"bytelevel_split.json", "spm_bytefallback.json", "metaspace.json",
                                       "gpt2_bytelevel_regex.json", "split_behaviors.json"};
  int files = 0, loaded = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string name = entry.path().filename().string();
    ++files;
    try {
      Tokenizer tok = Tokenizer::from_json(ss.str(), name);
      ++loaded;
      for (const std::string s : {"", "Hello world", " a-b  x\n\n12 \xE4\xBD\xA0 <mask> <|end|>", "Hi there"}) {
        std::vector<TokenId> ids = tok.encode(s, true);
        std::string once = tok.decode(ids);
        StreamDecoder stream(tok);
        std::string streamed;
        for (TokenId id : ids) streamed += stream.push(id);
        EXPECT_EQ(streamed + stream.finish(), once) << name;
      }
    } catch (const Error& e) {
      EXPECT_EQ(valid.count(name), 0u) << name << ": " << e.what();
    }
  }
  EXPECT_GE(files, 10);
  EXPECT_EQ(loaded, static_cast<int>(valid.size()));
}

TEST(TokenizerJsonCorpus, SpmSeedBehavesLikeMistral) {
  std::filesystem::path path =
      std::filesystem::path(RKV_SOURCE_DIR) / "fuzz" / "corpus" / "tokenizer_json" / "spm_bytefallback.json";
  Tokenizer tok = Tokenizer::from_json_file(path.string());
  // "▁Hi" merges; "你" (E4 BD A0) falls back to bytes; BOS from the template.
  std::vector<TokenId> ids = tok.encode("Hi\xE4\xBD\xA0", true);
  EXPECT_EQ(ids, (std::vector<TokenId>{1, 10, 3, 4, 5}));
  EXPECT_EQ(tok.decode(ids, true), "Hi\xE4\xBD\xA0");
  EXPECT_EQ(tok.encode("x"), (std::vector<TokenId>{6, 0}));  // unknown 'x' -> <unk>
}

}  // namespace
}  // namespace rkv
