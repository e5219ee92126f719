// rkv bench: the paper's efficiency table on this machine. For a model
// (usually a `rkv make-model` random one of a real shape), every method x
// output length x batch size generates forced lengths (EOS ignored) from a
// random prompt and reports tokens/s, KV bytes per sequence, the largest
// batch a --kv-memory holds, and the throughput at that batch (--fits-only:
// the KV bytes and the fits alone, without generating).
//
//   rkv bench -m model.gguf --lengths 1024,2048 --methods fullkv,rkv:1024,rkv:10% --batch 1,4 --kv-memory 2G
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <tuple>

#include "rkv/command.h"
#include "rkv/engine/engine.h"
#include "rkv/engine/model_lm.h"
#include "rkv/flags.h"
#include "rkv/model/model.h"
#include "rkv/ops/kv_row.h"

namespace rkv::cli {
namespace {

struct MethodSpec {
  std::string label;  // "rkv:1024", "rkv:10%", "fullkv"
  Method method;
  int64_t budget = 0;  // fixed budget, or
  double ratio = 0;    // a share of the output length
};

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    RKV_CHECK(!item.empty(), "empty item in list '", text, "'");
    out.push_back(item);
  }
  return out;
}

MethodSpec parse_method_spec(const std::string& text) {
  MethodSpec m;
  m.label = text;
  auto colon = text.find(':');
  m.method = parse_method(text.substr(0, colon));
  if (m.method == Method::FullKV) {
    RKV_CHECK(colon == std::string::npos, "fullkv takes no budget ('", text, "')");
    return m;
  }
  RKV_CHECK(colon != std::string::npos, "method '", text, "' needs a budget: NAME:TOKENS or NAME:PERCENT%");
  std::string b = text.substr(colon + 1);
  if (!b.empty() && b.back() == '%') {
    m.ratio = parse_number(b.substr(0, b.size() - 1), "method '" + text + "'") / 100.0;
    RKV_CHECK(m.ratio > 0 && m.ratio <= 1, "method '", text, "': percentage must be in (0, 100]");
  } else {
    m.budget = parse_integer(b, "method '" + text + "'");
    RKV_CHECK(m.budget > 0, "method '", text, "': budget must be positive");
  }
  return m;
}

struct Row {
  std::string method;
  int64_t length = 0, batch = 0, budget = 0;
  double tokens_per_s = 0, seconds = 0;
  int64_t kv_bytes_per_seq = 0;
  int64_t fits = 0;           // sequences --kv-memory holds
  double tokens_per_s_at_fit = 0;
  // decode speed (all sequences together) over each sequence's first and last
  // `--segment` tokens, and the share of the time spent scoring and compacting
  double first_tps = 0, last_tps = 0, compress_share = 0;
};

