#include "rkv/ops/attention.h"

// GCC 12 warns about _mm256_undefined_* inside its own AVX-512 headers.
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "rkv/core/cpu.h"
#include "rkv/core/error.h"
#include "rkv/ops/vec.h"

namespace rkv {
namespace {

// ---- AVX-512 attention: cache rows converted in registers, exp vectorized,
// P.V accumulated with the group's output columns held in registers.

#define RKV_ATTN_TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c")))

// 16 cache elements of `type` at p as f32.
RKV_ATTN_TARGET inline __m512 load16(const uint8_t* p, DType type) {
  if (type == DType::F32) return _mm512_loadu_ps(p);
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  if (type == DType::F16) return _mm512_cvtph_ps(h);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// e^x for x <= 0 (softmax arguments; -inf -> 0): 2^n * p(r), r = x - n ln2,
// |r| <= ln2 / 2, degree-6 Taylor polynomial (relative error < 2e-7).
RKV_ATTN_TARGET inline __m512 exp_nonpositive(__m512 x) {
  const __mmask16 finite = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.0f), _CMP_GE_OQ);
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187045e-06f), r);
  __m512 p = _mm512_set1_ps(1.0f / 720);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_maskz_mov_ps(finite, _mm512_scalef_ps(p, n));
}

RKV_ATTN_TARGET void softmax_avx512(float* x, int64_t n) {
  __m512 m = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) m = _mm512_max_ps(m, _mm512_loadu_ps(x + i));
  float mx = _mm512_reduce_max_ps(m);
  for (int64_t k = i; k < n; ++k) mx = std::max(mx, x[k]);
  if (mx == -std::numeric_limits<float>::infinity()) {  // nothing visible
    std::fill(x, x + n, 0.0f);
    return;
  }
  const __m512 mv = _mm512_set1_ps(mx);
  __m512 sum = _mm512_setzero_ps();
  for (i = 0; i + 16 <= n; i += 16) {
    const __m512 e = exp_nonpositive(_mm512_sub_ps(_mm512_loadu_ps(x + i), mv));
    _mm512_storeu_ps(x + i, e);
    sum = _mm512_add_ps(sum, e);
  }
  if (i < n) {
    const __mmask16 tail = static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 e = _mm512_maskz_mov_ps(tail, exp_nonpositive(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, x + i), mv)));
    _mm512_mask_storeu_ps(x + i, tail, e);
    sum = _mm512_add_ps(sum, e);
  }
  const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
  for (i = 0; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_loadu_ps(x + i), inv));
  for (; i < n; ++i) x[i] *= _mm512_cvtss_f32(inv);
}

// scores[g][j] = scale * q[g] . k_j for G query heads (hd a multiple of 16).
template <int G>
RKV_ATTN_TARGET void scores_avx512(const float* q, int hd, const KvHeadView& kv, const uint8_t* visible, float scale,
                                   float* scores, int64_t ld) {
  const auto* kb = static_cast<const uint8_t*>(kv.keys);
  const size_t es = dtype_size(kv.type), rb = es * static_cast<size_t>(hd);
  for (int64_t j = 0; j < kv.n; ++j) {
    if (!visible[j]) {
      for (int g = 0; g < G; ++g) scores[g * ld + j] = -std::numeric_limits<float>::infinity();
      continue;
    }
    __m512 acc[G];
    for (int g = 0; g < G; ++g) acc[g] = _mm512_setzero_ps();
    const uint8_t* k = kb + rb * static_cast<size_t>(j);
    for (int c = 0; c < hd; c += 16) {
      const __m512 kc = load16(k + es * static_cast<size_t>(c), kv.type);
      for (int g = 0; g < G; ++g) acc[g] = _mm512_fmadd_ps(kc, _mm512_loadu_ps(q + g * hd + c), acc[g]);
    }
    for (int g = 0; g < G; ++g) scores[g * ld + j] = _mm512_reduce_add_ps(acc[g]) * scale;
  }
}

