#include "rkv/ops/vec.h"

#include <immintrin.h>

#include "rkv/core/cpu.h"

namespace rkv {
namespace {

void dot_rows_portable(const float* x, const float* rows, int64_t n_rows, int d, float* out) {
  for (int64_t r = 0; r < n_rows; ++r) {
    const float* row = rows + r * d;
    float acc = 0;
    for (int c = 0; c < d; ++c) acc += x[c] * row[c];
    out[r] = acc;
  }
}

__attribute__((target("avx2,fma"))) void dot_rows_avx2(const float* x, const float* rows, int64_t n_rows, int d, float* out) {
  for (int64_t r = 0; r < n_rows; ++r) {
    const float* row = rows + r * d;
    __m256 acc = _mm256_setzero_ps();
    int c = 0;
    for (; c + 8 <= d; c += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(x + c), _mm256_loadu_ps(row + c), acc);
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    float total = _mm_cvtss_f32(s);
    for (; c < d; ++c) total += x[c] * row[c];
    out[r] = total;
  }
}

__attribute__((target("avx512f,avx512dq,fma"))) void dot_rows_avx512(const float* x, const float* rows, int64_t n_rows,
                                                                       int d, float* out) {
  for (int64_t r = 0; r < n_rows; ++r) {
    const float* row = rows + r * d;
    __m512 acc = _mm512_setzero_ps();
    int c = 0;
    for (; c + 16 <= d; c += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(x + c), _mm512_loadu_ps(row + c), acc);
    if (c < d) {
      __mmask16 tail = static_cast<__mmask16>((1u << (d - c)) - 1);
      acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, x + c), _mm512_maskz_loadu_ps(tail, row + c), acc);
    }
    out[r] = _mm512_reduce_add_ps(acc);
  }
}

}  // namespace

void dot_rows(const float* x, const float* rows, int64_t n_rows, int d, float* out) {
  switch (active_isa()) {
    case Isa::Avx512: return dot_rows_avx512(x, rows, n_rows, d, out);
    case Isa::Avx2: return dot_rows_avx2(x, rows, n_rows, d, out);
    default: return dot_rows_portable(x, rows, n_rows, d, out);
  }
}

}  // namespace rkv
