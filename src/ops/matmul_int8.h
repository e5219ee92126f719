// ops internal: the AVX-512 VNNI GEMM for block-quantized weights (Q8_0,
// Q4_0, Q4_K, Q5_K, Q6_K) against int8-quantized activations, used by
// matmul() for prefill and batched decode (matmul_int8.cc explains the tiles).
#pragma once

#include <cstdint>

#include "rkv/core/thread_pool.h"
#include "rkv/ops/matmul.h"

namespace rkv::int8_gemm {

// Fewest tokens for which packing the weights pays off against the per-row
// kernels (bench_matmul, 8960 x 1536: the packing costs about as much as 20
// tokens through the row kernels, which unpack each block once per 8 tokens).
constexpr int64_t kMinTokens = 24;

// True when this CPU and weight type can take the VNNI GEMM.
bool supports(DType type);

// y[t][r] = sum_c W[r][c] * q8(x)[t][c], where q8 rounds each activation block
// (32 elements; 256 for the K-quants) to int8 with scale amax / 127, as the
// per-row kernels do. Requires supports(w.type).
//   x: [n_tokens][cols] f32, y: [n_tokens][rows] f32
void matmul(const WeightMatrix& w, const float* x, float* y, int64_t n_tokens, ThreadPool& pool);

}  // namespace rkv::int8_gemm
