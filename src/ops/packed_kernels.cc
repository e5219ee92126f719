// The kernels over packed weights (ops/packed.h describes the layout).
//
// Block types: a group's values are unpacked in registers into vectors of
// 64 unsigned bytes, each holding four consecutive columns of the panel's 16
// rows ([16 rows][4]), with the sub-block's a and b as 16-lane f32 vectors.
// The register kernels (decode, small batches) multiply each vector by four
// broadcast int8 activations with vpdpbusd, so the 16 rows' sums build up in
// the 16 int32 lanes and the scales apply per lane -- no horizontal sums,
// no per-row scale unpacking. The GEMMs unpack a panel once per call, for
// all token tiles: into int8 tile operands for AMX (AmxPanel, see "AMX
// int8" below: C[16 tokens][16 rows] = A[16 tokens][K] . B[K/4][16 rows][4],
// scaled in AVX-512 through a 1 KiB buffer -- tiles have no path to vector
// registers), or into bytes for the VNNI register tiles without AMX
// (int8_gemm::PackedTile).
//
// BF16: decode shifts the bf16 pairs to f32 and uses FMA (exact f32 math);
// prefill runs AMX bf16 tiles, 32 tokens x 32 rows per step, with the
// activations split into two bf16 parts (x = hi + lo, both multiplied), so
// the result keeps ~16 bits of each activation instead of bf16's 8.
// GCC 12 warns about _mm256_undefined_* inside its own AVX-512 headers.
#pragma GCC diagnostic ignored "-Wuninitialized"
#include "ops/packed_kernels.h"

#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "ops/packed.h"

#define RKV_K512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))
#define RKV_K512_VBMI \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512vbmi,avx2,fma,f16c")))
#define RKV_AMX                                                                                                   \
  __attribute__((target("amx-tile,amx-int8,amx-bf16,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512bf16," \
                        "avx2,fma,f16c")))

namespace rkv::packed::kernels {
namespace {

using int8_gemm::Activations;
using int8_gemm::PackedTile;

// ---- the block types: one group in registers

RKV_K512 inline __m512 scales_u8(const uint8_t* p) {  // 16 bytes -> 16 f32
  return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
}
RKV_K512 inline __m512 scales_i8(const uint8_t* p) {
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
}
RKV_K512 inline __m512 f16x16(const uint8_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
// Four nibble vectors -> eight byte vectors (low nibbles: k-groups 0-3, high: 4-7).
RKV_K512 inline void nibbles8(const uint8_t* v, __m512i* u) {
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  for (int z = 0; z < 4; ++z) {
    const __m512i n = _mm512_loadu_si512(v + 64 * z);
    u[z] = _mm512_and_si512(n, m4);
    u[z + 4] = _mm512_and_si512(_mm512_srli_epi16(n, 4), m4);
  }
}

struct NoHead {};

// Q8_0 / Q4_0: a group is one block of 32 columns, one scale per row.
struct Block32 {
  static constexpr int S = 32, G = 8, kSubs = 1;
  static constexpr int64_t kCols = 32;
  using Head = NoHead;
  RKV_K512 static void head(const uint8_t*, Head&) {}
};

struct Q8 : Block32 {
  static constexpr size_t kBytes = 544;
  RKV_K512 static void sub(const uint8_t* g, const Head&, int, __m512i* u, __m512& a, __m512& b) {
    for (int k = 0; k < 8; ++k) u[k] = _mm512_loadu_si512(g + 64 * k);
    a = f16x16(g + 512);
    b = _mm512_mul_ps(a, _mm512_set1_ps(-128.0f));
  }
};

struct Q40 : Block32 {
  static constexpr size_t kBytes = 288;
  RKV_K512 static void sub(const uint8_t* g, const Head&, int, __m512i* u, __m512& a, __m512& b) {
    nibbles8(g, u);
    a = f16x16(g + 256);
    b = _mm512_mul_ps(a, _mm512_set1_ps(-8.0f));
  }
};

template <bool Q5>
struct QK4 {
  static constexpr int S = 32, G = 8, kSubs = 8;
  static constexpr int64_t kCols = 256;
  static constexpr size_t kSubBytes = Q5 ? 320 : 256, kBytes = 320 + 8 * kSubBytes;
  struct Head {
    __m512 d, neg_dmin;
  };
  RKV_K512 static void head(const uint8_t* g, Head& h) {
    h.d = f16x16(g);
    h.neg_dmin = _mm512_sub_ps(_mm512_setzero_ps(), f16x16(g + 32));
  }
  RKV_K512 static void sub(const uint8_t* g, const Head& h, int j, __m512i* u, __m512& a, __m512& b) {
    const uint8_t* v = g + 320 + kSubBytes * static_cast<size_t>(j);
    nibbles8(v, u);
    if constexpr (Q5) {
      const __m512i c16 = _mm512_set1_epi8(16);
      for (int k = 0; k < 8; ++k) {
        uint64_t bits;  // bit l: the 5th bit of byte l of vector k
        std::memcpy(&bits, v + 256 + 8 * k, 8);
        u[k] = _mm512_mask_add_epi8(u[k], _cvtu64_mask64(bits), u[k], c16);
      }
    }
    a = _mm512_mul_ps(h.d, scales_u8(g + 64 + 16 * j));
    b = _mm512_mul_ps(h.neg_dmin, scales_u8(g + 192 + 16 * j));
  }
};

struct Q6 {
  static constexpr int S = 16, G = 4, kSubs = 16;
  static constexpr int64_t kCols = 256;
  static constexpr size_t kBytes = 288 + 16 * 192;
  struct Head {
    __m512 d;
  };
  RKV_K512 static void head(const uint8_t* g, Head& h) { h.d = f16x16(g); }
  RKV_K512 static void sub(const uint8_t* g, const Head& h, int j, __m512i* u, __m512& a, __m512& b) {
    const uint8_t* v = g + 288 + 192 * static_cast<size_t>(j);
    const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
    const __m512i n0 = _mm512_loadu_si512(v), n1 = _mm512_loadu_si512(v + 64), hi = _mm512_loadu_si512(v + 128);
    // k-group g: nibble of vector g % 2 (low for g < 2), high bits 2g..2g+1 of hi moved to bits 4-5
    u[0] = _mm512_or_si512(_mm512_and_si512(n0, m4), _mm512_and_si512(_mm512_slli_epi16(hi, 4), m30));
    u[1] = _mm512_or_si512(_mm512_and_si512(n1, m4), _mm512_and_si512(_mm512_slli_epi16(hi, 2), m30));
    u[2] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(n0, 4), m4), _mm512_and_si512(hi, m30));
    u[3] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(n1, 4), m4),
                           _mm512_and_si512(_mm512_srli_epi16(hi, 2), m30));
    a = _mm512_mul_ps(h.d, scales_i8(g + 32 + 16 * j));
    b = _mm512_mul_ps(a, _mm512_set1_ps(-32.0f));
  }
};

