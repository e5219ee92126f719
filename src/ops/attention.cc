#include "rkv/ops/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "rkv/core/error.h"
#include "rkv/ops/vec.h"

namespace rkv {

void softmax(float* x, int64_t n) {
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) mx = std::max(mx, x[i]);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float e = x[i] == -std::numeric_limits<float>::infinity() ? 0.0f : std::exp(x[i] - mx);
    x[i] = e;
    sum += e;
  }
  const float inv = sum > 0 ? static_cast<float>(1.0 / sum) : 0.0f;
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void attend(const float* q, int group, int head_dim, const KvHeadView& kv, int64_t pos, int64_t window, float scale,
            float* out, std::vector<float>& scratch) {
  RKV_CHECK(kv.type == DType::F32 || kv.type == DType::F16 || kv.type == DType::BF16, "attention: cache type ",
            dtype_name(kv.type), " is not supported");
  const int64_t n = kv.n;
  const size_t es = dtype_size(kv.type);
  // scratch: [group][n] scores, then [head_dim] converted row.
  scratch.resize(static_cast<size_t>(group) * n + static_cast<size_t>(head_dim) + 1);
  float* scores = scratch.data();
  float* row = scratch.data() + static_cast<size_t>(group) * n;
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const auto* kb = static_cast<const uint8_t*>(kv.keys);
  const auto* vb = static_cast<const uint8_t*>(kv.values);
  for (int64_t j = 0; j < n; ++j) {
    const int64_t p = kv.positions[j];
    const bool visible = p <= pos && (window <= 0 || pos - p < window);
    if (!visible) {
      for (int g = 0; g < group; ++g) scores[g * n + j] = neg_inf;
      continue;
    }
    const float* k;
    if (kv.type == DType::F32) {
      k = reinterpret_cast<const float*>(kb + static_cast<size_t>(j) * head_dim * es);
    } else {
      convert_to_f32(kv.type, kb + static_cast<size_t>(j) * head_dim * es, row, static_cast<size_t>(head_dim));
      k = row;
    }
    float dots[64];
    if (group <= 64) {
      dot_rows(k, q, group, head_dim, dots);
      for (int g = 0; g < group; ++g) scores[g * n + j] = dots[g] * scale;
    } else {
      for (int g = 0; g < group; ++g) {
        float d;
        dot_rows(k, q + static_cast<int64_t>(g) * head_dim, 1, head_dim, &d);
        scores[g * n + j] = d * scale;
      }
    }
  }
  for (int g = 0; g < group; ++g) softmax(scores + g * n, n);
  std::fill(out, out + static_cast<int64_t>(group) * head_dim, 0.0f);
  for (int64_t j = 0; j < n; ++j) {
    const float* v;
    if (kv.type == DType::F32) {
      v = reinterpret_cast<const float*>(vb + static_cast<size_t>(j) * head_dim * es);
    } else {
      convert_to_f32(kv.type, vb + static_cast<size_t>(j) * head_dim * es, row, static_cast<size_t>(head_dim));
      v = row;
    }
    for (int g = 0; g < group; ++g) {
      const float p = scores[g * n + j];
      if (p == 0.0f) continue;
      float* o = out + static_cast<int64_t>(g) * head_dim;
      for (int d = 0; d < head_dim; ++d) o[d] += p * v[d];
    }
  }
}

}  // namespace rkv
