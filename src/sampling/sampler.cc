#include "rkv/sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>

#include "rkv/core/error.h"

namespace rkv {

void SamplingParams::validate() const {
  RKV_CHECK(std::isfinite(temperature) && temperature >= 0, "temperature must be >= 0, got ", temperature);
  RKV_CHECK(top_k >= 0, "top-k must be >= 0, got ", top_k);
  RKV_CHECK(top_p > 0 && top_p <= 1, "top-p must be in (0, 1], got ", top_p);
  RKV_CHECK(min_p >= 0 && min_p <= 1, "min-p must be in [0, 1], got ", min_p);
  RKV_CHECK(std::isfinite(repetition_penalty) && repetition_penalty > 0, "repetition penalty must be > 0, got ",
            repetition_penalty);
  RKV_CHECK(std::isfinite(presence_penalty), "presence penalty must be finite");
  RKV_CHECK(std::isfinite(frequency_penalty), "frequency penalty must be finite");
}

namespace {
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

Rng::Rng(uint64_t seed) {
  for (auto& s : s_) s = splitmix64(seed);
}
uint64_t Rng::next() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}
double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) { params_.validate(); }

void Sampler::penalized(const float* logits, int64_t vocab, std::span<const int32_t> history, std::vector<float>& out) const {
  out.assign(logits, logits + vocab);
  const auto& p = params_;
  if (p.repetition_penalty == 1.0 && p.presence_penalty == 0.0 && p.frequency_penalty == 0.0) return;
  std::unordered_map<int32_t, int64_t> counts;
  for (int32_t id : history)
    if (id >= 0 && id < vocab) counts[id]++;
  for (const auto& [id, n] : counts) {
    float& l = out[static_cast<size_t>(id)];
    if (p.repetition_penalty != 1.0)
      l = l > 0 ? static_cast<float>(l / p.repetition_penalty) : static_cast<float>(l * p.repetition_penalty);
    l -= static_cast<float>(p.presence_penalty + p.frequency_penalty * static_cast<double>(n));
  }
}

void Sampler::distribution(const float* logits, int64_t vocab, std::span<const int32_t> history,
                           std::vector<double>& probs) const {
  RKV_CHECK(vocab > 0, "sampling: empty vocabulary");
  std::vector<float> l;
  penalized(logits, vocab, history, l);
  probs.assign(static_cast<size_t>(vocab), 0.0);
  const auto& p = params_;
  if (p.temperature == 0.0) {
    probs[static_cast<size_t>(std::max_element(l.begin(), l.end()) - l.begin())] = 1.0;
    return;
  }
  // Candidates sorted by logit, descending (ties: lower id first).
  std::vector<int32_t> idx(static_cast<size_t>(vocab));
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int32_t a, int32_t b) { return l[static_cast<size_t>(a)] > l[static_cast<size_t>(b)]; });
  size_t keep = idx.size();
  if (p.top_k > 0) keep = std::min(keep, static_cast<size_t>(p.top_k));
  const double mx = l[static_cast<size_t>(idx[0])] / p.temperature;
  std::vector<double> e(keep);
  double sum = 0;
  for (size_t i = 0; i < keep; ++i) {
    e[i] = std::exp(l[static_cast<size_t>(idx[i])] / p.temperature - mx);
    sum += e[i];
  }
  for (auto& v : e) v /= sum;
  if (p.top_p < 1.0) {
    double cum = 0;
    size_t n = 0;
    while (n < keep) {
      cum += e[n++];
      if (cum >= p.top_p) break;
    }
    keep = std::max<size_t>(n, 1);
  }
  if (p.min_p > 0) {
    const double cut = p.min_p * e[0];
    size_t n = 1;
    while (n < keep && e[n] >= cut) ++n;
    keep = n;
  }
  double s = 0;
  for (size_t i = 0; i < keep; ++i) s += e[i];
  for (size_t i = 0; i < keep; ++i) probs[static_cast<size_t>(idx[i])] = e[i] / s;
}

int32_t Sampler::sample(const float* logits, int64_t vocab, std::span<const int32_t> history) {
  if (params_.temperature == 0.0) {
    std::vector<float> l;
    penalized(logits, vocab, history, l);
    return static_cast<int32_t>(std::max_element(l.begin(), l.end()) - l.begin());
  }
  std::vector<double> probs;
  distribution(logits, vocab, history, probs);
  double u = rng_.uniform();
  int32_t last = 0;
  for (int64_t i = 0; i < vocab; ++i) {
    if (probs[static_cast<size_t>(i)] <= 0) continue;
    last = static_cast<int32_t>(i);
    u -= probs[static_cast<size_t>(i)];
    if (u < 0) return last;
  }
  return last;
}

}  // namespace rkv