RKV_K512 inline __m512i bcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// Decode streams each panel once: prefetching this far ahead keeps more
// lines in flight than the hardware prefetcher does (Q4_K decode +15%,
// Q8_0 +10% on one core of the AMX Xeon, bench_matmul).
constexpr size_t kPrefetchBytes = 4096;
// One panel against NT tokens: out[t][16].
//   q: [NT][cols] (token rows cols apart), dx: [NT][cols / 32], xsd: [NT][cols / S]
template <class T, int NT>
RKV_K512 void rows_kernel(const uint8_t* panel, int64_t cols, const int8_t* q, const float* dx, const float* xsd,
                          float* out) {
  const int64_t n32 = cols / 32, nsub = cols / T::S, groups = cols / T::kCols;
  __m512 acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t gi = 0; gi < groups; ++gi) {
    const uint8_t* g = panel + T::kBytes * static_cast<size_t>(gi);
    for (size_t l = 0; l < T::kBytes; l += 64) _mm_prefetch(reinterpret_cast<const char*>(g + kPrefetchBytes + l), _MM_HINT_T0);
    typename T::Head h;
    T::head(g, h);
    for (int j = 0; j < T::kSubs; ++j) {
      __m512i u[T::G];
      __m512 a, b;
      T::sub(g, h, j, u, a, b);
      const int64_t k0 = gi * T::kCols + j * T::S;
      for (int t = 0; t < NT; ++t) {
        const int8_t* xt = q + t * cols + k0;
        __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
        for (int k = 0; k < T::G; k += 2) {
          s0 = _mm512_dpbusd_epi32(s0, u[k], bcast4(xt + 4 * k));
          s1 = _mm512_dpbusd_epi32(s1, u[k + 1], bcast4(xt + 4 * k + 4));
        }
        const __m512 c = _mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1));
        acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(c, _mm512_set1_ps(dx[t * n32 + k0 / 32])), a, acc[t]);
        acc[t] = _mm512_fmadd_ps(b, _mm512_set1_ps(xsd[t * nsub + k0 / T::S]), acc[t]);
      }
    }
  }
  for (int t = 0; t < NT; ++t) _mm512_storeu_ps(out + 16 * t, acc[t]);
}

using RowsFn = void (*)(const uint8_t*, int64_t, const int8_t*, const float*, const float*, float*);

template <class T>
RowsFn pick_rows(int nt) {
  static const RowsFn fns[8] = {rows_kernel<T, 1>, rows_kernel<T, 2>, rows_kernel<T, 3>, rows_kernel<T, 4>,
                                rows_kernel<T, 5>, rows_kernel<T, 6>, rows_kernel<T, 7>, rows_kernel<T, 8>};
  return fns[nt - 1];
}

// out[t][16] -> y[t][r0 .. r0 + nv)
RKV_K512 void store_rows(const float* out, int nt, float* y, int64_t ldy, int nv) {
  const __mmask16 mask = static_cast<__mmask16>(nv >= 16 ? 0xFFFF : (1u << nv) - 1);
  for (int t = 0; t < nt; ++t) _mm512_mask_storeu_ps(y + t * ldy, mask, _mm512_loadu_ps(out + 16 * t));
}

// out[t][16] (rows `stride` floats apart) -> y[t][r0 .. r0 + nv)
RKV_K512 void store_rows_strided(const float* out, int64_t stride, int nt, float* y, int64_t ldy, int nv) {
  const __mmask16 mask = static_cast<__mmask16>(nv >= 16 ? 0xFFFF : (1u << nv) - 1);
  for (int t = 0; t < nt; ++t) _mm512_mask_storeu_ps(y + t * ldy, mask, _mm512_loadu_ps(out + stride * t));
}

template <class T>
void rows_typed(const WeightMatrix& w, const Activations& a, int64_t n_tokens, int64_t p0, int64_t p1, float* y) {
  const size_t pb = panel_bytes(w.type, w.cols);
  const int64_t n32 = w.cols / 32, nsub = w.cols / T::S;
  const auto* base = static_cast<const uint8_t*>(w.packed);
  alignas(64) float out[8 * 16];
  for (int64_t p = p0; p < p1; ++p) {
    const int nv = static_cast<int>(std::min<int64_t>(kRows, w.rows - p * kRows));
    for (int64_t t0 = 0; t0 < n_tokens; t0 += 8) {
      const int nt = static_cast<int>(std::min<int64_t>(8, n_tokens - t0));
      pick_rows<T>(nt)(base + pb * static_cast<size_t>(p), w.cols, a.q.data() + t0 * w.cols, a.dx.data() + t0 * n32,
                       a.xsd.data() + t0 * nsub, out);
      store_rows(out, nt, y + t0 * w.rows + p * kRows, w.rows, nv);
    }
  }
}

// ---- GEMM: a panel unpacked to bytes once, then tiles

