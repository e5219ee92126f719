#include "rkv/ops/redundancy.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "rkv/core/cpu.h"
#include "rkv/core/error.h"
#include "ops/redundancy_internal.h"

namespace rkv {
namespace {

// Rows of S handled by one work unit; each unit owns partial column sums so
// that the result does not depend on how units are spread over threads.
constexpr int64_t kUnitRows = 64;
constexpr int kColumnPad = 32;  // widest tile (AVX-512: 32 columns)

// Normalised keys in the two layouts the tile kernels read.
struct KeyPanels {
  int64_t n = 0, n_rows = 0, n_cols = 0;  // n_rows, n_cols: padded
  int d = 0;
  std::vector<float> rows;  // [n_rows][d], zero rows past n
  std::vector<float> cols;  // [d][n_cols], zero columns past n
};

KeyPanels normalise(const float* keys, int64_t n, int d) {
  KeyPanels p;
  p.n = n;
  p.d = d;
  p.n_rows = (n + kUnitRows - 1) / kUnitRows * kUnitRows;
  p.n_cols = (n + kColumnPad - 1) / kColumnPad * kColumnPad;
  p.rows.assign(static_cast<size_t>(p.n_rows) * d, 0.0f);
  p.cols.assign(static_cast<size_t>(p.n_cols) * d, 0.0f);
  for (int64_t i = 0; i < n; ++i) {
    const float* k = keys + i * d;
    // torch: k / (k.norm() + 1e-8), the norm in float
    float sq = 0;
    for (int j = 0; j < d; ++j) sq += k[j] * k[j];
    float denom = std::sqrt(sq) + 1e-8f;
    for (int j = 0; j < d; ++j) {
      float v = k[j] / denom;
      p.rows[static_cast<size_t>(i) * d + j] = v;
      p.cols[static_cast<size_t>(j) * p.n_cols + i] = v;
    }
  }
  return p;
}

// Per-unit results: partial column sums of S (upper triangle, mirrored) and
// the largest similar index seen per row/column.
struct UnitPartial {
  std::vector<float> colsum;    // [n]
  std::vector<int32_t> last;    // [n], -1 when no similar entry seen
};

// Folds one computed tile into the unit's partials. tile: [mr][nr] values
// S[a0 + r][b0 + c]; only entries with a < b < n count (upper triangle).
void fold_tile(const float* tile, int mr, int nr, int64_t a0, int64_t b0, int64_t n, float threshold, UnitPartial& u) {
  for (int r = 0; r < mr; ++r) {
    int64_t a = a0 + r;
    if (a >= n) break;
    float rowsum = 0;
    for (int c = 0; c < nr; ++c) {
      int64_t b = b0 + c;
      if (b <= a || b >= n) continue;
      float s = tile[r * nr + c];
      u.colsum[b] += s;
      rowsum += s;
      if (s > threshold) {
        u.last[a] = std::max<int32_t>(u.last[a], static_cast<int32_t>(b));
        u.last[b] = std::max<int32_t>(u.last[b], static_cast<int32_t>(a));
      }
    }
    u.colsum[a] += rowsum;
  }
}

void unit_portable(const KeyPanels& p, int64_t unit, float threshold, UnitPartial& u) {
  constexpr int MR = 4, NR = 16;
  float tile[MR * NR];
  int64_t a_end = std::min(p.n, (unit + 1) * kUnitRows);
  for (int64_t a0 = unit * kUnitRows; a0 < a_end; a0 += MR) {
    for (int64_t b0 = a0 / NR * NR; b0 < p.n; b0 += NR) {
      for (int r = 0; r < MR; ++r)
        for (int c = 0; c < NR; ++c) {
          float acc = 0;
          for (int k = 0; k < p.d; ++k)
            acc = std::fma(p.rows[(a0 + r) * p.d + k], p.cols[static_cast<size_t>(k) * p.n_cols + b0 + c], acc);
          tile[r * NR + c] = acc;
        }
      fold_tile(tile, MR, NR, a0, b0, p.n, threshold, u);
    }
  }
}

__attribute__((target("avx2,fma"))) void unit_avx2(const KeyPanels& p, int64_t unit, float threshold, UnitPartial& u) {
  constexpr int MR = 4, NR = 16;
  alignas(32) float tile[MR * NR];
  int64_t a_end = std::min(p.n, (unit + 1) * kUnitRows);
  for (int64_t a0 = unit * kUnitRows; a0 < a_end; a0 += MR) {
    const float* arow = p.rows.data() + a0 * p.d;
    for (int64_t b0 = a0 / NR * NR; b0 < p.n; b0 += NR) {
      __m256 acc[MR][2];
      for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
      const float* bcol = p.cols.data() + b0;
      for (int k = 0; k < p.d; ++k) {
        __m256 b_lo = _mm256_loadu_ps(bcol + static_cast<size_t>(k) * p.n_cols);
        __m256 b_hi = _mm256_loadu_ps(bcol + static_cast<size_t>(k) * p.n_cols + 8);
        for (int r = 0; r < MR; ++r) {
          __m256 a = _mm256_broadcast_ss(arow + r * p.d + k);
          acc[r][0] = _mm256_fmadd_ps(a, b_lo, acc[r][0]);
          acc[r][1] = _mm256_fmadd_ps(a, b_hi, acc[r][1]);
        }
      }
      for (int r = 0; r < MR; ++r) {
        _mm256_store_ps(tile + r * NR, acc[r][0]);
        _mm256_store_ps(tile + r * NR + 8, acc[r][1]);
      }
      fold_tile(tile, MR, NR, a0, b0, p.n, threshold, u);
    }
  }
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma"))) void unit_avx512(const KeyPanels& p, int64_t unit,
                                                                                     float threshold, UnitPartial& u) {
  constexpr int MR = 8, NR = 32;
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512 thr = _mm512_set1_ps(threshold);
  const __m512i n_vec = _mm512_set1_epi32(static_cast<int32_t>(p.n));
  float* colsum = u.colsum.data();
  int32_t* last = u.last.data();
  int64_t a_end = std::min(p.n, (unit + 1) * kUnitRows);
  for (int64_t a0 = unit * kUnitRows; a0 < a_end; a0 += MR) {
    const float* arow = p.rows.data() + a0 * p.d;
    for (int64_t b0 = a0 / NR * NR; b0 < p.n; b0 += NR) {
      __m512 acc[MR][2];
      for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
      const float* bcol = p.cols.data() + b0;
      for (int k = 0; k < p.d; ++k) {
        __m512 b_lo = _mm512_loadu_ps(bcol + static_cast<size_t>(k) * p.n_cols);
        __m512 b_hi = _mm512_loadu_ps(bcol + static_cast<size_t>(k) * p.n_cols + 16);
        for (int r = 0; r < MR; ++r) {
          __m512 a = _mm512_set1_ps(arow[r * p.d + k]);
          acc[r][0] = _mm512_fmadd_ps(a, b_lo, acc[r][0]);
          acc[r][1] = _mm512_fmadd_ps(a, b_hi, acc[r][1]);
        }
      }
      for (int r = 0; r < MR; ++r) {
        int64_t a = a0 + r;
        if (a >= p.n) break;
        const __m512i a_vec = _mm512_set1_epi32(static_cast<int32_t>(a));
        float rowsum = 0;
        for (int h = 0; h < 2; ++h) {
          int64_t c0 = b0 + 16 * h;
          if (c0 >= p.n) break;
          __m512i cols = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int32_t>(c0)), lane);
          __mmask16 valid = _mm512_cmpgt_epi32_mask(cols, a_vec) & _mm512_cmplt_epi32_mask(cols, n_vec);
          if (!valid) continue;
          __m512 s = acc[r][h];
          // Column sums must be bitwise what fold_tile computes: one add per entry.
          __m512 cs = _mm512_maskz_loadu_ps(valid, colsum + c0);
          cs = _mm512_mask_add_ps(cs, valid, cs, s);
          _mm512_mask_storeu_ps(colsum + c0, valid, cs);
          rowsum += _mm512_mask_reduce_add_ps(valid, s);
          __mmask16 similar = _mm512_mask_cmp_ps_mask(valid, s, thr, _CMP_GT_OQ);
          if (similar) {
            int top = 31 - __builtin_clz(static_cast<unsigned>(similar));
            last[a] = std::max<int32_t>(last[a], static_cast<int32_t>(c0 + top));
            __m512i lv = _mm512_mask_loadu_epi32(_mm512_set1_epi32(-1), similar, last + c0);
            lv = _mm512_max_epi32(lv, a_vec);
            _mm512_mask_storeu_epi32(last + c0, similar, lv);
          }
        }
        colsum[a] += rowsum;
      }
    }
  }
}

