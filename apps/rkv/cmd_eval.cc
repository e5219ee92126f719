// rkv eval: what KV compression does to a model's answers — a method x
// budget sweep over a math benchmark, graded the way the R-KV paper's
// harness grades (eval/). Resumable (the same command on the same -o folder
// skips finished samples; another configuration is refused), shardable
// (--shard I/N), and shards merge (--merge DIR... -o DIR). See docs/eval.md.
#include <cstdio>
#include <filesystem>
#include <map>

#include "rkv/core/output_file.h"
#include "rkv/command.h"
#include "rkv/core/buffer.h"
#include "rkv/core/interrupt.h"
#include "rkv/eval/eval_run.h"
#include "rkv/eval/summary.h"
#include "rkv/flags.h"
#include "rkv/generation_flags.h"
#include "rkv/kv_flags.h"
#include "rkv/tokenizer/tokenizer.h"

namespace rkv::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

constexpr const char* kDefaultSweep = "fullkv,rkv:128,rkv:256,snapkv:256,h2o:256,streamingllm:256";

void declare_flags(Flags& f) {
  f.option("-m,--model", "Hugging Face model folder or .gguf file")
      .option("--data", "benchmark JSONL, one problem a line")
      .option("-o,--out", "run folder (results.jsonl, summary.json, summary.md, plot.svg)")
      .option("--sweep", "methods and budgets", kDefaultSweep)
      .option("--samples", "samples per problem and method", "1")
      .option("--limit", "only the first N problems (0 = all)", "0")
      .option("--shard", "run the problems p with p % N == I", "0/1")
      .option("--data-name", "math | aime24 | gsm8k: grading rules (default: from the file name)")
      .option("--question-key", "field holding the question (default: problem, question or prompt)")
      .option("--answer-key", "field holding the gold answer (default: answer, else solution's last \\boxed{})")
      .option("--prompt", "rkv | chat | FILE | chat:FILE (default: chat when the model has a chat template, else rkv)")
      .toggle("--quiet", "no progress on stderr")
      .toggle("--merge", "combine the run folders given as arguments into -o");
  declare_sampling_flags(f);
  declare_engine_flags(f);
}

// Everything that decides the results, as config.json holds it.
ordered_json run_config(const Flags& f, const eval::EvalPlan& plan, const std::string& model, DType kv_type) {
  ordered_json c;
  c["model"] = model;
  c["data"] = plan.dataset.path;
  c["data_name"] = eval::data_name_string(plan.dataset.data_name);
  c["question_key"] = f.given("--question-key") ? f.str("--question-key") : "";
  c["answer_key"] = f.given("--answer-key") ? f.str("--answer-key") : "";
  c["limit"] = f.integer("--limit");
  c["problems"] = plan.dataset.problems.size();
  c["prompt"] = plan.prompt.describe();
  ordered_json sweep = ordered_json::array(), policies = ordered_json::array();
  for (size_t i = 0; i < plan.sweep.size(); ++i) {
    sweep.push_back(plan.sweep[i].label);
    policies.push_back(ordered_json::parse(kv_policy_json(plan.policies[i]).dump()));
  }
  c["sweep"] = sweep;
  c["policies"] = policies;
  c["kv_type"] = dtype_name(kv_type);
  const RequestSpec& s = plan.sampling;
  c["max_new_tokens"] = s.max_new_tokens;
  c["samples"] = plan.samples;
  c["temperature"] = s.temperature ? ordered_json(*s.temperature) : ordered_json(nullptr);
  c["top_p"] = s.top_p ? ordered_json(*s.top_p) : ordered_json(nullptr);
  c["top_k"] = s.top_k ? ordered_json(*s.top_k) : ordered_json(nullptr);
  c["min_p"] = s.min_p ? ordered_json(*s.min_p) : ordered_json(nullptr);
  c["repetition_penalty"] = s.repetition_penalty;
  c["presence_penalty"] = s.presence_penalty;
  c["frequency_penalty"] = s.frequency_penalty;
  c["seed"] = s.seed;
  c["stop"] = s.stop;
  c["ignore_eos"] = s.ignore_eos;
  c["shard"] = plan.shard.label();
  return c;
}

std::vector<std::string> labels_of(const ordered_json& config) {
  std::vector<std::string> labels;
  for (const auto& l : config.at("sweep")) labels.push_back(l.get<std::string>());
  return labels;
}

void print_summary(const std::string& dir, const std::vector<eval::PointSummary>& points, const ordered_json& config) {
  eval::write_summary_files(dir, points, config);
  const std::string md = eval::summary_markdown(points, config);
  std::fwrite(md.data(), 1, md.size(), stdout);
  std::printf("\nresults: %s/results.jsonl, summary: %s/summary.md, plot: %s/plot.svg\n", dir.c_str(), dir.c_str(),
              dir.c_str());
}