template <class T>
RKV_K512 void unpack_panel(const uint8_t* panel, int64_t cols, PackedTile& p) {
  p.resize(cols, T::S);
  const int64_t groups = cols / T::kCols;
  for (int64_t gi = 0; gi < groups; ++gi) {
    const uint8_t* g = panel + T::kBytes * static_cast<size_t>(gi);
    typename T::Head h;
    T::head(g, h);
    for (int j = 0; j < T::kSubs; ++j) {
      __m512i u[T::G];
      __m512 a, b;
      T::sub(g, h, j, u, a, b);
      const int64_t k0 = gi * T::kCols + j * T::S;
      for (int k = 0; k < T::G; ++k) _mm512_storeu_si512(p.u.data() + (k0 / 4 + k) * 64, u[k]);
      _mm512_storeu_ps(p.a.data() + (k0 / T::S) * 16, a);
      _mm512_storeu_ps(p.b.data() + (k0 / T::S) * 16, b);
    }
  }
}

struct alignas(64) TileConfig {
  uint8_t palette = 1, start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

// (GCC 12's _tile_loadconfig does not tell the optimizer it reads the
// config, which then drops the stores that fill it in; the asm does.)
RKV_AMX inline void load_tile_config(const TileConfig& c) { __asm__ volatile("ldtilecfg %0" : : "m"(c)); }

// ---- AMX int8
//
// The tile products need plain int8 operands, so a panel is unpacked again
// (once per call, for all token tiles) into an AmxPanel:
//  - Q8_0 / Q4_0 with a column count that is not a multiple of 256: the
//    signed values q (Q4_0: u - 8) [sub-block][8][16][4] and a = d per row
//    and sub-block: y[t] += a dx[t] C[t] per 32 columns. Otherwise they
//    are rescaled to the two-plane form of Q6_K (unpack_amx_rescaled).
//  - K-quants: per 256-column super-block the integer products
//    v = sc * u (Q6_K: sc * (u - 32)) as two byte planes, v = lo + 256 hi,
//    and for Q4_K / Q5_K a third plane holding each column's 6-bit min m, so
//    that one super-block is three integer products over all its 256
//    columns -- C_lo, C_hi, C_min accumulated in the tile unit -- and one
//    scaling per super-block instead of eight:
//      y[t] += dx[t] (d (C_lo + 256 C_hi) - dmin C_min)
//    (Q6_K: no min plane). sc * u needs 10 bits (Q5_K 11, Q6_K 13 signed).

struct AmxPanel {
  int8_gemm::AlignedVector<int8_t> w;  // the byte planes, per sub-block / super-block (see above)
  std::vector<float> d, neg_dmin;  // per sub-block (Q8_0 / Q4_0: a) or super-block, [..][16]
};

// tmm0-3: C, tmm4-5: B, tmm6-7: A; rows / bytes per row by operand
RKV_AMX void config_tiles(int c_rows, int b_rows, int a_bytes) {
  TileConfig c;
  for (int i = 0; i < 8; ++i) {
    c.rows[i] = static_cast<uint8_t>(i < 4 ? c_rows : i < 6 ? b_rows : 16);
    c.colsb[i] = static_cast<uint16_t>(i < 6 ? 64 : a_bytes);
  }
  load_tile_config(c);
}

// Q8_0 / Q4_0
template <class T>
RKV_K512 void unpack_amx_32(const uint8_t* panel, int64_t cols, AmxPanel& p) {
  const int64_t nsub = cols / 32;
  p.w.resize(static_cast<size_t>(cols * 16));
  p.d.resize(static_cast<size_t>(nsub * 16));
  const __m512i bias = _mm512_set1_epi8(static_cast<char>(std::is_same_v<T, Q8> ? 128 : 8));
  for (int64_t j = 0; j < nsub; ++j) {
    const uint8_t* g = panel + T::kBytes * static_cast<size_t>(j);
    __m512i u[8];
    __m512 a, b;
    typename T::Head h;
    T::sub(g, h, 0, u, a, b);
    for (int k = 0; k < 8; ++k) _mm512_storeu_si512(p.w.data() + (j * 8 + k) * 64, _mm512_sub_epi8(u[k], bias));
    _mm512_storeu_ps(p.d.data() + j * 16, a);
  }
}

// The tile GEMMs unpack one super-block and run every token tile on it
// before the next: the next super-block's bytes are asked for meanwhile
// (streamed from memory in decode batches; the last one's reach past a
// matrix is harmless, prefetches do not fault).
inline void prefetch_lines(const uint8_t* p, size_t bytes) {
  for (size_t l = 0; l < bytes; l += 64) _mm_prefetch(reinterpret_cast<const char*>(p + l), _MM_HINT_T0);
}

// How a 64-byte vector of [16 rows][4] bytes is widened and narrowed again
// with few shuffles: unpacklo / unpackhi_epi8(0, q) give q 2^8 in int16 in
// an in-lane order, and one two-source byte permute per plane gathers the
// results' low (high) bytes back into [16 rows][4]. Int16 lane m of the
// unpacklo half holds byte 16 (m / 8) + m % 8 of q, i.e. row 4 (m / 8) +
// (m % 8) / 4 (unpackhi: 2 rows further on).
struct WidenOrder {
  __m512i row_lo, row_hi;      // the row of each int16 lane (for per-row scales)
  __m512i low_byte, high_byte;  // permutex2var indices: byte p of q <- its int16's low / high byte
};

RKV_K512_VBMI WidenOrder widen_order() {
  alignas(64) int16_t row_lo[32], row_hi[32];
  alignas(64) uint8_t low[64], high[64];
  for (int m = 0; m < 32; ++m) {
    row_lo[m] = static_cast<int16_t>(4 * (m / 8) + (m % 8) / 4);
    row_hi[m] = static_cast<int16_t>(row_lo[m] + 2);
  }
  for (int p = 0; p < 64; ++p) {
    const int within = p % 16, lane = 8 * (p / 16) + within % 8;  // int16 lane of byte p in its half
    low[p] = static_cast<uint8_t>((within < 8 ? 0 : 64) + 2 * lane);
    high[p] = static_cast<uint8_t>(low[p] + 1);
  }
  return {_mm512_load_si512(row_lo), _mm512_load_si512(row_hi), _mm512_load_si512(low), _mm512_load_si512(high)};
}

// The byte planes of the int16 results v0 / v1 of the two widened halves:
// lo / hi in [16 rows][4] again.
RKV_K512_VBMI inline void split_planes(__m512i v0, __m512i v1, const WidenOrder& order, __m512i& lo, __m512i& hi) {
  lo = _mm512_permutex2var_epi8(v0, order.low_byte, v1);
  hi = _mm512_permutex2var_epi8(v0, order.high_byte, v1);
}

// v = sc * u for the 64 bytes of u ([16 rows][4]) with the row scales sc_lo /
// sc_hi in WidenOrder's lane order: lo / hi byte planes
RKV_K512_VBMI inline void times_scale(__m512i u, __m512i sc_lo, __m512i sc_hi, bool signed_u, const WidenOrder& order,
                                      __m512i& lo, __m512i& hi) {
  const __m512i zero = _mm512_setzero_si512();
  const __m512i u0 = signed_u ? _mm512_srai_epi16(_mm512_unpacklo_epi8(zero, u), 8) : _mm512_unpacklo_epi8(u, zero);
  const __m512i u1 = signed_u ? _mm512_srai_epi16(_mm512_unpackhi_epi8(zero, u), 8) : _mm512_unpackhi_epi8(u, zero);
  split_planes(_mm512_mullo_epi16(u0, sc_lo), _mm512_mullo_epi16(u1, sc_hi), order, lo, hi);
}

// K-quants: super-block sb of a panel into p: [3 planes (Q6_K: 2)][64 k-groups][16 rows][4]
template <class T>
RKV_K512_VBMI void unpack_amx_k(const uint8_t* panel, int64_t sb, AmxPanel& p) {
  constexpr bool kQ6 = std::is_same_v<T, Q6>;
  static const WidenOrder order = widen_order();
  const uint8_t* g = panel + T::kBytes * static_cast<size_t>(sb);
  int8_t* out = p.w.data();
  prefetch_lines(g + T::kBytes, T::kBytes);
  typename T::Head h;
  T::head(g, h);
  _mm512_storeu_ps(p.d.data(), f16x16(g));
  if constexpr (!kQ6) _mm512_storeu_ps(p.neg_dmin.data(), h.neg_dmin);
  for (int j = 0; j < T::kSubs; ++j) {
    __m512i u[T::G];
    __m512 a, b;
    T::sub(g, h, j, u, a, b);
    const uint8_t* sc = g + (kQ6 ? 32 : 64) + 16 * j;
    const __m512i sc16 = kQ6 ? _mm512_cvtepi8_epi16(_mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc))))
                             : _mm512_cvtepu8_epi16(_mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc))));
    const __m512i sc_lo = _mm512_permutexvar_epi16(order.row_lo, sc16),
                  sc_hi = _mm512_permutexvar_epi16(order.row_hi, sc16);
    for (int k = 0; k < T::G; ++k) {
      const int64_t kg = j * T::G + k;  // k-group within the super-block
      __m512i lo, hi;
      times_scale(kQ6 ? _mm512_sub_epi8(u[k], _mm512_set1_epi8(32)) : u[k], sc_lo, sc_hi, kQ6, order, lo, hi);
      _mm512_storeu_si512(out + kg * 64, lo);
      _mm512_storeu_si512(out + 4096 + kg * 64, hi);
    }
    if constexpr (!kQ6) {  // the min of sub-block j in every byte of its rows
      const __m512i m = _mm512_mullo_epi32(
          _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(g + 192 + 16 * j))),
          _mm512_set1_epi32(0x01010101));
      for (int k = 0; k < T::G; ++k) _mm512_storeu_si512(out + 8192 + (j * T::G + k) * 64, m);
    }
  }
}

