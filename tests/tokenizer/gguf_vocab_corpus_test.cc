// Replays the GGUF-vocabulary fuzzer's seeds (fuzz/corpus/gguf_vocab) and
// checks the two valid hand-made vocabularies encode as their tables say.
#include <filesystem>

#include "common/testing.h"
#include "rkv/core/error.h"
#include "rkv/formats/gguf.h"
#include "rkv/tokenizer/tokenizer.h"

namespace rkv {
namespace {

std::string seed(const std::string& name) {
  return (std::filesystem::path(RKV_SOURCE_DIR) / "fuzz" / "corpus" / "gguf_vocab" / name).string();
}

TEST(GgufVocabCorpus, HandMadeSpmVocabulary) {
  Tokenizer tok = Tokenizer::from_gguf(seed("llama_spm.gguf"));
  // "▁Hi" (score -1) beats "▁H" + "i"; "你" falls back to its three bytes.
  EXPECT_EQ(tok.encode("Hi\xE4\xBD\xA0", true), (std::vector<TokenId>{1, 11, 4, 5, 6}));
  EXPECT_EQ(tok.encode("a a"), (std::vector<TokenId>{13, 13}));
  EXPECT_EQ(tok.decode(std::vector<TokenId>{1, 11, 4, 5, 6}, true), "Hi\xE4\xBD\xA0");
  EXPECT_EQ(tok.bos_id(), 1);
  EXPECT_EQ(tok.eos_token(), "</s>");
}

TEST(GgufVocabCorpus, HandMadeGpt2Vocabulary) {
  Tokenizer tok = Tokenizer::from_gguf(seed("gpt2_qwen2.gguf"));
  // Byte b is token b (in the GPT-2 alphabet); merges He, ll, Hell, "Ġw".
  EXPECT_EQ(tok.encode("Hello world"), (std::vector<TokenId>{258, 'o', 259, 'o', 'r', 'l', 'd'}));
  EXPECT_EQ(tok.encode("<|endoftext|>"), (std::vector<TokenId>{260}));
  EXPECT_TRUE(tok.is_special(260));
  EXPECT_EQ(tok.decode(tok.encode("Hello world \xF0\x9F\x98\x80")), "Hello world \xF0\x9F\x98\x80");
  EXPECT_EQ(tok.chat_template(), "{{ messages }}");
}

TEST(GgufVocabCorpus, BadVocabulariesAreNamedErrors) {
  try {
    Tokenizer::from_gguf(seed("unknown_pre.gguf"));
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unsupported tokenizer.ggml.pre 'mystery'"), std::string::npos) << e.what();
  }
  try {
    Tokenizer::from_gguf(seed("no_vocab.gguf"));
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no tokenizer.ggml.model"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rkv
