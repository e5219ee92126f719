#include "rkv/ops/attention.h"

// GCC 12 warns about _mm256_undefined_* inside its own AVX-512 headers.
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "ops/attention_internal.h"
#include "ops/exp_internal.h"
#include "rkv/core/cpu.h"
#include "rkv/core/error.h"
#include "rkv/ops/kv_row.h"
#include "rkv/ops/vec.h"

namespace rkv {
namespace {

using internal::exp_nonpositive;
using internal::exp_nonpositive8;

// How the kernels address one cache row of the view (ops/kv_row.h).
struct RowFormat {
  DType type;
  size_t row_bytes;     // bytes between rows
  size_t scale_offset;  // q8_0 / q4_0: where the f16 scales start
  const float* value_scales = nullptr;  // q8_0 in the vector paths: [n] value row scales
};

RowFormat format_of(DType type, int head_dim) {
  return {type, kv_row_bytes(type, head_dim), kv_scale_offset(type, head_dim)};
}

// Every vector path has F16C: scales convert with one instruction.
#define RKV_F16C_TARGET __attribute__((target("f16c")))

RKV_F16C_TARGET inline float f16_at(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

// q8_0's one scale per row, applied once per row by the kernels (1 for the
// other types: f32/f16/bf16 carry none, q4_0's block scales are applied as
// the values are loaded).
RKV_F16C_TARGET inline float row_scale(const uint8_t* row, const RowFormat& f) {
  return f.type == DType::Q8_0 ? f16_at(row + f.scale_offset) : 1.0f;
}

// q4_0 in the vector paths: blocks of 32 (head_dim % 32 == 0), so a chunk of
// 16 (or 8) values lies in one block and one nibble half; at most
// kMaxBlocks blocks, whose scales a kernel converts once per row.
constexpr int kMaxBlocks = 16;
inline bool vector_paths_take(DType type, int head_dim, int lanes) {
  return head_dim % lanes == 0 && (type != DType::Q4_0 || (head_dim % 32 == 0 && head_dim / 32 <= kMaxBlocks));
}

// The q4_0 block scales of one row as f32 (nothing for the other types).
RKV_F16C_TARGET inline void block_scales(const uint8_t* row, const RowFormat& f, int head_dim, float* out) {
  if (f.type != DType::Q4_0) return;
  const uint8_t* s = row + f.scale_offset;
  for (int b = 0; b < head_dim / 32; b += 4) {
    uint64_t four = 0;  // up to 4 f16 scales
    std::memcpy(&four, s + 2 * b, std::min(4, head_dim / 32 - b) * 2);
    _mm_storeu_ps(out + b, _mm_cvtph_ps(_mm_cvtsi64_si128(static_cast<long long>(four))));
  }
}

// Which rows a query at `pos` sees (the others score -inf): visible[j], j < n.
void visible_rows(const KvHeadView& kv, int64_t pos, int64_t window, std::vector<uint8_t>& visible) {
  visible.resize(static_cast<size_t>(kv.n));
  for (int64_t j = 0; j < kv.n; ++j) {
    const int64_t p = kv.positions[j];
    visible[static_cast<size_t>(j)] = p <= pos && (window <= 0 || pos - p < window);
  }
}

// q8_0: the scale of every value row, [n] (what the softmax's last pass
// multiplies the probabilities by, so that P.V reads bare codes).
RKV_F16C_TARGET void value_row_scales(const KvHeadView& kv, const RowFormat& f, std::vector<float>& out) {
  const auto* vb = static_cast<const uint8_t*>(kv.values);
  out.resize(static_cast<size_t>(kv.n));
  for (int64_t j = 0; j < kv.n; ++j) out[static_cast<size_t>(j)] = row_scale(vb + f.row_bytes * static_cast<size_t>(j), f);
}

// ---- AVX-512 attention: cache rows converted in registers, exp vectorized,
// P.V accumulated with the group's output columns held in registers.

#define RKV_ATTN_TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c")))

// Values c..c+15 of a row as f32 (q8_0: the bare codes; the row scale is the
// caller's; q4_0: scaled by `scales`, the row's block scales).
RKV_ATTN_TARGET inline __m512 load16(const uint8_t* row, int c, const RowFormat& f, const float* scales) {
  switch (f.type) {
    case DType::F32: return _mm512_loadu_ps(row + 4 * static_cast<size_t>(c));
    case DType::F16: return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 2 * static_cast<size_t>(c))));
    case DType::BF16: {
      const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 2 * static_cast<size_t>(c)));
      return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
    case DType::Q8_0: return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + c))));
    default: {  // Q4_0, blocks of 32: values 0-15 in the low nibbles of the block's 16 bytes, 16-31 in the high ones
      const int block = c / 32;
      __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 16 * static_cast<size_t>(block)));
      if (c % 32) bytes = _mm_srli_epi16(bytes, 4);
      const __m512i codes = _mm512_cvtepu8_epi32(_mm_and_si128(bytes, _mm_set1_epi8(15)));
      const __m512 centred = _mm512_cvtepi32_ps(_mm512_sub_epi32(codes, _mm512_set1_epi32(8)));
      return _mm512_mul_ps(centred, _mm512_set1_ps(scales[block]));
    }
  }
}

