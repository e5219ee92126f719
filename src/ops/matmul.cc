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
#include <array>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "ops/matmul_int8.h"
#include "ops/packed.h"
#include "ops/quant_internal.h"
#include "rkv/core/error.h"
#include "rkv/ops/matmul.h"

namespace rkv {
namespace {

constexpr int kTile = 4;

void check(const WeightMatrix& w) {
  RKV_CHECK(w.data != nullptr || w.packed != nullptr || w.rows * w.cols == 0, "matmul: weight has no data");
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


// ---- quantized-activation path (Q8_0 / Q4_0 / Q4_K weights, AVX2 and up)
//
// x is quantized per 32 elements to int8 with an f32 scale (and the int sum of
// each block), and each weight block is dotted in integers: maddubs(u8, s8)
// then madd to int32, converted and scaled once per 32 elements. This is the
// decode path (memory-bound: 4.5 / 8.5 bits per weight read) and also serves
// prefill, reusing each weight row from L1 for every token.

struct QuantX {
  std::vector<int8_t> q;    // [n_tokens][cols]
  std::vector<float> d;     // [n_tokens][cols / 32]
  std::vector<int32_t> s;   // [n_tokens][cols / 32] sum of q in the block
};

// scale_block: elements sharing one scale (32, or 256 for K-quant weights);
// d: [n_tokens][cols / scale_block], s: [n_tokens][cols / 32].
void quantize_x(const float* x, int64_t n_tokens, int64_t cols, int scale_block, QuantX& out) {
  const int64_t nb = cols / 32, nd = cols / scale_block;
  out.q.resize(static_cast<size_t>(n_tokens * cols));
  out.d.resize(static_cast<size_t>(n_tokens * nd));
  out.s.resize(static_cast<size_t>(n_tokens * nb));
  for (int64_t t = 0; t < n_tokens; ++t)
    for (int64_t b = 0; b < nd; ++b) {
      const float* xb = x + t * cols + b * scale_block;
      float amax = 0;
      for (int i = 0; i < scale_block; ++i) amax = std::max(amax, std::fabs(xb[i]));
      const float d = amax / 127.0f, id = d > 0 ? 1.0f / d : 0.0f;
      int8_t* q = out.q.data() + t * cols + b * scale_block;
      for (int i = 0; i < scale_block; ++i) q[i] = static_cast<int8_t>(std::nearbyint(xb[i] * id));
      out.d[static_cast<size_t>(t * nd + b)] = d;
      for (int k = 0; k < scale_block / 32; ++k) {
        int32_t sum = 0;
        for (int i = 0; i < 32; ++i) sum += q[32 * k + i];
        out.s[static_cast<size_t>(t * nb + b * (scale_block / 32) + k)] = sum;
      }
    }
}

__attribute__((target("avx2,fma,f16c"))) inline float f16_avx(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

__attribute__((target("avx2,fma"))) inline __m256 i32_dot_to_ps(__m256i u8, __m256i s8) {
  const __m256i p16 = _mm256_maddubs_epi16(u8, s8);
  return _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, _mm256_set1_epi16(1)));
}

__attribute__((target("avx2,fma,f16c"))) float dot_q8_0_avx2(const uint8_t* row, const int8_t* xq, const float* xd,
                                                             const int32_t*, int64_t cols) {
  __m256 acc = _mm256_setzero_ps();
  const int64_t nb = cols / 32;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = row + 34 * b;
    const __m256i qv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2));
    const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + 32 * b));
    const __m256 p = i32_dot_to_ps(_mm256_sign_epi8(qv, qv), _mm256_sign_epi8(xv, qv));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(f16_avx(blk) * xd[b]), p, acc);
  }
  return hsum256(acc);
}

__attribute__((target("avx2,fma,f16c"))) float dot_q4_0_avx2(const uint8_t* row, const int8_t* xq, const float* xd,
                                                             const int32_t* xs, int64_t cols) {
  __m256 acc = _mm256_setzero_ps();
  float off = 0;
  const int64_t nb = cols / 32;
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = row + 18 * b;
    const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 2));
    // low nibbles are elements 0..15, high nibbles 16..31
    const __m256i q = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), m4);
    const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + 32 * b));
    const float dd = f16_avx(blk) * xd[b];
    acc = _mm256_fmadd_ps(_mm256_set1_ps(dd), i32_dot_to_ps(q, xv), acc);
    off += dd * 8.0f * static_cast<float>(xs[b]);
  }
  return hsum256(acc) - off;
}

// The twelve scale bytes of a Q4_K / Q5_K block as three u32 words, unpacked
// branch-free into eight 6-bit scales (sc) and eight 6-bit mins (m), byte j =
// sub-block j (the vector form of quant::scale_min_k4):
//   j < 4: sc = s[j] & 63, m = s[j+4] & 63
//   j >= 4: sc = (s[j+4] & 15) | (s[j-4] >> 6) << 4, m = (s[j+4] >> 4) | (s[j] >> 6) << 4
inline void unpack_k4_scales(const uint8_t* s, uint8_t* sc, uint8_t* m) {
  uint32_t u[3];
  std::memcpy(u, s, 12);
  const uint32_t sc_w[2] = {u[0] & 0x3f3f3f3fu, (u[2] & 0x0f0f0f0fu) | (((u[0] >> 6) & 0x03030303u) << 4)};
  const uint32_t m_w[2] = {u[1] & 0x3f3f3f3fu, ((u[2] >> 4) & 0x0f0f0f0fu) | (((u[1] >> 6) & 0x03030303u) << 4)};
  std::memcpy(sc, sc_w, 8);
  std::memcpy(m, m_w, 8);
}

