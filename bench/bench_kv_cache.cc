// Quantized KV caches (issue: quantized KV cache), at the shape of
// DeepSeek-R1-Distill-Qwen-1.5B (12 query / 2 KV heads, head_dim 128).
//
// The machine is shared, so the comparisons are PAIRED: each iteration runs
// the bf16 case and the other one back to back (order alternating), and the
// counters give both medians and the median of the per-pair ratios
// (`ratio` = other / bf16; below 1 is faster).
//
//   BM_AttendHead/type/n     attention of one KV head's 6 query heads over n
//                            cached rows (0 f32, 1 bf16, 2 q8_0, 3 q4_0), unpaired
//   BM_AttendPaired/type/n   the same, bf16 vs type
//   BM_RkvStepPaired/type    one R-KV compression step of one layer (scoring +
//                            compaction, n = 1024 + 128, window 8, 1 thread), bf16 vs type
//   BM_RedundancyPaired      the redundancy pass of one head on q8_0 keys: as
//                            shipped (dequantized keys, f32 tiles) vs the
//                            alternative measured against it — int8 codes
//                            multiplied with AVX-512 VNNI, a prototype kept
//                            here only to reproduce docs/rkv-method.md's
//                            "Quantized caches" decision — with their agreement
//   DecodePaired/type/MODEL  one decode step of a whole model whose caches hold
//                            8192 tokens, bf16 vs type (models from
//                            RKV_BENCH_MODELS, as bench_model; 2 threads)
//
//   build/bench/bench_kv_cache --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//   RKV_BENCH_MODELS=/tmp/q15_q4k.gguf build/bench/bench_kv_cache --benchmark_filter=Decode
#include <benchmark/benchmark.h>

#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <sstream>

#include "rkv/compression/compressor.h"
#include "rkv/core/cpu.h"
#include "rkv/kv/layer_cache.h"
#include "rkv/model/model.h"
#include "rkv/ops/attention.h"
#include "rkv/ops/kv_row.h"
#include "rkv/ops/redundancy.h"