// softmax(x) * post (elementwise) when post is given.
RKV_ATTN_TARGET void softmax_avx512(float* x, int64_t n, const float* post) {
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
  if (post) {
    for (i = 0; i + 16 <= n; i += 16)
      _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_mul_ps(_mm512_loadu_ps(x + i), inv), _mm512_loadu_ps(post + i)));
    for (; i < n; ++i) x[i] = x[i] * _mm512_cvtss_f32(inv) * post[i];
    return;
  }
  for (i = 0; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_loadu_ps(x + i), inv));
  for (; i < n; ++i) x[i] *= _mm512_cvtss_f32(inv);
}

// scores[g][j] = scale * q[g] . k_j for G query heads (hd a multiple of 16).
template <int G>
RKV_ATTN_TARGET void scores_avx512(const float* q, int hd, const KvHeadView& kv, const RowFormat& f,
                                   const uint8_t* visible, float scale, float* scores, int64_t ld) {
  const auto* kb = static_cast<const uint8_t*>(kv.keys);
  for (int64_t j = 0; j < kv.n; ++j) {
    if (!visible[j]) {
      for (int g = 0; g < G; ++g) scores[g * ld + j] = -std::numeric_limits<float>::infinity();
      continue;
    }
    __m512 acc[G];
    for (int g = 0; g < G; ++g) acc[g] = _mm512_setzero_ps();
    const uint8_t* k = kb + f.row_bytes * static_cast<size_t>(j);
    float scales[kMaxBlocks];
    block_scales(k, f, hd, scales);
    for (int c = 0; c < hd; c += 16) {
      const __m512 kc = load16(k, c, f, scales);
      for (int g = 0; g < G; ++g) acc[g] = _mm512_fmadd_ps(kc, _mm512_loadu_ps(q + g * hd + c), acc[g]);
    }
    const float s = scale * row_scale(k, f);
    for (int g = 0; g < G; ++g) scores[g * ld + j] = _mm512_reduce_add_ps(acc[g]) * s;
  }
}

