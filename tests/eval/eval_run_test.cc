// The pieces of `rkv eval` below the command: datasets (field detection,
// line-numbered errors), sweeps, shards, prompt formats, results.jsonl
// (append, cut last line, config check) and the summary figures against
// values computed here independently.
#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/testing.h"
#include "rkv/core/buffer.h"
#include "rkv/eval/dataset.h"
#include "rkv/eval/eval_run.h"
#include "rkv/eval/summary.h"

namespace rkv::eval {
namespace {

std::string write(const test::TempDir& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir.path(name), std::ios::binary) << text;
  return dir.path(name);
}

TEST(EvalDataset, DetectsTheCommonLayouts) {
  test::TempDir dir;
  Dataset math = load_dataset(write(dir, "math.jsonl",
                                    "{\"problem\": \"1+1?\", \"answer\": \"2\"}\n\n"
                                    "{\"problem\": \"Half?\", \"solution\": \"It is \\\\boxed{\\\\frac12} or \\\\boxed{\\\\frac{1}{2}}.\"}\n"),
                              {});
  EXPECT_EQ(math.data_name, DataName::kMath);
  ASSERT_EQ(math.problems.size(), 2u);
  EXPECT_EQ(math.problems[0].question, "1+1?");
  EXPECT_EQ(math.problems[0].gold, "2");
  EXPECT_EQ(math.problems[1].line, 3);
  EXPECT_EQ(math.problems[1].gold, "\\frac{1}{2}");  // the last \boxed{} of the solution
  Dataset gsm = load_dataset(write(dir, "gsm8k_test.jsonl", "{\"question\": \"How many?\", \"answer\": \"3 + 4 = 7\\n#### 7\"}\n"), {});
  EXPECT_EQ(gsm.data_name, DataName::kGsm8k);
  EXPECT_EQ(gsm.problems[0].gold, "7");
  DatasetOptions keys;
  keys.question_key = "q";
  keys.answer_key = "a";
  keys.data_name = "aime24";
  Dataset custom = load_dataset(write(dir, "custom.jsonl", "{\"q\": \"x?\", \"a\": 25, \"problem\": \"ignored\"}\n"), keys);
  EXPECT_EQ(custom.data_name, DataName::kAime24);
  EXPECT_EQ(custom.problems[0].question, "x?");
  EXPECT_EQ(custom.problems[0].gold, "25");
}

TEST(EvalDataset, AMalformedLineIsNamedWithItsNumber) {
  test::TempDir dir;
  const std::string ok = "{\"problem\": \"p\", \"answer\": \"1\"}\n";
  EXPECT_NE(test::error_of([&] { load_dataset(write(dir, "a.jsonl", ok + ok + "{not json\n"), {"", "", "math"}); }).find("a.jsonl:3: not valid JSON"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] { load_dataset(write(dir, "b.jsonl", ok + "[1, 2]\n"), {"", "", "math"}); }).find("b.jsonl:2: not a JSON object"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] { load_dataset(write(dir, "c.jsonl", ok + "{\"answer\": \"1\"}\n"), {"", "", "math"}); }).find("c.jsonl:2: no question field"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] { load_dataset(write(dir, "d.jsonl", "{\"problem\": \"p\"}\n"), {"", "", "math"}); }).find("d.jsonl:1"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] { load_dataset(write(dir, "e.jsonl", "\n\n"), {"", "", "math"}); }).find("no problems"), std::string::npos);
  EXPECT_NE(test::error_of([&] { load_dataset(write(dir, "mystery.jsonl", ok), {}); }).find("--data-name"), std::string::npos);
}

TEST(EvalSweep, ParsesMethodsAndBudgets) {
  auto points = parse_sweep("fullkv,rkv:128,snapkv:256,h2o:64,streamingllm:32");
  ASSERT_EQ(points.size(), 5u);
  EXPECT_EQ(points[0].method, Method::FullKV);
  EXPECT_EQ(points[0].label, "fullkv");
  EXPECT_EQ(points[1].method, Method::RKV);
  EXPECT_EQ(points[1].budget, 128);
  EXPECT_EQ(points[1].label, "rkv:128");
  EXPECT_EQ(points[4].label, "streamingllm:32");
  for (const char* bad : {"", "rkv", "rkv:", "rkv:x", "rkv:-5", "rkv:0", "fullkv:4", "mystery:4", "rkv:8,rkv:8", "rkv:8,,h2o:8"})
    EXPECT_THROW(parse_sweep(bad), Error) << bad;
}