// One Q4_K (Q5: Q5_K) row against up to 8 tokens whose activations share one
// scale per 256 (like the weights' super-blocks): the eight sub-block products
// are combined in int32 with their 6-bit scales, one float FMA per
// super-block. Q5_K adds each element's fifth bit from qh[32] (bit 2c for the
// low nibbles of 32-byte chunk c, bit 2c+1 for the high ones); 5-bit values
// keep maddubs pairs far from int16 saturation (2 * 31 * 127).
template <bool Q5>
__attribute__((target("avx2,fma,f16c"))) void row_q4_k_avx2(const uint8_t* row, const int8_t* xq, const float* xd,
                                                            const int32_t* xs, int64_t cols, int nt, float* out) {
  __m256 acc[8], macc[8];  // scale terms, min terms
  for (int t = 0; t < nt; ++t) {
    acc[t] = _mm256_setzero_ps();
    macc[t] = _mm256_setzero_ps();
  }
  const int64_t nsb = cols / 256, nb = cols / 32;
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  for (int64_t sb = 0; sb < nsb; ++sb) {
    const uint8_t* blk = row + (Q5 ? 176 : 144) * sb;
    _mm_prefetch(reinterpret_cast<const char*>(blk + 1024), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(blk + 1024 + 64), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(blk + 1024 + 128), _MM_HINT_T0);
    const float d = f16_avx(blk), dmin = f16_avx(blk + 2);
    uint8_t sc[8], m[8];
    unpack_k4_scales(blk + 4, sc, m);
    const __m256i mins8 = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(m)));
    const __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(sc))));
    const uint8_t* qs = blk + (Q5 ? 48 : 16);
    __m256i qh = _mm256_setzero_si256();
    if constexpr (Q5) qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 16));
    __m256i lo[4], hi[4], slo[4], shi[4];
    for (int c = 0; c < 4; ++c) {
      const __m256i qv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * c));
      lo[c] = _mm256_and_si256(qv, m4);
      hi[c] = _mm256_and_si256(_mm256_srli_epi16(qv, 4), m4);
      if constexpr (Q5) {
        const __m256i one = _mm256_set1_epi8(1);
        // (qh >> 2c) & 1 per byte: 16-bit shifts, the mask keeps each byte's own bit
        lo[c] = _mm256_or_si256(lo[c], _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), one), 4));
        hi[c] = _mm256_or_si256(hi[c], _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c + 1), one), 4));
      }
      // broadcast scale j to all 16 int16 lanes: pshufb picking bytes (2j, 2j+1)
      slo[c] = _mm256_shuffle_epi8(sc16, _mm256_set1_epi16(static_cast<int16_t>(0x0100 + 0x0202 * (2 * c))));
      shi[c] = _mm256_shuffle_epi8(sc16, _mm256_set1_epi16(static_cast<int16_t>(0x0100 + 0x0202 * (2 * c + 1))));
    }
    for (int t = 0; t < nt; ++t) {
      const int8_t* x = xq + t * cols + 256 * sb;
      const int32_t* xsb = xs + t * nb + 8 * sb;
      __m256i sumi = _mm256_setzero_si256();
      for (int c = 0; c < 4; ++c) {
        const __m256i plo = _mm256_maddubs_epi16(lo[c], _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 64 * c)));
        const __m256i phi = _mm256_maddubs_epi16(hi[c], _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 64 * c + 32)));
        sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(_mm256_madd_epi16(plo, slo[c]), _mm256_madd_epi16(phi, shi[c])));
      }
      const float dx = xd[t * nsb + sb];
      acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d * dx), _mm256_cvtepi32_ps(sumi), acc[t]);
      // min term: dmin * dx * sum_j m[j] * (sum of x in sub-block j)
      const __m256i mx = _mm256_mullo_epi32(mins8, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xsb)));
      macc[t] = _mm256_fmadd_ps(_mm256_set1_ps(dmin * dx), _mm256_cvtepi32_ps(mx), macc[t]);
    }
  }
  for (int t = 0; t < nt; ++t) out[t] = hsum256(_mm256_sub_ps(acc[t], macc[t]));
}

