#include <cmath>
#include <map>

#include "common/testing.h"
#include "rkv/core/error.h"
#include "rkv/sampling/sampler.h"

namespace rkv {
namespace {

std::map<int32_t, double> frequencies(SamplingParams p, std::vector<float> logits, int draws) {
  Sampler s(p);
  std::map<int32_t, double> f;
  for (int i = 0; i < draws; ++i) {
    std::vector<float> l = logits;
    f[s.sample(l, {})] += 1.0 / draws;
  }
  return f;
}

TEST(Sampler, GreedyIsArgmaxWithLowerIdOnTies) {
  Sampler s(SamplingParams{});
  std::vector<float> l = {0.1f, 2.0f, -1.0f, 2.0f};
  EXPECT_EQ(s.sample(l, {}), 1);
  SamplingParams k1;
  k1.temperature = 1.0f;
  k1.top_k = 1;
  std::vector<float> l2 = {0.1f, 2.0f, 3.0f};
  EXPECT_EQ(Sampler(k1).sample(l2, {}), 2);
}

TEST(Sampler, DrawsFollowTheSoftmaxAtTemperature) {
  SamplingParams p;
  p.temperature = 2.0f;
  p.seed = 7;
  std::vector<float> logits = {0.0f, std::log(2.0f) * 2, std::log(3.0f) * 2, -50.0f};
  auto f = frequencies(p, logits, 60000);  // T=2 turns the logits into weights 1:2:3
  EXPECT_NEAR(f[0], 1.0 / 6, 0.01);
  EXPECT_NEAR(f[1], 2.0 / 6, 0.01);
  EXPECT_NEAR(f[2], 3.0 / 6, 0.01);
  EXPECT_EQ(f.count(3), 0u);
}

TEST(Sampler, TopKTopPAndMinPCutTheTail) {
  std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
  SamplingParams p;
  p.temperature = 1.0f;
  p.seed = 3;
  p.top_k = 2;
  auto f = frequencies(p, logits, 20000);
  EXPECT_EQ(f.size(), 2u);
  EXPECT_NEAR(f[0], 0.5 / 0.8, 0.015);
  p.top_k = 0;
  p.top_p = 0.9f;  // 0.5 + 0.3 + 0.15 reaches 0.9: token 3 is cut
  f = frequencies(p, logits, 20000);
  EXPECT_EQ(f.count(3), 0u);
  EXPECT_NEAR(f[2], 0.15 / 0.95, 0.015);
  p.top_p = 1.0f;
  p.min_p = 0.35f;  // floor 0.175: only tokens 0 and 1
  f = frequencies(p, logits, 20000);
  EXPECT_EQ(f.size(), 2u);
}

TEST(Sampler, PenaltiesFollowTheFormulas) {
  SamplingParams p;
  p.repetition_penalty = 2.0f;
  std::vector<float> l = {4.0f, 3.0f, -1.0f, 2.5f};
  Sampler(p).sample(l, std::vector<int32_t>{0, 2, 0});
  EXPECT_FLOAT_EQ(l[0], 2.0f);   // positive: divided
  EXPECT_FLOAT_EQ(l[2], -2.0f);  // negative: multiplied
  EXPECT_FLOAT_EQ(l[1], 3.0f);
  SamplingParams q;
  q.presence_penalty = 0.5f;
  q.frequency_penalty = 0.25f;
  std::vector<float> m = {4.0f, 3.0f, 1.0f};
  int32_t chosen = Sampler(q).sample(m, std::vector<int32_t>{0, 0, 0, 2});
  EXPECT_FLOAT_EQ(m[0], 4.0f - 0.5f - 0.75f);
  EXPECT_FLOAT_EQ(m[2], 1.0f - 0.5f - 0.25f);
  EXPECT_EQ(chosen, 1);  // 3.0 now beats 2.75
}

TEST(Sampler, SameSeedSameTokens) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.seed = 11;
  Sampler a(p), b(p);
  std::vector<float> logits(50);
  for (int i = 0; i < 50; ++i) logits[i] = std::sin(i * 1.3f);
  for (int i = 0; i < 100; ++i) {
    std::vector<float> x = logits, y = logits;
    ASSERT_EQ(a.sample(x, {}), b.sample(y, {}));
  }
}

TEST(Sampler, RejectsBadParameters) {
  auto bad = [](auto mutate) {
    SamplingParams p;
    mutate(p);
    EXPECT_THROW(Sampler{p}, Error);
  };
  bad([](SamplingParams& p) { p.temperature = -1; });
  bad([](SamplingParams& p) { p.top_p = 0; });
  bad([](SamplingParams& p) { p.top_p = 1.5f; });
  bad([](SamplingParams& p) { p.min_p = 2; });
  bad([](SamplingParams& p) { p.top_k = -3; });
  bad([](SamplingParams& p) { p.repetition_penalty = 0; });
}

}  // namespace
}  // namespace rkv