// --merge A B ... -o OUT: shards of one run (configs equal but for the
// shard) combined, each finished sample once.
int merge_runs(const std::vector<std::string>& dirs, const std::string& out) {
  RKV_CHECK(!dirs.empty(), "--merge needs the run folders to combine");
  ordered_json config;
  std::map<eval::SampleRecord::Key, eval::SampleRecord> records;
  for (const std::string& dir : dirs) {
    ordered_json c = eval::read_config((fs::path(dir) / "config.json").string());
    c.erase("shard");
    if (config.is_null()) config = c;
    RKV_CHECK(c == config, dir, ": its configuration differs from ", dirs[0], "'s (only --shard may differ)");
    for (auto& r : eval::read_records((fs::path(dir) / "results.jsonl").string(), false)) records.emplace(r.key(), r);
  }
  fs::create_directories(out);
  config["merged_from"] = dirs;
  std::string text;
  std::vector<eval::SampleRecord> all;
  for (auto& [key, r] : records) {
    text += r.to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    all.push_back(r);
  }
  const std::string config_text = config.dump(2) + "\n";
  write_file_atomically((fs::path(out) / "config.json").string(), config_text.data(), config_text.size());
  write_file_atomically((fs::path(out) / "results.jsonl").string(), text.data(), text.size());
  print_summary(out, eval::summarize(all, labels_of(config)), config);
  return 0;
}

eval::EvalPlan plan_from_flags(const Flags& f) {
  eval::EvalPlan plan;
  eval::DatasetOptions data;
  if (f.given("--question-key")) data.question_key = f.str("--question-key");
  if (f.given("--answer-key")) data.answer_key = f.str("--answer-key");
  if (f.given("--data-name")) data.data_name = f.str("--data-name");
  plan.dataset = eval::load_dataset(f.str("--data"), data);
  const int64_t limit = f.integer("--limit");
  RKV_CHECK(limit >= 0, "--limit must be >= 0");
  if (limit > 0 && static_cast<size_t>(limit) < plan.dataset.problems.size()) plan.dataset.problems.resize(static_cast<size_t>(limit));
  plan.sweep = eval::parse_sweep(f.str("--sweep"));
  const KvPolicy base = policy_from_flags(f);
  for (const eval::SweepPoint& point : plan.sweep) {
    KvPolicy p = base;
    p.method = compression_from_flags(f, point.method);
    if (point.method != Method::FullKV) p.method.budget = point.budget;
    p.validate();
    plan.policies.push_back(p);
  }
  plan.sampling = request_spec_from_flags(f);
  const int64_t samples = f.integer("--samples");
  RKV_CHECK(samples >= 1 && samples <= 1024, "--samples must be in [1, 1024]");
  plan.samples = static_cast<int>(samples);
  plan.shard = eval::Shard::parse(f.str("--shard"));
  return plan;
}

int run_eval_command(const Args& args) {
  Flags f("eval", "-m MODEL --data FILE.jsonl [--sweep fullkv,rkv:128,...] [-n MAX_NEW] -o RUN_DIR | --merge DIR... -o DIR");
  declare_flags(f);
  if (!f.parse(args)) return 0;
  RKV_CHECK(f.given("--out"), "missing -o RUN_DIR");
  if (f.on("--merge")) return merge_runs(f.positional(), f.str("--out"));
  RKV_CHECK(f.positional().empty(), "unexpected argument '", f.positional().front(), "'");
  RKV_CHECK(f.given("--model"), "missing -m MODEL");
  RKV_CHECK(f.given("--data"), "missing --data FILE.jsonl");
  RKV_CHECK(!f.given("--kv") && !f.given("--budget") && !f.given("--kv-config"),
            "rkv eval takes its methods and budgets from --sweep (the other compression flags apply to every point)");
  // The data, the sweep and every flag are checked before the model loads.
  eval::EvalPlan plan = plan_from_flags(f);
  const EngineFlags engine_flags = engine_flags_from(f);

  auto lm = load_model(f.str("--model"), engine_flags);
  plan.prompt = eval::PromptFormat::parse(f.given("--prompt") ? f.str("--prompt") : lm->has_chat_template() ? "chat" : "rkv");
  const std::string out = f.str("--out");
  fs::create_directories(out);
  const ordered_json config = run_config(f, plan, f.str("--model"), engine_flags.kv_type);
  eval::check_or_write_config((fs::path(out) / "config.json").string(), config);

  // What the model is given, for the first problem.
  {
    RequestSpec first = plan.prompt.input_for(plan.dataset.problems.front().question);
    const std::string shown = first.chat ? lm->render_chat(LoadedModel::chat_messages(*first.text, std::nullopt)) : *first.text;
    std::fprintf(stderr, "rkv eval: %zu problems (%s), %zu methods, %d sample(s); the prompt of problem 0 (%s):\n%s\n---\n",
                 plan.dataset.problems.size(), eval::data_name_string(plan.dataset.data_name), plan.sweep.size(),
                 plan.samples, plan.prompt.describe()["style"].get<std::string>().c_str(), shown.c_str());
  }
  install_interrupt_handler();
  EngineOptions options = engine_options_from(*lm, engine_flags);
  const eval::EvalStats stats = eval::run_eval(*lm, options, plan, out, f.on("--quiet"), &interrupt_flag());
  const double outside = stats.wall_seconds - stats.engine_seconds;
  std::fprintf(stderr, "rkv eval: %lld samples run, %lld already done; %.1f s, of which %.3f s outside generation (%.2f%%)\n",
               static_cast<long long>(stats.finished), static_cast<long long>(stats.already_done), stats.wall_seconds,
               outside, stats.wall_seconds > 0 ? 100 * outside / stats.wall_seconds : 0.0);
  print_summary(out, eval::summarize(eval::read_records((fs::path(out) / "results.jsonl").string(), false), labels_of(config)),
                config);
  return stats.interrupted ? interrupt_exit_code() : 0;
}

RKV_COMMAND("eval", "accuracy of a model on a math benchmark for each KV method and budget (resumable, shardable)",
            run_eval_command);

}  // namespace
}  // namespace rkv::cli
