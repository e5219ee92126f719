// ops internal: per-block GGUF dequantizers / quantizers shared by matmul.cc.
#pragma once

#include <cstdint>

#include "rkv/core/dtype.h"

namespace rkv::quant {

void scale_min_k4(int j, const uint8_t* scales, int& sc, int& m);
// n elements of `type` at src -> f32 dst (n a whole number of blocks).
void dequantize(DType type, const uint8_t* src, float* dst, int64_t n);
void quantize_row(const float* src, int64_t n, DType type, uint8_t* dst);

}  // namespace rkv::quant