// out[g] = sum_j p[g][j] v_j for G heads, W zmm (16 columns each) at a time
// (q8_0: p already carries the value row scales).
template <int G, int W>
RKV_ATTN_TARGET void weighted_values_avx512(const float* p, int64_t ld, int hd, const KvHeadView& kv, const RowFormat& f,
                                            float* out) {
  const auto* vb = static_cast<const uint8_t*>(kv.values);
  for (int c0 = 0; c0 < hd; c0 += 16 * W) {
    __m512 acc[G][W];
    for (int g = 0; g < G; ++g)
      for (int w = 0; w < W; ++w) acc[g][w] = _mm512_setzero_ps();
    for (int64_t j = 0; j < kv.n; ++j) {
      const uint8_t* v = vb + f.row_bytes * static_cast<size_t>(j);
      float scales[kMaxBlocks];
      block_scales(v, f, hd, scales);
      __m512 vv[W];
      for (int w = 0; w < W; ++w) vv[w] = load16(v, c0 + 16 * w, f, scales);
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
void heads_avx512(const float* q, int hd, const KvHeadView& kv, const RowFormat& f, const uint8_t* visible, float scale,
                  float* scores, int64_t ld, float* out) {
  scores_avx512<G>(q, hd, kv, f, visible, scale, scores, ld);
  for (int g = 0; g < G; ++g) softmax_avx512(scores + g * ld, kv.n, f.value_scales);
  constexpr int kW = G <= 3 ? 8 : G <= 6 ? 4 : 2;
  int w = kW;
  while ((hd / 16) % w != 0) w /= 2;
  switch (w) {
    case 8: return weighted_values_avx512<G, (kW >= 8 ? 8 : 1)>(scores, ld, hd, kv, f, out);
    case 4: return weighted_values_avx512<G, (kW >= 4 ? 4 : 1)>(scores, ld, hd, kv, f, out);
    case 2: return weighted_values_avx512<G, 2>(scores, ld, hd, kv, f, out);
    default: return weighted_values_avx512<G, 1>(scores, ld, hd, kv, f, out);
  }
}

using HeadsFn = void (*)(const float*, int, const KvHeadView&, const RowFormat&, const uint8_t*, float, float*, int64_t,
                         float*);
constexpr HeadsFn kHeads512[8] = {heads_avx512<1>, heads_avx512<2>, heads_avx512<3>, heads_avx512<4>,
                                  heads_avx512<5>, heads_avx512<6>, heads_avx512<7>, heads_avx512<8>};

// ---- AVX2 attention: the same structure, 8 lanes, 16 registers.

#define RKV_ATTN2_TARGET __attribute__((target("avx2,fma,f16c")))

RKV_ATTN2_TARGET inline __m256 load8(const uint8_t* row, int c, const RowFormat& f, const float* scales) {
  switch (f.type) {
    case DType::F32: return _mm256_loadu_ps(reinterpret_cast<const float*>(row + 4 * static_cast<size_t>(c)));
    case DType::F16: return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * static_cast<size_t>(c))));
    case DType::BF16: {
      const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * static_cast<size_t>(c)));
      return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }
    case DType::Q8_0: return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(row + c))));
    default: {  // Q4_0, blocks of 32: value o < 16 in the low nibble of byte o, o >= 16 in the high nibble of byte o - 16
      const int block = c / 32, o = c % 32;
      __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(row + 16 * static_cast<size_t>(block) + (o % 16)));
      if (o >= 16) bytes = _mm_srli_epi16(bytes, 4);
      const __m256i codes = _mm256_cvtepu8_epi32(_mm_and_si128(bytes, _mm_set1_epi8(15)));
      const __m256 centred = _mm256_cvtepi32_ps(_mm256_sub_epi32(codes, _mm256_set1_epi32(8)));
      return _mm256_mul_ps(centred, _mm256_set1_ps(scales[block]));
    }
  }
}

RKV_ATTN2_TARGET inline float reduce_add8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

RKV_ATTN2_TARGET void softmax_avx2(float* x, int64_t n, const float* post) {
  __m256 m = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + i));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, m);
  float mx = *std::max_element(lanes, lanes + 8);
  for (int64_t k = i; k < n; ++k) mx = std::max(mx, x[k]);
  if (mx == -std::numeric_limits<float>::infinity()) {  // nothing visible
    std::fill(x, x + n, 0.0f);
    return;
  }
  const __m256 mv = _mm256_set1_ps(mx);
  __m256 sum = _mm256_setzero_ps();
  for (i = 0; i + 8 <= n; i += 8) {
    const __m256 e = exp_nonpositive8(_mm256_sub_ps(_mm256_loadu_ps(x + i), mv));
    _mm256_storeu_ps(x + i, e);
    sum = _mm256_add_ps(sum, e);
  }
  float total = reduce_add8(sum);
  for (; i < n; ++i) {
    _mm256_store_ps(lanes, exp_nonpositive8(_mm256_set1_ps(x[i] - mx)));
    total += x[i] = lanes[0];
  }
  const float inv = 1.0f / total;
  const __m256 iv = _mm256_set1_ps(inv);
  if (post) {
    for (i = 0; i + 8 <= n; i += 8)
      _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), iv), _mm256_loadu_ps(post + i)));
    for (; i < n; ++i) x[i] = x[i] * inv * post[i];
    return;
  }
  for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), iv));
  for (; i < n; ++i) x[i] *= inv;
}

