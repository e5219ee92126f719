// matmul per weight type and kernel family at the DeepSeek-R1-Distill-Qwen-1.5B
// MLP shape (8960 x 1536): decode (1 token), small batches and prefill
// blocks. Families: scalar / avx2 / avx512 on the GGUF rows, "packed" (the
// weights packed once, pack_weights: AVX-512 VNNI register kernels and
// GEMM) and "amx" (packed, AMX tiles for prefill) where the CPU has them.
// Reports weight bytes/s (decode is memory-bound) and MACs/s; threads:
// RKV_BENCH_THREADS (default 2; 1 measures one core's kernel speed, which a
// busy machine disturbs less); rows: RKV_BENCH_ROWS (default 8960; e.g.
// 286720 makes a 440 MB Q8_0 matrix, beyond the caches, for decode). With
// repetitions the aggregates include "min", the least disturbed run.
//
//   build/bench/bench_matmul --benchmark_filter='q4_k'
//   RKV_BENCH_THREADS=1 build/bench/bench_matmul --benchmark_filter='q8_0/(avx512|packed|amx)'
//       --benchmark_repetitions=15 --benchmark_report_aggregates_only=true   (one line)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "rkv/core/buffer.h"
#include "rkv/core/cpu.h"
#include "rkv/ops/matmul.h"

namespace {

int bench_threads() {
  const char* t = std::getenv("RKV_BENCH_THREADS");
  return t ? std::atoi(t) : 2;
}

int64_t bench_rows() {
  const char* r = std::getenv("RKV_BENCH_ROWS");
  return r ? std::atoll(r) : 8960;
}

enum class Family { Rows, Packed, Amx };

void run(benchmark::State& state, rkv::DType type, rkv::Isa isa, Family family, int64_t n_tokens) {
  const int64_t rows = bench_rows(), cols = 1536;
  std::mt19937 rng(1);
  std::normal_distribution<float> d(0.0f, 0.02f);
  std::vector<float> w(static_cast<size_t>(rows * cols));
  for (auto& v : w) v = d(rng);
  std::vector<uint8_t> q(rkv::dtype_row_bytes(type, cols) * rows);  // [rows][row bytes]
  rkv::quantize_matrix(w.data(), rows, cols, type, q.data());
  std::vector<float> x(static_cast<size_t>(n_tokens * cols), 0.1f), y(static_cast<size_t>(n_tokens * rows));
  rkv::ThreadPool pool(bench_threads());
  rkv::WeightMatrix m{q.data(), type, rows, cols};
  rkv::AlignedBuffer packed;
  if (family != Family::Rows) {
    packed = rkv::AlignedBuffer(rkv::packed_weight_bytes(type, rows, cols), rkv::AlignedBuffer::Pages::Huge);
    rkv::pack_weights(m, packed.data(), pool);
    m = rkv::WeightMatrix{nullptr, type, rows, cols, packed.data()};
  }
  for (auto _ : state) {
    rkv::matmul_isa(isa, m, x.data(), y.data(), n_tokens, pool, family == Family::Amx);
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
  for (rkv::DType t : types) {
    const bool packs = rkv::packed_weight_bytes(t, 16, 1536) > 0;
    for (int f = 0; f < 5; ++f) {
      const rkv::Isa isa = f < 3 ? static_cast<rkv::Isa>(f) : rkv::Isa::Avx512;
      const Family family = f < 3 ? Family::Rows : f == 3 ? Family::Packed : Family::Amx;
      if (isa > rkv::best_isa() || (family != Family::Rows && !packs) || (family == Family::Amx && !rkv::amx_available()))
        continue;
      const std::string fam = family == Family::Rows ? rkv::isa_name(isa) : family == Family::Packed ? "packed" : "amx";
      for (int64_t n : {1, 4, 8, 16, 32, 64, 256}) {
        if (family == Family::Amx && n < 16) continue;  // (the same register kernels as "packed")
        std::string name = std::string(rkv::dtype_name(t)) + "/" + fam + "/tokens:" + std::to_string(n);
        benchmark::RegisterBenchmark(name.c_str(), run, t, isa, family, n)
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond)
            ->ComputeStatistics("min", [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); });
      }
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
