#include "common/reference_compression.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace rkv::test {

using Matrix = std::vector<std::vector<double>>;

// ---- the plain reference, literally following the spec ----

static std::vector<double> reference_importance(const ReferenceLayer& l, const std::vector<float>& keys, int h,
                                         const CompressionConfig& c, int64_t rows, int64_t n_scored, bool pool) {
  std::vector<double> mean(static_cast<size_t>(n_scored), 0.0);
  for (int64_t i = l.m - rows; i < l.m; ++i) {
    std::vector<double> logit(static_cast<size_t>(n_scored));
    for (int64_t j = 0; j < n_scored; ++j) {
      std::vector<double> per_head;
      for (int g = 0; g < l.group; ++g) {
        double dot = 0;
        for (int x = 0; x < l.d; ++x)
          dot += static_cast<double>(l.queries[(((h * l.group + g) * l.m) + i) * l.d + x]) * keys[(h * l.n + j) * l.d + x];
        per_head.push_back(dot / std::sqrt(static_cast<double>(l.d)));
      }
      logit[j] = c.gqa_pooling == GqaPooling::Max ? *std::max_element(per_head.begin(), per_head.end())
                                                  : std::accumulate(per_head.begin(), per_head.end(), 0.0) / l.group;
    }
    double mx = *std::max_element(logit.begin(), logit.end()), sum = 0;
    for (double v : logit) sum += std::exp(v - mx);
    for (int64_t j = 0; j < n_scored; ++j) mean[j] += std::exp(logit[j] - mx) / sum / static_cast<double>(rows);
  }
  if (!pool) return mean;
  std::vector<double> pooled(mean.size());
  for (int64_t j = 0; j < n_scored; ++j) {
    double best = -INFINITY;
    for (int64_t t = j - c.kernel_size / 2; t <= j + c.kernel_size / 2; ++t)
      if (t >= 0 && t < n_scored) best = std::max(best, mean[t]);
    pooled[j] = best;
  }
  return pooled;
}

std::vector<double> reference_redundancy(const std::vector<float>& keys, int h, int64_t n, int d, const CompressionConfig& c) {
  Matrix s(static_cast<size_t>(n), std::vector<double>(static_cast<size_t>(n)));
  std::vector<std::vector<double>> unit(static_cast<size_t>(n));
  for (int64_t a = 0; a < n; ++a) {
    double norm = 0;
    for (int x = 0; x < d; ++x) norm += static_cast<double>(keys[(h * n + a) * d + x]) * keys[(h * n + a) * d + x];
    for (int x = 0; x < d; ++x) unit[a].push_back(keys[(h * n + a) * d + x] / (std::sqrt(norm) + 1e-8));
  }
  for (int64_t a = 0; a < n; ++a)
    for (int64_t b = 0; b < n; ++b) {
      double dot = 0;
      for (int x = 0; x < d; ++x) dot += unit[a][x] * unit[b][x];
      s[a][b] = a == b ? 0.0 : dot;
    }
  // index matrix: b where similar, else 0
  auto idx = [&](int64_t a, int64_t b) -> int64_t { return s[a][b] > 0.5 ? b : 0; };
  const int64_t k = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(n) * c.retain_ratio));
  std::vector<std::pair<int64_t, int64_t>> zero;  // (row, col)
  if (c.retain_direction == RetainDirection::Last || c.retain_direction == RetainDirection::First) {
    for (int64_t a = 0; a < n; ++a) {
      int64_t r = idx(a, 0);
      for (int64_t b = 1; b < n; ++b)
        r = c.retain_direction == RetainDirection::Last ? std::max(r, idx(a, b)) : std::min(r, idx(a, b));
      zero.emplace_back(a, r);
    }
  } else {
    // topk over the last dim, then [:, :, 0] / [:, :, -1] picks row 0 / row n-1.
    bool last = c.retain_direction == RetainDirection::LastPercent;
    int64_t row = last ? 0 : n - 1;
    std::vector<int64_t> v;
    for (int64_t b = 0; b < n; ++b) v.push_back(idx(row, b));
    std::sort(v.begin(), v.end());
    if (last) std::reverse(v.begin(), v.end());
    for (int64_t a = 0; a < k; ++a) zero.emplace_back(a, v[a]);
  }
  for (auto [a, b] : zero) s[a][b] = 0;
  std::vector<double> mean(static_cast<size_t>(n), 0.0);
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t a = 0; a < n; ++a) mean[b] += s[a][b];
    mean[b] /= static_cast<double>(n);
  }
  double mx = *std::max_element(mean.begin(), mean.end()), sum = 0;
  for (double v : mean) sum += std::exp(v - mx);
  for (auto& v : mean) v = std::exp(v - mx) / sum;
  return mean;
}

Expected reference_select(const ReferenceLayer& l, const std::vector<float>& keys, int h, const CompressionConfig& c) {
  const int64_t n = l.n;
  Expected e;
  if (n < c.budget || c.method == Method::FullKV) {
    for (int64_t j = 0; j < n; ++j) e.keep.push_back(static_cast<int32_t>(j));
    return e;
  }
  const int32_t* pos = &l.positions[h * n];
  if (c.method == Method::StreamingLLM) {
    for (int64_t j = 0; j < c.first_tokens; ++j) e.keep.push_back(static_cast<int32_t>(j));
    for (int64_t j = n - (c.budget - c.first_tokens); j < n; ++j) e.keep.push_back(static_cast<int32_t>(j));
  } else {
    const int64_t w = c.method == Method::H2O ? 1 : c.window_size;
    std::vector<double> z = reference_importance(l, keys, h, c, w, n - w, c.method != Method::H2O);
    if (c.method == Method::RKV) {
      std::vector<double> r = reference_redundancy(keys, h, n, l.d, c);
      for (int64_t j = 0; j < n - w; ++j) z[j] = c.mix_lambda * z[j] - (1 - c.mix_lambda) * r[j];
    }
    std::vector<int32_t> pinned, rest;
    for (int64_t j = 0; j < n - w; ++j) (pos[j] < c.first_tokens ? pinned : rest).push_back(static_cast<int32_t>(j));
    std::stable_sort(rest.begin(), rest.end(), [&](int32_t a, int32_t b) { return z[a] > z[b]; });
    const int64_t k = c.budget - w - static_cast<int64_t>(pinned.size());
    double scale = 0;
    for (double v : z) scale = std::max(scale, std::fabs(v));
    for (int64_t i = 0; i + 1 < std::min<int64_t>(k + 1, static_cast<int64_t>(rest.size())); ++i)
      // Exact ties (max pooling copies one value to its neighbours) are decided
      // by the documented lower-index rule on both sides. Near ties are not:
      // float scoring carries ~1e-6 relative error (logits ~10, f32 dots).
      if (z[rest[i]] != z[rest[i + 1]] &&
          z[rest[i]] - z[rest[i + 1]] < 1e-5 * std::max(std::fabs(z[rest[i]]), std::fabs(z[rest[i + 1]])) + 1e-7 * scale)
        e.ambiguous = true;
    e.keep = pinned;
    e.keep.insert(e.keep.end(), rest.begin(), rest.begin() + k);
    for (int64_t j = n - w; j < n; ++j) e.keep.push_back(static_cast<int32_t>(j));
  }
  if (c.keep_order == KeepOrder::Position)
    std::stable_sort(e.keep.begin(), e.keep.end(), [&](int32_t a, int32_t b) { return pos[a] < pos[b]; });
  return e;
}

}  // namespace rkv::test