TEST(EvalSweep, ShardsPartitionTheProblems) {
  std::vector<int> owners(100, 0);
  for (int i = 0; i < 3; ++i) {
    Shard s = Shard::parse(std::to_string(i) + "/3");
    for (int p = 0; p < 100; ++p) owners[p] += s.owns(p);
  }
  for (int n : owners) EXPECT_EQ(n, 1);
  for (const char* bad : {"3/3", "1", "a/b", "-1/2", "0/0", "1/"}) EXPECT_THROW(Shard::parse(bad), Error) << bad;
}

TEST(EvalPrompt, FormatsWrapTheQuestion) {
  RequestSpec rkv = PromptFormat::parse("rkv").input_for("What is 2+2?");
  EXPECT_FALSE(rkv.chat);
  EXPECT_EQ(rkv.text->rfind("You are given a math problem.\n\nProblem: What is 2+2?\n\n", 0), 0u);
  EXPECT_NE(rkv.text->find("Final answer:  \\boxed{}"), std::string::npos);
  RequestSpec chat = PromptFormat::parse("chat").input_for("Q");
  EXPECT_TRUE(chat.chat);
  EXPECT_EQ(*chat.text, "Q\nPlease reason step by step, and put your final answer within \\boxed{}.");
  test::TempDir dir;
  const std::string tpl = write(dir, "t.txt", "Solve: {question} -- again: {question}");
  EXPECT_EQ(*PromptFormat::parse(tpl).input_for("x{question}").text, "Solve: x{question} -- again: x{question}");
  EXPECT_TRUE(PromptFormat::parse("chat:" + tpl).input_for("x").chat);
  EXPECT_THROW(PromptFormat::parse(write(dir, "no.txt", "no placeholder")), Error);
}

SampleRecord rec(int64_t problem, int sample, const std::string& label, bool correct, int64_t tokens, const std::string& stop,
                 int64_t kv) {
  SampleRecord r;
  r.problem = problem;
  r.sample = sample;
  r.label = label;
  r.method = label.substr(0, label.find(':'));
  r.budget = label.find(':') == std::string::npos ? 0 : std::stoll(label.substr(label.find(':') + 1));
  r.correct = correct;
  r.correct_strict = correct && problem % 2 == 0;
  r.output_tokens = tokens;
  r.stop = stop;
  r.kv_peak_bytes = kv;
  r.decode_seconds = static_cast<double>(tokens - 1) / 50.0;  // 50 tok/s
  r.output = "out";
  return r;
}

TEST(EvalResults, AppendedLinesReadBackAndACutLastLineIsDropped) {
  test::TempDir dir;
  const std::string path = dir.path("results.jsonl");
  {
    RecordWriter w(path);
    w.append(rec(0, 0, "fullkv", true, 10, "eos", 1000));
    w.append(rec(1, 0, "rkv:8", false, 20, "length", 500));
  }
  std::ofstream(path, std::ios::app) << "{\"problem\": 2, \"sam";  // killed mid-write
  auto records = read_records(path, true);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].label, "rkv:8");
  EXPECT_EQ(records[1].output_tokens, 20);
  EXPECT_EQ(read_text_file(path).back(), '\n');  // repaired: appending starts on a fresh line
  std::ofstream(path, std::ios::app) << "{\"problem\": 3}\n";
  EXPECT_NE(test::error_of([&] { read_records(path, false); }).find(":3:"), std::string::npos);
}

TEST(EvalResults, ADifferentConfigurationIsRefusedNamingTheKeys) {
  test::TempDir dir;
  nlohmann::ordered_json c = {{"model", "m"}, {"max_new_tokens", 10}, {"sweep", {"fullkv"}}};
  check_or_write_config(dir.path("config.json"), c);
  EXPECT_NO_THROW(check_or_write_config(dir.path("config.json"), c));
  c["max_new_tokens"] = 11;
  c["seed"] = 3;
  const std::string e = test::error_of([&] { check_or_write_config(dir.path("config.json"), c); });
  EXPECT_NE(e.find("max_new_tokens, seed differ"), std::string::npos) << e;
}