namespace rkv {
namespace {

constexpr DType kTypes[] = {DType::F32, DType::BF16, DType::Q8_0, DType::Q4_0};
constexpr int kHeadDim = 128, kGroup = 6;
constexpr int64_t kRows = 1024 + 128;  // an R-KV cache at budget 1024 + buffer 128

std::vector<float> normal_values(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = normal(rng);
  return v;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Runs bf16() and other() once per iteration, alternating which goes first;
// counters: bf16_ms, other_ms (medians) and ratio (median of other / bf16).
template <class F, class G>
void paired(benchmark::State& state, F&& bf16, G&& other) {
  std::vector<double> a, b, ratio;
  auto time = [](auto& f) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  };
  bool flip = false;
  for (auto _ : state) {
    double ta, tb;
    if (flip) {
      tb = time(other);
      ta = time(bf16);
    } else {
      ta = time(bf16);
      tb = time(other);
    }
    flip = !flip;
    a.push_back(ta);
    b.push_back(tb);
    ratio.push_back(tb / ta);
  }
  state.counters["bf16_ms"] = median(a);
  state.counters["other_ms"] = median(b);
  state.counters["ratio"] = median(ratio);
}

// One KV head's cache of n random rows in `type`, and 6 queries.
struct HeadCache {
  std::vector<uint8_t> keys, values;
  std::vector<int32_t> positions;
  KvHeadView view;
  HeadCache(DType type, int64_t n) : positions(static_cast<size_t>(n)) {
    const size_t rb = kv_row_bytes(type, kHeadDim);
    keys.resize(rb * static_cast<size_t>(n));
    values.resize(keys.size());
    kv_rows_from_f32(normal_values(static_cast<size_t>(n) * kHeadDim, 1).data(), n, kHeadDim, type, keys.data());
    kv_rows_from_f32(normal_values(static_cast<size_t>(n) * kHeadDim, 2).data(), n, kHeadDim, type, values.data());
    for (int64_t j = 0; j < n; ++j) positions[static_cast<size_t>(j)] = static_cast<int32_t>(j);
    view = KvHeadView{keys.data(), values.data(), positions.data(), type, n};
  }
};

void BM_AttendPaired(benchmark::State& state) {
  const DType type = kTypes[state.range(0)];
  const int64_t n = state.range(1);
  HeadCache bf16(DType::BF16, n), other(type, n);
  const std::vector<float> q = normal_values(kGroup * kHeadDim, 3);
  std::vector<float> out(q.size()), scratch;
  paired(
      state, [&] { attend(q.data(), kGroup, kHeadDim, bf16.view, n, 0, 0.088f, out.data(), scratch); },
      [&] { attend(q.data(), kGroup, kHeadDim, other.view, n, 0, 0.088f, out.data(), scratch); });
  state.SetLabel("bf16 vs " + std::string(dtype_name(type)) + " " + isa_name(active_isa()));
}
BENCHMARK(BM_AttendPaired)->ArgsProduct({{2, 3}, {1152, 8192}})->Unit(benchmark::kMicrosecond)->UseRealTime();

// One R-KV step of one layer, qwen1.5b shape, on a cache refilled before
// each timed step (as bench_compression's BM_RkvLayerStep).
void BM_RkvStepPaired(benchmark::State& state) {
  const DType type = kTypes[state.range(0)];
  constexpr int kKv = 2, kQ = 12;
  constexpr int64_t kWindow = 8;
  std::mt19937 rng(42);
  std::normal_distribution<float> normal(0, 1);
  std::vector<float> keys(static_cast<size_t>(kKv) * kRows * kHeadDim);  // [kv][n][d]
  for (int h = 0; h < kKv; ++h)
    for (int64_t j = 0; j < kRows; ++j)
      for (int c = 0; c < kHeadDim; ++c) {
        float& k = keys[(h * kRows + j) * kHeadDim + c];
        k = (j % 5 == 4) ? keys[(h * kRows + j - 3) * kHeadDim + c] + 0.2f * normal(rng) : normal(rng) + (c % 8 == 0 ? 2.0f : 0.0f);
      }
  const std::vector<float> values = normal_values(keys.size(), 6), queries = normal_values(kQ * kWindow * kHeadDim, 7);
  std::vector<int32_t> positions(static_cast<size_t>(kKv) * kRows);
  for (size_t i = 0; i < positions.size(); ++i) positions[i] = static_cast<int32_t>(i % kRows);
  CompressionConfig config = default_config(Method::RKV);
  config.window_size = kWindow;
  const Compressor compressor(config);
  ThreadPool pool(1);
  LayerCache bf16(kKv, kHeadDim, DType::BF16, kRows), other(kKv, kHeadDim, type, kRows);
  auto step = [&](LayerCache& cache) {
    cache.compact(compressor.select(snapshot_of(cache, queries.data(), kQ, kWindow), pool));
  };
  auto refill = [&](LayerCache& cache) {
    cache.clear();
    cache.append_head_major(keys.data(), values.data(), positions.data(), kRows);
  };
  std::vector<double> a, b, ratio;
  auto timed_step = [&](LayerCache& cache) {
    const auto t0 = std::chrono::steady_clock::now();
    step(cache);
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  };
  bool flip = false;
  for (auto _ : state) {  // paired() with the refills outside the timed calls
    state.PauseTiming();
    refill(bf16);
    refill(other);
    state.ResumeTiming();
    double ta, tb;
    if (flip) {
      tb = timed_step(other);
      ta = timed_step(bf16);
    } else {
      ta = timed_step(bf16);
      tb = timed_step(other);
    }
    flip = !flip;
    a.push_back(ta);
    b.push_back(tb);
    ratio.push_back(tb / ta);
  }
  state.counters["bf16_ms"] = median(a);
  state.counters["other_ms"] = median(b);
  state.counters["ratio"] = median(ratio);
  state.SetLabel("qwen1.5b layer, bf16 vs " + std::string(dtype_name(type)) + ", 1 thread");
}
BENCHMARK(BM_RkvStepPaired)->Arg(2)->Arg(3)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_AttendHead(benchmark::State& state) {
  const DType type = kTypes[state.range(0)];
  const int64_t n = state.range(1);
  const HeadCache cache(type, n);
  const std::vector<float> q = normal_values(kGroup * kHeadDim, 3);
  std::vector<float> out(q.size()), scratch;
  for (auto _ : state) {
    attend(q.data(), kGroup, kHeadDim, cache.view, n, 0, 0.088f, out.data(), scratch);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(cache.keys.size() + cache.values.size()));
  state.SetLabel(std::string(dtype_name(type)) + " " + isa_name(active_isa()));
}
BENCHMARK(BM_AttendHead)->ArgsProduct({{0, 1, 2, 3}, {1152, 8192}})->Unit(benchmark::kMicrosecond)->UseRealTime();

// A sequence's caches holding `cached` tokens of random K/V in every layer
// (the weights are what they are; attention reads the cache as any other).
std::vector<LayerCache> filled_caches(const Model& model, DType type, int64_t cached) {
  const auto& c = model.config();
  auto caches = model.make_caches(cached + 256, type, 256);
  const int64_t kv_dim = c.n_kv_heads * c.head_dim;
  std::vector<int32_t> positions(static_cast<size_t>(cached));
  for (int64_t j = 0; j < cached; ++j) positions[static_cast<size_t>(j)] = static_cast<int32_t>(j);
  const auto k = normal_values(static_cast<size_t>(cached * kv_dim), 4), v = normal_values(k.size(), 5);
  for (auto& cache : caches) cache.append(k.data(), v.data(), positions.data(), cached);
  return caches;
}

// One decode step after `cached` tokens, bf16 cache vs `type` (each step
// appends its token: 8192 + the steps timed, < 1% more).
void decode_paired(benchmark::State& state, std::shared_ptr<Model> model, DType type, int64_t cached) {
  ThreadPool pool(2);
  auto bf16 = filled_caches(*model, DType::BF16, cached), other = filled_caches(*model, type, cached);
  std::vector<float> logits(static_cast<size_t>(model->config().vocab_size));
  const int32_t token = 17;
  auto step = [&](std::vector<LayerCache>& caches) {
    const int32_t pos = static_cast<int32_t>(caches[0].size());
    model->forward(&token, &pos, 1, caches, logits.data(), false, pool);
  };
  paired(state, [&] { step(bf16); }, [&] { step(other); });
  state.SetLabel("bf16 vs " + std::string(dtype_name(type)) + " cache, " + std::to_string(cached) + " cached tokens, 2 threads");
}

// ---- the redundancy pass on q8_0 keys, two ways ----

struct Q8Keys {
  std::vector<uint8_t> rows;  // [n] q8_0 rows
  std::vector<float> dequantized;  // [n][d]
};

Q8Keys q8_keys() {
  // as bench_compression: a shared direction plus noise, every 5th key a near-copy
  std::mt19937 rng(42);
  std::normal_distribution<float> normal(0, 1);
  std::vector<float> k(static_cast<size_t>(kRows) * kHeadDim);
  for (int64_t j = 0; j < kRows; ++j)
    for (int c = 0; c < kHeadDim; ++c)
      k[j * kHeadDim + c] = (j % 5 == 4) ? k[(j - 3) * kHeadDim + c] + 0.2f * normal(rng) : normal(rng) + (c % 8 == 0 ? 2.0f : 0.0f);
  Q8Keys q;
  q.rows.resize(kv_row_bytes(DType::Q8_0, kHeadDim) * kRows);
  kv_rows_from_f32(k.data(), kRows, kHeadDim, DType::Q8_0, q.rows.data());
  q.dequantized.resize(k.size());
  kv_rows_to_f32(DType::Q8_0, q.rows.data(), kRows, kHeadDim, q.dequantized.data());
  return q;
}

// The int8 alternative, single thread, AVX-512 VNNI: S[a][b] = s_a s_b (c_a . c_b)
// with s = row scale / |dequantized row|, the code products exact in int32
// (vpdpbusd on codes + 128, corrected by 128 x the column's code sum); the same
// upper-triangle 8 x 32 tiles and per-entry fold (column sums, last similar
// index) as the shipped kernel, then R = softmax(mean_a S). The retained-entry
// correction (O(n d)) is left out of both the timing and the comparison.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni"))) void redundancy_int8(const Q8Keys& keys, int64_t n, int d,
                                                                                            float threshold, std::vector<double>& colsum,
                                                                                            std::vector<int32_t>& last) {
  constexpr int MR = 8, NR = 32;
  const size_t rb = kv_row_bytes(DType::Q8_0, d);
  const int64_t n_rows = (n + MR - 1) / MR * MR, n_cols = (n + NR - 1) / NR * NR;
  std::vector<uint8_t> a_u8(static_cast<size_t>(n_rows) * d, 128);    // [n_rows][d] codes + 128
  std::vector<int8_t> b_panel(static_cast<size_t>(n_cols) * d, 0);     // [d/4][n_cols][4] codes
  std::vector<int32_t> code_sum(static_cast<size_t>(n_cols), 0);       // [n_cols]
  std::vector<float> s(static_cast<size_t>(n_cols), 0.0f);             // [n_cols] row scale / |k|
  for (int64_t i = 0; i < n; ++i) {
    const auto* codes = reinterpret_cast<const int8_t*>(keys.rows.data() + i * rb);
    uint16_t h;
    std::memcpy(&h, keys.rows.data() + i * rb + d, 2);
    float sq = 0;
    for (int c = 0; c < d; ++c) sq += keys.dequantized[i * d + c] * keys.dequantized[i * d + c];
    s[i] = f16_to_f32(h) / (std::sqrt(sq) + 1e-8f);
    for (int c = 0; c < d; ++c) {
      a_u8[i * d + c] = static_cast<uint8_t>(codes[c] + 128);
      b_panel[(static_cast<size_t>(c / 4) * n_cols + i) * 4 + c % 4] = codes[c];
      code_sum[i] += codes[c];
    }
  }
  std::vector<float> col(static_cast<size_t>(n), 0.0f);
  last.assign(static_cast<size_t>(n), -1);
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512 thr = _mm512_set1_ps(threshold);
  const __m512i n_vec = _mm512_set1_epi32(static_cast<int32_t>(n));
  for (int64_t a0 = 0; a0 < n; a0 += MR) {
    for (int64_t b0 = a0 / NR * NR; b0 < n; b0 += NR) {
      __m512i acc[MR][2];
      for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_si512();
      for (int k4 = 0; k4 < d / 4; ++k4) {
        const int8_t* bp = b_panel.data() + (static_cast<size_t>(k4) * n_cols + b0) * 4;
        const __m512i b_lo = _mm512_loadu_si512(bp), b_hi = _mm512_loadu_si512(bp + 64);
        for (int r = 0; r < MR; ++r) {
          int32_t a4;
          std::memcpy(&a4, a_u8.data() + (a0 + r) * d + 4 * k4, 4);
          const __m512i av = _mm512_set1_epi32(a4);
          acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], av, b_lo);
          acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], av, b_hi);
        }
      }
      for (int r = 0; r < MR; ++r) {
        const int64_t a = a0 + r;
        if (a >= n) break;
        const __m512i a_vec = _mm512_set1_epi32(static_cast<int32_t>(a));
        float rowsum = 0;
        for (int hh = 0; hh < 2; ++hh) {
          const int64_t c0 = b0 + 16 * hh;
          if (c0 >= n) break;
          const __m512i cols = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int32_t>(c0)), lane);
          const __mmask16 valid = _mm512_cmpgt_epi32_mask(cols, a_vec) & _mm512_cmplt_epi32_mask(cols, n_vec);
          if (!valid) continue;
          const __m512i exact = _mm512_sub_epi32(acc[r][hh], _mm512_slli_epi32(_mm512_loadu_si512(code_sum.data() + c0), 7));
          const __m512 sv = _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(exact), _mm512_loadu_ps(s.data() + c0)),
                                          _mm512_set1_ps(s[a]));
          __m512 cs = _mm512_maskz_loadu_ps(valid, col.data() + c0);
          cs = _mm512_mask_add_ps(cs, valid, cs, sv);
          _mm512_mask_storeu_ps(col.data() + c0, valid, cs);
          rowsum += _mm512_mask_reduce_add_ps(valid, sv);
          const __mmask16 similar = _mm512_mask_cmp_ps_mask(valid, sv, thr, _CMP_GT_OQ);
          if (similar) {
            const int top = 31 - __builtin_clz(static_cast<unsigned>(similar));
            last[a] = std::max<int32_t>(last[a], static_cast<int32_t>(c0 + top));
            __m512i lv = _mm512_mask_loadu_epi32(_mm512_set1_epi32(-1), similar, last.data() + c0);
            lv = _mm512_max_epi32(lv, a_vec);
            _mm512_mask_storeu_epi32(last.data() + c0, similar, lv);
          }
        }
        col[a] += rowsum;
      }
    }
  }
  colsum.assign(col.begin(), col.end());
}

