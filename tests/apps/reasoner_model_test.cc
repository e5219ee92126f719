// The project's own reasoning model (models/rkv-reasoner-mini, trained by
// tools/train/train.sh), run from the repository: held-out problems answered
// correctly under FullKV, and R-KV with a budget above the chain length giving
// exactly FullKV's tokens. Needs no ../shared assets.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/testing.h"

namespace rkv {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const fs::path kModel = fs::path(RKV_SOURCE_DIR) / "models" / "rkv-reasoner-mini";
constexpr int kProblems = 6;  // the first problems of the held-out set

struct Problem {
  std::string question, answer;
};

std::vector<Problem> held_out(int n) {
  std::ifstream in(kModel / "test.jsonl");
  std::vector<Problem> out;
  std::string line;
  while (static_cast<int>(out.size()) < n && std::getline(in, line)) {
    json j = json::parse(line);
    out.push_back({j.at("problem").get<std::string>(), j.at("answer").get<std::string>()});
  }
  return out;
}

// The text inside the last \boxed{...} (the answers are single digits: no nesting).
std::string last_boxed(const std::string& text) {
  const std::string open = "\\boxed{";
  size_t k = text.rfind(open);
  if (k == std::string::npos) return "";
  size_t end = text.find('}', k + open.size());
  return end == std::string::npos ? "" : text.substr(k + open.size(), end - k - open.size());
}

// rkv generate --prompts --chat --json: one result per problem, by index.
std::vector<json> generate(const std::vector<Problem>& problems, const std::vector<std::string>& kv_flags) {
  test::TempDir dir;
  {
    std::ofstream prompts(dir.path("prompts.jsonl"));
    for (const auto& p : problems) prompts << json{{"prompt", p.question}}.dump() << "\n";
  }
  std::vector<std::string> args = {"generate", "-m", kModel.string(), "--prompts", dir.path("prompts.jsonl"), "--chat",
                                   "--json", "--max-batch", std::to_string(kProblems), "-n", "1400"};
  args.insert(args.end(), kv_flags.begin(), kv_flags.end());
  auto r = test::run_rkv(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<json> results(problems.size());
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    json j = json::parse(line);
    results.at(j.at("index").get<size_t>()) = j;
  }
  return results;
}

TEST(ReasonerModel, SolvesHeldOutProblemsUnderFullKv) {
  const auto problems = held_out(kProblems);
  ASSERT_EQ(problems.size(), static_cast<size_t>(kProblems)) << kModel / "test.jsonl";
  const auto results = generate(problems, {"--kv", "fullkv"});
  for (size_t i = 0; i < problems.size(); ++i) {
    const std::string text = results[i].value("text", "");
    EXPECT_EQ(results[i].value("stop", ""), "eos") << "problem " << i;
    // R1 format: the chain of thought closed by </think>, then the boxed answer
    EXPECT_NE(text.find("</think>"), std::string::npos) << "problem " << i;
    EXPECT_EQ(last_boxed(text), problems[i].answer) << "problem " << i << ": " << problems[i].question << "\n" << text;
    // a long chain, as the task is designed to produce
    EXPECT_GT(results[i].value("generated_tokens", 0), 200) << "problem " << i;
  }
}

TEST(ReasonerModel, RkvWithBudgetAboveTheChainEqualsFullKv) {
  const auto problems = held_out(kProblems);
  ASSERT_EQ(problems.size(), static_cast<size_t>(kProblems));
  const auto full = generate(problems, {"--kv", "fullkv"});
  // 2048 > prompt + 1400 new tokens: the trigger never fires, every token is kept
  const auto rkv = generate(problems, {"--kv", "rkv", "--budget", "2048", "--divide-length", "32"});
  for (size_t i = 0; i < problems.size(); ++i) {
    EXPECT_EQ(rkv[i].at("ids"), full[i].at("ids")) << "problem " << i;
    EXPECT_EQ(rkv[i].value("compressions", -1), 0) << "problem " << i;
  }
}

TEST(ReasonerModel, SmallBudgetHoldsTheCacheWhileTheChainGrows) {
  const auto problems = held_out(1);
  ASSERT_EQ(problems.size(), 1u);
  const auto r = generate(problems, {"--kv", "rkv", "--budget", "128", "--divide-length", "32"});
  const int generated = r[0].value("generated_tokens", 0);
  EXPECT_GT(generated, 3 * 128) << "the chain should grow several times past the budget";
  EXPECT_GT(r[0].value("compressions", 0), 5);
  const auto full = generate(problems, {"--kv", "fullkv"});
  // the compressed cache peaks at budget + divide_length slots per layer, FullKV at the whole sequence
  EXPECT_LT(r[0].value("kv_peak_bytes", int64_t{0}), full[0].value("kv_peak_bytes", int64_t{0}) / 2);
}

}  // namespace
}  // namespace rkv
