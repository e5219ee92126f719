// The AVX-512 VNNI GEMM for block-quantized weights.
//
// Every supported block type is rewritten per tile as unsigned bytes u with
//   w = a * u + b   (a, b: f32 per row and sub-block of S = 32 elements, 16 for Q6_K)
// (Q8_0: u = q + 128; Q4_0: u = q, b = -8a; Q4_K / Q5_K: a = d*sc, b = -dmin*m;
// Q6_K: b = -32a). A tile is 16 rows packed [k/4][16 rows][4 bytes], so one
// vpdpbusd multiplies four columns of all 16 rows by four broadcast int8
// activations and adds them into the 16 rows' int32 lanes. Per sub-block and
// token the int32 sum is scaled once in f32, and the offset b enters through
// the sub-block's activation sum:
//   y[t][r] += a[r] * dx[t] * sum_k u[r][k] q[t][k] + b[r] * dx[t] * sum_k q[t][k]
// Each thread packs its tiles once per call and runs them against all tokens
// in register tiles of up to 8 tokens (8 f32 accumulators, the sub-block's
// S/4 weight registers reused by every token).
//
// Activations are rounded exactly as the per-row kernels round them (scale
// amax / 127 per 32 elements, per 256 for K-quant weights, round to nearest
// even), so prefill and decode see the same int8 inputs.
// GCC 12 warns about _mm256_undefined_* inside its own AVX-512 headers.
#pragma GCC diagnostic ignored "-Wuninitialized"
#include "ops/matmul_int8.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "ops/quant_internal.h"
#include "rkv/core/cpu.h"
#include "rkv/core/error.h"

#define RKV_VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))

namespace rkv::int8_gemm {
namespace {

constexpr int kNt = 8;   // tokens per register tile

float f16_at(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

// ---- activations

// Rows [t0, t1) of the activations (sized by size_activations).
RKV_VNNI_TARGET void quantize_rows_vnni(const float* x, int64_t t0, int64_t t1, int64_t cols, int scale_block, int sub,
                                        Activations& a) {
  const int64_t n32 = cols / 32, nsub = cols / sub;
  std::vector<int32_t> s16(static_cast<size_t>(cols / 16));  // sum of q per 16
  for (int64_t t = t0; t < t1; ++t) {
    const float* xt = x + t * cols;
    int8_t* qt = a.q.data() + t * cols;
    float* dxt = a.dx.data() + t * n32;
    for (int64_t b0 = 0; b0 < cols; b0 += scale_block) {
      __m512 m = _mm512_setzero_ps();
      for (int i = 0; i < scale_block; i += 16) m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_loadu_ps(xt + b0 + i)));
      const float d = _mm512_reduce_max_ps(m) / 127.0f, id = d > 0 ? 1.0f / d : 0.0f;
      const __m512 idv = _mm512_set1_ps(id);
      for (int i = 0; i < scale_block; i += 16) {
        // cvtps rounds to nearest even (MXCSR default), as std::nearbyint does
        const __m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(xt + b0 + i), idv));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(qt + b0 + i), _mm512_cvtepi32_epi8(v));
        s16[static_cast<size_t>((b0 + i) / 16)] = _mm512_reduce_add_epi32(v);
      }
      for (int i = 0; i < scale_block; i += 32) dxt[(b0 + i) / 32] = d;
    }
    float* xsdt = a.xsd.data() + t * nsub;
    for (int64_t j = 0; j < nsub; ++j) {
      int32_t s = 0;
      for (int k = 0; k < sub / 16; ++k) s += s16[static_cast<size_t>(j * (sub / 16) + k)];
      xsdt[j] = dxt[(j * sub) / 32] * static_cast<float>(s);
    }
  }
}

// ---- weights: one block as u (natural element order) and a, b per sub-block

void unpack_q8_0(const uint8_t* blk, uint8_t* u, float* a, float* b) {
  const float d = f16_at(blk);
  quant::block_values(DType::Q8_0, blk, u);  // q + 128
  a[0] = d;
  b[0] = -128.0f * d;
}

void unpack_q4_0(const uint8_t* blk, uint8_t* u, float* a, float* b) {
  const float d = f16_at(blk);
  quant::block_values(DType::Q4_0, blk, u);
  a[0] = d;
  b[0] = -8.0f * d;
}

template <bool Q5>
void unpack_q4_k(const uint8_t* blk, uint8_t* u, float* a, float* b) {
  const float d = f16_at(blk), dmin = f16_at(blk + 2);
  for (int j = 0; j < 8; ++j) {
    int sc, m;
    quant::scale_min_k4(j, blk + 4, sc, m);
    a[j] = d * static_cast<float>(sc);
    b[j] = -(dmin * static_cast<float>(m));
  }
  quant::block_values(Q5 ? DType::Q5_K : DType::Q4_K, blk, u);
}

