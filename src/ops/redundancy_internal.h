// Internal entry of ops/redundancy with an explicit kernel family, so tests
// can compare the portable, AVX2 and AVX-512 paths on one machine.
#pragma once

#include "rkv/core/cpu.h"
#include "rkv/ops/redundancy.h"

namespace rkv::internal {

void key_redundancy_isa(const float* keys, int64_t n, int d, const RedundancyOptions& options, float* out,
                        ThreadPool& pool, Isa isa);

}  // namespace rkv::internal
