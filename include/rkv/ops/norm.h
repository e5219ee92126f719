// ops/norm: RMSNorm and the SwiGLU activation, f32.
#pragma once

#include <cstdint>

namespace rkv {

// out[t] = x[t] / sqrt(mean(x[t]^2) + eps) * weight, for t < n_rows.
//   x, out: [n_rows][dim] (may alias), weight: [dim]
void rmsnorm(const float* x, const float* weight, float* out, int64_t n_rows, int64_t dim, float eps);

// gate[i] = silu(gate[i]) * up[i], i < n.   gate, up: [n]
void swiglu(float* gate, const float* up, int64_t n);

}  // namespace rkv
