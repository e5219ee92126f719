// ops/attention: softmax and causal (optionally sliding-window) attention of
// a group of query heads over one KV head's cached rows.
//
// The cache rows carry their original token positions; a query at position
// `pos` sees exactly the rows with position <= pos (and pos - position <
// window when window > 0), wherever compression left them in the cache.
// Rows of every KV type (ops/kv_row.h) are read as stored and converted in
// registers — q8_0 / q4_0 rows are never dequantized to memory — on AVX-512,
// AVX2+FMA+F16C or portable code (active_isa()).
#pragma once

#include <cstdint>
#include <vector>

#include "rkv/core/dtype.h"

namespace rkv {

// In place: x = softmax(x), n > 0. Entries equal to -inf get probability 0.
void softmax(float* x, int64_t n);

struct KvHeadView {
  const void* keys = nullptr;        // [n] rows of `type` (kv_row_bytes(type, head_dim) each)
  const void* values = nullptr;      // [n] rows of `type`
  const int32_t* positions = nullptr;  // [n]
  DType type = DType::F32;           // f32, f16, bf16, q8_0 or q4_0
  int64_t n = 0;
};

// out[g] = sum_j softmax_j(scale * q[g] . k_j) v_j for g < group.
//   q, out: [group][head_dim]. scratch is resized as needed.
void attend(const float* q, int group, int head_dim, const KvHeadView& kv, int64_t pos, int64_t window, float scale,
            float* out, std::vector<float>& scratch);

// The same computed plainly (row by row dequantized to f32, exp from libm):
// what the tests compare the vectorized paths with, and the path of CPUs
// without AVX2 (and of head sizes the vector paths do not take).
void attend_reference(const float* q, int group, int head_dim, const KvHeadView& kv, int64_t pos, int64_t window,
                      float scale, float* out, std::vector<float>& scratch);

}  // namespace rkv
