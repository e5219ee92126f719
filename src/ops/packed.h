// ops internal: weight matrices packed once at load into the layout the
// AVX-512 / AMX kernels consume (rkv::pack_weights), and the kernels that
// read it.
//
// Rows go in panels of 16 (the last one padded with zero rows); a panel is
// stored whole, as consecutive groups of columns (32, or a 256-column
// super-block for the K-quants). Within a group every value sits where a
// 16-row tile wants it: four consecutive columns of the 16 rows side by side,
// [k/4][16 rows][4] -- the B operand of vpdpbusd (one instruction multiplies
// four columns of all 16 rows) and of the AMX int8 tile product, whose tiles
// load straight from it. The block types keep their bits and their scales
// (f16 d, 6-bit sub-block scales), so a packed matrix takes the same bytes
// as the GGUF one within 3%, and decode reads it instead of the original:
//   Q8_0  group 32:  u = q + 128 [8][16][4]                    | d[16] f16
//   Q4_0  group 32:  nibbles [4][16][4] (k-groups g and g+4)    | d[16] f16
//   Q4_K  group 256: d[16] dmin[16] f16 | sc[8][16] m[8][16] u8 | 8 x nibbles [4][16][4]
//   Q5_K  group 256: as Q4_K, each sub-block + its 5th bits (64 bits per k-group)
//   Q6_K  group 256: d[16] f16 | sc[16][16] i8 | 16 x (nibbles [2][16][4] | high 2 bits [16][4])
//   BF16  group 32:  [16 column pairs][16 rows][2] (the AMX bf16 B operand)
// A row's value is w = a * u + b with a, b per row and sub-block of S = 32
// columns (16 for Q6_K): Q8_0 a = d, b = -128 d; Q4_0 a = d, b = -8 d;
// Q4_K / Q5_K a = d sc, b = -dmin m; Q6_K a = d sc, b = -32 a.
#pragma once

#include <cstddef>
#include <cstdint>

#include "rkv/core/thread_pool.h"
#include "rkv/ops/matmul.h"

namespace rkv::packed {

constexpr int kRows = 16;  // rows per panel

inline int64_t panel_count(int64_t rows) { return (rows + kRows - 1) / kRows; }

// Columns per group and bytes per group of one panel; 0 when `type` has no packed layout.
int64_t group_cols(DType type);
size_t group_bytes(DType type);
inline size_t panel_bytes(DType type, int64_t cols) { return static_cast<size_t>(cols / group_cols(type)) * group_bytes(type); }

// Whether this machine's kernels take `type` packed (AVX-512 VNNI for the
// block types, AMX for BF16; active ISA not lowered) at this width.
bool supported(DType type, int64_t cols);

// w.data (GGUF rows) -> dst (panel_count(rows) * panel_bytes bytes).
void pack(const WeightMatrix& w, void* dst, ThreadPool& pool);

// Row r of a packed matrix as f32 (w.packed).
void dequantize_row(const WeightMatrix& w, int64_t r, float* out);

// y = W x from w.packed for any number of tokens: the register kernels for
// few tokens (decode, small batches: each panel read once per call), the
// tile GEMMs for prefill (AMX tiles when `amx`, else AVX-512 VNNI / FMA).
// Requires supported(w.type, w.cols) on this machine.
void matmul(const WeightMatrix& w, const float* x, float* y, int64_t n_tokens, ThreadPool& pool, bool amx);

// rkv::matmul_shared_input's single pass: when every matrix is packed, of
// one type and width, and n_tokens takes the register kernels, computes them
// all and returns true; otherwise does nothing and returns false.
bool matmul_shared_input(const MatmulOutput* outputs, size_t count, const float* x, int64_t n_tokens, ThreadPool& pool,
                         bool amx);

}  // namespace rkv::packed
