// Internal entry of ops/attention with an explicit kernel family, so tests
// can compare the portable, AVX2 and AVX-512 paths on one machine.
#pragma once

#include "rkv/core/cpu.h"
#include "rkv/ops/attention.h"

namespace rkv::internal {

// attend() on the paths of `isa` (the portable one where that family does
// not take the shape); isa must not exceed best_isa().
void attend_isa(Isa isa, const float* q, int group, int head_dim, const KvHeadView& kv, int64_t pos, int64_t window,
                float scale, float* out, std::vector<float>& scratch);

}  // namespace rkv::internal
