// Model speed at real sizes, the way llama-bench measures it: prefill of a
// 512-token prompt (pp512) and 128 single-token decode steps (tg128), on the
// models listed in RKV_BENCH_MODELS (comma-separated folders / .gguf files,
// e.g. made by `rkv make-model --shape r1-qwen-1.5b`), RKV_BENCH_THREADS
// threads (default 2). Reports tokens per second as items_per_second.
//
//   RKV_BENCH_MODELS=/tmp/q15_q4k.gguf,/tmp/q15_q8.gguf build/bench/bench_model --benchmark_repetitions=3
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "rkv/model/model.h"

namespace {

int bench_threads() {
  const char* t = std::getenv("RKV_BENCH_THREADS");
  return t ? std::atoi(t) : 2;
}

std::vector<int32_t> prompt_ids(int64_t n, int64_t vocab) {
  std::vector<int32_t> ids(static_cast<size_t>(n));
  uint64_t s = 12345;
  for (auto& id : ids) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    id = static_cast<int32_t>((s >> 33) % static_cast<uint64_t>(vocab));
  }
  return ids;
}

void prefill(benchmark::State& state, std::shared_ptr<rkv::Model> model, int64_t n) {
  rkv::ThreadPool pool(bench_threads());
  auto ids = prompt_ids(n, model->config().vocab_size);
  std::vector<int32_t> pos(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) pos[i] = static_cast<int32_t>(i);
  std::vector<float> logits(static_cast<size_t>(model->config().vocab_size));
  for (auto _ : state) {
    auto caches = model->make_caches(n);
    model->forward(ids.data(), pos.data(), n, caches, logits.data(), false, pool);
    benchmark::DoNotOptimize(logits.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
}

void decode(benchmark::State& state, std::shared_ptr<rkv::Model> model, int64_t n) {
  rkv::ThreadPool pool(bench_threads());
  auto ids = prompt_ids(n + 1, model->config().vocab_size);
  std::vector<float> logits(static_cast<size_t>(model->config().vocab_size));
  for (auto _ : state) {
    auto caches = model->make_caches(n + 1);
    for (int32_t p = 0; p <= n; ++p) model->forward(&ids[static_cast<size_t>(p)], &p, 1, caches, logits.data(), false, pool);
    benchmark::DoNotOptimize(logits.data());
  }
  state.SetItemsProcessed(state.iterations() * (n + 1));
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  const char* list = std::getenv("RKV_BENCH_MODELS");
  if (!list) {
    std::fprintf(stderr, "set RKV_BENCH_MODELS=path[,path...] (rkv make-model --shape r1-qwen-1.5b ...)\n");
    return 0;
  }
  std::stringstream ss(list);
  std::string path;
  while (std::getline(ss, path, ',')) {
    std::shared_ptr<rkv::Model> model = rkv::Model::load(path);
    benchmark::RegisterBenchmark(("pp512/" + path).c_str(), prefill, model, 512)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();
    benchmark::RegisterBenchmark(("tg128/" + path).c_str(), decode, model, 128)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
