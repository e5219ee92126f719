// The kernels over packed weights (ops/packed.h describes the layout).
//
// Block types: a group's values are unpacked in registers into vectors of
// 64 unsigned bytes, each holding four consecutive columns of the panel's 16
// rows ([16 rows][4]), with the sub-block's a and b as 16-lane f32 vectors.
// The register kernels (decode, small batches) multiply each vector by four
// broadcast int8 activations with vpdpbusd, so the 16 rows' sums build up in
// the 16 int32 lanes and the scales apply per lane -- no horizontal sums,
// no per-row scale unpacking. The GEMMs unpack a panel once into bytes
// (int8_gemm::PackedTile) and run AMX int8 tiles over it:
//   C[16 tokens][16 rows] = A[16 tokens][S activations] . B[S/4][16 rows][4]
// one tile product per sub-block of S columns (its scales differ), then per
// token y[t] += a * dx[t] * C[t] + b * xsd[t] in AVX-512 (C through a
// 1 KiB buffer: tiles have no path to vector registers).
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
#include <cstring>

#include "ops/packed.h"

#define RKV_K512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))
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

struct Q8 {
  static constexpr int S = 32, G = 8, kSubs = 1;
  static constexpr int64_t kCols = 32;
  static constexpr size_t kBytes = 544;
  using Head = NoHead;
  RKV_K512 static void head(const uint8_t*, Head&) {}
  RKV_K512 static void sub(const uint8_t* g, const Head&, int, __m512i* u, __m512& a, __m512& b) {
    for (int k = 0; k < 8; ++k) u[k] = _mm512_loadu_si512(g + 64 * k);
    a = f16x16(g + 512);
    b = _mm512_mul_ps(a, _mm512_set1_ps(-128.0f));
  }
};

struct Q40 {
  static constexpr int S = 32, G = 8, kSubs = 1;
  static constexpr int64_t kCols = 32;
  static constexpr size_t kBytes = 288;
  using Head = NoHead;
  RKV_K512 static void head(const uint8_t*, Head&) {}
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

// tmm0-1: C [16 tokens][16 int32], tmm2-3: A [16 tokens][S bytes], tmm4-5: B [S/4][64 bytes]
RKV_AMX void config_int8(int sub) {
  TileConfig c;
  for (int i = 0; i < 6; ++i) {
    c.rows[i] = static_cast<uint8_t>(i >= 4 ? sub / 4 : 16);
    c.colsb[i] = static_cast<uint16_t>(i == 2 || i == 3 ? sub : 64);
  }
  load_tile_config(c);
}

// y[t][r] += a[r] dx[t] C[t][r] + b[r] xsd[t] for the 16 tokens of the tile
RKV_AMX inline void scale_tile(const int32_t* c, const float* pa, const float* pb, const float* dx, int64_t dx_stride,
                               const float* xsd, int64_t xsd_stride, __m512* acc) {
  const __m512 a = _mm512_loadu_ps(pa), b = _mm512_loadu_ps(pb);
  for (int t = 0; t < 16; ++t) {
    const __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_load_si512(c + 16 * t)), _mm512_set1_ps(dx[t * dx_stride]));
    acc[t] = _mm512_fmadd_ps(v, a, acc[t]);
    acc[t] = _mm512_fmadd_ps(b, _mm512_set1_ps(xsd[t * xsd_stride]), acc[t]);
  }
}

