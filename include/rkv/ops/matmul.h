// ops/matmul: y = W x for every weight type rkv loads, with run-time dispatch
// (portable / AVX2 / AVX-512 incl. BF16 and VNNI paths).
//
// A weight matrix is row-major [rows = out_features][cols = in_features];
// quantized types store each row as consecutive GGUF-compatible blocks
// (dtype_row_bytes(type, cols) bytes per row). Activations are f32.
//
// On CPUs with AVX-512 VNNI (block types) or AMX (bf16) a matrix can be
// packed once (pack_weights) into the layout of the fast kernels: 16-row
// panels whose values sit where vpdpbusd and the AMX tile products read
// them, about the same bytes as the GGUF rows. matmul then reads only the
// packed copy (decode and prefill), so the original can be released.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include "rkv/core/cpu.h"
#include "rkv/core/dtype.h"
#include "rkv/core/thread_pool.h"

namespace rkv {

struct WeightMatrix {
  const void* data = nullptr;    // [rows][dtype_row_bytes(type, cols)]; may be nullptr when packed is set
  DType type = DType::F32;
  int64_t rows = 0;  // output features
  int64_t cols = 0;  // input features
  const void* packed = nullptr;  // pack_weights() output, or nullptr
};

// Bytes pack_weights needs for a rows x cols matrix of `type` on this
// machine (64-byte aligned destination); 0 when its kernels take that
// matrix as it is (no AVX-512 VNNI / AMX, RKV_ISA lowered, or a type or
// width without a packed layout).
size_t packed_weight_bytes(DType type, int64_t rows, int64_t cols);
// Packs w.data into dst (packed_weight_bytes(w.type, w.rows, w.cols) bytes);
// afterwards set w.packed = dst (and, if wanted, w.data = nullptr).
void pack_weights(const WeightMatrix& w, void* dst, ThreadPool& pool);

// y[t][r] = sum_c W[r][c] * x[t][c], for t < n_tokens.
//   x: [n_tokens][cols] f32, y: [n_tokens][rows] f32
void matmul(const WeightMatrix& w, const float* x, float* y, int64_t n_tokens, ThreadPool& pool);

// y_i = W_i x for several matrices that read the same activations (q, k, v;
// gate, up): the same results as one matmul call each. Where the packed
// register kernels take them all (decode and small batches: same type and
// width) they run as one pass over the threads with the activations
// quantized once, so the fixed cost of a call -- waking the threads, small
// matrices such as k and v split two ways -- is paid once.
struct MatmulOutput {
  const WeightMatrix* w;
  float* y;  // [n_tokens][w->rows]
};
void matmul_shared_input(std::initializer_list<MatmulOutput> outputs, const float* x, int64_t n_tokens, ThreadPool& pool);

// The same with an explicit kernel family (tests compare the paths); an ISA
// the CPU lacks falls back to the best one it has; amx: AMX tiles for
// prefill where amx_available() (only with Isa::Avx512). A packed matrix
// below Isa::Avx512 (or on a machine without its kernels) is unpacked row
// by row: correct, slow.
void matmul_isa(Isa isa, const WeightMatrix& w, const float* x, float* y, int64_t n_tokens, ThreadPool& pool,
                bool amx = false);

// Plain, obviously correct version (dequantize row, double accumulate) for tests.
void matmul_reference(const WeightMatrix& w, const float* x, float* y, int64_t n_tokens);

// Row r of W as f32: out[cols] (from w.data, else from w.packed).
void dequantize_row(const WeightMatrix& w, int64_t r, float* out);
// Quantize rows x cols f32 values into `type` (dst holds rows*dtype_row_bytes).
void quantize_matrix(const float* src, int64_t rows, int64_t cols, DType type, void* dst);

}  // namespace rkv
