#include "rkv/sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "rkv/core/error.h"

namespace rkv {

void SamplingParams::validate() const {
  RKV_CHECK(std::isfinite(temperature) && temperature >= 0, "temperature must be >= 0 (got ", temperature, ")");
  RKV_CHECK(top_k >= 0, "top_k must be >= 0 (got ", top_k, ")");
  RKV_CHECK(top_p > 0 && top_p <= 1, "top_p must be in (0, 1] (got ", top_p, ")");
  RKV_CHECK(min_p >= 0 && min_p <= 1, "min_p must be in [0, 1] (got ", min_p, ")");
  RKV_CHECK(std::isfinite(repetition_penalty) && repetition_penalty > 0, "repetition_penalty must be > 0 (got ",
            repetition_penalty, ")");
  RKV_CHECK(std::isfinite(presence_penalty) && std::isfinite(frequency_penalty), "penalties must be finite");
}

int32_t argmax(std::span<const float> logits) {
  RKV_CHECK(!logits.empty(), "argmax of empty logits");
  int32_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i)
    if (logits[i] > logits[best]) best = static_cast<int32_t>(i);
  return best;
}

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) { params_.validate(); }

int32_t Sampler::sample(std::span<float> logits, std::span<const int32_t> history) {
  const auto vocab = static_cast<int32_t>(logits.size());
  if (params_.repetition_penalty != 1.0f || params_.presence_penalty != 0.0f || params_.frequency_penalty != 0.0f) {
    std::unordered_map<int32_t, int> counts;
    for (int32_t t : history)
      if (t >= 0 && t < vocab) ++counts[t];
    for (auto [t, n] : counts) {
      float& l = logits[t];
      if (params_.repetition_penalty != 1.0f) l = l > 0 ? l / params_.repetition_penalty : l * params_.repetition_penalty;
      l -= params_.presence_penalty + params_.frequency_penalty * static_cast<float>(n);
    }
  }
  if (params_.greedy()) return argmax(logits);

  candidates_.clear();
  for (int32_t i = 0; i < vocab; ++i) candidates_.emplace_back(logits[i] / params_.temperature, i);
  auto by_logit = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
  size_t keep = candidates_.size();
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < keep) {
    keep = static_cast<size_t>(params_.top_k);
    std::partial_sort(candidates_.begin(), candidates_.begin() + static_cast<std::ptrdiff_t>(keep), candidates_.end(), by_logit);
    candidates_.resize(keep);
  } else {
    std::sort(candidates_.begin(), candidates_.end(), by_logit);
  }
  // softmax over the survivors (in double: the tail of a 150K vocabulary matters for top-p)
  std::vector<double> probs(candidates_.size());
  double total = 0;
  for (size_t i = 0; i < candidates_.size(); ++i) total += probs[i] = std::exp(static_cast<double>(candidates_[i].first - candidates_[0].first));
  for (auto& p : probs) p /= total;
  size_t n = probs.size();
  if (params_.top_p < 1.0f) {  // smallest prefix whose mass reaches top_p (at least one token)
    double mass = 0;
    size_t i = 0;
    for (; i < n; ++i) {
      mass += probs[i];
      if (mass >= params_.top_p) break;
    }
    n = std::min(n, i + 1);
  }
  if (params_.min_p > 0.0f) {
    const double floor = params_.min_p * probs[0];
    size_t i = 1;
    while (i < n && probs[i] >= floor) ++i;
    n = i;
  }
  double mass = 0;
  for (size_t i = 0; i < n; ++i) mass += probs[i];
  double u = std::uniform_real_distribution<double>(0.0, mass)(rng_);
  for (size_t i = 0; i < n; ++i) {
    u -= probs[i];
    if (u < 0) return candidates_[i].second;
  }
  return candidates_[n - 1].second;
}

}  // namespace rkv
