// Internal entry of ops/kv_row with an explicit kernel family, so tests can
// compare the portable and AVX2 dequantization on one machine.
#pragma once

#include "rkv/core/cpu.h"
#include "rkv/ops/kv_row.h"

namespace rkv::internal {

// kv_rows_to_f32 on the paths of `isa` (<= best_isa()).
void kv_rows_to_f32_isa(Isa isa, DType t, const void* src, int64_t rows, int head_dim, float* dst);

}  // namespace rkv::internal