// The AVX-512 form of row_q4_k_avx2: a 32-byte chunk c of qs gives sub-blocks
// 2c (low nibbles) and 2c+1 (high) in one zmm, matching 64 consecutive
// activations; maddubs makes int16 pairs and vpdpwssd multiplies them by the
// sub-block scales (int16 lanes 0-15: scale 2c, 16-31: scale 2c+1) into int32.
template <bool Q5>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c"))) void row_q4_k_avx512(
    const uint8_t* row, const int8_t* xq, const float* xd, const int32_t* xs, int64_t cols, int nt, float* out) {
  __m512 acc[8];
  __m256 macc[8];  // min terms
  for (int t = 0; t < nt; ++t) {
    acc[t] = _mm512_setzero_ps();
    macc[t] = _mm256_setzero_ps();
  }
  const int64_t nsb = cols / 256, nb = cols / 32;
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  __m512i sc_idx[4];  // int16 lane l of chunk c takes scale 2c + l / 16
  for (int c = 0; c < 4; ++c)
    sc_idx[c] = _mm512_inserti64x4(_mm512_set1_epi16(static_cast<int16_t>(2 * c)),
                                   _mm256_set1_epi16(static_cast<int16_t>(2 * c + 1)), 1);
  for (int64_t sb = 0; sb < nsb; ++sb) {
    const uint8_t* blk = row + (Q5 ? 176 : 144) * sb;
    _mm_prefetch(reinterpret_cast<const char*>(blk + 1024), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(blk + 1024 + 64), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(blk + 1024 + 128), _MM_HINT_T0);
    const float d = f16_avx(blk), dmin = f16_avx(blk + 2);
    uint8_t sc[8], m[8];
    unpack_k4_scales(blk + 4, sc, m);
    const __m256i mins8 = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(m)));
    const __m512i sc16 = _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(sc))));
    const uint8_t* qs = blk + (Q5 ? 48 : 16);
    __m256i qh = _mm256_setzero_si256();
    if constexpr (Q5) qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 16));
    __m512i q[4], scv[4];
    for (int c = 0; c < 4; ++c) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * c));
      q[c] = _mm512_and_si512(_mm512_inserti64x4(_mm512_castsi256_si512(v), _mm256_srli_epi16(v, 4), 1), m4);
      if constexpr (Q5) {
        // (qh >> 2c) & 1 and (qh >> 2c+1) & 1 per byte, moved to bit 4
        const __m256i one = _mm256_set1_epi8(1);
        const __m256i b_lo = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), one);
        const __m256i b_hi = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * c + 1), one);
        q[c] = _mm512_or_si512(q[c], _mm512_slli_epi16(_mm512_inserti64x4(_mm512_castsi256_si512(b_lo), b_hi, 1), 4));
      }
      scv[c] = _mm512_permutexvar_epi16(sc_idx[c], sc16);
    }
    for (int t = 0; t < nt; ++t) {
      const int8_t* x = xq + t * cols + 256 * sb;
      __m512i sumi = _mm512_setzero_si512();
      for (int c = 0; c < 4; ++c)
        sumi = _mm512_dpwssd_epi32(sumi, _mm512_maddubs_epi16(q[c], _mm512_loadu_si512(x + 64 * c)), scv[c]);
      const float dx = xd[t * nsb + sb];
      acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(d * dx), _mm512_cvtepi32_ps(sumi), acc[t]);
      const __m256i mx = _mm256_mullo_epi32(mins8, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xs + t * nb + 8 * sb)));
      macc[t] = _mm256_fmadd_ps(_mm256_set1_ps(dmin * dx), _mm256_cvtepi32_ps(mx), macc[t]);
    }
  }
  for (int t = 0; t < nt; ++t) out[t] = hsum512(acc[t]) - hsum256(macc[t]);
}

// One Q6_K row against up to 8 tokens (activations: one scale per 256).
// Per 128-element half: ql[64] low nibbles, qh[32] 2-bit high parts, 8
// int8 scales (one per 16 elements); q - 32 is formed in int16 as
// maddubs(q, x) - maddubs(32, x).
__attribute__((target("avx2,fma,f16c"))) void row_q6_k_avx2(const uint8_t* row, const int8_t* xq, const float* xd,
                                                            const int32_t*, int64_t cols, int nt, float* out) {
  __m256 acc[8];
  for (int t = 0; t < nt; ++t) acc[t] = _mm256_setzero_ps();
  const int64_t nsb = cols / 256;
  const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30), c32 = _mm256_set1_epi8(32);
  for (int64_t sb = 0; sb < nsb; ++sb) {
    const uint8_t* blk = row + 210 * sb;
    const int8_t* sc = reinterpret_cast<const int8_t*>(blk + 192);
    const float d = f16_avx(blk + 208);
    __m256i q[8], sv[8];  // q[4h + k]: elements 128h + 32k .. +31
    for (int h = 0; h < 2; ++h) {
      const __m256i ql0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 64 * h));
      const __m256i ql1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 64 * h + 32));
      const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 128 + 32 * h));
      q[4 * h + 0] = _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30));
      q[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(ql1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30));
      q[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), _mm256_and_si256(qh, m30));
      q[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                                     _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30));
      for (int k = 0; k < 4; ++k)
        sv[4 * h + k] = _mm256_set_m128i(_mm_set1_epi16(sc[8 * h + 2 * k + 1]), _mm_set1_epi16(sc[8 * h + 2 * k]));
    }
    for (int t = 0; t < nt; ++t) {
      const int8_t* x = xq + t * cols + 256 * sb;
      __m256i sumi = _mm256_setzero_si256();
      for (int i = 0; i < 8; ++i) {
        const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 32 * i));
        const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(q[i], xv), _mm256_maddubs_epi16(c32, xv));
        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, sv[i]));
      }
      acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d * xd[t * nsb + sb]), _mm256_cvtepi32_ps(sumi), acc[t]);
    }
  }
  for (int t = 0; t < nt; ++t) out[t] = hsum256(acc[t]);
}

