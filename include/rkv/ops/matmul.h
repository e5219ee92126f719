// ops/matmul: y = W x for every weight type rkv loads, with run-time dispatch
// (portable / AVX2 / AVX-512 incl. BF16 and VNNI paths).
//
// A weight matrix is row-major [rows = out_features][cols = in_features];
// quantized types store each row as consecutive GGUF-compatible blocks
// (dtype_row_bytes(type, cols) bytes per row). Activations are f32.
#pragma once

#include <cstddef>
#include <cstdint>

#include "rkv/core/cpu.h"
#include "rkv/core/dtype.h"
#include "rkv/core/thread_pool.h"

namespace rkv {

struct WeightMatrix {
  const void* data = nullptr;
  DType type = DType::F32;
  int64_t rows = 0;  // output features
  int64_t cols = 0;  // input features
};

// y[t][r] = sum_c W[r][c] * x[t][c], for t < n_tokens.
//   x: [n_tokens][cols] f32, y: [n_tokens][rows] f32
void matmul(const WeightMatrix& w, const float* x, float* y, int64_t n_tokens, ThreadPool& pool);

// The same with an explicit kernel family (tests compare the paths); an ISA
// the CPU lacks falls back to the best one it has.
void matmul_isa(Isa isa, const WeightMatrix& w, const float* x, float* y, int64_t n_tokens, ThreadPool& pool);

// Plain, obviously correct version (dequantize row, double accumulate) for tests.
void matmul_reference(const WeightMatrix& w, const float* x, float* y, int64_t n_tokens);

// Row r of W as f32: out[cols].
void dequantize_row(const WeightMatrix& w, int64_t r, float* out);
// Quantize rows x cols f32 values into `type` (dst holds rows*dtype_row_bytes).
void quantize_matrix(const float* src, int64_t rows, int64_t cols, DType type, void* dst);

}  // namespace rkv