// out[p] = S[a_p][b_p] for each pair, as the same sequential fused
// multiply-add chain over d the tile kernels compute (bitwise equal). Eight
// independent chains at a time so the FMA latency is hidden.
// always_inline: compiled inside each caller, so std::fma becomes the FMA
// instruction in pair_dots_hw and the exact libm call in the portable one.
__attribute__((always_inline)) inline void pair_dots(const KeyPanels& p, const std::vector<std::pair<int64_t, int64_t>>& pairs, std::vector<float>& out) {
  out.resize(pairs.size());
  constexpr size_t kLanes = 8;
  for (size_t i0 = 0; i0 < pairs.size(); i0 += kLanes) {
    size_t lanes = std::min(kLanes, pairs.size() - i0);
    const float* x[kLanes];
    const float* y[kLanes];
    float acc[kLanes] = {};
    for (size_t l = 0; l < kLanes; ++l) {
      size_t i = i0 + std::min(l, lanes - 1);
      x[l] = &p.rows[pairs[i].first * p.d];
      y[l] = &p.rows[pairs[i].second * p.d];
    }
    for (int k = 0; k < p.d; ++k)
      for (size_t l = 0; l < kLanes; ++l) acc[l] = std::fma(x[l][k], y[l][k], acc[l]);
    for (size_t l = 0; l < lanes; ++l) out[i0 + l] = pairs[i0 + l].first == pairs[i0 + l].second ? 0.0f : acc[l];
  }
}

