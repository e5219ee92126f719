// Model speed at real sizes, the way llama-bench measures it: prefill of N
// prompt tokens in batches of 512 (ppN) and N single-token decode steps
// (tgN), each after `depth` tokens already in the cache (llama-bench -d), on
// the models listed in RKV_BENCH_MODELS (comma-separated folders / .gguf
// files, e.g. made by `rkv make-model --shape r1-qwen-1.5b`).
//
//   RKV_BENCH_MODELS   models (required)
//   RKV_BENCH_TESTS    tests as ppN@depth / tgN@depth, comma-separated (default pp512@0,tg128@0)
//   RKV_BENCH_THREADS  threads (default 2)
//   RKV_BENCH_KV       KV cache storage: f16 | bf16 | f32 (default f16, as llama.cpp's default cache)
//   RKV_BENCH_TOKENS   file of whitespace-separated token ids to use (default: a fixed pseudo-random
//                      sequence); scripts/bench-vs-llamacpp.sh passes llama.cpp the same file
//
// Reports tokens per second as items_per_second, the weight bytes a decode
// step reads as weight_bytes_per_token and the process's CPU time of the
// timed part as cpu_seconds; only the ppN / tgN part is
// timed (the depth tokens are evaluated first, untimed).
//
//   RKV_BENCH_MODELS=/tmp/q15_q4k.gguf,/tmp/q15_q8.gguf build/bench/bench_model --benchmark_repetitions=3
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "rkv/core/error.h"
#include "rkv/model/model.h"

namespace {

int bench_threads() {
  const char* t = std::getenv("RKV_BENCH_THREADS");
  return t ? std::atoi(t) : 2;
}

rkv::DType bench_kv_type() {
  const char* t = std::getenv("RKV_BENCH_KV");
  const std::string s = t ? t : "f16";
  if (s == "f32") return rkv::DType::F32;
  if (s == "bf16") return rkv::DType::BF16;
  RKV_CHECK(s == "f16", "RKV_BENCH_KV=", s, ": expected f16, bf16 or f32");
  return rkv::DType::F16;
}

struct Test {
  bool prefill;  // ppN, else tgN
  int64_t n, depth;
};

std::vector<Test> bench_tests() {
  const char* t = std::getenv("RKV_BENCH_TESTS");
  std::stringstream ss(t ? t : "pp512@0,tg128@0");
  std::vector<Test> tests;
  std::string item;
  const std::regex form("(pp|tg)([0-9]+)@([0-9]+)");
  while (std::getline(ss, item, ',')) {
    std::smatch m;
    RKV_CHECK(std::regex_match(item, m, form), "RKV_BENCH_TESTS: '", item, "' is not ppN@depth or tgN@depth");
    tests.push_back({m[1] == "pp", std::stoll(m[2]), std::stoll(m[3])});
  }
  return tests;
}

// The ids of RKV_BENCH_TOKENS, or n pseudo-random ids below vocab.
std::vector<int32_t> token_ids(int64_t n, int64_t vocab) {
  std::vector<int32_t> ids;
  if (const char* file = std::getenv("RKV_BENCH_TOKENS")) {
    std::ifstream in(file);
    RKV_CHECK(in.good(), "RKV_BENCH_TOKENS=", file, ": cannot open");
    ids.assign(std::istream_iterator<int32_t>(in), std::istream_iterator<int32_t>());
    RKV_CHECK(static_cast<int64_t>(ids.size()) >= n, "RKV_BENCH_TOKENS=", file, ": ", ids.size(), " ids, ", n, " needed");
    ids.resize(static_cast<size_t>(n));
    for (int32_t id : ids) RKV_CHECK(id >= 0 && id < vocab, "RKV_BENCH_TOKENS=", file, ": id ", id, " outside [0, ", vocab, ")");
    return ids;
  }
  ids.resize(static_cast<size_t>(n));
  uint64_t s = 12345;
  for (auto& id : ids) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    id = static_cast<int32_t>((s >> 33) % static_cast<uint64_t>(vocab));
  }
  return ids;
}