// out[g] = sum_j p[g][j] v_j for G heads, W zmm (16 columns each) at a time.
template <int G, int W>
RKV_ATTN_TARGET void weighted_values_avx512(const float* p, int64_t ld, int hd, const KvHeadView& kv, float* out) {
  const auto* vb = static_cast<const uint8_t*>(kv.values);
  const size_t es = dtype_size(kv.type), rb = es * static_cast<size_t>(hd);
  for (int c0 = 0; c0 < hd; c0 += 16 * W) {
    __m512 acc[G][W];
    for (int g = 0; g < G; ++g)
      for (int w = 0; w < W; ++w) acc[g][w] = _mm512_setzero_ps();
    for (int64_t j = 0; j < kv.n; ++j) {
      const uint8_t* v = vb + rb * static_cast<size_t>(j) + es * static_cast<size_t>(c0);
      __m512 vv[W];
      for (int w = 0; w < W; ++w) vv[w] = load16(v + es * static_cast<size_t>(16 * w), kv.type);
      for (int g = 0; g < G; ++g) {
        const __m512 pg = _mm512_set1_ps(p[g * ld + j]);
        for (int w = 0; w < W; ++w) acc[g][w] = _mm512_fmadd_ps(pg, vv[w], acc[g][w]);
      }
    }
    for (int g = 0; g < G; ++g)
      for (int w = 0; w < W; ++w) _mm512_storeu_ps(out + g * hd + c0 + 16 * w, acc[g][w]);
  }
}

// Up to 8 query heads at a time; W: as many columns as ~24 accumulators allow
// (a power of two dividing hd / 16).
template <int G>
void heads_avx512(const float* q, int hd, const KvHeadView& kv, const uint8_t* visible, float scale, float* scores,
                  int64_t ld, float* out) {
  scores_avx512<G>(q, hd, kv, visible, scale, scores, ld);
  for (int g = 0; g < G; ++g) softmax_avx512(scores + g * ld, kv.n);
  constexpr int kW = G <= 3 ? 8 : G <= 6 ? 4 : 2;
  int w = kW;
  while ((hd / 16) % w != 0) w /= 2;
  switch (w) {
    case 8: return weighted_values_avx512<G, (kW >= 8 ? 8 : 1)>(scores, ld, hd, kv, out);
    case 4: return weighted_values_avx512<G, (kW >= 4 ? 4 : 1)>(scores, ld, hd, kv, out);
    case 2: return weighted_values_avx512<G, 2>(scores, ld, hd, kv, out);
    default: return weighted_values_avx512<G, 1>(scores, ld, hd, kv, out);
  }
}

using HeadsFn = void (*)(const float*, int, const KvHeadView&, const uint8_t*, float, float*, int64_t, float*);
constexpr HeadsFn kHeads[8] = {heads_avx512<1>, heads_avx512<2>, heads_avx512<3>, heads_avx512<4>,
                               heads_avx512<5>, heads_avx512<6>, heads_avx512<7>, heads_avx512<8>};

void attend_avx512(const float* q, int group, int head_dim, const KvHeadView& kv, int64_t pos, int64_t window,
                   float scale, float* out, std::vector<float>& scratch) {
  const int64_t n = kv.n;
  scratch.resize(static_cast<size_t>(group) * n);  // [group][n] scores
  float* scores = scratch.data();
  thread_local std::vector<uint8_t> visible_rows;  // [n]
  visible_rows.resize(static_cast<size_t>(n));
  uint8_t* visible = visible_rows.data();
  for (int64_t j = 0; j < n; ++j) {
    const int64_t p = kv.positions[j];
    visible[j] = p <= pos && (window <= 0 || pos - p < window);
  }
  for (int g0 = 0; g0 < group; g0 += 8) {
    const int gs = std::min(8, group - g0);
    kHeads[gs - 1](q + static_cast<int64_t>(g0) * head_dim, head_dim, kv, visible, scale, scores + g0 * n, n,
                   out + static_cast<int64_t>(g0) * head_dim);
  }
}

}  // namespace

