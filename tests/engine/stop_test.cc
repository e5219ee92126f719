#include "common/testing.h"
#include "rkv/engine/stop.h"

namespace rkv {
namespace {

TEST(StopCriteria, EosStopStringAndLength) {
  StopCriteria c;
  c.eos_ids = {2, 7};
  c.stop_strings = {"</answer>"};
  c.max_new_tokens = 5;
  EXPECT_EQ(c.check(7, 1, "x"), StopReason::Eos);
  EXPECT_EQ(c.check(3, 1, "x"), StopReason::None);
  size_t cut = 0;
  EXPECT_EQ(c.check(3, 2, "the answer is 4</ans", &cut), StopReason::None);
  EXPECT_EQ(c.check(3, 3, "the answer is 4</answer> trailing", &cut), StopReason::StopString);
  EXPECT_EQ(cut, 15u);
  EXPECT_EQ(c.check(3, 5, "x"), StopReason::Length);
  c.ignore_eos = true;
  EXPECT_EQ(c.check(2, 1, "x"), StopReason::None);
  EXPECT_STREQ(stop_reason_name(StopReason::Length), "length");
}

TEST(StopCriteria, EarliestStopStringWins) {
  StopCriteria c;
  c.stop_strings = {"later", "ear"};
  size_t cut = 0;
  EXPECT_EQ(c.check(3, 1, "an earlier later", &cut), StopReason::StopString);
  EXPECT_EQ(cut, 3u);
}

// Naive reference: the shortest prefix of text after which no stop string
// can still begin, found by trying every start position.
size_t naive_settled(const std::vector<std::string>& stops, const std::string& text) {
  for (size_t start = 0; start < text.size(); ++start) {
    const std::string tail = text.substr(start);
    for (const auto& s : stops)
      if (!s.empty() && tail.size() < s.size() && s.compare(0, tail.size(), tail) == 0) return start;
  }
  return text.size();
}

TEST(StopCriteria, SettledLengthHoldsBackEveryTailThatMayBecomeAStopString) {
  StopCriteria c;
  c.stop_strings = {"</answer>", "aab", "xx"};
  for (const std::string text : {"", "abc", "the </ans", "the </answer", "a", "aa", "caa", "x", "yx", "</a", "aaa"})
    EXPECT_EQ(c.settled_length(text), naive_settled(c.stop_strings, text)) << text;
  EXPECT_EQ(c.settled_length("the </ans"), 4u);
  StopCriteria none;
  EXPECT_EQ(none.settled_length("anything"), 8u);
}

}  // namespace
}  // namespace rkv