// Weight bytes one decode step reads: every matrix but the embedding table
// (one row of it per token), unless the output head shares it.
int64_t decode_weight_bytes(const rkv::Model& m) {
  const rkv::WeightMatrix& e = m.embedding();
  const int64_t embed_bytes = static_cast<int64_t>(rkv::dtype_row_bytes(e.type, e.cols)) * e.rows;
  return m.weight_bytes() - (m.tied_output() ? 0 : embed_bytes);
}

// CPU time of all threads of this process (user + system): with the wall
// time, how much of the machine the run had.
double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

constexpr int64_t kBatch = 512;  // llama-bench's default micro-batch

// Evaluates ids[from, to) in batches of kBatch; logits of the last token only.
void evaluate(const rkv::Model& model, const std::vector<int32_t>& ids, int64_t from, int64_t to,
              std::vector<rkv::LayerCache>& caches, float* logits, rkv::ThreadPool& pool) {
  std::vector<int32_t> pos(static_cast<size_t>(kBatch));
  for (int64_t b = from; b < to; b += kBatch) {
    const int64_t n = std::min(kBatch, to - b);
    for (int64_t i = 0; i < n; ++i) pos[static_cast<size_t>(i)] = static_cast<int32_t>(b + i);
    model.forward(ids.data() + b, pos.data(), n, caches, b + n == to ? logits : nullptr, false, pool);
  }
}

void run_test(benchmark::State& state, std::shared_ptr<rkv::Model> model, Test test) {
  rkv::ThreadPool pool(bench_threads());
  const int64_t total = test.depth + test.n;
  const auto ids = token_ids(total, model->config().vocab_size);
  const rkv::DType kv = bench_kv_type();
  std::vector<float> logits(static_cast<size_t>(model->config().vocab_size));
  double cpu_seconds = 0;
  {  // warm-up as llama-bench does: thread pool, scratch buffers, caches
    const int64_t warm = std::min<int64_t>(33, total);
    auto caches = model->make_caches(warm, kv);
    evaluate(*model, ids, 0, warm - 1, caches, logits.data(), pool);  // a short prefill
    evaluate(*model, ids, warm - 1, warm, caches, logits.data(), pool);  // one decode step
  }
  for (auto _ : state) {
    auto caches = model->make_caches(total, kv);
    evaluate(*model, ids, 0, test.depth, caches, logits.data(), pool);
    const auto t0 = std::chrono::steady_clock::now();
    const double cpu0 = process_cpu_seconds();
    if (test.prefill) {
      evaluate(*model, ids, test.depth, total, caches, logits.data(), pool);
    } else {
      for (int64_t p = test.depth; p < total; ++p) evaluate(*model, ids, p, p + 1, caches, logits.data(), pool);
    }
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    cpu_seconds += process_cpu_seconds() - cpu0;
    benchmark::DoNotOptimize(logits.data());
  }
  state.SetItemsProcessed(state.iterations() * test.n);
  state.counters["weight_bytes_per_token"] = static_cast<double>(decode_weight_bytes(*model));
  state.counters["cpu_seconds"] = cpu_seconds / static_cast<double>(state.iterations());
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  const char* list = std::getenv("RKV_BENCH_MODELS");
  if (!list) {
    std::fprintf(stderr, "set RKV_BENCH_MODELS=path[,path...] (rkv make-model --shape r1-qwen-1.5b ...)\n");
    return 0;
  }
  try {
    const auto tests = bench_tests();
    std::stringstream ss(list);
    std::string path;
    while (std::getline(ss, path, ',')) {
      std::shared_ptr<rkv::Model> model = rkv::Model::load(path);
      for (const Test& t : tests) {
        const std::string name =
            std::string(t.prefill ? "pp" : "tg") + std::to_string(t.n) + "@" + std::to_string(t.depth) + "/" + path;
        benchmark::RegisterBenchmark(name.c_str(), run_test, model, t)
            ->Unit(benchmark::kSecond)
            ->Iterations(1)
            ->UseManualTime();
      }
    }
  } catch (const rkv::Error& e) {
    std::fprintf(stderr, "bench_model: %s\n", e.what());
    return 2;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
