// Sampler against hand-computed distributions and statistical properties.
#include <cmath>
#include <map>

#include "common/testing.h"
#include "rkv/core/error.h"
#include "rkv/sampling/sampler.h"

namespace rkv {
namespace {

TEST(Sampler, GreedyIsArgmaxLowestIdOnTies) {
  Sampler s({});
  float l[] = {1, 3, 3, 2};
  EXPECT_EQ(s.sample(l, 4, {}), 1);
}

TEST(Sampler, TemperatureSoftmax) {
  SamplingParams p;
  p.temperature = 2.0;
  Sampler s(p);
  float l[] = {0, 2, 4};
  std::vector<double> probs;
  s.distribution(l, 3, {}, probs);
  double z = 1 + std::exp(1.0) + std::exp(2.0);
  EXPECT_NEAR(probs[0], 1 / z, 1e-12);
  EXPECT_NEAR(probs[1], std::exp(1.0) / z, 1e-12);
  EXPECT_NEAR(probs[2], std::exp(2.0) / z, 1e-12);
}

TEST(Sampler, TopKTopPMinP) {
  float l[] = {std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
  std::vector<double> probs;
  SamplingParams p;
  p.temperature = 1.0;
  p.top_k = 2;
  Sampler(p).distribution(l, 4, {}, probs);
  EXPECT_NEAR(probs[0], 0.5 / 0.8, 1e-6);
  EXPECT_NEAR(probs[1], 0.3 / 0.8, 1e-6);
  EXPECT_EQ(probs[2], 0.0);
  p.top_k = 0;
  p.top_p = 0.85;  // 0.5 + 0.3 = 0.8 < 0.85 -> three tokens
  Sampler(p).distribution(l, 4, {}, probs);
  EXPECT_NEAR(probs[2], 0.15 / 0.95, 1e-6);
  EXPECT_EQ(probs[3], 0.0);
  p.top_p = 1.0;
  p.min_p = 0.5;  // keep prob >= 0.25
  Sampler(p).distribution(l, 4, {}, probs);
  EXPECT_NEAR(probs[0], 0.5 / 0.8, 1e-6);
  EXPECT_EQ(probs[2], 0.0);
}

TEST(Sampler, Penalties) {
  float l[] = {2, -2, 1};
  std::vector<int32_t> hist = {0, 1, 1};
  SamplingParams p;
  p.repetition_penalty = 2.0;
  p.temperature = 1.0;
  std::vector<double> probs;
  Sampler(p).distribution(l, 3, hist, probs);
  // logits become {1, -4, 1}
  double z = 2 * std::exp(1.0) + std::exp(-4.0);
  EXPECT_NEAR(probs[0], std::exp(1.0) / z, 1e-6);
  EXPECT_NEAR(probs[1], std::exp(-4.0) / z, 1e-6);
  p.repetition_penalty = 1.0;
  p.presence_penalty = 0.5;
  p.frequency_penalty = 0.25;
  Sampler(p).distribution(l, 3, hist, probs);
  // {2 - 0.75, -2 - 1.0, 1}
  z = std::exp(1.25) + std::exp(-3.0) + std::exp(1.0);
  EXPECT_NEAR(probs[0], std::exp(1.25) / z, 1e-6);
  EXPECT_NEAR(probs[1], std::exp(-3.0) / z, 1e-6);
}

TEST(Sampler, SeededDrawsAreReproducibleAndFollowTheDistribution) {
  SamplingParams p;
  p.temperature = 1.0;
  p.seed = 42;
  float l[] = {std::log(0.6f), std::log(0.3f), std::log(0.1f)};
  Sampler a(p), b(p);
  std::map<int, int> counts;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    int x = a.sample(l, 3, {});
    EXPECT_EQ(x, b.sample(l, 3, {}));
    counts[x]++;
  }
  EXPECT_NEAR(counts[0] / double(n), 0.6, 0.02);
  EXPECT_NEAR(counts[1] / double(n), 0.3, 0.02);
  EXPECT_NEAR(counts[2] / double(n), 0.1, 0.02);
}

TEST(Sampler, BadParameters) {
  SamplingParams p;
  p.top_p = 0;
  EXPECT_THROW(Sampler{p}, Error);
  p = {};
  p.temperature = -1;
  EXPECT_THROW(Sampler{p}, Error);
}

}  // namespace
}  // namespace rkv
