#include "rkv/ops/norm.h"

#include <cmath>

#include "ops/exp_internal.h"
#include "ops/norm_internal.h"
#include "rkv/core/cpu.h"

namespace rkv {
namespace {

// The reference form, for the vector paths' tails and the portable path.
inline float silu_times(float g, float up) { return g / (1.0f + std::exp(-g)) * up; }

// silu(g) = g / (1 + e^-g) = g s / (1 + t) with t = e^-|g| (never overflows),
// s = 1 for g >= 0 and t below.
RKV_EXP512_TARGET void swiglu_avx512(float* gate, const float* up, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 g = _mm512_loadu_ps(gate + i);
    const __m512 t = internal::exp_nonpositive(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(g)));
    const __mmask16 negative = _mm512_cmp_ps_mask(g, _mm512_setzero_ps(), _CMP_LT_OQ);
    const __m512 s = _mm512_mask_mov_ps(_mm512_set1_ps(1.0f), negative, t);
    const __m512 silu = _mm512_div_ps(_mm512_mul_ps(g, s), _mm512_add_ps(_mm512_set1_ps(1.0f), t));
    _mm512_storeu_ps(gate + i, _mm512_mul_ps(silu, _mm512_loadu_ps(up + i)));
  }
  for (; i < n; ++i) gate[i] = silu_times(gate[i], up[i]);
}

RKV_EXP256_TARGET void swiglu_avx2(float* gate, const float* up, int64_t n) {
  const __m256 sign = _mm256_set1_ps(-0.0f), one = _mm256_set1_ps(1.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 t = internal::exp_nonpositive8(_mm256_or_ps(g, sign));  // e^-|g|
    const __m256 s = _mm256_blendv_ps(one, t, _mm256_cmp_ps(g, _mm256_setzero_ps(), _CMP_LT_OQ));
    const __m256 silu = _mm256_div_ps(_mm256_mul_ps(g, s), _mm256_add_ps(one, t));
    _mm256_storeu_ps(gate + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
  }
  for (; i < n; ++i) gate[i] = silu_times(gate[i], up[i]);
}

}  // namespace

void rmsnorm(const float* x, const float* weight, float* out, int64_t n_rows, int64_t dim, float eps) {
  for (int64_t t = 0; t < n_rows; ++t) {
    const float* xr = x + t * dim;
    float* o = out + t * dim;
    double ss = 0;
    for (int64_t i = 0; i < dim; ++i) ss += static_cast<double>(xr[i]) * xr[i];
    const float inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(dim) + eps));
    for (int64_t i = 0; i < dim; ++i) o[i] = weight[i] * (xr[i] * inv);
  }
}

void swiglu(float* gate, const float* up, int64_t n) { internal::swiglu_isa(active_isa(), gate, up, n); }

namespace internal {

void swiglu_isa(Isa isa, float* gate, const float* up, int64_t n) {
  if (isa == Isa::Avx512) return swiglu_avx512(gate, up, n);
  if (isa == Isa::Avx2) return swiglu_avx2(gate, up, n);
  for (int64_t i = 0; i < n; ++i) gate[i] = silu_times(gate[i], up[i]);
}

}  // namespace internal
}  // namespace rkv