// Q8_0 / Q4_0 over whole 256-column super-blocks, laid out as Q6_K's two
// planes: per row and super-block one scale D = max |d| of its 8 blocks
// scaled to the int16 range, and v = q d / D in int16 (lo / hi byte planes),
// so the tiles run 64 columns per product and the C tiles are scaled once
// per super-block instead of once per 32 columns (the scaling, not the tile
// products, bounded the per-block kernel). v = q 2^s R / 2^15 rounded
// (vpmulhrsw), R = d / max|d| in 15 bits: |error| <= 1 unit of v, 2^-15 of
// the row's largest weight in the super-block -- far below the int8
// activations' 2^-8. Super-block sb of a panel into p; runs per call, so it
// is kept to few shuffles (WidenOrder): decode batches pay it every step.
template <class T>
RKV_K512_VBMI void unpack_amx_rescaled(const uint8_t* panel, int64_t sb, AmxPanel& p) {
  constexpr bool kQ8 = std::is_same_v<T, Q8>;
  constexpr int kShift = kQ8 ? 8 : 12;  // |q| <= 128 (Q8_0), <= 8 (Q4_0): q 2^s fits int16
  const __m512i bias = _mm512_set1_epi8(static_cast<char>(kQ8 ? 128 : 8)), zero = _mm512_setzero_si512();
  static const WidenOrder order = widen_order();
  const __m512 to_d = _mm512_set1_ps(32768.0f / (32767.0f * static_cast<float>(1 << kShift)));
  const uint8_t* g0 = panel + T::kBytes * static_cast<size_t>(sb * 8);
  int8_t* out = p.w.data();
  __m512 d[8], dmax = _mm512_setzero_ps();
  for (int j = 0; j < 8; ++j) {
    d[j] = f16x16(g0 + T::kBytes * static_cast<size_t>(j) + (kQ8 ? 512 : 256));
    dmax = _mm512_max_ps(dmax, _mm512_abs_ps(d[j]));
  }
  const __mmask16 live = _mm512_cmp_ps_mask(dmax, _mm512_setzero_ps(), _CMP_GT_OQ);  // (an all-zero row: R = 0)
  const __m512 inv = _mm512_maskz_div_ps(live, _mm512_set1_ps(32767.0f), dmax);
  _mm512_storeu_ps(p.d.data(), _mm512_mul_ps(dmax, to_d));
  prefetch_lines(g0 + 8 * T::kBytes, 8 * T::kBytes);
  for (int j = 0; j < 8; ++j) {
    const uint8_t* g = g0 + T::kBytes * static_cast<size_t>(j);
    __m512i u[8];
    __m512 a, b;
    T::sub(g, NoHead{}, 0, u, a, b);
    const __m512i r16 = _mm512_castsi256_si512(_mm512_cvtsepi32_epi16(_mm512_cvtps_epi32(_mm512_mul_ps(d[j], inv))));
    const __m512i r_lo = _mm512_permutexvar_epi16(order.row_lo, r16), r_hi = _mm512_permutexvar_epi16(order.row_hi, r16);
    for (int k = 0; k < 8; ++k) {
      const __m512i q = _mm512_sub_epi8(u[k], bias);  // signed values, [16 rows][4]
      __m512i w0 = _mm512_unpacklo_epi8(zero, q), w1 = _mm512_unpackhi_epi8(zero, q);  // q 2^8
      if constexpr (kShift > 8) {
        w0 = _mm512_slli_epi16(w0, kShift - 8);
        w1 = _mm512_slli_epi16(w1, kShift - 8);
      }
      __m512i lo, hi;
      split_planes(_mm512_mulhrs_epi16(w0, r_lo), _mm512_mulhrs_epi16(w1, r_hi), order, lo, hi);
      _mm512_storeu_si512(out + (j * 8 + k) * 64, lo);
      _mm512_storeu_si512(out + 4096 + (j * 8 + k) * 64, hi);
    }
  }
}

