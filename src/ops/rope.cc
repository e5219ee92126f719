#include "rkv/ops/rope.h"

#include <cmath>
#include <vector>

namespace rkv {

void rope_apply(float* x, int n_heads, int head_dim, int rot_dim, const float* inv_freq, int64_t pos, float mscale,
                RopeStyle style) {
  const int half = rot_dim / 2;
  float cs[512], sn[512];
  float* c = cs;
  float* s = sn;
  std::vector<float> big;
  if (half > 512) {
    big.resize(2 * static_cast<size_t>(half));
    c = big.data();
    s = big.data() + half;
  }
  for (int i = 0; i < half; ++i) {
    const float angle = static_cast<float>(pos) * inv_freq[i];  // f32 like the references
    c[i] = static_cast<float>(std::cos(static_cast<double>(angle))) * mscale;
    s[i] = static_cast<float>(std::sin(static_cast<double>(angle))) * mscale;
  }
  for (int h = 0; h < n_heads; ++h) {
    float* v = x + static_cast<int64_t>(h) * head_dim;
    for (int i = 0; i < half; ++i) {
      const int a = style == RopeStyle::RotateHalf ? i : 2 * i;
      const int b = style == RopeStyle::RotateHalf ? i + half : 2 * i + 1;
      const float x0 = v[a], x1 = v[b];
      v[a] = x0 * c[i] - x1 * s[i];
      v[b] = x1 * c[i] + x0 * s[i];
    }
  }
}

}  // namespace rkv
