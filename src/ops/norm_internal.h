// Internal entry of ops/norm with an explicit kernel family, so tests can
// compare the portable, AVX2 and AVX-512 SwiGLU on one machine.
#pragma once

#include <cstdint>

#include "rkv/core/cpu.h"

namespace rkv::internal {

// swiglu() on the kernels of `isa` (<= best_isa()).
void swiglu_isa(Isa isa, float* gate, const float* up, int64_t n);

}  // namespace rkv::internal
