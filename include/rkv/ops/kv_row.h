// ops/kv_row: how one KV cache row — one token of one KV head, head_dim
// values — is stored, for every cache type (--kv-type).
//
//   f32 / f16 / bf16  head_dim elements.
//   q8_0  head_dim int8 codes, then ONE f16 scale for the row (per token and
//         head): x = d * code, d = max|x| / 127.        head_dim + 2 bytes
//   q4_0  head_dim / 2 bytes of 4-bit codes, then one f16 scale per block of
//         32 values (of the whole row when head_dim is not a multiple of 32):
//         x = d * (code - 8), d = (the value of largest magnitude) / -8, as
//         llama.cpp's q4_0. In a block of B values, byte j holds value j in
//         its low nibble and value j + B/2 in its high nibble.
//                                                     head_dim / 2 + 2 * blocks bytes
// Rounding is to nearest (ties away from zero for the codes, like llama.cpp's
// quantizers); a row holding inf or NaN gets a NaN scale, so the value stays
// non-finite and the engine's non-finite check reports it. code * scale is
// exact in f32, so a row dequantizes to the same floats on every path.
// Why q8_0 has one scale per row and q4_0 one per 32 values: docs/rkv-method.md
// ("Quantized caches").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rkv/core/dtype.h"

namespace rkv {

bool is_kv_type(DType t);  // f32, f16, bf16, q8_0, q4_0
// "f32" | "f16" | "bf16" | "q8_0" | "q4_0" (and float32 / float16 / bfloat16); throws rkv::Error.
DType parse_kv_type(std::string_view name);
// Values sharing one scale: head_dim for f32/f16/bf16 and q8_0, 32 or head_dim for q4_0.
int kv_block(DType t, int head_dim);
// Bytes of one row; throws for a type that is not a KV type and for q4_0 with an odd head_dim.
size_t kv_row_bytes(DType t, int head_dim);
// Offset of the f16 scales inside a quantized row (the codes come first).
inline size_t kv_scale_offset(DType t, int head_dim) {
  return t == DType::Q4_0 ? static_cast<size_t>(head_dim) / 2 : static_cast<size_t>(head_dim);
}

// rows x head_dim f32 values [rows][head_dim] -> rows rows of type t (each kv_row_bytes apart).
void kv_rows_from_f32(const float* src, int64_t rows, int head_dim, DType t, void* dst);
// rows rows of type t -> [rows][head_dim] f32.
void kv_rows_to_f32(DType t, const void* src, int64_t rows, int head_dim, float* dst);

}  // namespace rkv
