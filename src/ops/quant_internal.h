// ops internal: per-block GGUF dequantizers / quantizers shared by matmul.cc.
#pragma once

#include <cstdint>

#include "rkv/core/dtype.h"

namespace rkv::quant {

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K block.
inline void scale_min_k4(int j, const uint8_t* s, int& sc, int& m) {
  if (j < 4) {
    sc = s[j] & 63;
    m = s[j + 4] & 63;
  } else {
    sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
    m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}
// The unsigned value of every element of one GGUF block in natural order
// (Q8_0: q + 128; Q4_0 / Q4_K: 4 bits; Q5_K: 5; Q6_K: 6), as dequantize reads
// them; u holds the block's 32 or 256 values.
void block_values(DType type, const uint8_t* blk, uint8_t* u);
// n elements of `type` at src -> f32 dst (n a whole number of blocks).
void dequantize(DType type, const uint8_t* src, float* dst, int64_t n);
void quantize_row(const float* src, int64_t n, DType type, uint8_t* dst);

}  // namespace rkv::quant
