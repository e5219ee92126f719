// The fast BPE (heap over a linked list, word splitting at "▁", word cache)
// against a plain reference: the textbook loop "merge the lowest-ranked
// adjacent pair, leftmost first" over the whole normalized string, written
// here from the tokenizer.json vocab and merges of Mistral-7B (SentencePiece-
// style BPE with byte fallback, no pre-tokenizer).
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <unordered_map>

#include "common/testing.h"
#include "rkv/tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace rkv {
namespace {

struct Reference {
  std::unordered_map<std::string, int> vocab;
  std::map<std::pair<std::string, std::string>, size_t> rank;

  explicit Reference(const std::string& path) {
    std::ifstream in(path);
    nlohmann::json j = nlohmann::json::parse(in);
    for (const auto& [k, v] : j["model"]["vocab"].items()) vocab[k] = v.get<int>();
    size_t r = 0;
    for (const auto& m : j["model"]["merges"]) {
      std::string s = m.get<std::string>();
      size_t sp = s.find(' ');
      rank.emplace(std::make_pair(s.substr(0, sp), s.substr(sp + 1)), r++);
    }
  }

  std::vector<TokenId> encode(const std::string& text) const {
    if (text.empty()) return {};
    std::string s = "\xE2\x96\x81";
    for (char c : text) s += c == ' ' ? std::string("\xE2\x96\x81") : std::string(1, c);
    std::vector<std::string> sym;
    for (size_t i = 0; i < s.size();) {
      int len = tok::utf8_valid_length(s, i);
      std::string ch = s.substr(i, static_cast<size_t>(len));
      if (vocab.count(ch)) {
        sym.push_back(ch);
      } else {
        for (unsigned char b : ch) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "<0x%02X>", b);
          sym.push_back(buf);
        }
      }
      i += static_cast<size_t>(len);
    }
    for (;;) {
      size_t best = SIZE_MAX, at = 0;
      for (size_t i = 0; i + 1 < sym.size(); ++i) {
        auto it = rank.find({sym[i], sym[i + 1]});
        if (it != rank.end() && it->second < best && vocab.count(sym[i] + sym[i + 1])) {
          best = it->second;
          at = i;
        }
      }
      if (best == SIZE_MAX) break;
      sym[at] += sym[at + 1];
      sym.erase(sym.begin() + static_cast<long>(at) + 1);
    }
    std::vector<TokenId> ids;
    for (const auto& x : sym) ids.push_back(vocab.at(x));
    return ids;
  }
};

TEST(ReferenceBpe, MistralMatchesThePlainMergeLoop) {
  RKV_REQUIRE_ASSET("tokenizers/mistral7b_v0.1/tokenizer.json");
  const std::string path = test::asset("tokenizers/mistral7b_v0.1/tokenizer.json");
  Reference ref(path);
  Tokenizer tok = Tokenizer::from_json_file(path);
  std::mt19937 rng(7);
  const std::vector<std::string> words = {"the", " ", "  ", "   ", "Hello", "world", "\n", "\t", "un", "believ",
                                          "able", "123", "4", ",", ".", "'s", "\xC3\xA9", "\xE4\xBD\xA0\xE5\xA5\xBD",
                                          "\xF0\x9F\x98\x80", "\xF0\xA0\x80\x80", "x", "def", "(", ")", "==", "\\frac"};
  for (int iter = 0; iter < 400; ++iter) {
    std::string text;
    int n = 1 + static_cast<int>(rng() % 60);
    for (int k = 0; k < n; ++k) text += words[rng() % words.size()];
    ASSERT_EQ(tok.encode(text), ref.encode(text)) << "text: " << text;
  }
}

}  // namespace
}  // namespace rkv
