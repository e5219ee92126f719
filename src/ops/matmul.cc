// matmul: y = W x for f32 / f16 / bf16 / GGUF block weights.
//
// Fast path: each thread takes a contiguous range of output rows; rows are
// processed in tiles of kTile, a tile is turned into f32 once (dequantized
// into a thread-local scratch, or used in place for f32) and then dotted with
// every token, so prefill reuses each dequantized row for all tokens.
// Decode of quantized weights uses fused dequantize-dot kernels per type.
// GCC 12 warns about _mm256_undefined_* inside its own AVX-512 headers.
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "ops/quant_internal.h"
#include "rkv/core/error.h"
#include "rkv/ops/matmul.h"

namespace rkv {
namespace {

constexpr int kTile = 4;

void check(const WeightMatrix& w) {
  RKV_CHECK(w.data != nullptr || w.rows * w.cols == 0, "matmul: weight has no data");
  RKV_CHECK(w.rows >= 0 && w.cols >= 0, "matmul: bad shape");
  (void)dtype_row_bytes(w.type, w.cols);  // throws for a partial block
}

// ---- dot kernels: out[j] = x . rows[j] for j < 4

void dot4_portable(const float* x, const float* const* rows, int64_t n, float* out) {
  for (int j = 0; j < kTile; ++j) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t c = 0;
    for (; c + 8 <= n; c += 8)
      for (int l = 0; l < 8; ++l) acc[l] += x[c + l] * rows[j][c + l];
    float s = 0;
    for (int l = 0; l < 8; ++l) s += acc[l];
    for (; c < n; ++c) s += x[c] * rows[j][c];
    out[j] = s;
  }
}

__attribute__((target("avx2,fma"))) inline float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma"))) void dot4_avx2(const float* x, const float* const* rows, int64_t n, float* out) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  const float *r0 = rows[0], *r1 = rows[1], *r2 = rows[2], *r3 = rows[3];
  int64_t c = 0;
  for (; c + 8 <= n; c += 8) {
    __m256 xv = _mm256_loadu_ps(x + c);
    a0 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(r0 + c), a0);
    a1 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(r1 + c), a1);
    a2 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(r2 + c), a2);
    a3 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(r3 + c), a3);
  }
  float s[4] = {hsum256(a0), hsum256(a1), hsum256(a2), hsum256(a3)};
  for (; c < n; ++c) {
    s[0] += x[c] * r0[c];
    s[1] += x[c] * r1[c];
    s[2] += x[c] * r2[c];
    s[3] += x[c] * r3[c];
  }
  for (int j = 0; j < 4; ++j) out[j] = s[j];
}

__attribute__((target("avx512f,avx512dq,avx2,fma"))) inline float hsum512(__m512 v) {
  __m256 s = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  return hsum256(s);
}

__attribute__((target("avx512f,avx512dq,avx2,fma"))) void dot4_avx512(const float* x, const float* const* rows, int64_t n,
                                                                   float* out) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  const float *r0 = rows[0], *r1 = rows[1], *r2 = rows[2], *r3 = rows[3];
  int64_t c = 0;
  for (; c + 16 <= n; c += 16) {
    __m512 xv = _mm512_loadu_ps(x + c);
    a0 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(r0 + c), a0);
    a1 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(r1 + c), a1);
    a2 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(r2 + c), a2);
    a3 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(r3 + c), a3);
  }
  float s[4] = {hsum512(a0), hsum512(a1), hsum512(a2), hsum512(a3)};
  for (; c < n; ++c) {
    s[0] += x[c] * r0[c];
    s[1] += x[c] * r1[c];
    s[2] += x[c] * r2[c];
    s[3] += x[c] * r3[c];
  }
  for (int j = 0; j < 4; ++j) out[j] = s[j];
}

using Dot4 = void (*)(const float*, const float* const*, int64_t, float*);

Dot4 pick_dot4(Isa isa) {
  isa = std::min(isa, best_isa());
  if (isa == Isa::Avx512) return dot4_avx512;
  if (isa == Isa::Avx2) return dot4_avx2;
  return dot4_portable;
}

void matmul_rows(const WeightMatrix& w, const float* x, float* y, int64_t n_tokens, int64_t r_begin, int64_t r_end,
                 Dot4 dot4) {
  thread_local std::vector<float> scratch;  // [kTile][cols] dequantized rows
  const size_t row_bytes = dtype_row_bytes(w.type, w.cols);
  const uint8_t* base = static_cast<const uint8_t*>(w.data);
  if (w.type != DType::F32 && scratch.size() < static_cast<size_t>(kTile * w.cols)) scratch.resize(kTile * w.cols);
  static const float zero_row_dummy = 0;
  (void)zero_row_dummy;
  for (int64_t r = r_begin; r < r_end; r += kTile) {
    const int nr = static_cast<int>(std::min<int64_t>(kTile, r_end - r));
    const float* rows[kTile];
    for (int j = 0; j < kTile; ++j) {
      int64_t rr = r + std::min(j, nr - 1);  // a short tile repeats its last row
      if (w.type == DType::F32) {
        rows[j] = reinterpret_cast<const float*>(base + static_cast<size_t>(rr) * row_bytes);
      } else {
        float* dst = scratch.data() + j * w.cols;
        if (j < nr) quant::dequantize(w.type, base + static_cast<size_t>(rr) * row_bytes, dst, w.cols);
        rows[j] = j < nr ? dst : rows[nr - 1];
      }
    }
    for (int64_t t = 0; t < n_tokens; ++t) {
      float out[kTile];
      dot4(x + t * w.cols, rows, w.cols, out);
      for (int j = 0; j < nr; ++j) y[t * w.rows + r + j] = out[j];
    }
  }
}

}  // namespace

void matmul_isa(Isa isa, const WeightMatrix& w, const float* x, float* y, int64_t n_tokens, ThreadPool& pool) {
  check(w);
  if (n_tokens <= 0 || w.rows == 0) return;
  if (w.cols == 0) {
    std::fill(y, y + n_tokens * w.rows, 0.0f);
    return;
  }
  Dot4 dot4 = pick_dot4(isa);
  const int64_t tiles = (w.rows + kTile - 1) / kTile;
  pool.parallel_for(tiles, [&](int64_t b, int64_t e) {
    matmul_rows(w, x, y, n_tokens, b * kTile, std::min(w.rows, e * kTile), dot4);
  });
}

void matmul(const WeightMatrix& w, const float* x, float* y, int64_t n_tokens, ThreadPool& pool) {
  matmul_isa(active_isa(), w, x, y, n_tokens, pool);
}

void matmul_reference(const WeightMatrix& w, const float* x, float* y, int64_t n_tokens) {
  check(w);
  std::vector<float> row(static_cast<size_t>(w.cols));
  for (int64_t r = 0; r < w.rows; ++r) {
    if (w.cols > 0) dequantize_row(w, r, row.data());
    for (int64_t t = 0; t < n_tokens; ++t) {
      double acc = 0;
      for (int64_t c = 0; c < w.cols; ++c) acc += static_cast<double>(row[c]) * x[t * w.cols + c];
      y[t * w.rows + r] = static_cast<float>(acc);
    }
  }
}

}  // namespace rkv
