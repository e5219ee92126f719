// ops internal: the AVX-512 / AMX kernels over packed weights (ops/packed.h).
// Each works on panels [p0, p1) of w.packed for all n_tokens and writes
// y[t][rows of those panels]; y: [n_tokens][w.rows].
#pragma once

#include <cstdint>
#include <vector>

#include "ops/matmul_int8.h"
#include "rkv/core/thread_pool.h"
#include "rkv/ops/matmul.h"

namespace rkv::packed::kernels {

// Fewest tokens for which the tile GEMMs beat the register kernels (which
// unpack each weight group once per 8 tokens) -- bench_matmul.
constexpr int64_t kAmxMinTokens = 16;
constexpr int64_t kVnniGemmMinTokens = 24;
constexpr int64_t kBf16AmxMinTokens = 16;

// Whether the AMX int8 GEMM scales once per 256-column super-block: the
// K-quants, and Q8_0 / Q4_0 (rescaled to two int16 byte planes) when cols is
// a multiple of 256 -- then its activations take one scale per 256 too.
bool amx_super_blocks(DType weight_type, int64_t cols);

// int8_gemm::quantize_activations spread over the pool's threads (pad rows of
// q, dx and xsd zero up to a multiple of 16 tokens); tiles: also a.tiles, for
// the AMX GEMM (and the activation scales it needs, amx_super_blocks).
void quantize(const float* x, int64_t n_tokens, int64_t cols, DType weight_type, int8_gemm::Activations& a,
              ThreadPool& pool, bool tiles);

// Register kernels: per panel and group, the group's values unpacked in
// registers once for up to 8 tokens (vpdpbusd with broadcast activations).
void int8_rows(const WeightMatrix& w, const int8_gemm::Activations& a, int64_t n_tokens, int64_t p0, int64_t p1,
               float* y);
// Tile GEMM: per panel, the values unpacked once to bytes, then AMX int8 tiles
// (16 tokens x 16 rows per tile product) or the VNNI register tiles.
void int8_gemm(const WeightMatrix& w, const int8_gemm::Activations& a, int64_t n_tokens, int64_t p0, int64_t p1,
               float* y, bool amx);

// BF16: f32 activations times bf16 weights exactly (shift to f32, FMA).
void bf16_rows(const WeightMatrix& w, const float* x, int64_t n_tokens, int64_t p0, int64_t p1, float* y);

// Activations split for the AMX bf16 product: x = hi + lo, both bf16, so a
// product keeps ~16 significant bits of x (bf16 weights are exact).
struct Bf16Activations {
  int8_gemm::AlignedVector<uint16_t> hi, lo;  // [n_tokens rounded up to 32][cols]
};
void split_bf16(const float* x, int64_t n_tokens, int64_t cols, Bf16Activations& a, ThreadPool& pool);
void bf16_amx(const WeightMatrix& w, const Bf16Activations& a, int64_t n_tokens, int64_t p0, int64_t p1, float* y);

}  // namespace rkv::packed::kernels