template <int G>
RKV_ATTN2_TARGET void scores_avx2(const float* q, int hd, const KvHeadView& kv, const RowFormat& f, const uint8_t* visible,
                                  float scale, float* scores, int64_t ld) {
  const auto* kb = static_cast<const uint8_t*>(kv.keys);
  for (int64_t j = 0; j < kv.n; ++j) {
    if (!visible[j]) {
      for (int g = 0; g < G; ++g) scores[g * ld + j] = -std::numeric_limits<float>::infinity();
      continue;
    }
    __m256 acc[G];
    for (int g = 0; g < G; ++g) acc[g] = _mm256_setzero_ps();
    const uint8_t* k = kb + f.row_bytes * static_cast<size_t>(j);
    float scales[kMaxBlocks];
    block_scales(k, f, hd, scales);
    for (int c = 0; c < hd; c += 8) {
      const __m256 kc = load8(k, c, f, scales);
      for (int g = 0; g < G; ++g) acc[g] = _mm256_fmadd_ps(kc, _mm256_loadu_ps(q + g * hd + c), acc[g]);
    }
    const float s = scale * row_scale(k, f);
    for (int g = 0; g < G; ++g) scores[g * ld + j] = reduce_add8(acc[g]) * s;
  }
}

template <int G, int W>
RKV_ATTN2_TARGET void weighted_values_avx2(const float* p, int64_t ld, int hd, const KvHeadView& kv, const RowFormat& f,
                                           float* out) {
  const auto* vb = static_cast<const uint8_t*>(kv.values);
  for (int c0 = 0; c0 < hd; c0 += 8 * W) {
    __m256 acc[G][W];
    for (int g = 0; g < G; ++g)
      for (int w = 0; w < W; ++w) acc[g][w] = _mm256_setzero_ps();
    for (int64_t j = 0; j < kv.n; ++j) {
      const uint8_t* v = vb + f.row_bytes * static_cast<size_t>(j);
      float scales[kMaxBlocks];
      block_scales(v, f, hd, scales);
      __m256 vv[W];
      for (int w = 0; w < W; ++w) vv[w] = load8(v, c0 + 8 * w, f, scales);
      for (int g = 0; g < G; ++g) {
        const __m256 pg = _mm256_set1_ps(p[g * ld + j]);
        for (int w = 0; w < W; ++w) acc[g][w] = _mm256_fmadd_ps(pg, vv[w], acc[g][w]);
      }
    }
    for (int g = 0; g < G; ++g)
      for (int w = 0; w < W; ++w) _mm256_storeu_ps(out + g * hd + c0 + 8 * w, acc[g][w]);
  }
}

// Up to 8 query heads at a time; W ymm of columns per pass so that the
// G x W accumulators, W values and a broadcast fit in 16 registers.
template <int G>
void heads_avx2(const float* q, int hd, const KvHeadView& kv, const RowFormat& f, const uint8_t* visible, float scale,
                float* scores, int64_t ld, float* out) {
  scores_avx2<G>(q, hd, kv, f, visible, scale, scores, ld);
  for (int g = 0; g < G; ++g) softmax_avx2(scores + g * ld, kv.n, f.value_scales);
  constexpr int kW = G <= 2 ? 4 : G <= 4 ? 2 : 1;
  int w = kW;
  while ((hd / 8) % w != 0) w /= 2;
  switch (w) {
    case 4: return weighted_values_avx2<G, (kW >= 4 ? 4 : 1)>(scores, ld, hd, kv, f, out);
    case 2: return weighted_values_avx2<G, (kW >= 2 ? 2 : 1)>(scores, ld, hd, kv, f, out);
    default: return weighted_values_avx2<G, 1>(scores, ld, hd, kv, f, out);
  }
}

constexpr HeadsFn kHeads256[8] = {heads_avx2<1>, heads_avx2<2>, heads_avx2<3>, heads_avx2<4>,
                                  heads_avx2<5>, heads_avx2<6>, heads_avx2<7>, heads_avx2<8>};

