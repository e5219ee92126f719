// ops internal: the AVX-512 VNNI GEMM for block-quantized weights (Q8_0,
// Q4_0, Q4_K, Q5_K, Q6_K) against int8-quantized activations, used by
// matmul() for prefill and batched decode (matmul_int8.cc explains the tiles).
#pragma once

#include <cstdint>
#include <vector>

#include "rkv/core/buffer.h"
#include "rkv/core/thread_pool.h"
#include "rkv/ops/matmul.h"

namespace rkv::int8_gemm {

// std::vector storage on 64-byte boundaries (huge pages from 2 MiB): AMX
// tile rows that straddle cache lines load several times slower.
template <class T>
using AlignedVector = PageVector<T>;

// Fewest tokens for which packing the weights pays off against the per-row
// kernels (bench_matmul, 8960 x 1536: the packing costs about as much as 20
// tokens through the row kernels, which unpack each block once per 8 tokens).
constexpr int64_t kMinTokens = 24;

// True when this CPU and weight type can take the VNNI GEMM.
bool supports(DType type);

constexpr int kMr = 16;  // weight rows per tile (one zmm of int32 / f32 lanes)

bool is_k_quant(DType t);
int sub_block_elems(DType t);  // S: elements sharing one weight scale (32; 16 for Q6_K)

// Activations rounded to int8 as the per-row kernels round them.
struct Activations {
  // rows past n_tokens up to a multiple of 32 are zero (a pair of 16-token AMX tiles)
  AlignedVector<int8_t> q;  // [n_tokens][cols]
  std::vector<float> dx;   // [n_tokens][cols / 32] scale of each 32 elements
  std::vector<float> xsd;  // [n_tokens][cols / S] dx * (sum of q over the sub-block)
  // q in AMX tile order, when asked for: [n_tokens / 16 (even)][cols / S][16][S]
  // (sub-block j of a 16-token tile is one contiguous tile operand)
  AlignedVector<int8_t> tiles;
};
// Elements sharing one activation scale for these weights: 32, or 256 for
// the K-quants (whose weight scales are per 256-column super-block).
int activation_block(DType weight_type);
// Scale per activation_block(weight_type) elements, S = sub_block_elems(weight_type).
void quantize_activations(const float* x, int64_t n_tokens, int64_t cols, DType weight_type, Activations& a);
// The same in two steps, for spreading the rows over threads; scale_block
// (32 or 256, dividing cols) may be coarser than activation_block(weight_type)
// for a kernel that scales per super-block (packed/AMX Q8_0 and Q4_0).
void size_activations(int64_t n_tokens, int64_t cols, DType weight_type, Activations& a);
void quantize_activation_rows(const float* x, int64_t t0, int64_t t1, int64_t cols, DType weight_type,
                              int scale_block, Activations& a);

// 16 weight rows as unsigned bytes u with w = a * u + b per sub-block.
struct PackedTile {
  AlignedVector<uint8_t> u;  // [cols / 4][kMr][4]
  std::vector<float> a, b;  // [cols / S][kMr]
  void resize(int64_t cols, int sub);
};

// y[t][0..nv) = tile . q8(x[t]) for t < n_tokens; y: [n_tokens][ldy] at the tile's first row.
void run_tile(const PackedTile& p, int sub, int64_t cols, const Activations& a, int64_t n_tokens, float* y, int64_t ldy,
              int nv);

// y[t][r] = sum_c W[r][c] * q8(x)[t][c], where q8 rounds each activation block
// (32 elements; 256 for the K-quants) to int8 with scale amax / 127, as the
// per-row kernels do. Requires supports(w.type).
//   x: [n_tokens][cols] f32, y: [n_tokens][rows] f32
void matmul(const WeightMatrix& w, const float* x, float* y, int64_t n_tokens, ThreadPool& pool);

}  // namespace rkv::int8_gemm