// One unpacked panel against all tokens (a.q padded to whole tiles of 16).
template <int S>
RKV_AMX void amx_int8_panel(const PackedTile& p, int64_t cols, const Activations& a, int64_t n_tokens, float* y,
                            int64_t ldy, int nv) {
  const int64_t nsub = cols / S, n32 = cols / 32;
  alignas(64) int32_t cbuf[2][16 * 16];
  const __mmask16 mask = static_cast<__mmask16>(nv >= 16 ? 0xFFFF : (1u << nv) - 1);
  for (int64_t t0 = 0; t0 < n_tokens; t0 += 16) {
    __m512 acc[16];
    for (int t = 0; t < 16; ++t) acc[t] = _mm512_setzero_ps();
    const int8_t* qa = a.q.data() + t0 * cols;
    const float* dx = a.dx.data() + t0 * n32;
    const float* xsd = a.xsd.data() + t0 * nsub;
    int64_t j = 0;
    for (; j + 2 <= nsub; j += 2) {  // two sub-blocks in flight: C0 / C1
      _tile_loadd(2, qa + j * S, cols);
      _tile_loadd(4, p.u.data() + j * (S / 4) * 64, 64);
      _tile_zero(0);
      _tile_dpbsud(0, 2, 4);
      _tile_loadd(3, qa + (j + 1) * S, cols);
      _tile_loadd(5, p.u.data() + (j + 1) * (S / 4) * 64, 64);
      _tile_zero(1);
      _tile_dpbsud(1, 3, 5);
      _tile_stored(0, cbuf[0], 64);
      _tile_stored(1, cbuf[1], 64);
      scale_tile(cbuf[0], p.a.data() + j * 16, p.b.data() + j * 16, dx + (j * S) / 32, n32, xsd + j, nsub, acc);
      scale_tile(cbuf[1], p.a.data() + (j + 1) * 16, p.b.data() + (j + 1) * 16, dx + ((j + 1) * S) / 32, n32,
                 xsd + j + 1, nsub, acc);
    }
    if (j < nsub) {
      _tile_loadd(2, qa + j * S, cols);
      _tile_loadd(4, p.u.data() + j * (S / 4) * 64, 64);
      _tile_zero(0);
      _tile_dpbsud(0, 2, 4);
      _tile_stored(0, cbuf[0], 64);
      scale_tile(cbuf[0], p.a.data() + j * 16, p.b.data() + j * 16, dx + (j * S) / 32, n32, xsd + j, nsub, acc);
    }
    const int nt = static_cast<int>(std::min<int64_t>(16, n_tokens - t0));
    for (int t = 0; t < nt; ++t) _mm512_mask_storeu_ps(y + (t0 + t) * ldy, mask, acc[t]);
  }
}

RKV_AMX void release_tiles() { _tile_release(); }

template <class T>
void gemm_typed(const WeightMatrix& w, const Activations& a, int64_t n_tokens, int64_t p0, int64_t p1, float* y,
                bool amx) {
  const size_t pb = panel_bytes(w.type, w.cols);
  const auto* base = static_cast<const uint8_t*>(w.packed);
  thread_local PackedTile tile;
  if (amx) config_int8(T::S);
  for (int64_t p = p0; p < p1; ++p) {
    const int nv = static_cast<int>(std::min<int64_t>(kRows, w.rows - p * kRows));
    unpack_panel<T>(base + pb * static_cast<size_t>(p), w.cols, tile);
    if (amx)
      amx_int8_panel<T::S>(tile, w.cols, a, n_tokens, y + p * kRows, w.rows, nv);
    else
      int8_gemm::run_tile(tile, T::S, w.cols, a, n_tokens, y + p * kRows, w.rows, nv);
  }
  if (amx) release_tiles();
}

// ---- BF16

template <int NT>
RKV_K512 void bf16_rows_kernel(const uint8_t* panel, int64_t cols, const float* x, float* out) {
  __m512 acc0[NT], acc1[NT];
  for (int t = 0; t < NT; ++t) acc0[t] = acc1[t] = _mm512_setzero_ps();
  const __m512i hi_mask = _mm512_set1_epi32(static_cast<int32_t>(0xFFFF0000u));
  for (int64_t gi = 0; gi < cols / 32; ++gi) {
    const uint8_t* g = panel + 1024 * static_cast<size_t>(gi);
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

void quantize(const float* x, int64_t n_tokens, int64_t cols, DType weight_type, Activations& a, ThreadPool& pool) {
  int8_gemm::size_activations(n_tokens, cols, weight_type, a);
  if (n_tokens * cols < 65536) {  // a decode step: not worth waking the pool
    int8_gemm::quantize_activation_rows(x, 0, n_tokens, cols, weight_type, a);
    return;
  }
  pool.parallel_for(n_tokens, [&](int64_t b, int64_t e) { int8_gemm::quantize_activation_rows(x, b, e, cols, weight_type, a); });
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