__attribute__((target("fma"))) void pair_dots_hw(const KeyPanels& p, const std::vector<std::pair<int64_t, int64_t>>& pairs,
                                                 std::vector<float>& out) {
  pair_dots(p, pairs, out);
}

void pair_dots_portable(const KeyPanels& p, const std::vector<std::pair<int64_t, int64_t>>& pairs, std::vector<float>& out) {
  pair_dots(p, pairs, out);
}

}  // namespace

namespace internal {

void key_redundancy_isa(const float* keys, int64_t n, int d, const RedundancyOptions& options, float* out,
                        ThreadPool& pool, Isa isa) {
  RKV_CHECK(n > 0 && d > 0, "key_redundancy: empty keys");
  RKV_CHECK(options.retain_ratio > 0 && options.retain_ratio <= 1, "retain_ratio must be in (0, 1]");
  KeyPanels p = normalise(keys, n, d);
  const int64_t n_units = (n + kUnitRows - 1) / kUnitRows;
  std::vector<UnitPartial> units(static_cast<size_t>(n_units));
  const int threads = pool.size();
  // Unit u costs ~ (n - 64u): interleave units over threads to balance the triangle.
  pool.parallel_for(threads, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t)
      for (int64_t unit = t; unit < n_units; unit += threads) {
        UnitPartial& u = units[static_cast<size_t>(unit)];
        u.colsum.assign(static_cast<size_t>(n), 0.0f);
        u.last.assign(static_cast<size_t>(n), -1);
        if (isa == Isa::Avx512) unit_avx512(p, unit, options.threshold, u);
        else if (isa == Isa::Avx2) unit_avx2(p, unit, options.threshold, u);
        else unit_portable(p, unit, options.threshold, u);
      }
  });
  std::vector<double> colsum(static_cast<size_t>(n), 0.0);
  std::vector<int32_t> last(static_cast<size_t>(n), -1);
  for (const auto& u : units)
    for (int64_t b = 0; b < n; ++b) {
      colsum[b] += u.colsum[b];
      last[b] = std::max(last[b], u.last[b]);
    }

  // The retained (zeroed) entry of each row, exactly where the reference's
  // scatter_ puts it (RKV-SPEC.md §1.4; the *_percent quirk touches rows < k).
  std::vector<std::pair<int64_t, int64_t>> zeroed;  // (row, column)
  std::vector<float> values;
  auto dots = [&](const std::vector<std::pair<int64_t, int64_t>>& pairs, std::vector<float>& out) {
    if (isa == Isa::Scalar) pair_dots_portable(p, pairs, out);
    else pair_dots_hw(p, pairs, out);
  };
  const int64_t k = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(n) * options.retain_ratio));
  switch (options.direction) {
    case RetainDirection::Last:
      for (int64_t a = 0; a < n; ++a) zeroed.emplace_back(a, last[a] >= 0 ? last[a] : 0);
      break;
    case RetainDirection::First:
      // min over {b if S[a][b] > t else 0} is always 0: S[a][a] = 0 is never similar.
      for (int64_t a = 0; a < n; ++a) zeroed.emplace_back(a, 0);
      break;
    case RetainDirection::LastPercent:
    case RetainDirection::FirstPercent: {
      bool last_dir = options.direction == RetainDirection::LastPercent;
      int64_t row = last_dir ? 0 : n - 1;
      std::vector<std::pair<int64_t, int64_t>> row_pairs;
      for (int64_t b = 0; b < n; ++b) row_pairs.emplace_back(row, b);
      dots(row_pairs, values);
      std::vector<int64_t> idx(static_cast<size_t>(n));
      for (int64_t b = 0; b < n; ++b) idx[b] = values[b] > options.threshold ? b : 0;
      if (last_dir) std::sort(idx.begin(), idx.end(), std::greater<>());
      else std::sort(idx.begin(), idx.end());
      for (int64_t a = 0; a < k; ++a) zeroed.emplace_back(a, idx[a]);
      break;
    }
  }
  dots(zeroed, values);
  for (size_t i = 0; i < zeroed.size(); ++i) colsum[zeroed[i].second] -= values[i];
  // R = softmax(colsum / n)
  double max_mean = -INFINITY;
  for (int64_t b = 0; b < n; ++b) max_mean = std::max(max_mean, colsum[b] / n);
  double total = 0;
  std::vector<double> e(static_cast<size_t>(n));
  for (int64_t b = 0; b < n; ++b) total += e[b] = std::exp(colsum[b] / n - max_mean);
  for (int64_t b = 0; b < n; ++b) out[b] = static_cast<float>(e[b] / total);
}

}  // namespace internal

void key_redundancy(const float* keys, int64_t n, int d, const RedundancyOptions& options, float* out, ThreadPool& pool) {
  internal::key_redundancy_isa(keys, n, d, options, out, pool, active_isa());
}

}  // namespace rkv
