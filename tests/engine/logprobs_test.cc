// Per-token log-probabilities: a distribution over the whole vocabulary
// (the alternatives' probabilities add up to 1), best first, the sampled
// token's entry among them, the greedy token the best one.
#include <cmath>

#include "common/testing.h"
#include "engine/toy_model.h"
#include "rkv/engine/engine.h"

namespace rkv {
namespace {

TEST(Logprobs, EachTokenGetsItsLogProbabilityAndTheAlternatives) {
  ThreadPool pool(1);
  for (double temperature : {0.0, 1.0}) {
    test::ToyModel model(5);
    EngineOptions options;
    options.policy.method = default_config(Method::FullKV);
    GenerationRequest r;
    r.prompt = {1, 2, 3};
    r.stop.max_new_tokens = 12;
    r.sampling.temperature = temperature;
    r.sampling.seed = 9;
    r.top_logprobs = 64;  // the whole vocabulary
    std::vector<TokenLogprobs> seen;
    EngineCallbacks callbacks;
    callbacks.on_logprobs = [&](int, const TokenLogprobs& lp) { seen.push_back(lp); };
    const GenerationResult result = generate_one(model, options, r, pool, callbacks);
    ASSERT_EQ(seen.size(), result.ids.size());
    for (size_t i = 0; i < seen.size(); ++i) {
      const TokenLogprobs& lp = seen[i];
      EXPECT_EQ(lp.token, result.ids[i]);
      ASSERT_EQ(lp.top.size(), 64u);
      double mass = 0;
      bool found = false;
      for (size_t k = 0; k < lp.top.size(); ++k) {
        mass += std::exp(static_cast<double>(lp.top[k].second));
        if (k > 0) {
          EXPECT_LE(lp.top[k].second, lp.top[k - 1].second);
        }
        if (lp.top[k].first == lp.token) {
          found = true;
          EXPECT_FLOAT_EQ(lp.top[k].second, lp.logprob);
        }
      }
      EXPECT_NEAR(mass, 1.0, 1e-4);
      EXPECT_TRUE(found);
      EXPECT_LE(lp.logprob, 0.0f);
      if (temperature == 0) {
        EXPECT_EQ(lp.top[0].first, lp.token);
      }
    }
  }
}

TEST(Logprobs, OffByDefaultAndBoundedByTheVocabulary) {
  ThreadPool pool(1);
  test::ToyModel model(5);
  EngineOptions options;
  options.policy.method = default_config(Method::FullKV);
  GenerationRequest r;
  r.prompt = {1, 2};
  r.stop.max_new_tokens = 3;
  int calls = 0;
  EngineCallbacks callbacks;
  callbacks.on_logprobs = [&](int, const TokenLogprobs&) { ++calls; };
  generate_one(model, options, r, pool, callbacks);
  EXPECT_EQ(calls, 0);
  r.top_logprobs = 65;
  Engine engine(model, options, pool);
  EXPECT_THROW(engine.submit(r), Error);
}

}  // namespace
}  // namespace rkv