// The AVX-512 form of row_q6_k_avx2: each half's four 32-element groups as
// two zmm of 64 consecutive elements; int16 lane l of zmm p (0..3) takes the
// scale of 16-element sub-block 4p + l / 8.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c"))) void row_q6_k_avx512(
    const uint8_t* row, const int8_t* xq, const float* xd, const int32_t*, int64_t cols, int nt, float* out) {
  __m512 acc[8];
  for (int t = 0; t < nt; ++t) acc[t] = _mm512_setzero_ps();
  const int64_t nsb = cols / 256;
  const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30), c32 = _mm512_set1_epi8(32);
  __m512i sc_idx[4];
  for (int p = 0; p < 4; ++p)
    sc_idx[p] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set_m128i(_mm_set1_epi16(static_cast<int16_t>(4 * p + 1)),
                                                                           _mm_set1_epi16(static_cast<int16_t>(4 * p)))),
                                   _mm256_set_m128i(_mm_set1_epi16(static_cast<int16_t>(4 * p + 3)),
                                                    _mm_set1_epi16(static_cast<int16_t>(4 * p + 2))),
                                   1);
  for (int64_t sb = 0; sb < nsb; ++sb) {
    const uint8_t* blk = row + 210 * sb;
    _mm_prefetch(reinterpret_cast<const char*>(blk + 1024), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(blk + 1024 + 64), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(blk + 1024 + 128), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(blk + 1024 + 192), _MM_HINT_T0);
    const float d = f16_avx(blk + 208);
    const __m512i sc16 =
        _mm512_castsi256_si512(_mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 192))));
    __m512i q[4], scv[4];  // q[2h + k]: elements 128h + 64k .. +63
    for (int h = 0; h < 2; ++h) {
      const __m512i ql = _mm512_loadu_si512(blk + 64 * h);  // [ql0 | ql1]
      const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 128 + 32 * h));
      const __m512i qh2 = _mm512_inserti64x4(_mm512_castsi256_si512(qh), _mm256_srli_epi16(qh, 2), 1);
      q[2 * h] = _mm512_or_si512(_mm512_and_si512(ql, m4), _mm512_and_si512(_mm512_slli_epi16(qh2, 4), m30));
      q[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4), _mm512_and_si512(qh2, m30));
    }
    for (int p = 0; p < 4; ++p) scv[p] = _mm512_permutexvar_epi16(sc_idx[p], sc16);
    for (int t = 0; t < nt; ++t) {
      const int8_t* x = xq + t * cols + 256 * sb;
      __m512i sumi = _mm512_setzero_si512();
      for (int p = 0; p < 4; ++p) {
        const __m512i xv = _mm512_loadu_si512(x + 64 * p);
        // q - 32 in int16 pairs: |2 * 63 * 127| + |2 * 32 * 127| < 32768
        const __m512i pr = _mm512_sub_epi16(_mm512_maddubs_epi16(q[p], xv), _mm512_maddubs_epi16(c32, xv));
        sumi = _mm512_dpwssd_epi32(sumi, pr, scv[p]);
      }
      acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(d * xd[t * nsb + sb]), _mm512_cvtepi32_ps(sumi), acc[t]);
    }
  }
  for (int t = 0; t < nt; ++t) out[t] = hsum512(acc[t]);
}

// Q8_0 on AVX-512 VNNI, two blocks (64 elements) per step: |q| as unsigned
// bytes, the activations negated where q < 0, one vpdpbusd; int32 lanes 0-7
// belong to the first block, 8-15 to the second.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c"))) void row_q8_0_avx512(
    const uint8_t* row, const int8_t* xq, const float* xd, const int32_t* xs, int64_t cols, int nt, float* out) {
  __m512 acc[8];
  for (int t = 0; t < nt; ++t) acc[t] = _mm512_setzero_ps();
  const int64_t nb = cols / 32;
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    const uint8_t* blk = row + 34 * b;
    _mm_prefetch(reinterpret_cast<const char*>(blk + 1024), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(blk + 1024 + 64), _MM_HINT_T0);
    const __m512i q = _mm512_inserti64x4(
        _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2))),
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 36)), 1);
    const __m512i u = _mm512_abs_epi8(q);
    const __mmask64 neg = _mm512_movepi8_mask(q);
    const float d0 = f16_avx(blk), d1 = f16_avx(blk + 34);
    for (int t = 0; t < nt; ++t) {
      const __m512i xv = _mm512_loadu_si512(xq + t * cols + 32 * b);
      const __m512i sx = _mm512_mask_sub_epi8(xv, neg, _mm512_setzero_si512(), xv);
      const __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u, sx);
      const float* dx = xd + t * nb + b;
      const __m512 scale = _mm512_mask_blend_ps(0xFF00, _mm512_set1_ps(d0 * dx[0]), _mm512_set1_ps(d1 * dx[1]));
      acc[t] = _mm512_fmadd_ps(scale, _mm512_cvtepi32_ps(dot), acc[t]);
    }
  }
  for (int t = 0; t < nt; ++t) {
    out[t] = hsum512(acc[t]);
    if (b < nb) out[t] += dot_q8_0_avx2(row + 34 * b, xq + t * cols + 32 * b, xd + t * nb + b, xs + t * nb + b, 32);
  }
}