// Tile loads are slow unless their lines are in L1, so the loops keep a
// slice of the weights there -- 256 columns of one or two panels -- and run
// every token tile over it before the next slice; the results accumulate
// in acc, [tokens][panels][16 rows] f32 (L1 / L2).

// Q8_0 / Q4_0: two panels (the second may repeat the first) x two tiles of
// 16 tokens from t0 (activations a.tiles [tile][sub-block][16][32]), sub-blocks
// [j0, j1): per sub-block four independent tile products (C tile = token
// tile x panel) from two A and two B loads; y += a dx C into acc
// [token][2 panels][16]; a sub-block's C tiles are scaled while the next
// one's products run.
RKV_AMX void amx_q32_block(const AmxPanel* const panel[2], int64_t cols, const Activations& a, int64_t t0, int64_t j0,
                           int64_t j1, float* acc) {
  const int64_t nsub = cols / 32, n32 = cols / 32;
  alignas(64) int32_t cbuf[2][4][256];  // [sub-block parity][C tile][16 tokens][16 rows]
  const int8_t* qa = a.tiles.data() + t0 * cols;
  for (int64_t j = j0; j <= j1; ++j) {
    if (j < j1) {
      _tile_loadd(4, panel[0]->w.data() + j * 512, 64);
      _tile_loadd(5, panel[1]->w.data() + j * 512, 64);
      _tile_loadd(6, qa + j * 512, 32);
      _tile_loadd(7, qa + (nsub + j) * 512, 32);
      _tile_zero(0);
      _tile_zero(1);
      _tile_zero(2);
      _tile_zero(3);
      _tile_dpbssd(0, 6, 4);
      _tile_dpbssd(1, 6, 5);
      _tile_dpbssd(2, 7, 4);
      _tile_dpbssd(3, 7, 5);
      _tile_stored(0, cbuf[j & 1][0], 64);
      _tile_stored(1, cbuf[j & 1][1], 64);
      _tile_stored(2, cbuf[j & 1][2], 64);
      _tile_stored(3, cbuf[j & 1][3], 64);
    }
    if (j == j0) continue;
    const int64_t k = j - 1;
    for (int c = 0; c < 4; ++c) {
      const int ti = c / 2, pi = c % 2;
      const __m512 d = _mm512_loadu_ps(panel[pi]->d.data() + k * 16);
      const float* dx = a.dx.data() + (t0 + 16 * ti) * n32 + k;
      const int32_t* ct = cbuf[k & 1][c];
      float* ac = acc + (t0 + 16 * ti) * 32 + 16 * pi;
      for (int t = 0; t < 16; ++t) {
        const __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_load_si512(ct + 16 * t)), _mm512_set1_ps(dx[t * n32]));
        _mm512_storeu_ps(ac + 32 * t, _mm512_fmadd_ps(v, d, _mm512_loadu_ps(ac + 32 * t)));
      }
    }
  }
}

