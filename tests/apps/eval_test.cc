// rkv eval end to end on stories260K: the sweep's results and summary
// (recomputed here from results.jsonl, verdicts re-graded by `rkv grade`),
// resume after a kill (no finished sample lost or duplicated), SIGINT, shards
// merged equal to one unsharded run, refusals, and the plot in Chromium.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "common/testing.h"

namespace rkv {
namespace {

using nlohmann::json;

std::string stories() { return test::asset("models/stories260K.gguf"); }

std::string write_problems(const test::TempDir& dir, int n) {
  std::ofstream out(dir.path("toy.jsonl"));
  for (int i = 0; i < n; ++i) out << json{{"problem", "Tom has " + std::to_string(i) + " apples."}, {"answer", std::to_string(i)}}.dump() << "\n";
  return dir.path("toy.jsonl");
}

std::vector<std::string> eval_args(const std::string& data, const std::string& out, const std::string& sweep, int n_new) {
  return {"eval", "-m", stories(), "--data", data, "--data-name", "math", "--sweep", sweep, "-n", std::to_string(n_new),
          "--window", "4", "--divide-length", "8", "--threads", "1", "-o", out};
}

std::vector<json> read_lines(const std::string& path) {
  std::vector<json> v;
  std::ifstream in(path);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) v.push_back(json::parse(l));
  return v;
}

// Result lines without their timings, as sortable strings.
std::multiset<std::string> untimed(const std::vector<json>& lines) {
  std::multiset<std::string> out;
  for (json j : lines) {
    j.erase("seconds");
    j.erase("decode_seconds");
    out.insert(j.dump());
  }
  return out;
}

TEST(EvalCli, SweepResultsAndSummaryAgreeWithTheirOwnRecount) {
  RKV_REQUIRE_ASSET("models/stories260K.gguf");
  test::TempDir dir;
  const std::string data = write_problems(dir, 4);
  auto r = test::run_rkv(eval_args(data, dir.path("run"), "fullkv,rkv:16,streamingllm:16", 24));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("You are given a math problem.\n\nProblem: Tom has 0 apples."), std::string::npos) << r.err;
  auto lines = read_lines(dir.path("run/results.jsonl"));
  ASSERT_EQ(lines.size(), 12u);
  std::set<std::tuple<int, int, std::string>> keys;
  std::map<std::string, std::vector<json>> by_label;
  for (const json& j : lines) {
    keys.insert({j["problem"].get<int>(), j["sample"].get<int>(), j["label"].get<std::string>()});
    by_label[j["label"]].push_back(j);
  }
  EXPECT_EQ(keys.size(), 12u);
  // The verdicts are what `rkv grade` says of the same outputs.
  {
    std::ofstream cases(dir.path("cases.jsonl"));
    for (const json& j : lines)
      cases << json{{"output", j["output"]}, {"answer", std::to_string(j["problem"].get<int>())}, {"data_name", "math"}}.dump() << "\n";
  }
  auto g = test::run_rkv({"grade", "--input", dir.path("cases.jsonl")});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  std::istringstream graded(g.out);
  for (const json& j : lines) {
    std::string l;
    ASSERT_TRUE(std::getline(graded, l));
    json v = json::parse(l);
    EXPECT_EQ(v["correct"], j["correct"]);
    EXPECT_EQ(v["extracted"], j["extracted"]);
  }
  // summary.json, recounted
  json summary = json::parse(std::ifstream(dir.path("run/summary.json")));
  ASSERT_EQ(summary["points"].size(), 3u);
  for (const json& p : summary["points"]) {
    const auto& recs = by_label[p["label"]];
    double correct = 0, tokens = 0, kv = 0, truncated = 0;
    for (const json& j : recs) {
      correct += j["correct"].get<bool>();
      tokens += j["output_tokens"].get<double>();
      kv += j["kv_peak_bytes"].get<double>();
      truncated += j["stop"] == "length";
    }
    EXPECT_EQ(p["problems"], 4);
    EXPECT_NEAR(p["accuracy"].get<double>(), 100 * correct / 4, 1e-9);
    EXPECT_NEAR(p["mean_output_tokens"].get<double>(), tokens / 4, 1e-9);
    EXPECT_NEAR(p["mean_kv_peak_bytes"].get<double>(), kv / 4, 1e-9);
    EXPECT_NEAR(p["truncation_rate"].get<double>(), truncated / 4, 1e-9);
  }
  // compressed points hold less KV than FullKV: stories260K is 5 layers x 4 KV heads x 8 dims x f32
  for (const json& j : by_label["rkv:16"]) EXPECT_EQ(j["kv_peak_bytes"], 5 * 4 * 8 * 2 * 4 * j["prompt_tokens"].get<int64_t>());
  EXPECT_GT(summary["points"][1]["kv_saved_vs_fullkv"].get<double>(), 0.0);
  EXPECT_TRUE(std::filesystem::exists(dir.path("run/summary.md")));
  EXPECT_TRUE(std::filesystem::exists(dir.path("run/plot.svg")));

