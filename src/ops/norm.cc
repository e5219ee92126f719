#include "rkv/ops/norm.h"

#include <cmath>

namespace rkv {

void rmsnorm(const float* x, const float* weight, float* out, int64_t n_rows, int64_t dim, float eps) {
  for (int64_t t = 0; t < n_rows; ++t) {
    const float* xr = x + t * dim;
    float* o = out + t * dim;
    double ss = 0;
    for (int64_t i = 0; i < dim; ++i) ss += static_cast<double>(xr[i]) * xr[i];
    const float inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(dim) + eps));
    for (int64_t i = 0; i < dim; ++i) o[i] = weight[i] * (xr[i] * inv);
  }
}

void swiglu(float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    gate[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

}  // namespace rkv