// K-quants: super-block sb of one panel (unpacked into p), every tile of 16 tokens (activations
// a.tiles [tile][64-column chunk][16][64]): C_lo, C_hi (, C_min) accumulate
// over the super-block's four 64-column chunks, then one scaling into acc
// [token][16]; a token tile's C tiles are scaled while the next one's run.
template <bool kMin>
RKV_AMX void amx_k_sb(const AmxPanel& p, int64_t cols, const Activations& a, int64_t n_tiles, int64_t sb, float* acc) {
  const int64_t n32 = cols / 32;
  alignas(64) int32_t cbuf[2][3][256];  // [token tile parity][plane][16 tokens][16 rows]
  const int8_t* w = p.w.data();
  const __m512 d = _mm512_loadu_ps(p.d.data());
  const __m512 neg_dmin = kMin ? _mm512_loadu_ps(p.neg_dmin.data()) : d;
  for (int64_t tile = 0; tile <= n_tiles; ++tile) {
    if (tile < n_tiles) {
      const int8_t* qa = a.tiles.data() + tile * 16 * cols + sb * 4096;
      _tile_zero(0);
      _tile_zero(1);
      if constexpr (kMin) _tile_zero(2);
      // A alternates between tmm6 and tmm7 (tile registers are not renamed:
      // a load into the register the previous products read would wait)
      if constexpr (kMin) {
        for (int c = 0; c < 4; c += 2) {
          _tile_loadd(6, qa + c * 1024, 64);
          _tile_loadd(4, w + c * 1024, 64);
          _tile_loadd(5, w + 4096 + c * 1024, 64);
          _tile_loadd(3, w + 8192 + c * 1024, 64);
          _tile_dpbsud(0, 6, 4);
          _tile_dpbsud(1, 6, 5);
          _tile_dpbsud(2, 6, 3);
          _tile_loadd(7, qa + (c + 1) * 1024, 64);
          _tile_loadd(4, w + (c + 1) * 1024, 64);
          _tile_loadd(5, w + 4096 + (c + 1) * 1024, 64);
          _tile_loadd(3, w + 8192 + (c + 1) * 1024, 64);
          _tile_dpbsud(0, 7, 4);
          _tile_dpbsud(1, 7, 5);
          _tile_dpbsud(2, 7, 3);
        }
      } else {  // Q6_K: B double-buffered too (tmm2-5); the high plane is signed
        for (int c = 0; c < 4; c += 2) {
          _tile_loadd(6, qa + c * 1024, 64);
          _tile_loadd(2, w + c * 1024, 64);
          _tile_loadd(3, w + 4096 + c * 1024, 64);
          _tile_dpbsud(0, 6, 2);
          _tile_dpbssd(1, 6, 3);
          _tile_loadd(7, qa + (c + 1) * 1024, 64);
          _tile_loadd(4, w + (c + 1) * 1024, 64);
          _tile_loadd(5, w + 4096 + (c + 1) * 1024, 64);
          _tile_dpbsud(0, 7, 4);
          _tile_dpbssd(1, 7, 5);
        }
      }
      _tile_stored(0, cbuf[tile & 1][0], 64);
      _tile_stored(1, cbuf[tile & 1][1], 64);
      if constexpr (kMin) _tile_stored(2, cbuf[tile & 1][2], 64);
    }
    if (tile == 0) continue;
    const int64_t k = tile - 1;  // the previous token tile
    const int32_t* cl = cbuf[k & 1][0];
    const int32_t* ch = cbuf[k & 1][1];
    const int32_t* cm = cbuf[k & 1][2];
    const float* dx = a.dx.data() + k * 16 * n32 + sb * 8;
    float* ac = acc + k * 256;
    for (int t = 0; t < 16; ++t) {
      const __m512i v = _mm512_add_epi32(_mm512_load_si512(cl + 16 * t), _mm512_slli_epi32(_mm512_load_si512(ch + 16 * t), 8));
      __m512 z = _mm512_mul_ps(_mm512_cvtepi32_ps(v), d);
      if constexpr (kMin) z = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(cm + 16 * t)), neg_dmin, z);
      _mm512_storeu_ps(ac + 16 * t, _mm512_fmadd_ps(z, _mm512_set1_ps(dx[t * n32]), _mm512_loadu_ps(ac + 16 * t)));
    }
  }
}

RKV_AMX void release_tiles() { _tile_release(); }

template <class T>
void amx_typed(const WeightMatrix& w, const Activations& a, int64_t n_tokens, int64_t p0, int64_t p1, float* y) {
  constexpr bool kBlock32 = std::is_same_v<T, Q8> || std::is_same_v<T, Q40>;
  const size_t pb = panel_bytes(w.type, w.cols);
  const auto* base = static_cast<const uint8_t*>(w.packed);
  const int64_t n_tiles = (n_tokens + 15) / 16;
  auto nv = [&](int64_t p) { return static_cast<int>(std::min<int64_t>(kRows, w.rows - p * kRows)); };
  thread_local AmxPanel panels[2];
  thread_local std::vector<float> acc;
  if (kBlock32 && !amx_super_blocks(w.type, w.cols)) {
    config_tiles(16, 8, 32);
    const int64_t nsub = w.cols / 32;
    acc.resize(static_cast<size_t>((n_tiles + 1) / 2 * 32 * 32));  // [token pairs of tiles][2 panels][16]
    for (int64_t p = p0; p < p1; p += 2) {
      const bool pair = p + 1 < p1;
      for (int i = 0; i < (pair ? 2 : 1); ++i) unpack_amx_32<T>(base + pb * static_cast<size_t>(p + i), w.cols, panels[i]);
      const AmxPanel* two[2] = {&panels[0], &panels[pair ? 1 : 0]};
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int64_t j0 = 0; j0 < nsub; j0 += 8)
        for (int64_t t0 = 0; t0 < n_tokens; t0 += 32) amx_q32_block(two, w.cols, a, t0, j0, std::min(nsub, j0 + 8), acc.data());
      for (int i = 0; i < (pair ? 2 : 1); ++i)
        for (int64_t t0 = 0; t0 < n_tokens; t0 += 16)
          store_rows_strided(acc.data() + t0 * 32 + 16 * i, 32, static_cast<int>(std::min<int64_t>(16, n_tokens - t0)),
                             y + t0 * w.rows + (p + i) * kRows, w.rows, nv(p + i));
    }
  } else {
    // one super-block at a time: unpacked into L1 and used at once by every token tile
    config_tiles(16, 16, 64);
    acc.resize(static_cast<size_t>(n_tiles * 256));  // [tokens][16]
    AmxPanel& sbp = panels[0];
    sbp.w.resize(3 * 4096);
    sbp.d.resize(16);
    sbp.neg_dmin.resize(16);
    for (int64_t p = p0; p < p1; ++p) {
      const uint8_t* panel = base + pb * static_cast<size_t>(p);
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int64_t sb = 0; sb < w.cols / 256; ++sb) {
        if constexpr (kBlock32)
          unpack_amx_rescaled<T>(panel, sb, sbp);
        else
          unpack_amx_k<T>(panel, sb, sbp);
        amx_k_sb<!kBlock32 && !std::is_same_v<T, Q6>>(sbp, w.cols, a, n_tiles, sb, acc.data());
      }
      for (int64_t t0 = 0; t0 < n_tokens; t0 += 16)
        store_rows_strided(acc.data() + t0 * 16, 16, static_cast<int>(std::min<int64_t>(16, n_tokens - t0)),
                           y + t0 * w.rows + p * kRows, w.rows, nv(p));
    }
  }
  release_tiles();
}

