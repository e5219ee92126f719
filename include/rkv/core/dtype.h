// core/dtype: element types and exact conversions between them.
//
// f16 and bf16 conversions round to nearest, ties to even, keep NaN a NaN
// (quiet) and handle subnormals and infinities exactly like IEEE 754 /
// numpy / torch. Bulk conversions use F16C / AVX-512 BF16 when the CPU has
// them (picked at run time) and give bit-identical results to the scalar ones.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace rkv {

enum class DType : uint8_t {
  F32, F16, BF16, I8, U8, I16, I32, I64, F64, BOOL,
  // Block-quantized weight types, bit-compatible with GGUF/ggml blocks.
  Q8_0,  // 32 elems: f16 scale + 32 x int8                    (34 bytes)
  Q4_0,  // 32 elems: f16 scale + 16 bytes of 4-bit            (18 bytes)
  Q4_K,  // 256 elems: super-block with 6-bit sub-scales       (144 bytes)
  Q5_K,  // 256 elems                                          (176 bytes)
  Q6_K,  // 256 elems                                          (210 bytes)
};

size_t dtype_size(DType t);          // bytes per element; 0 for block types
int64_t dtype_block_elems(DType t);  // elements per block (1 for plain types)
size_t dtype_block_bytes(DType t);   // bytes per block
bool is_quantized(DType t);
// Bytes of n elements; throws if n is not a whole number of blocks.
size_t dtype_row_bytes(DType t, int64_t n);
std::string_view dtype_name(DType t);  // "f32", "f16", "bf16", "i32", ...
// Parses "f32"/"float32", "f16"/"float16", "bf16"/"bfloat16"; throws rkv::Error.
DType parse_float_dtype(std::string_view name);
// The float names and the block types by dtype_name ("q8_0", "q4_k", ...).
DType parse_weight_dtype(std::string_view name);
bool is_float(DType t);

uint16_t f32_to_bf16(float x);
float bf16_to_f32(uint16_t x);
uint16_t f32_to_f16(float x);
float f16_to_f32(uint16_t x);

// dst[i] = convert(src[i]) for n elements; float <-> f32 / f16 / bf16.
void convert_to_f32(DType src_type, const void* src, float* dst, size_t n);
void convert_from_f32(const float* src, DType dst_type, void* dst, size_t n);

}  // namespace rkv