TEST(EvalSummary, FiguresMatchAnIndependentCount) {
  // 10 problems; FullKV right on 7, rkv:8 right on 5 (problems 0..4); two samples each for h2o:8.
  std::vector<SampleRecord> records;
  for (int p = 0; p < 10; ++p) {
    records.push_back(rec(p, 0, "fullkv", p < 7, 100 + p, p == 9 ? "length" : "eos", 4000));
    records.push_back(rec(p, 0, "rkv:8", p < 5, 50, "eos", 1000));
    records.push_back(rec(p, 0, "h2o:8", p < 4, 40, "eos", 1000));
    records.push_back(rec(p, 1, "h2o:8", p < 8, 60, "eos", 1000));
  }
  auto points = summarize(records, {"fullkv", "rkv:8", "h2o:8", "snapkv:8"});
  ASSERT_EQ(points.size(), 4u);
  const PointSummary& full = points[0];
  EXPECT_EQ(full.problems, 10);
  EXPECT_DOUBLE_EQ(full.accuracy, 70.0);
  EXPECT_DOUBLE_EQ(full.first_sample_accuracy, 70.0);
  EXPECT_DOUBLE_EQ(full.strict_accuracy, 40.0);  // even problems among 0..6
  EXPECT_DOUBLE_EQ(full.mean_output_tokens, 104.5);
  EXPECT_DOUBLE_EQ(full.median_output_tokens, 104.5);
  EXPECT_DOUBLE_EQ(full.truncation_rate, 0.1);
  EXPECT_NEAR(full.decode_tokens_per_second, 50.0, 1e-9);
  // Wilson 95% for 7/10: centre (0.7 + z^2/20) / (1 + z^2/10)
  const double z = 1.959963984540054, n = 10, ph = 0.7;
  const double centre = (ph + z * z / (2 * n)) / (1 + z * z / n);
  const double half = z * std::sqrt(ph * (1 - ph) / n + z * z / (4 * n * n)) / (1 + z * z / n);
  EXPECT_NEAR(full.ci_low, 100 * (centre - half), 1e-9);
  EXPECT_NEAR(full.ci_high, 100 * (centre + half), 1e-9);
  EXPECT_DOUBLE_EQ(points[1].accuracy, 50.0);
  EXPECT_DOUBLE_EQ(points[1].kv_saved_vs_fullkv, 0.75);
  // two samples: pass@1 = mean over problems of the per-problem mean; first = sample 0 only
  const PointSummary& h2o = points[2];
  EXPECT_EQ(h2o.samples, 20);
  EXPECT_DOUBLE_EQ(h2o.accuracy, 60.0);  // (4 * 1 + 4 * 0.5 + 2 * 0) / 10
  EXPECT_DOUBLE_EQ(h2o.first_sample_accuracy, 40.0);
  EXPECT_LT(h2o.ci_low, 60.0);
  EXPECT_GT(h2o.ci_high, 60.0);
  EXPECT_EQ(points[3].problems, 0);  // no records for snapkv:8
}

TEST(EvalSummary, ThePlotHasALinePerMethodAndFullKvAsAReference) {
  std::vector<SampleRecord> records;
  for (int p = 0; p < 4; ++p)
    for (const char* label : {"fullkv", "rkv:64", "rkv:256", "snapkv:64", "snapkv:256"})
      records.push_back(rec(p, 0, label, p % 2 == 0, 10, "eos", 100));
  auto points = summarize(records, {"fullkv", "rkv:64", "rkv:256", "snapkv:64", "snapkv:256"});
  const std::string svg = accuracy_plot_svg(points, "a <title> & more");
  auto count = [&](const std::string& needle) {
    int n = 0;
    for (size_t at = svg.find(needle); at != std::string::npos; at = svg.find(needle, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("<polyline"), 2);
  EXPECT_EQ(count("<circle"), 4);
  EXPECT_EQ(count("stroke-dasharray"), 2);  // the FullKV line and its legend
  EXPECT_NE(svg.find("a &lt;title&gt; &amp; more"), std::string::npos);
  EXPECT_NE(svg.find("KV budget"), std::string::npos);
  EXPECT_NE(svg.find("accuracy (%"), std::string::npos);
}

TEST(EvalSeeds, SamplesDrawDifferentSeedsThatDoNotDependOnTheMethod) {
  EXPECT_EQ(sample_seed(1, 5, 0), sample_seed(1, 5, 0));
  EXPECT_NE(sample_seed(1, 5, 0), sample_seed(1, 5, 1));
  EXPECT_NE(sample_seed(1, 5, 0), sample_seed(1, 6, 0));
  EXPECT_NE(sample_seed(1, 5, 0), sample_seed(2, 5, 0));
}

}  // namespace
}  // namespace rkv::eval