std::vector<float> softmax_of_means(const std::vector<double>& colsum) {
  const double n = static_cast<double>(colsum.size());
  double peak = -INFINITY, total = 0;
  for (double c : colsum) peak = std::max(peak, c / n);
  std::vector<double> e(colsum.size());
  for (size_t b = 0; b < colsum.size(); ++b) total += e[b] = std::exp(colsum[b] / n - peak);
  std::vector<float> out(colsum.size());
  for (size_t b = 0; b < colsum.size(); ++b) out[b] = static_cast<float>(e[b] / total);
  return out;
}

// The 1024 - 8 least redundant of the first n - 8 slots (what R alone would keep).
std::vector<int32_t> least_redundant(const std::vector<float>& r) {
  std::vector<int32_t> idx(r.size() - 8);
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<int32_t>(i);
  std::partial_sort(idx.begin(), idx.begin() + 1016, idx.end(), [&](int32_t a, int32_t b) { return r[a] < r[b] || (r[a] == r[b] && a < b); });
  idx.resize(1016);
  std::sort(idx.begin(), idx.end());
  return idx;
}

// bf16_ms: the shipped pass (dequantize, f32 tiles); other_ms: the int8 prototype.
void BM_RedundancyPaired(benchmark::State& state) {
  if (!cpu_features().avx512_vnni) {
    state.SkipWithError("no AVX-512 VNNI");
    return;
  }
  const Q8Keys keys = q8_keys();
  ThreadPool pool(1);
  std::vector<float> shipped(static_cast<size_t>(kRows)), k(keys.dequantized.size()), r;
  std::vector<double> colsum;
  std::vector<int32_t> last;
  paired(
      state,
      [&] {
        kv_rows_to_f32(DType::Q8_0, keys.rows.data(), kRows, kHeadDim, k.data());
        key_redundancy(k.data(), kRows, kHeadDim, RedundancyOptions{RetainDirection::First}, shipped.data(), pool);
      },
      [&] {
        redundancy_int8(keys, kRows, kHeadDim, 0.5f, colsum, last);
        r = softmax_of_means(colsum);
      });
  // Agreement. retain_direction first zeroes S[a][0] in every row, which only
  // moves column 0; R[b] / R[1] for b >= 1 depends neither on it nor on the
  // softmax's normalisation, so compare those, and the slots R alone would
  // keep with column 0 pinned in both.
  double max_rel = 0;
  for (int64_t b = 2; b < kRows; ++b)
    max_rel = std::max(max_rel, std::fabs(static_cast<double>(r[b]) / r[1] / (static_cast<double>(shipped[b]) / shipped[1]) - 1.0));
  std::vector<float> shipped_no_col0 = shipped, r_no_col0 = r;
  shipped_no_col0[0] = r_no_col0[0] = 0;
  const auto a = least_redundant(shipped_no_col0), b = least_redundant(r_no_col0);
  std::vector<int32_t> common;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(common));
  state.counters["max_rel_diff_R"] = max_rel;
  state.counters["kept_set_overlap"] = static_cast<double>(common.size()) / static_cast<double>(a.size());
  state.SetLabel("one head, n 1152: dequantized f32 (bf16_ms) vs int8 VNNI (other_ms), 1 thread");
}
BENCHMARK(BM_RedundancyPaired)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace rkv

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (const char* list = std::getenv("RKV_BENCH_MODELS")) {
    std::stringstream ss(list);
    std::string path;
    while (std::getline(ss, path, ',')) {
      std::shared_ptr<rkv::Model> model = rkv::Model::load(path);
      for (rkv::DType type : {rkv::DType::Q8_0, rkv::DType::Q4_0})
        benchmark::RegisterBenchmark(("DecodePaired/" + std::string(rkv::dtype_name(type)) + "/" + path).c_str(),
                                     rkv::decode_paired, model, type, int64_t{8192})
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime()
            ->MinTime(5.0);
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