template <class T>
void gemm_typed(const WeightMatrix& w, const Activations& a, int64_t n_tokens, int64_t p0, int64_t p1, float* y,
                bool amx) {
  if (amx) return amx_typed<T>(w, a, n_tokens, p0, p1, y);
  const size_t pb = panel_bytes(w.type, w.cols);
  const auto* base = static_cast<const uint8_t*>(w.packed);
  thread_local PackedTile tile;
  for (int64_t p = p0; p < p1; ++p) {
    unpack_panel<T>(base + pb * static_cast<size_t>(p), w.cols, tile);
    int8_gemm::run_tile(tile, T::S, w.cols, a, n_tokens, y + p * kRows, w.rows,
                        static_cast<int>(std::min<int64_t>(kRows, w.rows - p * kRows)));
  }
}

// ---- BF16

template <int NT>
RKV_K512 void bf16_rows_kernel(const uint8_t* panel, int64_t cols, const float* x, float* out) {
  __m512 acc0[NT], acc1[NT];
  for (int t = 0; t < NT; ++t) acc0[t] = acc1[t] = _mm512_setzero_ps();
  const __m512i hi_mask = _mm512_set1_epi32(static_cast<int32_t>(0xFFFF0000u));
  for (int64_t gi = 0; gi < cols / 32; ++gi) {
    const uint8_t* g = panel + 1024 * static_cast<size_t>(gi);
    for (size_t l = 0; l < 1024; l += 64) _mm_prefetch(reinterpret_cast<const char*>(g + kPrefetchBytes + l), _MM_HINT_T0);
    for (int pr = 0; pr < 16; ++pr) {  // column pair k, k + 1 of the 16 rows
      const __m512i v = _mm512_loadu_si512(g + 64 * pr);
      const __m512 even = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
      const __m512 odd = _mm512_castsi512_ps(_mm512_and_si512(v, hi_mask));
      const int64_t k = gi * 32 + 2 * pr;
      for (int t = 0; t < NT; ++t) {
        acc0[t] = _mm512_fmadd_ps(even, _mm512_set1_ps(x[t * cols + k]), acc0[t]);
        acc1[t] = _mm512_fmadd_ps(odd, _mm512_set1_ps(x[t * cols + k + 1]), acc1[t]);
      }
    }
  }
  for (int t = 0; t < NT; ++t) _mm512_storeu_ps(out + 16 * t, _mm512_add_ps(acc0[t], acc1[t]));
}

// tmm0-3: C [16 tokens][16 f32] (token tile i, panel j at 2i + j), tmm4-5: A [16 tokens][32 bf16], tmm6-7: B
RKV_AMX void config_bf16() {
  TileConfig c;
  for (int i = 0; i < 8; ++i) {
    c.rows[i] = 16;
    c.colsb[i] = 64;
  }
  load_tile_config(c);
}

RKV_AMX void bf16_amx_pair(const uint8_t* panel0, const uint8_t* panel1, int64_t cols, const uint16_t* hi,
                           const uint16_t* lo, float* cbuf) {
  const int64_t stride = cols * 2;  // bytes per token row
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  for (int64_t gi = 0; gi < cols / 32; ++gi) {
    _tile_loadd(6, panel0 + 1024 * gi, 64);
    _tile_loadd(7, panel1 + 1024 * gi, 64);
    _tile_loadd(4, hi + gi * 32, stride);
    _tile_loadd(5, hi + 16 * cols + gi * 32, stride);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
    _tile_loadd(4, lo + gi * 32, stride);
    _tile_loadd(5, lo + 16 * cols + gi * 32, stride);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  _tile_stored(0, cbuf, 64);
  _tile_stored(1, cbuf + 256, 64);
  _tile_stored(2, cbuf + 512, 64);
  _tile_stored(3, cbuf + 768, 64);
}

RKV_AMX void split_rows(const float* x, int64_t t0, int64_t t1, int64_t cols, uint16_t* hi, uint16_t* lo) {
  for (int64_t t = t0; t < t1; ++t)
    for (int64_t c = 0; c < cols; c += 16) {
      const __m512 v = _mm512_loadu_ps(x + t * cols + c);
      const __m256bh h = _mm512_cvtneps_pbh(v);
      const __m512 hv = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(reinterpret_cast<const __m256i&>(h)), 16));
      const __m256bh l = _mm512_cvtneps_pbh(_mm512_sub_ps(v, hv));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(hi + t * cols + c), reinterpret_cast<const __m256i&>(h));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(lo + t * cols + c), reinterpret_cast<const __m256i&>(l));
    }
}

}  // namespace

bool amx_super_blocks(DType weight_type, int64_t cols) {
  return int8_gemm::is_k_quant(weight_type) ||
         ((weight_type == DType::Q8_0 || weight_type == DType::Q4_0) && cols % 256 == 0);
}