  // The same command again: nothing to do, nothing duplicated.
  r = test::run_rkv(eval_args(data, dir.path("run"), "fullkv,rkv:16,streamingllm:16", 24));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("0 samples run, 12 already done"), std::string::npos) << r.err;
  EXPECT_EQ(read_lines(dir.path("run/results.jsonl")).size(), 12u);
  // Another configuration in the same folder is refused, naming what differs.
  r = test::run_rkv(eval_args(data, dir.path("run"), "fullkv,rkv:16,streamingllm:16", 25));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("max_new_tokens differ"), std::string::npos) << r.err;
}

// Starts rkv in the background; returns its pid.
pid_t spawn_rkv(const std::vector<std::string>& args, const std::string& log) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> argv;
    std::string binary = RKV_BINARY;
    argv.push_back(binary.data());
    std::vector<std::string> copies = args;
    for (auto& a : copies) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

size_t count_lines(const std::string& path) {
  std::ifstream in(path);
  size_t n = 0;
  for (std::string l; std::getline(in, l);) ++n;
  return n;
}

TEST(EvalCli, AKilledRunResumesWithoutLosingOrDuplicatingSamples) {
  RKV_REQUIRE_ASSET("models/stories260K.gguf");
  test::TempDir dir;
  const std::string data = write_problems(dir, 10);
  const auto args = eval_args(data, dir.path("run"), "fullkv,rkv:16,h2o:16", 96);
  for (int sig : {SIGKILL, SIGINT}) {
    pid_t pid = spawn_rkv(args, dir.path("log"));
    const std::string results = dir.path("run/results.jsonl");
    const size_t before = count_lines(results);
    for (int i = 0; i < 6000 && count_lines(results) < before + 3; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    kill(pid, sig);
    int status = 0;
    waitpid(pid, &status, 0);
    if (sig == SIGINT) {
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 130) << status;
    }
    EXPECT_LT(count_lines(results), 30u) << "the run finished before the signal; make it longer";
  }
  std::ifstream in(dir.path("run/results.jsonl"));
  const std::string partial((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto r = test::run_rkv(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = read_lines(dir.path("run/results.jsonl"));
  EXPECT_EQ(lines.size(), 30u);
  std::set<std::tuple<int, int, std::string>> keys;
  for (const json& j : lines) keys.insert({j["problem"].get<int>(), j["sample"].get<int>(), j["label"].get<std::string>()});
  EXPECT_EQ(keys.size(), 30u);
  // what was finished before the kills is still there, untouched
  std::ifstream again(dir.path("run/results.jsonl"));
  const std::string full((std::istreambuf_iterator<char>(again)), std::istreambuf_iterator<char>());
  const size_t whole = partial.rfind('\n') == std::string::npos ? 0 : partial.rfind('\n') + 1;
  EXPECT_EQ(full.substr(0, whole), partial.substr(0, whole));
  // and the resumed run equals an uninterrupted one (greedy: same outputs)
  auto fresh = test::run_rkv(eval_args(data, dir.path("fresh"), "fullkv,rkv:16,h2o:16", 96));
  ASSERT_EQ(fresh.exit_code, 0) << fresh.err;
  EXPECT_EQ(untimed(lines), untimed(read_lines(dir.path("fresh/results.jsonl"))));
}

TEST(EvalCli, ShardsMergeIntoTheUnshardedRun) {
  RKV_REQUIRE_ASSET("models/stories260K.gguf");
  test::TempDir dir;
  const std::string data = write_problems(dir, 5);
  auto whole = test::run_rkv(eval_args(data, dir.path("whole"), "fullkv,snapkv:16", 16));
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  std::vector<std::string> merge = {"eval", "--merge"};
  for (int s = 0; s < 2; ++s) {
    auto args = eval_args(data, dir.path("s" + std::to_string(s)), "fullkv,snapkv:16", 16);
    args.push_back("--shard");
    args.push_back(std::to_string(s) + "/2");
    auto r = test::run_rkv(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    merge.push_back(dir.path("s" + std::to_string(s)));
  }
  EXPECT_EQ(read_lines(dir.path("s0/results.jsonl")).size(), 6u);  // problems 0, 2, 4
  merge.push_back("-o");
  merge.push_back(dir.path("merged"));
  auto m = test::run_rkv(merge);
  ASSERT_EQ(m.exit_code, 0) << m.err;
  EXPECT_EQ(untimed(read_lines(dir.path("merged/results.jsonl"))), untimed(read_lines(dir.path("whole/results.jsonl"))));
  json a = json::parse(std::ifstream(dir.path("merged/summary.json"))), b = json::parse(std::ifstream(dir.path("whole/summary.json")));
  for (size_t i = 0; i < 2; ++i)
    for (const char* key : {"accuracy", "mean_output_tokens", "mean_kv_peak_bytes", "truncation_rate"})
      EXPECT_EQ(a["points"][i][key], b["points"][i][key]) << key;
  // folders of different runs do not merge
  auto other = test::run_rkv(eval_args(data, dir.path("other"), "fullkv", 16));
  ASSERT_EQ(other.exit_code, 0);
  m = test::run_rkv({"eval", "--merge", dir.path("s0"), dir.path("other"), "-o", dir.path("bad")});
  EXPECT_EQ(m.exit_code, 2);
  EXPECT_NE(m.err.find("configuration differs"), std::string::npos) << m.err;
}

TEST(EvalCli, BadDataIsRefusedBeforeAnythingRuns) {
  test::TempDir dir;
  std::ofstream(dir.path("math.jsonl")) << "{\"problem\": \"a\", \"answer\": \"1\"}\n{\"problem\": \"b\", \"answer\": \n";
  auto r = test::run_rkv({"eval", "-m", "/nonexistent/model", "--data", dir.path("math.jsonl"), "-o", dir.path("run")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("math.jsonl:2: not valid JSON"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.path("run")));
  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
           {"--sweep", "rkv"}, {"--sweep", "fullkv,fullkv"}, {"--samples", "0"}, {"--shard", "2/2"}, {"--kv", "rkv"}, {"--budget", "64"}}) {
    std::vector<std::string> args = {"eval", "-m", "/nonexistent/model", "--data", dir.path("math.jsonl"), "-o", dir.path("run")};
    args.insert(args.end(), bad.begin(), bad.end());
    std::ofstream(dir.path("math.jsonl")) << "{\"problem\": \"a\", \"answer\": \"1\"}\n";
    auto e = test::run_rkv(args);
    EXPECT_EQ(e.exit_code, 2) << bad[0] << " " << bad[1];
    EXPECT_EQ(e.err.find("/nonexistent/model"), std::string::npos) << "checked before loading: " << e.err;
  }
}

TEST(EvalCli, ThePlotRendersInChromium) {
  RKV_REQUIRE_ASSET("models/stories260K.gguf");
  if (std::system("command -v chromium > /dev/null 2>&1") != 0) {
    if (test::running_in_ci()) FAIL() << "chromium is not installed (scripts/install-deps.sh installs it)";
    GTEST_SKIP() << "chromium not installed";
  }
  test::TempDir dir;
  const std::string data = write_problems(dir, 2);
  auto r = test::run_rkv(eval_args(data, dir.path("run"), "fullkv,rkv:16,rkv:32,snapkv:16,snapkv:32", 8));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string cmd = "timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
                          "--disable-background-networking --disable-component-update --disable-sync --user-data-dir=" +
                          dir.path("profile") + " --dump-dom file://" + dir.path("run/plot.svg") + " > " + dir.path("dom") +
                          " 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream in(dir.path("dom"));
  const std::string dom((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto count = [&](const std::string& needle) {
    int n = 0;
    for (size_t at = dom.find(needle); at != std::string::npos; at = dom.find(needle, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("<polyline"), 2) << dom.substr(0, 400);
  EXPECT_EQ(count("<circle"), 4);
  EXPECT_NE(dom.find("R-KV"), std::string::npos);
  EXPECT_NE(dom.find("SnapKV"), std::string::npos);
  EXPECT_NE(dom.find("FullKV"), std::string::npos);
}

}  // namespace
}  // namespace rkv