void unpack_q6_k(const uint8_t* blk, uint8_t* u, float* a, float* b) {
  const float d = f16_at(blk + 208);
  const auto* sc = reinterpret_cast<const int8_t*>(blk + 192);
  for (int i = 0; i < 16; ++i) {
    a[i] = d * static_cast<float>(sc[i]);
    b[i] = -32.0f * a[i];
  }
  quant::block_values(DType::Q6_K, blk, u);
}

using UnpackFn = void (*)(const uint8_t*, uint8_t*, float*, float*);

UnpackFn pick_unpack(DType t) {
  switch (t) {
    case DType::Q8_0: return unpack_q8_0;
    case DType::Q4_0: return unpack_q4_0;
    case DType::Q4_K: return unpack_q4_k<false>;
    case DType::Q5_K: return unpack_q4_k<true>;
    case DType::Q6_K: return unpack_q6_k;
    default: return nullptr;
  }
}

// Rows [r0, r0 + nv) of w into p (rows past nv are zero: they add nothing).
void pack_tile(const WeightMatrix& w, int64_t r0, int nv, UnpackFn unpack, int sub, PackedTile& p) {
  const int64_t be = dtype_block_elems(w.type), nblk = w.cols / be, sb_per_blk = be / sub;
  const size_t bb = dtype_block_bytes(w.type), rb = dtype_row_bytes(w.type, w.cols);
  p.resize(w.cols, sub);
  if (nv < kMr) {
    std::fill(p.u.begin(), p.u.end(), uint8_t{0});
    std::fill(p.a.begin(), p.a.end(), 0.0f);
    std::fill(p.b.begin(), p.b.end(), 0.0f);
  }
  uint8_t u[256];
  float a[16], b[16];
  const auto* base = static_cast<const uint8_t*>(w.data);
  for (int i = 0; i < nv; ++i) {
    const uint8_t* row = base + rb * static_cast<size_t>(r0 + i);
    for (int64_t bi = 0; bi < nblk; ++bi) {
      unpack(row + bb * static_cast<size_t>(bi), u, a, b);
      uint8_t* dst = p.u.data() + (bi * be / 4) * (4 * kMr) + 4 * i;
      for (int64_t g = 0; g < be / 4; ++g) std::memcpy(dst + g * (4 * kMr), u + 4 * g, 4);
      for (int64_t s = 0; s < sb_per_blk; ++s) {
        p.a[static_cast<size_t>((bi * sb_per_blk + s) * kMr + i)] = a[s];
        p.b[static_cast<size_t>((bi * sb_per_blk + s) * kMr + i)] = b[s];
      }
    }
  }
}

// ---- the register tile: 16 rows x NT tokens over all columns

struct TileArgs {
  const PackedTile* p;
  int64_t cols;
  const int8_t* q;     // activations of the first token: [NT][cols]
  const float* dx;     // [NT][cols / 32]
  const float* xsd;    // [NT][cols / S]
  float* y;            // y of the first token at the tile's first row
  int64_t ldy;         // rows of W
  int nv;              // valid rows in the tile
};

template <int S, int NT>
RKV_VNNI_TARGET void tile_kernel(const TileArgs& t) {
  constexpr int G = S / 4;  // 4-column groups per sub-block
  const int64_t nsub = t.cols / S, n32 = t.cols / 32;
  const uint8_t* u = t.p->u.data();
  const float* pa = t.p->a.data();
  const float* pb = t.p->b.data();
  __m512 f[NT];
  for (int k = 0; k < NT; ++k) f[k] = _mm512_setzero_ps();
  for (int64_t j = 0; j < nsub; ++j) {
    __m512i wv[G];
    for (int g = 0; g < G; ++g) wv[g] = _mm512_loadu_si512(u + (j * G + g) * 64);
    const __m512 av = _mm512_loadu_ps(pa + j * kMr), bv = _mm512_loadu_ps(pb + j * kMr);
    for (int k = 0; k < NT; ++k) {
      const int8_t* xk = t.q + k * t.cols + j * S;
      __m512i acc = _mm512_setzero_si512();
      for (int g = 0; g < G; ++g) {
        int32_t four;
        std::memcpy(&four, xk + 4 * g, 4);
        acc = _mm512_dpbusd_epi32(acc, wv[g], _mm512_set1_epi32(four));
      }
      const __m512 scale = _mm512_mul_ps(av, _mm512_set1_ps(t.dx[k * n32 + (j * S) / 32]));
      f[k] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), scale, f[k]);
      f[k] = _mm512_fmadd_ps(bv, _mm512_set1_ps(t.xsd[k * nsub + j]), f[k]);
    }
  }
  const __mmask16 mask = static_cast<__mmask16>(t.nv >= kMr ? 0xFFFF : (1u << t.nv) - 1);
  for (int k = 0; k < NT; ++k) _mm512_mask_storeu_ps(t.y + k * t.ldy, mask, f[k]);
}

