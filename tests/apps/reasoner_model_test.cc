// The project's own reasoning model (models/rkv-reasoner-mini, trained by
// tools/train/train.sh), run from the repository: held-out problems answered
// correctly under FullKV, R-KV with a budget above the chain length giving
// exactly FullKV's tokens, the accuracy its model card records recomputed on
// a slice of the held-out set, and the README's demo end to end. Needs no
// ../shared assets.
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
constexpr int kProblems = 6;  // problems per generate run

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

// The demo's problem (example.txt), with its gold answer from the held-out set.
Problem example_problem() {
  std::ifstream in(kModel / "example.txt");
  std::stringstream text;
  text << in.rdbuf();
  Problem example{text.str(), ""};
  while (!example.question.empty() && example.question.back() == '\n') example.question.pop_back();
  for (const auto& p : held_out(500))
    if (p.question == example.question) example.answer = p.answer;
  return example;
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

json model_card_figures() {
  std::ifstream in(kModel / "accuracy.json");
  EXPECT_TRUE(in) << kModel / "accuracy.json";
  return in ? json::parse(in) : json::object();
}

// The model does not solve every problem (its card says how many): the
// first held-out problems its recorded evaluation answered right must still
// be answered right, checked against the generator's gold answers, in R1's
// format and with a long chain.
TEST(ReasonerModel, SolvesHeldOutProblemsUnderFullKv) {
  const auto all = held_out(500);
  ASSERT_EQ(all.size(), 500u) << kModel / "test.jsonl";
  std::vector<Problem> problems;
  const json card = model_card_figures();
  for (const auto& index : card.at("solved_fullkv")) problems.push_back(all.at(index.get<size_t>()));
  ASSERT_EQ(problems.size(), static_cast<size_t>(kProblems));
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
  const std::vector<Problem> problems = {example_problem()};
  ASSERT_FALSE(problems[0].answer.empty()) << "example.txt is not a held-out problem";
  const auto r = generate(problems, {"--kv", "rkv", "--budget", "128", "--divide-length", "32"});
  const int generated = r[0].value("generated_tokens", 0);
  EXPECT_GT(generated, 3 * 128) << "the chain should grow several times past the budget";
  EXPECT_GT(r[0].value("compressions", 0), 5);
  const auto full = generate(problems, {"--kv", "fullkv"});
  // the compressed cache peaks at budget + divide_length slots per layer, FullKV at the whole sequence
  EXPECT_LT(r[0].value("kv_peak_bytes", int64_t{0}), full[0].value("kv_peak_bytes", int64_t{0}) / 2);
}

// The accuracy the model card records (accuracy.json, written from the
// `rkv eval` run of the card's table) recomputed on the first problems.
TEST(ReasonerModel, RecomputesTheRecordedAccuracyOnASlice) {
  const json card = model_card_figures();
  const auto& first = card.at("fullkv_correct_first_50");
  // Fewer problems under the sanitizers (each chain is ~20x slower there).
  const int n = test::sanitized_build() ? 16 : static_cast<int>(first.size());
  int recorded = 0;
  for (int i = 0; i < n; ++i) recorded += first.at(static_cast<size_t>(i)).get<bool>();
  test::TempDir dir;
  auto r = test::run_rkv({"eval", "-m", kModel.string(), "--data", (kModel / "test.jsonl").string(), "--data-name",
                          "math", "--prompt", "chat", "--sweep", "fullkv", "--kv-type", "bf16", "-n", "1400", "--limit", std::to_string(n),
                          "-o", dir.path("run")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream results(dir.path("run/results.jsonl"));
  int correct = 0, lines = 0;
  for (std::string line; std::getline(results, line); ++lines) correct += json::parse(line).at("correct").get<bool>();
  EXPECT_EQ(lines, n);
  // Greedy decoding is deterministic for one kernel family; another CPU's
  // float rounding may flip a near-tie in a problem or two.
  EXPECT_NEAR(correct, recorded, 2) << "of the first " << n << " held-out problems";
}

// scripts/demo.sh, the README's main command, with the binary under test:
// the shipped model and problem, the boxed answer right, the cache held at
// its budget while the chain grew several times past it.
TEST(ReasonerModel, DemoRunsFromTheRepository) {
  const auto [question, answer] = example_problem();
  ASSERT_FALSE(answer.empty()) << "example.txt is not a held-out problem";
  test::TempDir dir;
  test::RunOptions options;
  options.program = "/bin/bash";
  options.cwd = dir.path("");  // the script finds the repository itself
  options.env = {{"RKV", RKV_BINARY}};
  auto r = test::run_rkv({(fs::path(RKV_SOURCE_DIR) / "scripts" / "demo.sh").string()}, options);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(question), std::string::npos) << "the problem is shown";
  EXPECT_NE(r.out.find("</think>"), std::string::npos);
  EXPECT_EQ(last_boxed(r.out), answer) << r.out;
  const std::string held = "KV cache held at <= 160 tokens per layer (budget 128 + buffer 32)";
  const size_t k = r.err.find(held);
  ASSERT_NE(k, std::string::npos) << r.err;
  const size_t open = r.err.find('(', k + held.size());
  ASSERT_NE(open, std::string::npos) << r.err;
  EXPECT_GE(std::stod(r.err.substr(open + 1)), 4.0) << "the chain grew several times past the budget: " << r.err;
}

}  // namespace
}  // namespace rkv
