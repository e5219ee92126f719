// rkv grade end to end: one output line per input line in order, the two
// rule sets, stdin, and malformed input rejected (exit 2, the line named,
// nothing printed).
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/testing.h"

namespace rkv {
namespace {

const char* kCases =
    R"~({"output": "So the answer is $\\boxed{\\dfrac{14}{3}}$.", "answer": "\\frac{14}{3}", "data_name": "math"})~" "\n"
    R"~({"output": "She earns 9 * 2 = $18 a day.", "answer": "Janet earns $18.\n#### 18", "data_name": "gsm8k"})~" "\n"
    "\n"
    R"~({"output": "\\boxed{25}", "answer": 25, "data_name": "aime24"})~" "\n"
    R"~({"output": "\\boxed{300}", "answer": "3", "data_name": "math500"})~" "\n"
    R"~({"output": "The answer is \\boxed{(1,2]}", "answer": "[1,2)", "data_name": "math"})~" "\n";

std::vector<nlohmann::json> lines(const std::string& out) {
  std::vector<nlohmann::json> v;
  std::istringstream in(out);
  for (std::string l; std::getline(in, l);) v.push_back(nlohmann::json::parse(l));
  return v;
}

TEST(GradeCli, OneLinePerInputInOrder) {
  test::TempDir dir;
  std::ofstream(dir.path("cases.jsonl")) << kCases;
  auto r = test::run_rkv({"grade", "--input", dir.path("cases.jsonl")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto v = lines(r.out);
  ASSERT_EQ(v.size(), 5u);  // the blank line is not a case
  EXPECT_EQ(v[0], nlohmann::json::parse(R"~({"extracted": "\\frac{14}{3}", "correct": true})~"));
  EXPECT_EQ(v[1], nlohmann::json::parse(R"~({"extracted": "18", "correct": true})~"));  // the last number
  EXPECT_EQ(v[2], nlohmann::json::parse(R"~({"extracted": "25", "correct": true})~"));
  EXPECT_EQ(v[3], nlohmann::json::parse(R"~({"extracted": "300", "correct": true})~"));  // the reference's percent variant
  EXPECT_EQ(v[4], nlohmann::json::parse(R"~({"extracted": "(1,2]", "correct": true})~"));  // brackets not compared
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), R"~({"extracted": "\\frac{14}{3}", "correct": true})~");
}

TEST(GradeCli, StrictRulesAndStdin) {
  auto r = test::run_rkv({"grade", "--input", "-", "--rules", "strict"}, kCases);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto v = lines(r.out);
  ASSERT_EQ(v.size(), 5u);
  EXPECT_TRUE(v[0]["correct"].get<bool>());
  EXPECT_FALSE(v[3]["correct"].get<bool>());  // 300 is not 3
  EXPECT_FALSE(v[4]["correct"].get<bool>());  // (1,2] is not [1,2)
}

TEST(GradeCli, MalformedLineIsNamedAndNothingPrinted) {
  test::TempDir dir;
  const char* good = R"~({"output": "\\boxed{1}", "answer": "1", "data_name": "math"})~";
  for (std::string bad : {std::string("{\"output\": \"x\", "), std::string(R"~({"answer": "1", "data_name": "math"})~"),
                          std::string(R"~({"output": "x", "answer": "1", "data_name": "mmlu"})~"),
                          std::string(R"~({"output": "x", "answer": [1], "data_name": "math"})~"),
                          std::string(R"~(["output", "answer"])~")}) {
    std::ofstream(dir.path("bad.jsonl")) << good << "\n" << good << "\n" << bad << "\n" << good << "\n";
    auto r = test::run_rkv({"grade", "--input", dir.path("bad.jsonl")});
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_EQ(r.out, "") << bad;
    EXPECT_NE(r.err.find("line 3"), std::string::npos) << r.err;
  }
}

TEST(GradeCli, BadFlagsExitTwo) {
  test::TempDir dir;
  EXPECT_EQ(test::run_rkv({"grade"}).exit_code, 2);
  EXPECT_EQ(test::run_rkv({"grade", "--input", dir.path("missing.jsonl")}).exit_code, 2);
  std::ofstream(dir.path("ok.jsonl")) << kCases;
  auto r = test::run_rkv({"grade", "--input", dir.path("ok.jsonl"), "--rules", "lenient"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("lenient"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace rkv