// Adapts a per-token block dot to the row-against-tokens form.
template <float (*Dot)(const uint8_t*, const int8_t*, const float*, const int32_t*, int64_t)>
void row_from_dot(const uint8_t* row, const int8_t* xq, const float* xd, const int32_t* xs, int64_t cols, int nt,
                  float* out) {
  const int64_t nb = cols / 32;
  for (int t = 0; t < nt; ++t) out[t] = Dot(row, xq + t * cols, xd + t * nb, xs + t * nb, cols);
}

using QDot = void (*)(const uint8_t*, const int8_t*, const float*, const int32_t*, int64_t, int, float*);

QDot pick_qdot(Isa isa, DType t) {
  isa = std::min(isa, best_isa());
  if (isa < Isa::Avx2 || !cpu_features().f16c) return nullptr;
  if (isa == Isa::Avx512 && cpu_features().avx512_vnni && cpu_features().avx512vl) {
    if (t == DType::Q4_K) return row_q4_k_avx512<false>;
    if (t == DType::Q5_K) return row_q4_k_avx512<true>;
    if (t == DType::Q6_K) return row_q6_k_avx512;
    if (t == DType::Q8_0) return row_q8_0_avx512;
  }
  switch (t) {
    case DType::Q8_0: return row_from_dot<dot_q8_0_avx2>;
    case DType::Q4_0: return row_from_dot<dot_q4_0_avx2>;
    case DType::Q4_K: return row_q4_k_avx2<false>;
    case DType::Q5_K: return row_q4_k_avx2<true>;
    case DType::Q6_K: return row_q6_k_avx2;
    default: return nullptr;
  }
}

// ---- fused bf16 / f16 row dots for decode (no scratch round trip)

__attribute__((target("avx2,fma,f16c"))) void dot4_half_avx2(const float* x, const uint8_t* const* rows, int64_t n,
                                                             bool bf16, float* out) {
  __m256 a[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  int64_t c = 0;
  for (; c + 8 <= n; c += 8) {
    const __m256 xv = _mm256_loadu_ps(x + c);
    for (int j = 0; j < 4; ++j) {
      const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[j] + 2 * c));
      const __m256 w = bf16 ? _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)) : _mm256_cvtph_ps(h);
      a[j] = _mm256_fmadd_ps(xv, w, a[j]);
    }
  }
  for (int j = 0; j < 4; ++j) {
    float s = hsum256(a[j]);
    for (int64_t k = c; k < n; ++k) {
      uint16_t h;
      std::memcpy(&h, rows[j] + 2 * k, 2);
      s += x[k] * (bf16 ? bf16_to_f32(h) : f16_to_f32(h));
    }
    out[j] = s;
  }
}

__attribute__((target("avx512f,avx512bw,avx512dq,avx2,fma,f16c"))) void dot4_half_avx512(const float* x,
                                                                                        const uint8_t* const* rows,
                                                                                        int64_t n, bool bf16,
                                                                                        float* out) {
  __m512 a[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
  int64_t c = 0;
  for (; c + 16 <= n; c += 16) {
    const __m512 xv = _mm512_loadu_ps(x + c);
    for (int j = 0; j < 4; ++j) {
      const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows[j] + 2 * c));
      const __m512 w = bf16 ? _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)) : _mm512_cvtph_ps(h);
      a[j] = _mm512_fmadd_ps(xv, w, a[j]);
    }
  }
  for (int j = 0; j < 4; ++j) {
    float s = hsum512(a[j]);
    for (int64_t k = c; k < n; ++k) {
      uint16_t h;
      std::memcpy(&h, rows[j] + 2 * k, 2);
      s += x[k] * (bf16 ? bf16_to_f32(h) : f16_to_f32(h));
    }
    out[j] = s;
  }
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

// ---- blocked f32 GEMM for prefill (F32 / F16 / BF16, n_tokens >= 4)
//
// Each thread takes a contiguous range of rows. Per block of kGemmKc columns
// and kGemmRows rows, the weights are dequantized once and packed as
// [row tile][k][kMr rows] (a short tile padded with zeros); then for every
// tile of up to 12 tokens (AVX2: 6) each packed row tile is multiplied by broadcast
// activations into kMr x NT register accumulators, so a weight block is read
// from L2 once per 12 tokens instead of once per token and no horizontal sums
// are needed. Column blocks after the first add into y (short blocks keep
// the f32 summation chains as short as the dot kernels').

constexpr int64_t kGemmKc = 64;
constexpr int64_t kGemmRows = 256;
// tokens per register tile: 2 x NT accumulators + 2 weight registers must fit
// the register file (32 zmm / 16 ymm)
constexpr int kGemmNr512 = 12, kGemmNr256 = 6;

