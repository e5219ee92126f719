// Properties on random Unicode: decode(encode(s)) == s for lossless
// tokenizers (== NFC(s) for Qwen3), the streaming decoder's output equals the
// one-shot decode and is always complete UTF-8, encoding is deterministic.
#include <map>
#include <random>

#include "common/testing.h"
#include "rkv/tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace rkv {
namespace {

void append_cp(std::string& s, uint32_t cp) { tok::utf8_append(s, cp); }

// Random text mixing ASCII words, whitespace runs, digits, Latin-1, combining
// marks, CJK, Hangul, emoji (with ZWJ and skin tones) and code points from all
// planes (private use, noncharacters and unassigned ones included).
std::string random_text(std::mt19937& rng, int pieces) {
  std::string s;
  std::uniform_int_distribution<int> kind(0, 11);
  for (int i = 0; i < pieces; ++i) {
    switch (kind(rng)) {
      case 0: s += std::vector<std::string>{"the", "Hello", "world", "I'm", "don't", "x", "QUICK"}[rng() % 7]; break;
      case 1: s += std::vector<std::string>{" ", "  ", "\n", "\n\n", "\t", "\r\n", "   \n "}[rng() % 7]; break;
      case 2: s += std::to_string(rng() % 100000); break;
      case 3: s += std::vector<std::string>{".", ",", "!?", "\\frac{", "}", "(", "$", "'", "->", "::"}[rng() % 10]; break;
      case 4: append_cp(s, 0xA0 + rng() % 0x1E0); break;                  // Latin-1 / Extended
      case 5: append_cp(s, 'a' + rng() % 26); append_cp(s, 0x300 + rng() % 0x70); break;  // combining
      case 6: append_cp(s, 0x4E00 + rng() % 0x5000); break;               // CJK
      case 7: append_cp(s, 0xAC00 + rng() % 11172); break;                 // Hangul syllables
      case 8:
        append_cp(s, 0x1F600 + rng() % 0x50);
        if (rng() % 2) append_cp(s, 0x1F3FB + rng() % 5);
        if (rng() % 3 == 0) {
          append_cp(s, 0x200D);
          append_cp(s, 0x1F466 + rng() % 4);
        }
        break;
      case 9: {  // any plane, no surrogates
        uint32_t cp;
        do cp = static_cast<uint32_t>(rng() % 0x110000);
        while (cp >= 0xD800 && cp <= 0xDFFF);
        append_cp(s, cp);
        break;
      }
      case 10: append_cp(s, std::vector<uint32_t>{0xFFFD, 0xFEFF, 0x200B, 0x3000, 0x2028, 0xFFFF, 0xE000, 0x10FFFF}[rng() % 8]); break;
      default: append_cp(s, 0x400 + rng() % 0x100); break;  // Cyrillic
    }
  }
  return s;
}

const Tokenizer& json_tokenizer(const std::string& name) {
  static std::map<std::string, Tokenizer> loaded;
  auto it = loaded.find(name);
  if (it == loaded.end())
    it = loaded.emplace(name, Tokenizer::from_json_file(test::asset("tokenizers/" + name + "/tokenizer.json"))).first;
  return it->second;
}

void check_stream(const Tokenizer& tok, const std::vector<TokenId>& ids, bool skip, const std::string& label) {
  StreamDecoder stream(tok, skip);
  std::string streamed;
  for (TokenId id : ids) {
    std::string chunk = stream.push(id);
    ASSERT_TRUE(tok::utf8_valid(chunk)) << label;
    streamed += chunk;
  }
  streamed += stream.finish();
  ASSERT_EQ(streamed, tok.decode(ids, skip)) << label;
}

class RoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(RoundTrip, RandomUnicodeDecodesBackAndStreamsTheSame) {
  const std::string name = GetParam();
  RKV_REQUIRE_ASSET("tokenizers/" + name + "/tokenizer.json");
  const Tokenizer& tok = json_tokenizer(name);
  std::mt19937 rng(1234);
  for (int iter = 0; iter < 300; ++iter) {
    std::string text = random_text(rng, 1 + static_cast<int>(rng() % 40));
    std::vector<TokenId> ids = tok.encode(text);
    ASSERT_EQ(ids, tok.encode(text)) << "not deterministic";
    std::string expected = name == "qwen3" ? tok::nfc(text) : text;
    ASSERT_EQ(tok.decode(ids), expected) << name << " iteration " << iter;
    check_stream(tok, ids, false, name);
  }
}

INSTANTIATE_TEST_SUITE_P(Json, RoundTrip, ::testing::Values("qwen3", "llama3", "llama3_1", "deepseek_v3", "mistral7b_v0.1"),
                         [](const auto& info) { std::string n = info.param; for (char& c : n) if (c == '.') c = '_'; return n; });

TEST(RoundTripGguf, RandomUnicodeThroughGgufVocabularies) {
  // (starcoder, refact and falcon lack some byte tokens, deepseek-* have
  // added tokens such as "ö" that decode as a lone byte: lossy by design.)
  for (std::string name : {"llama-spm", "phi-3", "gpt-2", "mpt"}) {
    std::string path = "tokenizers/llamacpp-vocab/ggml-vocab-" + name + ".gguf";
    RKV_REQUIRE_ASSET(path);
    Tokenizer tok = Tokenizer::from_gguf(test::asset(path));
    std::mt19937 rng(99);
    for (int iter = 0; iter < 150; ++iter) {
      std::string text = random_text(rng, 1 + static_cast<int>(rng() % 30));
      std::vector<TokenId> ids = tok.encode(text);
      ASSERT_EQ(tok.decode(ids), name == "mpt" ? tok::nfc(text) : text) << name << " iteration " << iter;
      check_stream(tok, ids, false, name);
    }
  }
}

TEST(Streaming, SplitMultiByteCharactersAreHeldBack) {
  RKV_REQUIRE_ASSET("tokenizers/mistral7b_v0.1/tokenizer.json");
  const Tokenizer& tok = json_tokenizer("mistral7b_v0.1");
  // U+20000 is not in the vocabulary: four byte-fallback tokens.
  std::vector<TokenId> ids = tok.encode("a\xF0\xA0\x80\x80" "b");
  ASSERT_GE(ids.size(), 6u);
  StreamDecoder stream(tok);
  std::vector<std::string> chunks;
  for (TokenId id : ids) chunks.push_back(stream.push(id));
  chunks.push_back(stream.finish());
  std::string all;
  for (const auto& c : chunks) {
    EXPECT_TRUE(tok::utf8_valid(c));
    EXPECT_EQ(c.find("\xEF\xBF\xBD"), std::string::npos) << "a broken character was printed";
    all += c;
  }
  EXPECT_EQ(all, "a\xF0\xA0\x80\x80" "b");
  EXPECT_EQ(chunks[1], "");  // the first byte alone is not printed
  EXPECT_EQ(chunks[2], "");
}

TEST(Streaming, ByteLevelSplitCharactersAndSpecialTokens) {
  RKV_REQUIRE_ASSET("tokenizers/qwen3/tokenizer.json");
  const Tokenizer& tok = json_tokenizer("qwen3");
  std::mt19937 rng(5);
  for (int iter = 0; iter < 100; ++iter) {
    std::string text = "<|im_start|>assistant\n<think>\n" + random_text(rng, 20) + "</think><|im_end|>";
    std::vector<TokenId> ids = tok.encode(text);
    check_stream(tok, ids, false, "qwen3");
    check_stream(tok, ids, true, "qwen3 skip special");
  }
}

TEST(Streaming, TextEndingInAnIncompleteCharacterComesOutAtFinish) {
  RKV_REQUIRE_ASSET("tokenizers/llama3/tokenizer.json");
  const Tokenizer& tok = json_tokenizer("llama3");
  // A lone lead byte (byte-level token for 0xE4): decode gives U+FFFD.
  std::vector<TokenId> ids = tok.encode("ab");
  TokenId lead = *tok.find("\xC3\xA4");  // GPT-2 alphabet character for byte 0xE4
  ids.push_back(lead);
  StreamDecoder stream(tok);
  std::string out;
  for (TokenId id : ids) out += stream.push(id);
  EXPECT_EQ(out, "ab");
  out += stream.finish();
  EXPECT_EQ(out, tok.decode(ids));
  EXPECT_EQ(out, "ab\xEF\xBF\xBD");
}

}  // namespace
}  // namespace rkv