int run_bench(const Args& args) {
  Flags f("bench", "-m MODEL [--lengths 1024,2048] [--methods fullkv,rkv:1024,rkv:10%] [--batch 1,4] [--kv-memory 4G] [--json]");
  f.option("-m,--model", "model folder or .gguf (e.g. from rkv make-model)")
      .option("--lengths", "generated tokens per sequence (EOS ignored)", "1024,2048")
      .option("--methods", "METHOD[:BUDGET|:PERCENT%] list", "fullkv,rkv:1024,rkv:10%")
      .option("--batch", "batch sizes to time", "1")
      .option("--prompt-tokens", "random prompt length", "64")
      .option("--window", "observation window", "8")
      .option("--divide-length", "tokens between compressions (buffer)", "128")
      .option("--kv-type", "KV storage: f32 | f16 | bf16 | q8_0 | q4_0", "bf16")
      .option("--kv-memory", "KV memory for the 'largest batch that fits' column (e.g. 4G; 0: skip)", "0")
      .option("--max-fit-batch", "largest batch actually run for the fit column", "16")
      .option("--threads", "worker threads (default: all cores)", "0")
      .option("--seed", "prompt seed", "1")
      .option("--segment", "tokens per sequence in the first / last decode-speed windows", "1024")
      .toggle("--fits-only", "no generation: KV bytes a sequence can reach and how many fit --kv-memory")
      .toggle("--json", "one JSON object instead of the table");
  if (!f.parse(args)) return 0;
  RKV_CHECK(f.given("--model"), "missing -m MODEL");
  std::vector<MethodSpec> methods;
  for (const auto& m : split(f.str("--methods"))) methods.push_back(parse_method_spec(m));
  std::vector<int64_t> lengths = parse_int_list(f.str("--lengths"), "--lengths"), batches = parse_int_list(f.str("--batch"), "--batch");
  for (int64_t l : lengths) RKV_CHECK(l > 0, "--lengths must be positive");
  for (int64_t b : batches) RKV_CHECK(b > 0, "--batch must be positive");
  const int64_t prompt_tokens = f.integer("--prompt-tokens", 1, kMaxTokens), kv_memory = f.bytes("--kv-memory");
  const int64_t window = f.integer("--window", 1, kMaxTokens), divide_length = f.integer("--divide-length", 1, kMaxTokens);
  const int64_t segment = f.integer("--segment", 1, kMaxTokens), max_fit_batch = f.integer("--max-fit-batch", 1, 1 << 16);
  for (int64_t l : lengths) RKV_CHECK(l <= kMaxTokens, "--lengths: ", l, " is over ", kMaxTokens, " tokens");
  for (int64_t b : batches) RKV_CHECK(b <= 1 << 16, "--batch: ", b, " is over ", 1 << 16, " sequences");

  auto model = Model::load(f.str("--model"));
  ThreadPool pool(thread_count(f));
  ModelLM lm(*model, pool);
  std::mt19937 rng(static_cast<uint32_t>(f.integer("--seed")));
  std::vector<int32_t> prompt;
  for (int64_t i = 0; i < prompt_tokens; ++i) prompt.push_back(static_cast<int32_t>(rng() % model->config().vocab_size));

  auto options_for = [&](const MethodSpec& m, int64_t length) {
    EngineOptions o;
    o.policy.method = default_config(m.method);
    if (m.method != Method::FullKV) {
      o.policy.method.budget = m.budget > 0 ? m.budget : std::max<int64_t>(static_cast<int64_t>(m.ratio * length), window + 1);
      o.policy.method.window_size = window;
    }
    o.policy.divide_length = divide_length;
    o.kv_type = parse_kv_type(f.str("--kv-type"));
    o.policy.validate();
    return o;
  };
  // Runs `batch` copies of the prompt to `length` tokens; returns (tokens/s, seconds), the KV peak per
  // sequence, and the segment speeds and compression share into `row`.
  auto time_run = [&](const EngineOptions& o, int64_t length, int64_t batch, int64_t& kv_peak, Row* row = nullptr) {
    EngineOptions run = o;
    run.max_batch = static_cast<int>(batch);
    Engine engine(lm, run, pool);
    for (int64_t b = 0; b < batch; ++b) {
      GenerationRequest r;
      r.prompt = prompt;
      r.stop.max_new_tokens = length;
      r.stop.ignore_eos = true;
      engine.submit(r);
    }
    kv_peak = 0;
    double compress_s = 0;
    std::vector<double> stamps;  // seconds since start at each generated token, all sequences
    auto start = std::chrono::steady_clock::now();
    auto on_token = [&](int, int32_t token, const std::string&) {
      if (token >= 0) stamps.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    };
    EngineCallbacks callbacks;
    if (row) callbacks.on_token = on_token;
    callbacks.on_done = [&](const GenerationResult& r) {
      kv_peak = std::max(kv_peak, r.kv_peak_bytes);
      compress_s += r.compress_seconds;
    };
    engine.run(callbacks);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const int64_t window = segment * batch;  // the batch steps together: a window is `segment` steps
    if (row && static_cast<int64_t>(stamps.size()) > window + 1) {
      const int64_t n = static_cast<int64_t>(stamps.size());
      row->first_tps = static_cast<double>(window) / (stamps[window] - stamps[0]);
      row->last_tps = static_cast<double>(window) / (stamps[n - 1] - stamps[n - 1 - window]);
      row->compress_share = compress_s / s;
    }
    return std::pair<double, double>(static_cast<double>(batch * length) / s, s);
  };

  size_t total_runs = f.on("--fits-only") ? 0 : methods.size() * lengths.size() * (batches.size() + (kv_memory > 0 ? 1 : 0));
  size_t done_runs = 0;
  auto progress = [&](const std::string& what) {
    ++done_runs;
    int width = 30, filled = static_cast<int>(width * done_runs / std::max<size_t>(1, total_runs));
    std::fprintf(stderr, "\r[%s%s] %zu/%zu %-40s", std::string(static_cast<size_t>(filled), '#').c_str(),
                 std::string(static_cast<size_t>(width - filled), '.').c_str(), done_runs, total_runs, what.c_str());
    std::fflush(stderr);
  };
  std::vector<Row> rows;
  for (const auto& m : methods)
    for (int64_t length : lengths) {
      EngineOptions o = options_for(m, length);
      Engine probe(lm, o, pool);
      const int64_t reach = probe.reachable_kv_bytes(prompt_tokens, length);
      const int64_t fits = kv_memory > 0 ? kv_memory / reach : 0;
      if (f.on("--fits-only")) {  // admission arithmetic only (what --kv-memory admits), nothing timed
        Row row{m.label, length, 0, m.method == Method::FullKV ? 0 : o.policy.method.budget, 0, 0, reach, fits};
        rows.push_back(row);
        continue;
      }
      double at_fit = 0, fit_secs = 0;
      int64_t fit_batch = 0, fit_peak = 0;
      Row fit_row;  // the fit run's segment speeds
      if (fits > 0) {
        fit_batch = std::min(fits, max_fit_batch);
        std::tie(at_fit, fit_secs) = time_run(o, length, fit_batch, fit_peak, &fit_row);
        progress(m.label + " fit");
      }
      for (int64_t b : batches) {
        Row row{m.label, length, b, m.method == Method::FullKV ? 0 : o.policy.method.budget, 0, 0, 0, fits, at_fit};
        if (b == fit_batch && b > 1) {  // the fit run already timed this batch
          row.tokens_per_s = at_fit;
          row.seconds = fit_secs;
          row.kv_bytes_per_seq = fit_peak;
          row.first_tps = fit_row.first_tps;
          row.last_tps = fit_row.last_tps;
          row.compress_share = fit_row.compress_share;
          rows.push_back(row);
          progress(m.label + " len " + std::to_string(length) + " batch " + std::to_string(b));
          continue;
        }
        auto [tps, secs] = time_run(o, length, b, row.kv_bytes_per_seq, &row);
        row.tokens_per_s = tps;
        row.seconds = secs;
        rows.push_back(row);
        progress(m.label + " len " + std::to_string(length) + " batch " + std::to_string(b));
      }
    }
  if (total_runs > 0) std::fprintf(stderr, "\n");
  if (f.on("--json")) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& r : rows)
      out.push_back({{"method", r.method}, {"budget", r.budget}, {"length", r.length}, {"batch", r.batch},
                     {"tokens_per_s", r.tokens_per_s}, {"seconds", r.seconds}, {"kv_bytes_per_seq", r.kv_bytes_per_seq},
                     {"fits_in_kv_memory", r.fits}, {"tokens_per_s_at_fit", r.tokens_per_s_at_fit},
                     {"first_segment_tps", r.first_tps}, {"last_segment_tps", r.last_tps},
                     {"compress_share", r.compress_share}});
    std::printf("%s\n", out.dump().c_str());
    return 0;
  }
  std::printf("%-14s %7s %7s %6s %10s %13s %6s %12s %11s %11s %9s\n", "method", "budget", "length", "batch", "tokens/s",
              "KV/seq (MiB)", "fits", "tok/s at fit", "first tok/s", "last tok/s", "compress");
  for (const auto& r : rows)
    std::printf("%-14s %7lld %7lld %6lld %10.2f %13.2f %6lld %12.2f %11.2f %11.2f %8.1f%%\n", r.method.c_str(),
                static_cast<long long>(r.budget), static_cast<long long>(r.length), static_cast<long long>(r.batch),
                r.tokens_per_s, static_cast<double>(r.kv_bytes_per_seq) / (1024.0 * 1024.0), static_cast<long long>(r.fits),
                r.tokens_per_s_at_fit, r.first_tps, r.last_tps, 100.0 * r.compress_share);
  return 0;
}

RKV_COMMAND("bench", "efficiency table: tokens/s and KV memory per method, length and batch", run_bench);

}  // namespace
}  // namespace rkv::cli