// acc rows [MR] for each of NT tokens over kc packed columns; out[t][MR].
template <int NT>
__attribute__((target("avx512f,avx2,fma"))) void gemm_tile_avx512(const float* wp, const float* x, int64_t ldx,
                                                                   int64_t kc, float* y, int64_t ldy, int nv,
                                                                   bool add) {
  __m512 a0[NT], a1[NT];
  for (int t = 0; t < NT; ++t) {
    a0[t] = _mm512_setzero_ps();
    a1[t] = _mm512_setzero_ps();
  }
  for (int64_t k = 0; k < kc; ++k) {
    const __m512 w0 = _mm512_loadu_ps(wp + 32 * k), w1 = _mm512_loadu_ps(wp + 32 * k + 16);
    for (int t = 0; t < NT; ++t) {
      const __m512 xv = _mm512_set1_ps(x[t * ldx + k]);
      a0[t] = _mm512_fmadd_ps(w0, xv, a0[t]);
      a1[t] = _mm512_fmadd_ps(w1, xv, a1[t]);
    }
  }
  // y[t][j] (+)= acc for the nv valid rows, masked
  const __mmask16 m0 = static_cast<__mmask16>(nv >= 16 ? 0xFFFF : (1u << nv) - 1);
  const __mmask16 m1 = static_cast<__mmask16>(nv >= 32 ? 0xFFFF : nv <= 16 ? 0 : (1u << (nv - 16)) - 1);
  for (int t = 0; t < NT; ++t) {
    float* yt = y + t * ldy;
    __m512 v0 = a0[t], v1 = a1[t];
    if (add) {
      v0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, yt), v0);
      v1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, yt + 16), v1);
    }
    _mm512_mask_storeu_ps(yt, m0, v0);
    _mm512_mask_storeu_ps(yt + 16, m1, v1);
  }
}

template <int NT>
__attribute__((target("avx2,fma"))) void gemm_tile_avx2(const float* wp, const float* x, int64_t ldx, int64_t kc,
                                                        float* y, int64_t ldy, int nv, bool add) {
  __m256 a0[NT], a1[NT];
  for (int t = 0; t < NT; ++t) {
    a0[t] = _mm256_setzero_ps();
    a1[t] = _mm256_setzero_ps();
  }
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 w0 = _mm256_loadu_ps(wp + 16 * k), w1 = _mm256_loadu_ps(wp + 16 * k + 8);
    for (int t = 0; t < NT; ++t) {
      const __m256 xv = _mm256_broadcast_ss(x + t * ldx + k);
      a0[t] = _mm256_fmadd_ps(w0, xv, a0[t]);
      a1[t] = _mm256_fmadd_ps(w1, xv, a1[t]);
    }
  }
  for (int t = 0; t < NT; ++t) {
    float* yt = y + t * ldy;
    if (nv == 16) {
      __m256 v0 = a0[t], v1 = a1[t];
      if (add) {
        v0 = _mm256_add_ps(_mm256_loadu_ps(yt), v0);
        v1 = _mm256_add_ps(_mm256_loadu_ps(yt + 8), v1);
      }
      _mm256_storeu_ps(yt, v0);
      _mm256_storeu_ps(yt + 8, v1);
    } else {
      alignas(32) float o[16];
      _mm256_store_ps(o, a0[t]);
      _mm256_store_ps(o + 8, a1[t]);
      for (int j = 0; j < nv; ++j) yt[j] = add ? yt[j] + o[j] : o[j];
    }
  }
}

// y: [tokens][ldy] at the tile's first row; nv valid rows; add: y += acc, else y = acc.
using GemmTile = void (*)(const float*, const float*, int64_t, int64_t, float*, int64_t, int, bool);

template <int... N>
constexpr auto gemm_tiles_512(std::integer_sequence<int, N...>) {
  return std::array<GemmTile, sizeof...(N)>{gemm_tile_avx512<N + 1>...};
}
template <int... N>
constexpr auto gemm_tiles_256(std::integer_sequence<int, N...>) {
  return std::array<GemmTile, sizeof...(N)>{gemm_tile_avx2<N + 1>...};
}

GemmTile pick_gemm_tile(bool avx512, int nt) {
  static constexpr auto k512 = gemm_tiles_512(std::make_integer_sequence<int, kGemmNr512>{});
  static constexpr auto k256 = gemm_tiles_256(std::make_integer_sequence<int, kGemmNr256>{});
  return avx512 ? k512[nt - 1] : k256[nt - 1];
}

// Packs a BF16 tile: dst[k][32] = W[row j][k0 + k] for 32 rows at `rows`
// (row stride rb bytes), kc even. One 32-bit gather per 16 rows fetches two
// neighbouring columns: the low half is column k, the high half column k + 1.
__attribute__((target("avx512f,avx2,fma"))) void pack_bf16_avx512(const uint8_t* rows, size_t rb, int64_t kc,
                                                                   float* dst) {
  const __m512i idx = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                         _mm512_set1_epi32(static_cast<int32_t>(rb)));
  const __m512i hi_mask = _mm512_set1_epi32(static_cast<int32_t>(0xFFFF0000u));
  for (int h = 0; h < 2; ++h) {
    const uint8_t* b = rows + rb * static_cast<size_t>(16 * h);
    for (int64_t k = 0; k < kc; k += 2) {
      const __m512i v = _mm512_i32gather_epi32(idx, b + 2 * k, 1);
      _mm512_storeu_ps(dst + 32 * k + 16 * h, _mm512_castsi512_ps(_mm512_slli_epi32(v, 16)));
      _mm512_storeu_ps(dst + 32 * (k + 1) + 16 * h, _mm512_castsi512_ps(_mm512_and_si512(v, hi_mask)));
    }
  }
}