void quantize(const float* x, int64_t n_tokens, int64_t cols, DType weight_type, Activations& a, ThreadPool& pool,
              bool tiles) {
  const bool super_blocks = tiles && amx_super_blocks(weight_type, cols);
  const int scale_block = super_blocks ? 256 : int8_gemm::activation_block(weight_type);
  int8_gemm::size_activations(n_tokens, cols, weight_type, a);
  if (n_tokens * cols < 65536) {  // a decode step: not worth waking the pool
    int8_gemm::quantize_activation_rows(x, 0, n_tokens, cols, weight_type, scale_block, a);
  } else {
    pool.parallel_for(n_tokens, [&](int64_t b, int64_t e) {
      int8_gemm::quantize_activation_rows(x, b, e, cols, weight_type, scale_block, a);
    });
  }
  if (!tiles) return;
  // (chunk: the columns of one A tile -- a 32-column block, or 64 of a super-block)
  const int64_t sub = super_blocks ? 64 : 32, nsub = cols / sub, n_tiles = (n_tokens + 15) / 16;
  a.tiles.resize(static_cast<size_t>((n_tiles + 1) / 2 * 2 * 16 * cols));  // whole pairs of tiles (the AMX GEMM's step)
  std::fill(a.tiles.begin() + n_tiles * 16 * cols, a.tiles.end(), int8_t{0});
  pool.parallel_for(n_tiles, [&](int64_t b, int64_t e) {
    for (int64_t tile = b; tile < e; ++tile)
      for (int64_t j = 0; j < nsub; ++j)
        for (int64_t r = 0; r < 16; ++r)
          std::memcpy(a.tiles.data() + ((tile * nsub + j) * 16 + r) * sub, a.q.data() + (tile * 16 + r) * cols + j * sub,
                      static_cast<size_t>(sub));
  });
}

void int8_rows(const WeightMatrix& w, const Activations& a, int64_t n_tokens, int64_t p0, int64_t p1, float* y) {
  switch (w.type) {
    case DType::Q8_0: return rows_typed<Q8>(w, a, n_tokens, p0, p1, y);
    case DType::Q4_0: return rows_typed<Q40>(w, a, n_tokens, p0, p1, y);
    case DType::Q4_K: return rows_typed<QK4<false>>(w, a, n_tokens, p0, p1, y);
    case DType::Q5_K: return rows_typed<QK4<true>>(w, a, n_tokens, p0, p1, y);
    case DType::Q6_K: return rows_typed<Q6>(w, a, n_tokens, p0, p1, y);
    default: return;
  }
}

void int8_gemm(const WeightMatrix& w, const Activations& a, int64_t n_tokens, int64_t p0, int64_t p1, float* y,
               bool amx) {
  switch (w.type) {
    case DType::Q8_0: return gemm_typed<Q8>(w, a, n_tokens, p0, p1, y, amx);
    case DType::Q4_0: return gemm_typed<Q40>(w, a, n_tokens, p0, p1, y, amx);
    case DType::Q4_K: return gemm_typed<QK4<false>>(w, a, n_tokens, p0, p1, y, amx);
    case DType::Q5_K: return gemm_typed<QK4<true>>(w, a, n_tokens, p0, p1, y, amx);
    case DType::Q6_K: return gemm_typed<Q6>(w, a, n_tokens, p0, p1, y, amx);
    default: return;
  }
}

void bf16_rows(const WeightMatrix& w, const float* x, int64_t n_tokens, int64_t p0, int64_t p1, float* y) {
  using Fn = void (*)(const uint8_t*, int64_t, const float*, float*);
  static const Fn fns[4] = {bf16_rows_kernel<1>, bf16_rows_kernel<2>, bf16_rows_kernel<3>, bf16_rows_kernel<4>};
  const size_t pb = panel_bytes(w.type, w.cols);
  const auto* base = static_cast<const uint8_t*>(w.packed);
  alignas(64) float out[4 * 16];
  for (int64_t p = p0; p < p1; ++p) {
    const int nv = static_cast<int>(std::min<int64_t>(kRows, w.rows - p * kRows));
    for (int64_t t0 = 0; t0 < n_tokens; t0 += 4) {
      const int nt = static_cast<int>(std::min<int64_t>(4, n_tokens - t0));
      fns[nt - 1](base + pb * static_cast<size_t>(p), w.cols, x + t0 * w.cols, out);
      store_rows(out, nt, y + t0 * w.rows + p * kRows, w.rows, nv);
    }
  }
}

void split_bf16(const float* x, int64_t n_tokens, int64_t cols, Bf16Activations& a, ThreadPool& pool) {
  const int64_t padded = (n_tokens + 31) / 32 * 32;  // whole pairs of 16-token tiles
  a.hi.resize(static_cast<size_t>(padded * cols));
  a.lo.resize(a.hi.size());
  std::fill(a.hi.begin() + n_tokens * cols, a.hi.end(), uint16_t{0});
  std::fill(a.lo.begin() + n_tokens * cols, a.lo.end(), uint16_t{0});
  pool.parallel_for(n_tokens, [&](int64_t b, int64_t e) { split_rows(x, b, e, cols, a.hi.data(), a.lo.data()); });
}

void bf16_amx(const WeightMatrix& w, const Bf16Activations& a, int64_t n_tokens, int64_t p0, int64_t p1, float* y) {
  const size_t pb = panel_bytes(w.type, w.cols);
  const auto* base = static_cast<const uint8_t*>(w.packed);
  alignas(64) float cbuf[4 * 256];  // [token tile][panel][16 tokens][16 rows]
  config_bf16();
  for (int64_t p = p0; p < p1; p += 2) {
    const bool pair = p + 1 < p1;
    const uint8_t* panel0 = base + pb * static_cast<size_t>(p);
    const uint8_t* panel1 = pair ? panel0 + pb : panel0;
    for (int64_t t0 = 0; t0 < n_tokens; t0 += 32) {
      bf16_amx_pair(panel0, panel1, w.cols, a.hi.data() + t0 * w.cols, a.lo.data() + t0 * w.cols, cbuf);
      for (int pi = 0; pi < (pair ? 2 : 1); ++pi) {
        const int nv = static_cast<int>(std::min<int64_t>(kRows, w.rows - (p + pi) * kRows));
        for (int ti = 0; ti < 2; ++ti) {
          const int nt = static_cast<int>(std::clamp<int64_t>(n_tokens - t0 - 16 * ti, 0, 16));
          store_rows(cbuf + 256 * (2 * ti + pi), nt, y + (t0 + 16 * ti) * w.rows + (p + pi) * kRows, w.rows, nv);
        }
      }
    }
  }
  release_tiles();
}

}  // namespace rkv::packed::kernels
