// One R-KV compression step of one layer (scoring + compaction) at the shapes
// of DeepSeek-R1-Distill-Llama-8B (32 q / 8 kv heads, d 128) and -Qwen-1.5B
// (12 / 2 / 128), n = budget 1024 + buffer 128, window 8; next to the plain
// OpenBLAS SGEMM of the key-similarity product K K^T it is dominated by.
//
//   build/bench/bench_compression --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <random>

#include "rkv/compression/compressor.h"
#include "rkv/kv/layer_cache.h"

namespace rkv {
namespace {

struct Shape3 {
  const char* name;
  int n_q, n_kv, d;
};
constexpr Shape3 kShapes[] = {{"llama8b", 32, 8, 128}, {"qwen1.5b", 12, 2, 128}};
constexpr int64_t kTokens = 1024 + 128;
constexpr int64_t kWindow = 8;

struct LayerData {
  std::vector<float> keys, values;  // [n_kv][n][d]
  std::vector<float> queries;       // [n_q][window][d]
  std::vector<int32_t> positions;   // [n_kv][n]
};

LayerData make_layer(const Shape3& s) {
  std::mt19937 rng(42);
  std::normal_distribution<float> normal(0, 1);
  LayerData l;
  l.keys.resize(static_cast<size_t>(s.n_kv) * kTokens * s.d);
  for (int h = 0; h < s.n_kv; ++h)
    for (int64_t j = 0; j < kTokens; ++j)
      for (int c = 0; c < s.d; ++c) {
        // a shared direction per head plus noise, and every 5th key a near-copy:
        // realistic cosine similarities around and above the 0.5 threshold
        float& k = l.keys[(h * kTokens + j) * s.d + c];
        k = (j % 5 == 4) ? l.keys[(h * kTokens + j - 3) * s.d + c] + 0.2f * normal(rng) : normal(rng) + (c % 8 == 0 ? 2.0f : 0.0f);
      }
  l.values.resize(l.keys.size());
  for (auto& v : l.values) v = normal(rng);
  l.queries.resize(static_cast<size_t>(s.n_q) * kWindow * s.d);
  for (auto& q : l.queries) q = normal(rng);
  l.positions.resize(static_cast<size_t>(s.n_kv) * kTokens);
  for (int h = 0; h < s.n_kv; ++h)
    for (int64_t j = 0; j < kTokens; ++j) l.positions[h * kTokens + j] = static_cast<int32_t>(j);
  return l;
}

// args: shape index, storage (0 f32, 1 bf16), threads
void BM_RkvLayerStep(benchmark::State& state) {
  const Shape3& s = kShapes[state.range(0)];
  const DType storage = state.range(1) == 0 ? DType::F32 : DType::BF16;
  ThreadPool pool(static_cast<int>(state.range(2)));
  LayerData l = make_layer(s);
  CompressionConfig config = default_config(Method::RKV);
  config.window_size = kWindow;
  Compressor compressor(config);
  LayerCache cache(s.n_kv, s.d, storage, kTokens);
  for (auto _ : state) {
    state.PauseTiming();
    cache.clear();
    cache.append_head_major(l.keys.data(), l.values.data(), l.positions.data(), kTokens);
    state.ResumeTiming();
    KeepLists keep = compressor.select(snapshot_of(cache, l.queries.data(), s.n_q, kWindow), pool);
    cache.compact(keep);
    benchmark::DoNotOptimize(cache.key_data(0));
  }
  state.SetLabel(std::string(s.name) + (storage == DType::F32 ? " f32" : " bf16") + " threads=" +
                 std::to_string(state.range(2)));
}

// The similarity product alone: for each KV head, S = K K^T ([n][n], SGEMM).
void BM_OpenBlasKeySimilarity(benchmark::State& state) {
  const Shape3& s = kShapes[state.range(0)];
  openblas_set_num_threads(static_cast<int>(state.range(2)));
  LayerData l = make_layer(s);
  std::vector<float> sim(static_cast<size_t>(kTokens) * kTokens);
  for (auto _ : state) {
    for (int h = 0; h < s.n_kv; ++h) {
      const float* k = l.keys.data() + static_cast<size_t>(h) * kTokens * s.d;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, kTokens, kTokens, s.d, 1.0f, k, s.d, k, s.d, 0.0f,
                  sim.data(), kTokens);
    }
    benchmark::DoNotOptimize(sim.data());
  }
  state.SetLabel(std::string(s.name) + " f32 threads=" + std::to_string(state.range(2)));
}

// The redundancy kernel alone (all KV heads of the layer), f32 keys.
void BM_KeyRedundancy(benchmark::State& state) {
  const Shape3& s = kShapes[state.range(0)];
  ThreadPool pool(static_cast<int>(state.range(2)));
  LayerData l = make_layer(s);
  std::vector<float> out(static_cast<size_t>(kTokens));
  for (auto _ : state) {
    for (int h = 0; h < s.n_kv; ++h)
      key_redundancy(l.keys.data() + static_cast<size_t>(h) * kTokens * s.d, kTokens, s.d, RedundancyOptions{}, out.data(), pool);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(std::string(s.name) + " f32 threads=" + std::to_string(state.range(2)));
}

BENCHMARK(BM_KeyRedundancy)->ArgsProduct({{0, 1}, {0}, {1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_RkvLayerStep)
    ->ArgsProduct({{0, 1}, {0, 1}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_OpenBlasKeySimilarity)->ArgsProduct({{0, 1}, {0}, {1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace rkv

BENCHMARK_MAIN();
