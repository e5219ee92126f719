// This machine's memory read bandwidth: the ceiling of decoding, which
// streams every weight once per token (tokens/s <= bandwidth / weight bytes).
// Sums a 1 GiB buffer (huge pages where the kernel allows, like the copied
// model weights) with AVX2 loads on 1 and 2 threads of rkv's ThreadPool.
//
//   build/bench/bench_memory --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <immintrin.h>
#include <sys/mman.h>

#include <cstring>

#include "rkv/core/buffer.h"
#include "rkv/core/cpu.h"
#include "rkv/core/thread_pool.h"

namespace {

constexpr size_t kBytes = size_t{1} << 30;
constexpr size_t kChunk = 4096;  // parallel_for index = one 4 KiB chunk

__attribute__((target("avx2"))) int64_t sum_avx2(const uint8_t* p, size_t n) {
  __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
  for (size_t i = 0; i < n; i += 128) {
    a = _mm256_add_epi64(a, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
    b = _mm256_add_epi64(b, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    c = _mm256_add_epi64(c, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    d = _mm256_add_epi64(d, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  alignas(32) int64_t o[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(o), _mm256_add_epi64(_mm256_add_epi64(a, b), _mm256_add_epi64(c, d)));
  return o[0] + o[1] + o[2] + o[3];
}

int64_t sum_plain(const uint8_t* p, size_t n) {
  int64_t s = 0;
  for (size_t i = 0; i < n; i += 8) {
    int64_t v;
    std::memcpy(&v, p + i, 8);
    s += v;
  }
  return s;
}

void read_bandwidth(benchmark::State& state) {
  static rkv::AlignedBuffer buf = [] {
    rkv::AlignedBuffer b(kBytes);
    ::madvise(b.data(), kBytes, MADV_HUGEPAGE);
    std::memset(b.data(), 1, kBytes);
    return b;
  }();
  const auto* p = static_cast<const uint8_t*>(buf.data());
  const bool avx2 = rkv::best_isa() >= rkv::Isa::Avx2;
  rkv::ThreadPool pool(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    int64_t total[8] = {};
    pool.parallel_for(kBytes / kChunk, [&](int64_t b, int64_t e) {
      const size_t off = static_cast<size_t>(b) * kChunk, n = static_cast<size_t>(e - b) * kChunk;
      total[b * 8 / static_cast<int64_t>(kBytes / kChunk)] = avx2 ? sum_avx2(p + off, n) : sum_plain(p + off, n);
    });
    benchmark::DoNotOptimize(total);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kBytes));
}

}  // namespace

BENCHMARK(read_bandwidth)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
