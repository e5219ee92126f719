// This machine's limits, beside which the model figures are read:
//  - read_bandwidth: the ceiling of decoding, which streams every weight once
//    per token (tokens/s <= bandwidth / weight bytes). Sums a 1 GiB buffer
//    (huge pages where the kernel allows, like the copied model weights) with
//    AVX2 loads on 1 and 2 threads of rkv's ThreadPool.
//  - fma_peak / vnni_peak: the compute ceiling of prefill, from independent
//    AVX-512 FMA (f32 GEMM, BF16 weights) and vpdpbusd (int8 GEMM) chains on
//    1 and 2 threads; reported as FLOP/s (2 per multiply-add).
//
//   build/bench/bench_machine --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
// GCC 12 warns about _mm256_undefined_* inside its own AVX-512 headers.
#pragma GCC diagnostic ignored "-Wuninitialized"
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


constexpr int64_t kPeakIters = 1 << 22;

// 12 independent accumulators hide the FMA latency on two pipes.
__attribute__((target("avx512f"))) float fma_chain(float seed) {
  __m512 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_ps(seed + static_cast<float>(i));
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (int64_t it = 0; it < kPeakIters; ++it)
    for (int i = 0; i < 12; ++i) a[i] = _mm512_fmadd_ps(a[i], m, c);
  __m512 s = a[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, a[i]);
  return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx512f,avx512vnni"))) int32_t vnni_chain(int32_t seed) {
  __m512i a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_epi32(seed + i);
  const __m512i u = _mm512_set1_epi8(3), s8 = _mm512_set1_epi8(-2);
  for (int64_t it = 0; it < kPeakIters; ++it)
    for (int i = 0; i < 12; ++i) a[i] = _mm512_dpbusd_epi32(a[i], u, s8);
  __m512i s = a[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_epi32(s, a[i]);
  return _mm512_reduce_add_epi32(s);
}

// flops_per_iter: 12 instructions x lanes x 2
void peak(benchmark::State& state, bool vnni) {
  const auto& f = rkv::cpu_features();
  if (!f.avx512f || (vnni && !f.avx512_vnni)) {
    state.SkipWithError("needs AVX-512 (and VNNI)");
    return;
  }
  const int threads = static_cast<int>(state.range(0));
  rkv::ThreadPool pool(threads);
  for (auto _ : state) {
    pool.parallel_for(threads, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        if (vnni)
          benchmark::DoNotOptimize(vnni_chain(static_cast<int32_t>(i)));
        else
          benchmark::DoNotOptimize(fma_chain(static_cast<float>(i)));
      }
    });
  }
  const double per_thread = static_cast<double>(kPeakIters) * 12 * (vnni ? 64 : 16) * 2;
  state.counters["FLOP/s"] = benchmark::Counter(per_thread * threads * static_cast<double>(state.iterations()),
                                                benchmark::Counter::kIsRate);
}
void fma_peak(benchmark::State& state) { peak(state, false); }
void vnni_peak(benchmark::State& state) { peak(state, true); }

}  // namespace

BENCHMARK(read_bandwidth)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(fma_peak)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(vnni_peak)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
