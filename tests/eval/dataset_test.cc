// Every gold answer of ../shared/data/math (MATH-500, AIME24, GSM8K) graded
// against itself, against rewritings that keep its value (\dfrac, \left/\right,
// spaces, a trailing period, no box) and against a changed digit, under both
// rule sets: a grader that cannot recognise the dataset's own answers, or
// accepts a different number, is wrong whatever the harness does.
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/testing.h"
#include "rkv/eval/grade.h"

namespace rkv::eval {
namespace {

struct Gold {
  std::string answer;
  DataName data;
};

std::vector<Gold> golds(const char* file, DataName data) {
  std::vector<Gold> out;
  std::ifstream in(test::asset(std::string("data/math/") + file));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back({gold_from_record(nlohmann::json::parse(line), data), data});
  return out;
}

std::vector<Gold> all_golds() {
  std::vector<Gold> out = golds("math.jsonl", DataName::kMath);
  for (auto& g : golds("aime24.jsonl", DataName::kAime24)) out.push_back(g);
  for (auto& g : golds("gsm8k_test.jsonl", DataName::kGsm8k)) out.push_back(g);
  return out;
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}

// Rewritings a model may produce for the same value.
std::vector<std::string> equivalent_outputs(const std::string& a) {
  std::vector<std::string> out = {
      "So the answer is $\\boxed{" + a + "}$.",
      "**Final Answer**\n\\[\n\\boxed{" + replace(a, "\\frac", "\\dfrac") + "}\n\\]",
      "\\boxed{" + replace(replace(a, "(", "\\left("), ")", "\\right)") + "}",
      "\\boxed{ " + replace(a, ",", ", ") + " }",
      "Thus we get \\boxed{" + a + ".}",
  };
  // Without a box the answer keeps its "$...$"; the reference then cannot
  // remove a trailing \text{unit} (it must end the answer), so not for those.
  if (a.find("\\text") == std::string::npos) out.push_back("Therefore, the final answer is $" + a + "$.");
  return out;
}

// The first digit changed: a different value for every gold answer here.
std::optional<std::string> wrong_digit(const std::string& a) {
  size_t at = a.find_first_of("0123456789");
  if (at == std::string::npos) return std::nullopt;
  std::string w = a;
  w[at] = a[at] == '9' ? '1' : static_cast<char>(a[at] + 1);
  return w;
}

TEST(DatasetGolds, EveryGoldIsCorrectAgainstItself) {
  RKV_REQUIRE_ASSET("data/math/math.jsonl");
  std::vector<Gold> all = all_golds();
  ASSERT_EQ(all.size(), 500u + 30u + 1319u);
  for (Rules rules : {Rules::kReference, Rules::kStrict})
    for (const Gold& g : all)
      EXPECT_TRUE(grade("The answer is \\boxed{" + g.answer + "}", g.answer, g.data, rules).correct)
          << rules_string(rules) << ": " << g.answer;
}

TEST(DatasetGolds, EquivalentRewritingsAreCorrect) {
  RKV_REQUIRE_ASSET("data/math/math.jsonl");
  for (Rules rules : {Rules::kReference, Rules::kStrict})
    for (const Gold& g : all_golds())
      for (const std::string& output : equivalent_outputs(g.answer))
        EXPECT_TRUE(grade(output, g.answer, g.data, rules).correct) << rules_string(rules) << ": " << output;
}

TEST(DatasetGolds, AChangedDigitIsWrong) {
  RKV_REQUIRE_ASSET("data/math/math.jsonl");
  int checked = 0;
  for (Rules rules : {Rules::kReference, Rules::kStrict}) {
    for (const Gold& g : all_golds()) {
      auto wrong = wrong_digit(g.answer);
      if (!wrong) continue;
      ++checked;
      EXPECT_FALSE(grade("The answer is \\boxed{" + *wrong + "}", g.answer, g.data, rules).correct)
          << rules_string(rules) << ": " << *wrong << " for " << g.answer;
    }
  }
  EXPECT_GT(checked, 2 * 1800);
}

TEST(DatasetGolds, GsmAnswersAreTheTextAfterHashes) {
  RKV_REQUIRE_ASSET("data/math/gsm8k_test.jsonl");
  std::ifstream in(test::asset("data/math/gsm8k_test.jsonl"));
  std::string line;
  std::getline(in, line);
  nlohmann::json record = nlohmann::json::parse(line);
  EXPECT_EQ(gold_from_record(record, DataName::kGsm8k), "18");
  // The whole answer text also grades: the harness splits at "####" itself.
  EXPECT_TRUE(grade("\\boxed{18}", record["answer"].get<std::string>(), DataName::kGsm8k, Rules::kReference).correct);
}

}  // namespace
}  // namespace rkv::eval
