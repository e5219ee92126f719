// Grading speed: time to grade one (model output, gold) case with each rule
// set. Cases are built from ../shared/data/math: every gold answer of MATH-500,
// AIME24 and 500 of GSM8K, each behind ~8 KB of reasoning text (solutions of
// other problems) and one of several endings (boxed, "the answer is", a
// truncated output ending in a number), half of them right.
// Run: build/bench/bench_grade — the median_us counter is the median time
// per case (each case timed alone, best of 3); the target is <= 1000 us.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rkv/eval/grade.h"

namespace {

namespace fs = std::filesystem;
using rkv::eval::DataName;
using rkv::eval::Rules;

fs::path assets() {
  if (const char* env = std::getenv("RKV_ASSETS")) return env;
  return fs::path(__FILE__).parent_path().parent_path().parent_path() / "shared";
}

struct Case {
  std::string output, gold;
  DataName data;
};

std::vector<nlohmann::json> records(const fs::path& path, size_t limit) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line) && out.size() < limit;)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

const std::vector<Case>& cases() {
  static const std::vector<Case> all = [] {
    std::vector<Case> out;
    struct Source {
      const char* file;
      DataName data;
      size_t limit;
    };
    std::string reasoning;
    for (const auto& r : records(assets() / "data/math/math.jsonl", 40)) reasoning += r["solution"].get<std::string>() + "\n\n";
    reasoning = reasoning.substr(0, 8000);
    const char* endings[] = {"</think>\n\n**Final Answer**\n\\[\n\\boxed{%s}\n\\]",
                             "So the answer is $\\boxed{%s}$.", "Therefore, the final answer is %s.",
                             "Let me recompute: 3 + 4 = 7, so we get %s"};
    size_t k = 0;
    for (Source s : {Source{"math.jsonl", DataName::kMath, 500}, Source{"aime24.jsonl", DataName::kAime24, 30},
                     Source{"gsm8k_test.jsonl", DataName::kGsm8k, 500}}) {
      for (const auto& r : records(assets() / "data/math" / s.file, s.limit)) {
        std::string gold = rkv::eval::gold_from_record(r, s.data);
        std::string shown = k % 2 ? gold : gold + "+1";  // half of them wrong
        std::string ending = endings[k++ % std::size(endings)];
        ending.replace(ending.find("%s"), 2, shown);
        out.push_back({reasoning + ending, gold, s.data});
      }
    }
    return out;
  }();
  return all;
}

void grade_cases(benchmark::State& state, Rules rules) {
  const auto& all = cases();
  if (all.empty()) {
    state.SkipWithError("no cases: ../shared/data/math not found (set RKV_ASSETS)");
    return;
  }
  size_t i = 0;
  for (auto _ : state) {
    const Case& c = all[i++ % all.size()];
    benchmark::DoNotOptimize(rkv::eval::grade(c.output, c.gold, c.data, rules));
  }
  // Median over cases, each timed alone (best of three).
  std::vector<double> us;
  for (const Case& c : all) {
    double best = 1e30;
    for (int rep = 0; rep < 3; ++rep) {
      auto t0 = std::chrono::steady_clock::now();
      benchmark::DoNotOptimize(rkv::eval::grade(c.output, c.gold, c.data, rules));
      best = std::min(best, std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    us.push_back(best);
  }
  std::sort(us.begin(), us.end());
  state.counters["median_us"] = us[us.size() / 2];
  state.counters["p99_us"] = us[us.size() * 99 / 100];
  state.counters["cases"] = static_cast<double>(all.size());
}

void BM_GradeReference(benchmark::State& state) { grade_cases(state, Rules::kReference); }
void BM_GradeStrict(benchmark::State& state) { grade_cases(state, Rules::kStrict); }
BENCHMARK(BM_GradeReference)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_GradeStrict)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