using TileFn = void (*)(const TileArgs&);

template <int S>
TileFn pick_tile(int nt) {
  static const TileFn fns[kNt] = {tile_kernel<S, 1>, tile_kernel<S, 2>, tile_kernel<S, 3>, tile_kernel<S, 4>,
                                  tile_kernel<S, 5>, tile_kernel<S, 6>, tile_kernel<S, 7>, tile_kernel<S, 8>};
  return fns[nt - 1];
}

}  // namespace

bool is_k_quant(DType t) { return t == DType::Q4_K || t == DType::Q5_K || t == DType::Q6_K; }
int sub_block_elems(DType t) { return t == DType::Q6_K ? 16 : 32; }

void PackedTile::resize(int64_t cols, int sub) {
  u.resize(static_cast<size_t>(cols * kMr));
  a.resize(static_cast<size_t>(cols / sub * kMr));
  b.resize(a.size());
}

void size_activations(int64_t n_tokens, int64_t cols, DType weight_type, Activations& a) {
  const int64_t padded = (n_tokens + 31) / 32 * 32;
  a.q.resize(static_cast<size_t>(padded * cols));
  a.dx.resize(static_cast<size_t>(padded * (cols / 32)));
  a.xsd.resize(static_cast<size_t>(padded * (cols / sub_block_elems(weight_type))));
  std::fill(a.q.begin() + n_tokens * cols, a.q.end(), int8_t{0});
  std::fill(a.dx.begin() + n_tokens * (cols / 32), a.dx.end(), 0.0f);
  std::fill(a.xsd.begin() + n_tokens * (cols / sub_block_elems(weight_type)), a.xsd.end(), 0.0f);
}

int activation_block(DType weight_type) { return is_k_quant(weight_type) ? 256 : 32; }

void quantize_activation_rows(const float* x, int64_t t0, int64_t t1, int64_t cols, DType weight_type,
                              int scale_block, Activations& a) {
  RKV_CHECK((scale_block == 32 || scale_block == 256) && cols % scale_block == 0 &&
                scale_block >= activation_block(weight_type),
            "internal: activation scale block ", scale_block, " for ", dtype_name(weight_type), " x ", cols);
  quantize_rows_vnni(x, t0, t1, cols, scale_block, sub_block_elems(weight_type), a);
}

void quantize_activations(const float* x, int64_t n_tokens, int64_t cols, DType weight_type, Activations& a) {
  size_activations(n_tokens, cols, weight_type, a);
  quantize_activation_rows(x, 0, n_tokens, cols, weight_type, activation_block(weight_type), a);
}

void run_tile(const PackedTile& p, int sub, int64_t cols, const Activations& a, int64_t n_tokens, float* y, int64_t ldy,
              int nv) {
  const int64_t n32 = cols / 32, nsub = cols / sub;
  for (int64_t t0 = 0; t0 < n_tokens; t0 += kNt) {
    const int nt = static_cast<int>(std::min<int64_t>(kNt, n_tokens - t0));
    const TileArgs args{&p, cols, a.q.data() + t0 * cols, a.dx.data() + t0 * n32, a.xsd.data() + t0 * nsub,
                        y + t0 * ldy, ldy, nv};
    (sub == 16 ? pick_tile<16>(nt) : pick_tile<32>(nt))(args);
  }
}

bool supports(DType type) {
  const CpuFeatures& f = cpu_features();
  return pick_unpack(type) != nullptr && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx512_vnni &&
         f.fma && f.f16c;
}

void matmul(const WeightMatrix& w, const float* x, float* y, int64_t n_tokens, ThreadPool& pool) {
  RKV_CHECK(supports(w.type), "int8 GEMM: weight type ", dtype_name(w.type), " or this CPU is not supported");
  const int sub = sub_block_elems(w.type);
  thread_local Activations act;
  quantize_activations(x, n_tokens, w.cols, w.type, act);
  const UnpackFn unpack = pick_unpack(w.type);
  const int64_t tiles = (w.rows + kMr - 1) / kMr;
  const Activations& a = act;
  pool.parallel_for(tiles, [&](int64_t begin, int64_t end) {
    thread_local PackedTile packed;
    for (int64_t tile = begin; tile < end; ++tile) {
      const int64_t r0 = tile * kMr;
      const int nv = static_cast<int>(std::min<int64_t>(kMr, w.rows - r0));
      pack_tile(w, r0, nv, unpack, sub, packed);
      run_tile(packed, sub, w.cols, a, n_tokens, y + r0, w.rows, nv);
    }
  });
}

}  // namespace rkv::int8_gemm
