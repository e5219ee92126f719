// Names and dataset records: data names and their aliases, rule names, the
// data name a file name implies, and where a record's gold answer is.
#include <gtest/gtest.h>

#include "rkv/core/error.h"
#include "rkv/eval/grade.h"

namespace rkv::eval {
namespace {

TEST(Names, DataNamesAndAliases) {
  EXPECT_EQ(parse_data_name("math"), DataName::kMath);
  EXPECT_EQ(parse_data_name("MATH-500"), DataName::kMath);
  EXPECT_EQ(parse_data_name("math500"), DataName::kMath);
  EXPECT_EQ(parse_data_name("aime24"), DataName::kAime24);
  EXPECT_EQ(parse_data_name("aime"), DataName::kAime24);
  EXPECT_EQ(parse_data_name("gsm8k"), DataName::kGsm8k);
  EXPECT_THROW(parse_data_name("mmlu"), Error);
  EXPECT_STREQ(data_name_string(DataName::kAime24), "aime24");
  EXPECT_EQ(data_name_from_path("../shared/data/math/gsm8k_test.jsonl"), DataName::kGsm8k);
  EXPECT_EQ(data_name_from_path("/x/aime24.jsonl"), DataName::kAime24);
  EXPECT_EQ(data_name_from_path("MATH-500.jsonl"), DataName::kMath);
  EXPECT_EQ(data_name_from_path("problems.jsonl"), std::nullopt);
  EXPECT_EQ(parse_rules("reference"), Rules::kReference);
  EXPECT_EQ(parse_rules("strict"), Rules::kStrict);
  EXPECT_THROW(parse_rules("loose"), Error);
}

TEST(Records, GoldAnswerFields) {
  auto j = [](const char* text) { return nlohmann::json::parse(text); };
  EXPECT_EQ(gold_from_record(j(R"({"answer": "\\frac{1}{2}", "solution": "so \\boxed{0.5}"})"), DataName::kMath),
            "\\frac{1}{2}");
  EXPECT_EQ(gold_from_record(j(R"({"solution": "We get \\boxed{\\frac{a}{b}} and more."})"), DataName::kMath),
            "\\frac{a}{b}");
  EXPECT_EQ(gold_from_record(j(R"({"answer": "Steps...\n#### 1,080"})"), DataName::kGsm8k), "1,080");
  EXPECT_EQ(gold_from_record(j(R"({"answer": 204})"), DataName::kAime24), "204");
  EXPECT_EQ(gold_from_record(j(R"({"answer": 2.5})"), DataName::kMath), "2.5");
  EXPECT_EQ(gold_from_record(j(R"({"target": "7", "answer": "1"})"), DataName::kMath, "target"), "7");
  try {
    gold_from_record(j(R"({"question": "?"})"), DataName::kMath);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'answer' or 'solution'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(gold_from_record(j(R"({"answer": "1"})"), DataName::kMath, "target"), Error);
}

TEST(Records, GoldNormalisationFollowsTheHarness) {
  EXPECT_EQ(normalize_gold("x \\in [-2,7]", DataName::kMath, Rules::kReference), "[-2,7]");  // twice for MATH
  EXPECT_EQ(normalize_gold("x \\in [-2,7]", DataName::kAime24, Rules::kReference), "x\\in[-2,7]");  // once
  EXPECT_EQ(normalize_gold("Text\n#### 18", DataName::kGsm8k, Rules::kReference), "18");
  EXPECT_EQ(normalize_gold("so \\boxed{\\dfrac12}.", DataName::kMath, Rules::kReference), "\\frac{1}{2}");
}

}  // namespace
}  // namespace rkv::eval
