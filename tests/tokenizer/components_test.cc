// The pieces of the pipeline on small hand-made tokenizer.json files, each
// checked against the behaviour Hugging Face tokenizers documents: added
// tokens (lstrip / rstrip / single_word / normalized), merges in both forms,
// ignore_merges, split behaviours, Metaspace, post-processors, decoders,
// Unicode normalization and lossy UTF-8, and the errors for bad input.
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "common/testing.h"
#include "rkv/core/error.h"
#include "rkv/tokenizer/tokenizer.h"
#include "tokenizer/pipeline.h"
#include "tokenizer/unicode.h"

namespace rkv {
namespace {

using nlohmann::json;

// Character-level BPE over a small alphabet; ids: a=0 b=1 c=2 ' '=3 x=4 y=5
// ab=6 t=7 o=8 k=9 abc=10 X=11.
json base() {
  return json::parse(R"({
    "version": "1.0",
    "added_tokens": [],
    "normalizer": null, "pre_tokenizer": null, "post_processor": null, "decoder": null,
    "model": {"type": "BPE", "vocab": {"a":0,"b":1,"c":2," ":3,"x":4,"y":5,"ab":6,"t":7,"o":8,"k":9,"abc":10,"X":11},
              "merges": ["a b", ["ab", "c"]]}
  })");
}

json added(const std::string& content, int id, bool lstrip, bool rstrip, bool single_word, bool normalized,
           bool special) {
  return {{"id", id},         {"content", content},       {"lstrip", lstrip},  {"rstrip", rstrip},
          {"single_word", single_word}, {"normalized", normalized}, {"special", special}};
}

Tokenizer make(const json& j) { return Tokenizer::from_json(j.dump(), "test.json"); }
std::vector<TokenId> ids(std::initializer_list<int> v) { return {v.begin(), v.end()}; }

TEST(Bpe, MergesInBothFormsApplyByRank) {
  Tokenizer t = make(base());
  EXPECT_EQ(t.encode("abc"), ids({10}));
  EXPECT_EQ(t.encode("abxab"), ids({6, 4, 6}));
  EXPECT_EQ(t.encode("cab"), ids({2, 6}));
}

TEST(Bpe, IgnoreMergesTakesWholeWordsFromTheVocab) {
  json j = base();
  j["model"]["vocab"]["xy"] = 12;  // reachable only as a whole word (no merge x y)
  EXPECT_EQ(make(j).encode("xy"), ids({4, 5}));
  j["model"]["ignore_merges"] = true;
  EXPECT_EQ(make(j).encode("xy"), ids({12}));
}

TEST(Bpe, UnknownCharactersUseUnkFusedOrByteFallback) {
  json j = base();
  j["model"]["unk_token"] = "X";
  EXPECT_EQ(make(j).encode("a??b"), ids({0, 11, 11, 1}));
  j["model"]["fuse_unk"] = true;
  EXPECT_EQ(make(j).encode("a??b"), ids({0, 11, 1}));
  j["model"]["byte_fallback"] = true;
  j["model"]["vocab"]["<0x3F>"] = 20;
  EXPECT_EQ(make(j).encode("a??b"), ids({0, 20, 20, 1}));
}

TEST(AddedTokens, LstripRstripSingleWord) {
  json j = base();
  j["added_tokens"] = {added("<mask>", 100, true, false, false, false, true),
                       added("[R]", 101, false, true, false, false, false),
                       added("tok", 102, false, false, true, false, false)};
  Tokenizer t = make(j);
  EXPECT_EQ(t.encode("x <mask>y"), ids({4, 100, 5}));    // lstrip eats the space before
  EXPECT_EQ(t.encode("x[R]  y"), ids({4, 101, 5}));      // rstrip eats the spaces after
  EXPECT_EQ(t.encode("x tok y"), ids({4, 3, 102, 3, 5}));  // a whole word
  EXPECT_EQ(t.encode("xtok"), ids({4, 7, 8, 9}));          // inside a word: not matched
  EXPECT_EQ(t.encode("tok"), ids({102}));
}

TEST(AddedTokens, LongestMatchWinsAndSpecialFlagsDecode) {
  json j = base();
  j["added_tokens"] = {added("<a>", 100, false, false, false, false, true),
                       added("<a><b>", 101, false, false, false, false, false)};
  Tokenizer t = make(j);
  EXPECT_EQ(t.encode("x<a><b><a>"), ids({4, 101, 100}));
  EXPECT_TRUE(t.is_special(100));
  EXPECT_FALSE(t.is_special(101));
  EXPECT_EQ(t.decode(ids({4, 101, 100}), true), "x <a><b>");  // no decoder: tokens joined by spaces
}

TEST(AddedTokens, NormalizedTokensMatchTheNormalizedText) {
  json j = base();
  j["normalizer"] = {{"type", "Replace"}, {"pattern", {{"String", "Q"}}}, {"content", "x"}};
  j["added_tokens"] = {added("Qy", 100, false, false, false, true, false),
                       added("Qo", 101, false, false, false, false, false)};
  Tokenizer t = make(j);
  // "Qy" normalizes to "xy", the token's normalized content; "Qo" matches raw.
  EXPECT_EQ(t.encode("aQyb"), ids({0, 100, 1}));
  EXPECT_EQ(t.encode("axyb"), ids({0, 100, 1}));
  EXPECT_EQ(t.encode("aQob"), ids({0, 101, 1}));
}

TEST(PostProcessor, TemplateProcessingAddsPrefixAndSuffix) {
  json j = base();
  j["added_tokens"] = {added("<s>", 100, false, false, false, false, true),
                       added("</s>", 101, false, false, false, false, true)};
  j["post_processor"] = json::parse(R"({"type": "TemplateProcessing",
    "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
               {"SpecialToken": {"id": "</s>", "type_id": 0}}],
    "pair": [],
    "special_tokens": {"<s>": {"id": "<s>", "ids": [100], "tokens": ["<s>"]},
                       "</s>": {"id": "</s>", "ids": [101], "tokens": ["</s>"]}}})");
  Tokenizer t = make(j);
  EXPECT_EQ(t.encode("ab", true), ids({100, 6, 101}));
  EXPECT_EQ(t.encode("ab", false), ids({6}));
  EXPECT_EQ(t.encode("", true), ids({100, 101}));
}