// gather offsets 15 * rb must fit an int32
inline bool rb_fits_gather(size_t rb) { return rb <= (size_t{1} << 26); }

// Rows [r_begin, r_end) of y for all tokens.
void gemm_rows(const WeightMatrix& w, const float* x, float* y, int64_t n_tokens, int64_t r_begin, int64_t r_end,
               bool avx512) {
  const int mr = avx512 ? 32 : 16;
  thread_local std::vector<float> packed;  // [kGemmRows / mr][kc][mr]
  thread_local std::vector<float> tmp;     // [kc] one dequantized row piece
  // column blocks of whole weight blocks (K-quants: 256)
  const int64_t kc_step = (w.type == DType::Q4_K || w.type == DType::Q5_K || w.type == DType::Q6_K) ? 256 : kGemmKc;
  packed.resize(static_cast<size_t>(kGemmRows * kc_step));
  tmp.resize(static_cast<size_t>(kc_step));
  const size_t row_bytes = dtype_row_bytes(w.type, w.cols);
  const auto* base = static_cast<const uint8_t*>(w.data);
  for (int64_t r0 = r_begin; r0 < r_end; r0 += kGemmRows) {
    const int64_t nr = std::min(kGemmRows, r_end - r0);
    const int64_t ntiles = (nr + mr - 1) / mr;
    for (int64_t k0 = 0; k0 < w.cols; k0 += kc_step) {
      const int64_t kc = std::min(kc_step, w.cols - k0);
      const size_t koff = dtype_row_bytes(w.type, k0);
      // pack: packed[tile][k][j] = W[r0 + tile * mr + j][k0 + k]
      const bool fast_pack = avx512 && w.type == DType::BF16 && kc % 2 == 0 &&
                             rb_fits_gather(row_bytes);
      for (int64_t i = 0; i < ntiles * mr; ++i) {
        if (fast_pack && i % mr == 0 && i + mr <= nr) {  // a whole tile at once
          pack_bf16_avx512(base + static_cast<size_t>(r0 + i) * row_bytes + koff, row_bytes, kc,
                           packed.data() + (i / mr) * kc * mr);
          i += mr - 1;
          continue;
        }
        float* dst = packed.data() + (i / mr) * kc * mr + (i % mr);
        if (i < nr) {
          quant::dequantize(w.type, base + static_cast<size_t>(r0 + i) * row_bytes + koff, tmp.data(), kc);
          for (int64_t k = 0; k < kc; ++k) dst[k * mr] = tmp[k];
        } else {
          for (int64_t k = 0; k < kc; ++k) dst[k * mr] = 0.0f;
        }
      }
      const int64_t max_nt = avx512 ? kGemmNr512 : kGemmNr256;
      for (int64_t t0 = 0; t0 < n_tokens; t0 += max_nt) {
        const int nt = static_cast<int>(std::min<int64_t>(max_nt, n_tokens - t0));
        const GemmTile tile = pick_gemm_tile(avx512, nt);
        for (int64_t ti = 0; ti < ntiles; ++ti) {
          const int64_t rr = r0 + ti * mr;
          const int nv = static_cast<int>(std::min<int64_t>(mr, r0 + nr - rr));
          tile(packed.data() + ti * kc * mr, x + t0 * w.cols + k0, w.cols, kc, y + t0 * w.rows + rr, w.rows, nv,
               k0 > 0);
        }
      }
    }
  }
}

// A packed matrix without its original on a path that needs the original:
// unpack row by row (tests of the lower paths; never the model's own path).
void matmul_unpacking(const WeightMatrix& w, const float* x, float* y, int64_t n_tokens, ThreadPool& pool) {
  pool.parallel_for(w.rows, [&](int64_t b, int64_t e) {
    std::vector<float> row(static_cast<size_t>(w.cols));
    for (int64_t r = b; r < e; ++r) {
      packed::dequantize_row(w, r, row.data());
      for (int64_t t = 0; t < n_tokens; ++t) {
        const float* xt = x + t * w.cols;
        double acc = 0;
        for (int64_t c = 0; c < w.cols; ++c) acc += static_cast<double>(row[static_cast<size_t>(c)]) * xt[c];
        y[t * w.rows + r] = static_cast<float>(acc);
      }
    }
  });
}

}  // namespace

size_t packed_weight_bytes(DType type, int64_t rows, int64_t cols) {
  if (!packed::supported(type, cols) || rows <= 0) return 0;
  return static_cast<size_t>(packed::panel_count(rows)) * packed::panel_bytes(type, cols);
}

void pack_weights(const WeightMatrix& w, void* dst, ThreadPool& pool) {
  check(w);
  RKV_CHECK(w.data, "pack_weights: weight has no data");
  packed::pack(w, dst, pool);
}