void softmax(float* x, int64_t n) {
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) mx = std::max(mx, x[i]);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float e = x[i] == -std::numeric_limits<float>::infinity() ? 0.0f : std::exp(x[i] - mx);
    x[i] = e;
    sum += e;
  }
  const float inv = sum > 0 ? static_cast<float>(1.0 / sum) : 0.0f;
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void attend(const float* q, int group, int head_dim, const KvHeadView& kv, int64_t pos, int64_t window, float scale,
            float* out, std::vector<float>& scratch) {
  RKV_CHECK(kv.type == DType::F32 || kv.type == DType::F16 || kv.type == DType::BF16, "attention: cache type ",
            dtype_name(kv.type), " is not supported");
  if (active_isa() == Isa::Avx512 && head_dim % 16 == 0 && kv.n > 0 && cpu_features().f16c)
    return attend_avx512(q, group, head_dim, kv, pos, window, scale, out, scratch);
  attend_reference(q, group, head_dim, kv, pos, window, scale, out, scratch);
}

void attend_reference(const float* q, int group, int head_dim, const KvHeadView& kv, int64_t pos, int64_t window,
                      float scale, float* out, std::vector<float>& scratch) {
  const int64_t n = kv.n;
  const size_t es = dtype_size(kv.type);
  // scratch: [group][n] scores, then [head_dim] converted row.
  scratch.resize(static_cast<size_t>(group) * n + static_cast<size_t>(head_dim) + 1);
  float* scores = scratch.data();
  float* row = scratch.data() + static_cast<size_t>(group) * n;
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const auto* kb = static_cast<const uint8_t*>(kv.keys);
  const auto* vb = static_cast<const uint8_t*>(kv.values);
  for (int64_t j = 0; j < n; ++j) {
    const int64_t p = kv.positions[j];
    const bool visible = p <= pos && (window <= 0 || pos - p < window);
    if (!visible) {
      for (int g = 0; g < group; ++g) scores[g * n + j] = neg_inf;
      continue;
    }
    const float* k;
    if (kv.type == DType::F32) {
      k = reinterpret_cast<const float*>(kb + static_cast<size_t>(j) * head_dim * es);
    } else {
      convert_to_f32(kv.type, kb + static_cast<size_t>(j) * head_dim * es, row, static_cast<size_t>(head_dim));
      k = row;
    }
    float dots[64];
    if (group <= 64) {
      dot_rows(k, q, group, head_dim, dots);
      for (int g = 0; g < group; ++g) scores[g * n + j] = dots[g] * scale;
    } else {
      for (int g = 0; g < group; ++g) {
        float d;
        dot_rows(k, q + static_cast<int64_t>(g) * head_dim, 1, head_dim, &d);
        scores[g * n + j] = d * scale;
      }
    }
  }
  for (int g = 0; g < group; ++g) softmax(scores + g * n, n);
  std::fill(out, out + static_cast<int64_t>(group) * head_dim, 0.0f);
  for (int64_t j = 0; j < n; ++j) {
    const float* v;
    if (kv.type == DType::F32) {
      v = reinterpret_cast<const float*>(vb + static_cast<size_t>(j) * head_dim * es);
    } else {
      convert_to_f32(kv.type, vb + static_cast<size_t>(j) * head_dim * es, row, static_cast<size_t>(head_dim));
      v = row;
    }
    for (int g = 0; g < group; ++g) {
      const float p = scores[g * n + j];
      if (p == 0.0f) continue;
      float* o = out + static_cast<int64_t>(g) * head_dim;
      for (int d = 0; d < head_dim; ++d) o[d] += p * v[d];
    }
  }
}

}  // namespace rkv