std::vector<std::string> split(const std::string& s, tok::SplitBehavior b, bool invert = false) {
  std::vector<std::pair<size_t, size_t>> m;
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] == '-') m.emplace_back(i, i + 1);
  std::vector<tok::Piece> out;
  tok::split_by_matches({s, true}, m, b, invert, out);
  std::vector<std::string> texts;
  for (const auto& p : out) texts.push_back(p.text);
  return texts;
}

TEST(PreTokenizer, SplitBehaviours) {
  using B = tok::SplitBehavior;
  using V = std::vector<std::string>;
  EXPECT_EQ(split("a-b--c", B::Removed), (V{"a", "b", "c"}));
  EXPECT_EQ(split("a-b--c", B::Isolated), (V{"a", "-", "b", "-", "-", "c"}));
  EXPECT_EQ(split("a-b--c", B::MergedWithPrevious), (V{"a-", "b-", "-", "c"}));
  EXPECT_EQ(split("a-b--c", B::MergedWithNext), (V{"a", "-b", "-", "-c"}));
  EXPECT_EQ(split("a-b--c", B::Contiguous), (V{"a", "-", "b", "--", "c"}));
  EXPECT_EQ(split("a-b--c", B::Removed, true), (V{"-", "-", "-"}));
}

TEST(PreTokenizer, MetaspaceWithDecoder) {
  json j = base();
  j["model"]["vocab"] = {{"\xE2\x96\x81" "a", 0}, {"b", 1}, {"\xE2\x96\x81", 2}, {"a", 3}};
  j["model"]["merges"] = {"\xE2\x96\x81 a"};
  j["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}, {"prepend_scheme", "first"},
                        {"split", true}};
  j["decoder"] = {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}, {"prepend_scheme", "first"}};
  Tokenizer t = make(j);
  std::vector<TokenId> got = t.encode("ab a");
  EXPECT_EQ(got, ids({0, 1, 0}));
  EXPECT_EQ(t.decode(got), "ab a");
}

