// The generation loop of RKV-SPEC.md §2 on a small real decoder (toy_model.h).
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "common/testing.h"
#include "engine/toy_model.h"
#include "rkv/engine/engine.h"

namespace rkv {
namespace {

std::vector<int32_t> prompt_of(int n, uint32_t seed, int vocab = 64) {
  std::mt19937 rng(seed);
  std::vector<int32_t> p;
  for (int i = 0; i < n; ++i) p.push_back(static_cast<int32_t>(rng() % vocab));
  return p;
}

EngineOptions options_for(Method method, int64_t budget, int64_t window = 4, int64_t divide = 8) {
  EngineOptions o;
  o.policy.method = default_config(method);
  o.policy.method.budget = budget;
  o.policy.method.window_size = window;
  o.policy.method.first_tokens = method == Method::StreamingLLM ? 2 : 0;
  o.policy.divide_length = divide;
  return o;
}

GenerationRequest request(std::vector<int32_t> prompt, int64_t max_new) {
  GenerationRequest r;
  r.prompt = std::move(prompt);
  r.stop.max_new_tokens = max_new;
  return r;
}

TEST(Engine, EveryMethodEqualsFullKvWhenTheBudgetIsNeverReached) {
  ThreadPool pool(2);
  for (uint32_t seed : {1u, 2u}) {
    test::ToyModel model(seed);
    auto full = generate_one(model, options_for(Method::FullKV, 1), request(prompt_of(10, seed), 60), pool);
    ASSERT_EQ(full.ids.size(), 60u);
    for (Method m : {Method::RKV, Method::SnapKV, Method::H2O, Method::StreamingLLM}) {
      auto r = generate_one(model, options_for(m, 1000), request(prompt_of(10, seed), 60), pool);
      EXPECT_EQ(r.ids, full.ids) << method_name(m);
      EXPECT_EQ(r.compressions, 0);
    }
  }
}

TEST(Engine, CompressionChangesTheOutputAndPositionsKeepCounting) {
  ThreadPool pool(1);
  test::ToyModel full_model(3), model(3);
  auto full = generate_one(full_model, options_for(Method::FullKV, 1), request(prompt_of(12, 3), 80), pool);
  auto r = generate_one(model, options_for(Method::RKV, 16, 4, 8), request(prompt_of(12, 3), 80), pool);
  EXPECT_GT(r.compressions, 5);
  EXPECT_NE(r.ids, full.ids);  // 16 of up to 92 tokens: the toy model notices
  // RoPE positions are the token count: 0..91, never the cache size.
  std::vector<int64_t> expected;
  for (int64_t p = 0; p < 12 + 80 - 1; ++p) expected.push_back(p);
  EXPECT_EQ(model.positions_seen, expected);
}

TEST(Engine, KvMemoryIsConstantInOutputLength) {
  ThreadPool pool(1);
  const int64_t budget = 24, divide = 8;
  for (DType kv : {DType::F32, DType::BF16}) {
    for (int64_t length : {40, 80, 160, 320}) {
      test::ToyModel model(5);
      EngineOptions o = options_for(Method::RKV, budget, 4, divide);
      o.kv_type = kv;
      auto r = generate_one(model, o, request(prompt_of(10, 5), length), pool);
      const ModelDims& d = model.dims();
      EXPECT_EQ(r.kv_peak_bytes, d.n_layers * d.n_kv_heads * (budget + divide) * d.head_dim * 2 *
                                     static_cast<int64_t>(dtype_size(kv)))
          << "length " << length;
    }
  }
}

TEST(Engine, LongPromptIsCompressedAfterPrefillAndTheCacheShrinks) {
  ThreadPool pool(1);
  test::ToyModel model(6);
  std::ostringstream stats;
  EngineOptions o = options_for(Method::RKV, 20, 4, 8);
  o.kv_stats = &stats;
  auto r = generate_one(model, o, request(prompt_of(50, 6), 30), pool);
  const ModelDims& d = model.dims();
  // the prefill held all 50 prompt tokens; that is the peak
  EXPECT_EQ(r.kv_peak_bytes, d.n_layers * d.n_kv_heads * 50 * d.head_dim * 2 * 4);
  std::string first = stats.str().substr(0, stats.str().find('\n'));
  EXPECT_NE(first.find("step 0 layer 0: 50 -> 20 (capacity 50)"), std::string::npos) << first;
  // every later line: compressed to budget from at most budget + divide
  std::istringstream lines(stats.str());
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    ++n;
    EXPECT_NE(line.find("-> 20 "), std::string::npos) << line;
    if (n > d.n_layers) {
      EXPECT_NE(line.find("(capacity 28)"), std::string::npos) << line;
    }
  }
  EXPECT_GT(n, 2 * d.n_layers);
}

TEST(Engine, BatchedSequencesGiveTheSameTokensAsAlone) {
  ThreadPool pool(2);
  std::vector<std::vector<int32_t>> prompts = {prompt_of(9, 11), prompt_of(30, 12), prompt_of(3, 13), prompt_of(17, 14)};
  std::vector<int64_t> lengths = {40, 25, 70, 55};
  for (Method m : {Method::RKV, Method::StreamingLLM, Method::FullKV}) {
    std::vector<std::vector<int32_t>> alone;
    for (size_t i = 0; i < prompts.size(); ++i) {
      test::ToyModel model(21);
      alone.push_back(generate_one(model, options_for(m, 16), request(prompts[i], lengths[i]), pool).ids);
    }
    test::ToyModel model(21);
    EngineOptions o = options_for(m, 16);
    o.max_batch = 3;  // the fourth joins when one finishes
    Engine engine(model, o, pool);
    for (size_t i = 0; i < prompts.size(); ++i) engine.submit(request(prompts[i], lengths[i]));
    std::map<int, std::vector<int32_t>> together;
    engine.run({nullptr, [&](const GenerationResult& r) { together[r.id] = r.ids; }});
    for (size_t i = 0; i < prompts.size(); ++i) EXPECT_EQ(together[static_cast<int>(i)], alone[i]) << method_name(m) << " prompt " << i;
    EXPECT_EQ(*std::max_element(model.batch_sizes.begin(), model.batch_sizes.end()), 3);
  }
}

TEST(Engine, KvMemoryBoundsTheBatch) {
  ThreadPool pool(1);
  test::ToyModel model(8);
  EngineOptions o = options_for(Method::RKV, 16, 4, 8);
  o.max_batch = 8;
  Engine probe(model, o, pool);
  const int64_t per_sequence = probe.reachable_kv_bytes(10, 30);
  o.kv_memory = 2 * per_sequence + per_sequence / 2;  // room for two
  Engine engine(model, o, pool);
  for (int i = 0; i < 5; ++i) engine.submit(request(prompt_of(10, 30 + i), 30));
  int done = 0;
  engine.run({nullptr, [&](const GenerationResult&) { ++done; }});
  EXPECT_EQ(done, 5);
  EXPECT_EQ(*std::max_element(model.batch_sizes.begin(), model.batch_sizes.end()), 2);
  o.kv_memory = per_sequence / 2;  // can never fit
  Engine tiny(model, o, pool);
  tiny.submit(request(prompt_of(10, 1), 30));
  EXPECT_THROW(tiny.run({}), Error);
}

TEST(Engine, TraceRecordsEveryCompressionPerLayer) {
  ThreadPool pool(1);
  test::ToyModel model(9);
  std::ostringstream trace;
  EngineOptions o = options_for(Method::RKV, 16, 4, 8);
  o.trace = &trace;
  auto r = generate_one(model, o, request(prompt_of(10, 9), 40), pool);
  std::istringstream lines(trace.str());
  std::string line;
  int records = 0;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line);
    ASSERT_EQ(j["kept_positions"].size(), 2u);
    EXPECT_EQ(j["kept_positions"][0].size(), 16u);
    // the window (the newest 4 positions) is always kept, last, in order
    int64_t length = j["length"];
    for (int i = 0; i < 4; ++i) EXPECT_EQ(j["kept_positions"][1][12 + i], length - 4 + i);
    ++records;
  }
  EXPECT_EQ(records, r.compressions * model.dims().n_layers);
}

TEST(Engine, RejectsBadRequests) {
  ThreadPool pool(1);
  test::ToyModel model(1);
  Engine engine(model, options_for(Method::RKV, 16), pool);
  EXPECT_THROW(engine.submit(request({}, 5)), Error);
  EXPECT_THROW(engine.submit(request({1, 64}, 5)), Error);
  EXPECT_THROW(engine.submit(request({1, 2}, 0)), Error);
  EngineOptions bad = options_for(Method::RKV, 4, 4);
  EXPECT_THROW(Engine(model, bad, pool), Error);
}

}  // namespace
}  // namespace rkv
