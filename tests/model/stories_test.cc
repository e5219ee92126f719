// stories260K.gguf (a real trained Llama, GGUF, adjacent-pair RoPE) against
// ../shared/models/stories260K.reference.json: greedy ids and the logits of
// the first positions (float64 reference, compared with a tolerance).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "common/testing.h"
#include "rkv/core/buffer.h"
#include "rkv/model/model.h"

namespace rkv {
namespace {

TEST(Stories260K, GreedyAndLogitsMatchReference) {
  RKV_REQUIRE_ASSET("models/stories260K.gguf");
  RKV_REQUIRE_ASSET("models/stories260K.reference.json");
  auto ref = nlohmann::json::parse(read_text_file(test::asset("models/stories260K.reference.json")));
  auto model = Model::load(test::asset("models/stories260K.gguf"));
  const auto& c = model->config();
  EXPECT_EQ(c.architecture, "llama");
  EXPECT_EQ(c.rope_style, RopeStyle::Adjacent);
  EXPECT_EQ(c.head_dim, 8);
  const int64_t V = c.vocab_size;
  ASSERT_EQ(V, 512);
  ThreadPool pool(2);

  std::vector<int32_t> prompt = ref["prompt_ids"].get<std::vector<int32_t>>();
  std::vector<int32_t> expect = ref["greedy_ids"].get<std::vector<int32_t>>();
  const int steps = ref["steps"].get<int>();
  // Logits of the first positions, one token at a time through the cache.
  auto caches = model->make_caches(steps + 1);
  std::vector<float> logits(static_cast<size_t>(V));
  std::vector<int32_t> seq = prompt;
  double worst = 0;
  const auto& lp = ref["logits_by_position"];
  for (int32_t p = 0; p < steps; ++p) {
    int32_t tok = seq[static_cast<size_t>(p)];
    model->forward(&tok, &p, 1, caches, logits.data(), false, pool);
    for (const auto& e : lp)
      if (e["position"].get<int>() == p) {
        auto rl = e["logits"].get<std::vector<double>>();
        ASSERT_EQ(static_cast<int64_t>(rl.size()), V);
        for (int64_t i = 0; i < V; ++i) worst = std::max(worst, std::fabs(rl[i] - logits[i]));
        EXPECT_EQ(std::max_element(logits.begin(), logits.end()) - logits.begin(), e["argmax"].get<int64_t>());
      }
    if (p + 1 < static_cast<int32_t>(seq.size())) continue;  // still in the prompt
    int32_t next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    seq.push_back(next);
    if (next == 1) break;  // the reference stops on BOS
  }
  std::printf("[ stories260K ] first-position logits max abs diff %.3g\n", worst);
  EXPECT_LE(worst, 1e-3);
  EXPECT_EQ(seq, expect);

  // Prefill of the whole prompt in one batch gives the same last logits.
  auto c2 = model->make_caches(16);
  std::vector<int32_t> pos(prompt.size());
  for (size_t i = 0; i < pos.size(); ++i) pos[i] = static_cast<int32_t>(i);
  std::vector<float> batch(static_cast<size_t>(V));
  model->forward(prompt.data(), pos.data(), static_cast<int64_t>(prompt.size()), c2, batch.data(), false, pool);
  for (const auto& e : lp)
    if (e["position"].get<size_t>() == prompt.size() - 1) {
      auto rl = e["logits"].get<std::vector<double>>();
      for (int64_t i = 0; i < V; ++i) EXPECT_NEAR(batch[i], rl[i], 1e-3);
    }
}

// The weights mapped in place (RKV_MMAP=1) and copied into memory
// (RKV_MMAP=0) give bit-identical logits.
TEST(Stories260K, MappedAndCopiedWeightsAgree) {
  RKV_REQUIRE_ASSET("models/stories260K.gguf");
  std::vector<int32_t> ids = {1, 403, 407, 261, 378}, pos = {0, 1, 2, 3, 4};
  std::vector<std::vector<float>> out;
  for (const char* mode : {"1", "0"}) {
    ::setenv("RKV_MMAP", mode, 1);
    auto model = Model::load(test::asset("models/stories260K.gguf"));
    ThreadPool pool(2);
    auto caches = model->make_caches(8);
    std::vector<float> logits(static_cast<size_t>(model->config().vocab_size));
    model->forward(ids.data(), pos.data(), static_cast<int64_t>(ids.size()), caches, logits.data(), false, pool);
    out.push_back(logits);
  }
  ::unsetenv("RKV_MMAP");
  EXPECT_EQ(out[0], out[1]);
}

}  // namespace
}  // namespace rkv
