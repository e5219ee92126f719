// The thinking / answer split: whatever way the same text is cut into
// streamed pieces, the split is the one of the whole text.
#include <random>

#include "common/testing.h"
#include "rkv/core/error.h"
#include "rkv/server/reasoning.h"

namespace rkv::server {
namespace {

struct Split {
  std::string reasoning, content;
  bool saw_thinking = false;
};

Split split_pieces(bool starts_in_thinking, const std::vector<std::string>& pieces) {
  ReasoningSplitter s(starts_in_thinking);
  Split out;
  for (const auto& p : pieces) {
    auto d = s.push(p);
    out.reasoning += d.reasoning;
    out.content += d.content;
  }
  auto d = s.finish();
  out.reasoning += d.reasoning;
  out.content += d.content;
  out.saw_thinking = s.saw_thinking();
  return out;
}

Split split_whole(bool starts_in_thinking, const std::string& text) { return split_pieces(starts_in_thinking, {text}); }

TEST(ReasoningSplitter, OutputStartingInsideTheThinking) {
  Split s = split_whole(true, "\nLet me think.\n</think>\n\nThe answer is 4.");
  EXPECT_EQ(s.reasoning, "Let me think.\n");
  EXPECT_EQ(s.content, "The answer is 4.");
  EXPECT_TRUE(s.saw_thinking);
}

TEST(ReasoningSplitter, OutputThatOpensTheThinkingItself) {
  Split s = split_whole(false, "  <think>hmm</think>yes");
  EXPECT_EQ(s.reasoning, "hmm");
  EXPECT_EQ(s.content, "yes");
  EXPECT_TRUE(s.saw_thinking);
}

TEST(ReasoningSplitter, NoThinkingMeansEverythingIsTheAnswer) {
  Split s = split_whole(false, " Once upon a time <think> is just text");
  EXPECT_EQ(s.reasoning, "");
  EXPECT_EQ(s.content, " Once upon a time <think> is just text");
  EXPECT_FALSE(s.saw_thinking);
  // a prefix of "<think>" that never completes is text too
  s = split_whole(false, "<thi");
  EXPECT_EQ(s.content, "<thi");
}

TEST(ReasoningSplitter, UnfinishedThinkingIsAllReasoning) {
  Split s = split_whole(true, "still thinking </thi");
  EXPECT_EQ(s.reasoning, "still thinking </thi");  // a partial tag at the end is text
  EXPECT_EQ(s.content, "");
}

TEST(ReasoningSplitter, OnlyTheFirstCloseTagSplits) {
  Split s = split_whole(true, "a</think>b</think>c");
  EXPECT_EQ(s.reasoning, "a");
  EXPECT_EQ(s.content, "b</think>c");
}

TEST(ReasoningSplitter, AnyCutOfTheTextGivesTheSameSplit) {
  const std::vector<std::pair<bool, std::string>> texts = {
      {true, "\nOkay, so </thinking> is not it.\n</think>\n\nAnswer: <b>4</b>"},
      {false, "\n<think>\nhm</think>ok"},
      {false, "<th<think>x</think>"},
      {true, "</think>"},
      {false, "plain answer"},
      {true, "<<//think></think></think>"}};
  std::mt19937 rng(7);
  for (const auto& [thinking, text] : texts) {
    const Split whole = split_whole(thinking, text);
    for (int trial = 0; trial < 200; ++trial) {
      std::vector<std::string> pieces;
      for (size_t at = 0; at < text.size();) {
        const size_t n = std::min<size_t>(text.size() - at, rng() % 4);  // empty pieces too
        pieces.push_back(text.substr(at, n));
        at += n;
      }
      const Split cut = split_pieces(thinking, pieces);
      ASSERT_EQ(cut.reasoning, whole.reasoning) << text << " trial " << trial;
      ASSERT_EQ(cut.content, whole.content) << text << " trial " << trial;
    }
  }
}

TEST(ReasoningSplitter, PromptOpensThinking) {
  EXPECT_TRUE(prompt_opens_thinking("<｜Assistant｜><think>\n"));
  EXPECT_TRUE(prompt_opens_thinking("<think>"));
  EXPECT_FALSE(prompt_opens_thinking("</think>\n"));
  EXPECT_FALSE(prompt_opens_thinking("Assistant:"));
  EXPECT_EQ(parse_reasoning_format("none"), ReasoningFormat::None);
  EXPECT_THROW(parse_reasoning_format("r1"), Error);
}

}  // namespace
}  // namespace rkv::server