void matmul_isa(Isa isa, const WeightMatrix& w, const float* x, float* y, int64_t n_tokens, ThreadPool& pool,
                bool amx) {
  check(w);
  if (n_tokens <= 0 || w.rows == 0) return;
  if (w.cols == 0) {
    std::fill(y, y + n_tokens * w.rows, 0.0f);
    return;
  }
  const Isa eff = std::min(isa, best_isa());
  if (w.packed) {
    if (eff == Isa::Avx512 && packed::supported(w.type, w.cols)) {
      packed::matmul(w, x, y, n_tokens, pool, amx && amx_available());
      return;
    }
    if (!w.data) {
      matmul_unpacking(w, x, y, n_tokens, pool);
      return;
    }
  }
  if (eff == Isa::Avx512 && n_tokens >= int8_gemm::kMinTokens && int8_gemm::supports(w.type)) {
    int8_gemm::matmul(w, x, y, n_tokens, pool);
    return;
  }
  if (QDot qdot = pick_qdot(isa, w.type)) {
    thread_local QuantX qx;
    const int scale_block = (w.type == DType::Q4_K || w.type == DType::Q5_K || w.type == DType::Q6_K) ? 256 : 32;
    quantize_x(x, n_tokens, w.cols, scale_block, qx);
    const size_t rb = dtype_row_bytes(w.type, w.cols);
    const int64_t nb = w.cols / 32, nd = w.cols / scale_block;
    const auto* base = static_cast<const uint8_t*>(w.data);
    const QuantX& xq = qx;
    pool.parallel_for(w.rows, [&](int64_t b, int64_t e) {
      // Blocks of 16 rows x 8 tokens: the 8 tokens' activations stay in L1
      // while the block's rows (L2) are each unpacked once per 8 tokens.
      for (int64_t r0 = b; r0 < e; r0 += 16) {
        const int64_t r1 = std::min(e, r0 + 16);
        for (int64_t t0 = 0; t0 < n_tokens; t0 += 8) {
          const int nt = static_cast<int>(std::min<int64_t>(8, n_tokens - t0));
          for (int64_t r = r0; r < r1; ++r) {
            float out[8];
            qdot(base + rb * static_cast<size_t>(r), xq.q.data() + t0 * w.cols, xq.d.data() + t0 * nd,
                 xq.s.data() + t0 * nb, w.cols, nt, out);
            for (int t = 0; t < nt; ++t) y[(t0 + t) * w.rows + r] = out[t];
          }
        }
      }
    });
    return;
  }
  if ((w.type == DType::BF16 || w.type == DType::F16) && n_tokens < 4 && eff >= Isa::Avx2 && cpu_features().f16c) {
    const bool bf16 = w.type == DType::BF16;
    const size_t rb = dtype_row_bytes(w.type, w.cols);
    const auto* base = static_cast<const uint8_t*>(w.data);
    const int64_t tiles = (w.rows + kTile - 1) / kTile;
    pool.parallel_for(tiles, [&](int64_t b, int64_t e) {
      for (int64_t tile = b; tile < e; ++tile) {
        const int64_t r = tile * kTile;
        const int nr = static_cast<int>(std::min<int64_t>(kTile, w.rows - r));
        const uint8_t* rows[kTile];
        for (int j = 0; j < kTile; ++j) rows[j] = base + rb * static_cast<size_t>(r + std::min(j, nr - 1));
        for (int64_t t = 0; t < n_tokens; ++t) {
          float out[kTile];
          if (eff == Isa::Avx512)
            dot4_half_avx512(x + t * w.cols, rows, w.cols, bf16, out);
          else
            dot4_half_avx2(x + t * w.cols, rows, w.cols, bf16, out);
          for (int j = 0; j < nr; ++j) y[t * w.rows + r + j] = out[j];
        }
      }
    });
    return;
  }
  // (from 512 columns: below that the packing does not pay and the dot
  // kernels' 16-lane partial sums are the more accurate order)
  if (n_tokens >= 4 && w.cols >= 512 && eff >= Isa::Avx2) {
    const bool avx512 = eff == Isa::Avx512;
    const int64_t mr = avx512 ? 32 : 16, tiles = (w.rows + mr - 1) / mr;
    pool.parallel_for(tiles, [&](int64_t b, int64_t e) {
      gemm_rows(w, x, y, n_tokens, b * mr, std::min(w.rows, e * mr), avx512);
    });
    return;
  }
  Dot4 dot4 = pick_dot4(isa);
  const int64_t tiles = (w.rows + kTile - 1) / kTile;
  pool.parallel_for(tiles, [&](int64_t b, int64_t e) {
    matmul_rows(w, x, y, n_tokens, b * kTile, std::min(w.rows, e * kTile), dot4);
  });
}

void matmul(const WeightMatrix& w, const float* x, float* y, int64_t n_tokens, ThreadPool& pool) {
  matmul_isa(active_isa(), w, x, y, n_tokens, pool, amx_active());
}

void matmul_shared_input(std::initializer_list<MatmulOutput> outputs, const float* x, int64_t n_tokens, ThreadPool& pool) {
  for (const MatmulOutput& o : outputs) check(*o.w);
  if (n_tokens > 0 && active_isa() == Isa::Avx512 &&
      packed::matmul_shared_input(outputs.begin(), outputs.size(), x, n_tokens, pool, amx_active()))
    return;
  for (const MatmulOutput& o : outputs) matmul(*o.w, x, o.y, n_tokens, pool);
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