TEST(PreTokenizer, DigitsAndByteLevelRegex) {
  json j = base();
  j["model"]["vocab"] = json::object();
  for (int b = 0; b < 256; ++b) j["model"]["vocab"][tok::byte_to_unicode()[static_cast<size_t>(b)]] = b;
  j["model"]["merges"] = json::array();
  j["pre_tokenizer"] = {{"type", "Sequence"},
                        {"pretokenizers",
                         {{{"type", "Digits"}, {"individual_digits", false}},
                          {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}}}}};
  j["decoder"] = {{"type", "ByteLevel"}};
  Tokenizer t = make(j);
  std::string text = "hi 123 \xC3\xA9";
  std::vector<TokenId> got = t.encode(text);
  // Digits gives "hi ", "123", " \xC3\xA9"; ByteLevel's add_prefix_space then
  // prefixes every piece that does not start with a space (as Hugging Face
  // does), and each byte is one token here.
  ASSERT_EQ(got.size(), 11u);
  EXPECT_EQ(got[0], ' ');
  EXPECT_EQ(t.decode(got), " hi  123 \xC3\xA9");
}

TEST(Decoders, ByteFallbackFuseStripReplace) {
  json j = base();
  j["model"]["vocab"] = {{"<0xC3>", 0}, {"<0xA9>", 1}, {"\xE2\x96\x81" "x", 2}, {"<0xFF>", 3}};
  j["model"]["merges"] = json::array();
  j["decoder"] = json::parse(R"({"type": "Sequence", "decoders": [
      {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
      {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]})");
  Tokenizer t = make(j);
  EXPECT_EQ(t.decode(ids({2, 0, 1, 2})), "x\xC3\xA9 x");
  EXPECT_EQ(t.decode(ids({0, 2})), "\xEF\xBF\xBD x");            // a lone lead byte
  EXPECT_EQ(t.decode(ids({3, 3})), "\xEF\xBF\xBD\xEF\xBF\xBD");  // one U+FFFD per invalid byte
  EXPECT_EQ(t.decode(ids({2, 99, -1})), "x");                     // unknown ids are skipped
}

TEST(Unicode, NfcAndNfd) {
  EXPECT_EQ(tok::nfc("e\xCC\x81"), "\xC3\xA9");                                  // e + acute -> é
  EXPECT_EQ(tok::nfd("\xC3\xA9"), "e\xCC\x81");
  EXPECT_EQ(tok::nfc("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8"), "\xEA\xB0\x81");  // Hangul L V T -> 각
  EXPECT_EQ(tok::nfc("\xE2\x84\xAB"), "\xC3\x85");                              // Angstrom sign -> Å
  EXPECT_EQ(tok::nfc("\xE0\xA5\x98"), "\xE0\xA4\x95\xE0\xA4\xBC");              // U+0958 is excluded
  // Marks are put in canonical order; a + dot below composes, the acute stays.
  EXPECT_EQ(tok::nfc("a\xCC\x81\xCC\xA3"), "\xE1\xBA\xA1\xCC\x81");
  EXPECT_EQ(tok::nfc("plain ascii"), "plain ascii");
  EXPECT_TRUE(tok::nfc_quick_yes("\xE4\xBD\xA0\xE5\xA5\xBD"));
}

