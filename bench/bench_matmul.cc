// matmul per weight type and kernel family at the DeepSeek-R1-Distill-Qwen-1.5B
// MLP shape (8960 x 1536): decode (1 token) and a prefill block (64 tokens).
// Reports weight bytes/s (decode is memory-bound) and MACs/s.
//
//   build/bench/bench_matmul --benchmark_filter='q4_k'
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "rkv/core/cpu.h"
#include "rkv/ops/matmul.h"

namespace {

void run(benchmark::State& state, rkv::DType type, rkv::Isa isa, int64_t n_tokens) {
  const int64_t rows = 8960, cols = 1536;
  std::mt19937 rng(1);
  std::normal_distribution<float> d(0.0f, 0.02f);
  std::vector<float> w(static_cast<size_t>(rows * cols));
  for (auto& v : w) v = d(rng);
  std::vector<uint8_t> q(rkv::dtype_row_bytes(type, cols) * rows);  // [rows][row bytes]
  rkv::quantize_matrix(w.data(), rows, cols, type, q.data());
  std::vector<float> x(static_cast<size_t>(n_tokens * cols), 0.1f), y(static_cast<size_t>(n_tokens * rows));
  rkv::ThreadPool pool(2);
  rkv::WeightMatrix m{q.data(), type, rows, cols};
  for (auto _ : state) {
    rkv::matmul_isa(isa, m, x.data(), y.data(), n_tokens, pool);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(q.size()));
  state.counters["MAC/s"] = benchmark::Counter(static_cast<double>(rows * cols * n_tokens) * state.iterations(),
                                               benchmark::Counter::kIsRate);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  const rkv::DType types[] = {rkv::DType::F32,  rkv::DType::F16,  rkv::DType::BF16, rkv::DType::Q8_0,
                              rkv::DType::Q4_0, rkv::DType::Q4_K, rkv::DType::Q5_K, rkv::DType::Q6_K};
  for (rkv::DType t : types)
    for (rkv::Isa isa : {rkv::Isa::Scalar, rkv::Isa::Avx2, rkv::Isa::Avx512}) {
      if (isa > rkv::best_isa()) continue;
      for (int64_t n : {1, 4, 8, 16, 64}) {
        std::string name = std::string(rkv::dtype_name(t)) + "/" + rkv::isa_name(isa) + "/tokens:" + std::to_string(n);
        benchmark::RegisterBenchmark(name.c_str(), run, t, isa, n)->UseRealTime()->Unit(benchmark::kMillisecond);
      }
    }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