// The vector paths: groups of up to 8 query heads through `heads`.
void attend_vector(const HeadsFn (&heads)[8], const float* q, int group, int head_dim, const KvHeadView& kv, int64_t pos,
                   int64_t window, float scale, float* out, std::vector<float>& scratch) {
  const int64_t n = kv.n;
  RowFormat f = format_of(kv.type, head_dim);
  scratch.resize(static_cast<size_t>(group) * n);  // [group][n] scores
  float* scores = scratch.data();
  thread_local std::vector<uint8_t> visible;  // [n]
  visible_rows(kv, pos, window, visible);
  thread_local std::vector<float> value_scales;  // [n] (q8_0)
  if (kv.type == DType::Q8_0) {
    value_row_scales(kv, f, value_scales);
    f.value_scales = value_scales.data();
  }
  for (int g0 = 0; g0 < group; g0 += 8) {
    const int gs = std::min(8, group - g0);
    heads[gs - 1](q + static_cast<int64_t>(g0) * head_dim, head_dim, kv, f, visible.data(), scale, scores + g0 * n, n,
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

void internal::attend_isa(Isa isa, const float* q, int group, int head_dim, const KvHeadView& kv, int64_t pos,
                          int64_t window, float scale, float* out, std::vector<float>& scratch) {
  RKV_CHECK(is_kv_type(kv.type), "attention: cache type ", dtype_name(kv.type), " is not supported");
  const CpuFeatures& cpu = cpu_features();
  if (kv.n > 0 && cpu.f16c) {
    if (isa == Isa::Avx512 && vector_paths_take(kv.type, head_dim, 16))
      return attend_vector(kHeads512, q, group, head_dim, kv, pos, window, scale, out, scratch);
    if (isa >= Isa::Avx2 && vector_paths_take(kv.type, head_dim, 8))
      return attend_vector(kHeads256, q, group, head_dim, kv, pos, window, scale, out, scratch);
  }
  attend_reference(q, group, head_dim, kv, pos, window, scale, out, scratch);
}

void attend(const float* q, int group, int head_dim, const KvHeadView& kv, int64_t pos, int64_t window, float scale,
            float* out, std::vector<float>& scratch) {
  internal::attend_isa(active_isa(), q, group, head_dim, kv, pos, window, scale, out, scratch);
}

void attend_reference(const float* q, int group, int head_dim, const KvHeadView& kv, int64_t pos, int64_t window,
                      float scale, float* out, std::vector<float>& scratch) {
  const int64_t n = kv.n;
  const RowFormat f = format_of(kv.type, head_dim);
  // scratch: [group][n] scores, then [head_dim] converted row.
  scratch.resize(static_cast<size_t>(group) * n + static_cast<size_t>(head_dim) + 1);
  float* scores = scratch.data();
  float* row = scratch.data() + static_cast<size_t>(group) * n;
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const auto* kb = static_cast<const uint8_t*>(kv.keys);
  const auto* vb = static_cast<const uint8_t*>(kv.values);
  // Row j of `base` as f32: in place for f32, else dequantized into `row`.
  auto row_f32 = [&](const uint8_t* base, int64_t j) -> const float* {
    const uint8_t* r = base + static_cast<size_t>(j) * f.row_bytes;
    if (kv.type == DType::F32) return reinterpret_cast<const float*>(r);
    kv_rows_to_f32(kv.type, r, 1, head_dim, row);
    return row;
  };
  for (int64_t j = 0; j < n; ++j) {
    const int64_t p = kv.positions[j];
    const bool visible = p <= pos && (window <= 0 || pos - p < window);
    if (!visible) {
      for (int g = 0; g < group; ++g) scores[g * n + j] = neg_inf;
      continue;
    }
    const float* k = row_f32(kb, j);
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
    const float* v = row_f32(vb, j);
    for (int g = 0; g < group; ++g) {
      const float p = scores[g * n + j];
      if (p == 0.0f) continue;
      float* o = out + static_cast<int64_t>(g) * head_dim;
      for (int d = 0; d < head_dim; ++d) o[d] += p * v[d];
    }
  }
}

}  // namespace rkv