TEST(Unicode, NormalizationPropertiesOnRandomMarks) {
  // Canonical equivalence: NFC(NFD(s)) == NFC(s), NFD(NFC(s)) == NFD(s), NFC
  // is idempotent, on text dense in combining marks, Hangul jamo and letters
  // with precomposed forms.
  std::mt19937 rng(11);
  const std::vector<uint32_t> pool = {'a', 'e', 'o', 'A', ' ', 0x300, 0x301, 0x308, 0x323, 0x327, 0x345, 0x3B1, 0x1100,
                                      0x1161, 0x11A8, 0xAC00, 0x9C7, 0x9BE, 0xE9, 0x1E09, 0x212B, 0x958, 0x4E00, 0x5D0,
                                      0x5B4, 0x5BC, 0x1D15E, 0x1D165, 0x0F71, 0x0F72, 0x0F80};
  for (int iter = 0; iter < 2000; ++iter) {
    std::string s;
    for (int k = 0, n = 1 + static_cast<int>(rng() % 12); k < n; ++k) tok::utf8_append(s, pool[rng() % pool.size()]);
    std::string c = tok::nfc(s);
    EXPECT_EQ(tok::nfc(tok::nfd(s)), c);
    EXPECT_EQ(tok::nfd(c), tok::nfd(s));
    EXPECT_EQ(tok::nfc(c), c);
  }
}

TEST(Unicode, LossyUtf8AndCompletePrefix) {
  EXPECT_EQ(tok::utf8_lossy("a\xF0\x9F\x98"), "a\xEF\xBF\xBD");                    // truncated: one U+FFFD
  EXPECT_EQ(tok::utf8_lossy("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");              // overlong lead
  EXPECT_EQ(tok::utf8_lossy("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(tok::utf8_complete_prefix("ab\xF0\x9F\x98"), 2u);
  EXPECT_EQ(tok::utf8_complete_prefix("ab\xF0\x9F\x98\x80"), 6u);
  EXPECT_EQ(tok::utf8_complete_prefix("ab\xFF"), 3u);
  std::set<std::string> seen(tok::byte_to_unicode().begin(), tok::byte_to_unicode().end());
  EXPECT_EQ(seen.size(), 256u);
  for (int b = 0; b < 256; ++b) {
    const std::string& s = tok::byte_to_unicode()[static_cast<size_t>(b)];
    EXPECT_EQ(tok::unicode_to_byte(tok::utf8_decode(s, 0, static_cast<int>(s.size()))), b);
  }
}

void expect_error(const json& j, const std::string& needle) {
  try {
    make(j);
    ADD_FAILURE() << "no error for " << needle;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Errors, UnknownComponentsAreNamed) {
  json j = base();
  j["pre_tokenizer"] = {{"type", "Whitespace"}};
  expect_error(j, "unsupported pre-tokenizer type 'Whitespace'");
  j = base();
  j["normalizer"] = {{"type", "Sequence"}, {"normalizers", {{{"type", "NFKC"}}}}};
  expect_error(j, "unsupported normalizer type 'NFKC'");
  j = base();
  j["decoder"] = {{"type", "WordPiece"}};
  expect_error(j, "unsupported decoder type 'WordPiece'");
  j = base();
  j["post_processor"] = {{"type", "Mystery"}};
  expect_error(j, "unsupported post-processor type 'Mystery'");
  j = base();
  j["model"]["type"] = "Unigram";
  expect_error(j, "unsupported model type 'Unigram'");
}

TEST(Errors, MalformedContentIsAClearError) {
  json j = base();
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
  expect_error(j, "bad regex");
  j = base();
  j["model"]["merges"] = {"a b c"};
  expect_error(j, "merge 'a b c'");
  j = base();
  j["model"]["vocab"]["z"] = -5;
  expect_error(j, "out of range");
  j = base();
  j["model"]["vocab"]["z"] = "seven";
  expect_error(j, "integer ids");
  j = base();
  j["model"]["unk_token"] = "missing";
  expect_error(j, "unk_token 'missing'");
  EXPECT_THROW(Tokenizer::from_json("[1, 2", "x.json"), Error);
  EXPECT_THROW(Tokenizer::from_json("{}", "x.json"), Error);
  Tokenizer t = make(base());
  EXPECT_THROW(t.encode("bad \xFF utf8"), Error);
  EXPECT_THROW(t.token(12345), Error);
}

}  // namespace
}  // namespace rkv
