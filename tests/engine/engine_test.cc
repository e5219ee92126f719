// The generation loop of RKV-SPEC.md §2 on a small real decoder (toy_model.h).
#include <cmath>
#include <limits>
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
  for (DType kv : {DType::F32, DType::BF16, DType::Q8_0, DType::Q4_0}) {
    // bytes of one K or V row of the toy's head_dim 8: elements, or codes + f16 scale
    const int64_t row = kv == DType::Q8_0 ? 8 + 2 : kv == DType::Q4_0 ? 4 + 2 : 8 * static_cast<int64_t>(dtype_size(kv));
    for (int64_t length : {40, 80, 160, 320}) {
      test::ToyModel model(5);
      EngineOptions o = options_for(Method::RKV, budget, 4, divide);
      o.kv_type = kv;
      auto r = generate_one(model, o, request(prompt_of(10, 5), length), pool);
      const ModelDims& d = model.dims();
      EXPECT_EQ(r.kv_peak_bytes, d.n_layers * d.n_kv_heads * (budget + divide) * row * 2)
          << dtype_name(kv) << " length " << length;
      EXPECT_EQ(Engine(model, o, pool).reachable_kv_bytes(10, length), r.kv_peak_bytes) << dtype_name(kv);
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
    engine.run({.on_done = [&](const GenerationResult& r) { together[r.id] = r.ids; }});
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
  engine.run({.on_done = [&](const GenerationResult&) { ++done; }});
  EXPECT_EQ(done, 5);
  EXPECT_EQ(*std::max_element(model.batch_sizes.begin(), model.batch_sizes.end()), 2);
  // A request that can never fit fails alone; the others still run.
  o.kv_memory = per_sequence + per_sequence / 2;
  Engine tight(model, o, pool);
  tight.submit(request(prompt_of(10, 1), 30));
  try {
    tight.submit(request(prompt_of(400, 2), 300));  // needs far more than the limit
    ADD_FAILURE() << "a request that can never fit was queued";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("KV memory limit"), std::string::npos) << e.what();
  }
  tight.submit(request(prompt_of(10, 3), 30));
  std::map<int, GenerationResult> results;
  tight.run({.on_done = [&](const GenerationResult& r) { results[r.id] = r; }});
  ASSERT_EQ(results.size(), 2u);
  for (auto& [id, r] : results) EXPECT_EQ(r.ids.size(), 30u) << id;
}

// --kv-memory counts quantized rows: K + V of one slot of one head (head_dim
// 8) is 32 bytes in bf16, 20 in q8_0 (codes + f16 scale), 12 in q4_0, so a
// limit of 2.33 bf16 sequences holds 3 q8_0 and 6 q4_0 ones.
TEST(Engine, KvMemoryAdmitsByQuantizedRowBytes) {
  ThreadPool pool(1);
  EngineOptions o = options_for(Method::RKV, 16, 4, 8);
  o.max_batch = 8;
  test::ToyModel probe_model(9);
  o.kv_type = DType::BF16;
  const int64_t bf16_sequence = Engine(probe_model, o, pool).reachable_kv_bytes(10, 30);
  for (DType kv : {DType::BF16, DType::Q8_0, DType::Q4_0}) {
    test::ToyModel model(9);
    o.kv_type = kv;
    o.kv_memory = 2 * bf16_sequence + bf16_sequence / 3;
    Engine engine(model, o, pool);
    for (int i = 0; i < 6; ++i) engine.submit(request(prompt_of(10, 50 + i), 30));
    int done = 0;
    engine.run({.on_done = [&](const GenerationResult&) { ++done; }});
    EXPECT_EQ(done, 6);
    const int expected = kv == DType::BF16 ? 2 : kv == DType::Q8_0 ? 3 : 6;
    EXPECT_EQ(*std::max_element(model.batch_sizes.begin(), model.batch_sizes.end()), expected) << dtype_name(kv);
  }
  EngineOptions odd = o;
  odd.kv_type = DType::Q4_K;  // a weight type
  EXPECT_THROW(Engine(probe_model, odd, pool), Error);
}

TEST(Engine, LongPromptsArePrefilledInChunksBetweenOtherSequencesDecodeSteps) {
  ThreadPool pool(1);
  std::vector<std::vector<int32_t>> prompts = {prompt_of(5, 41), prompt_of(60, 42), prompt_of(23, 43)};
  for (Method m : {Method::FullKV, Method::RKV}) {
    std::vector<std::vector<int32_t>> alone;
    for (const auto& p : prompts) {
      test::ToyModel model(22);
      alone.push_back(generate_one(model, options_for(m, 16), request(p, 30), pool).ids);
    }
    test::ToyModel model(22);
    EngineOptions o = options_for(m, 16);
    o.max_batch = 3;
    o.prefill_chunk = 7;
    Engine engine(model, o, pool);
    for (const auto& p : prompts) engine.submit(request(p, 30));
    std::map<int, std::vector<int32_t>> together;
    int steps = 0;
    while (engine.step({.on_done = [&](const GenerationResult& r) { together[r.id] = r.ids; }})) ++steps;
    for (size_t i = 0; i < prompts.size(); ++i) EXPECT_EQ(together[static_cast<int>(i)], alone[i]) << method_name(m) << " " << i;
    // no forward fed more than 7 prompt tokens plus one token per decoding sequence
    EXPECT_LE(*std::max_element(model.tokens_per_forward.begin(), model.tokens_per_forward.end()), 7u + 2u);
    // the 60-token prompt took at least 60 / 7 steps, while the first sequence decoded
    EXPECT_GE(steps, 9);
  }
}

TEST(Engine, EachRequestCanCarryItsOwnPolicy) {
  ThreadPool pool(1);
  std::vector<int32_t> p = prompt_of(12, 51);
  test::ToyModel m1(23), m2(23), m3(23);
  auto full = generate_one(m1, options_for(Method::FullKV, 1), request(p, 60), pool);
  auto rkv = generate_one(m2, options_for(Method::RKV, 16), request(p, 60), pool);
  Engine engine(m3, options_for(Method::FullKV, 1), pool);
  GenerationRequest a = request(p, 60), b = request(p, 60);
  b.policy = options_for(Method::RKV, 16).policy;
  engine.submit(a);
  engine.submit(b);
  std::map<int, GenerationResult> results;
  engine.run({.on_done = [&](const GenerationResult& r) { results[r.id] = r; }});
  EXPECT_EQ(results[0].ids, full.ids);
  EXPECT_EQ(results[1].ids, rkv.ids);
  EXPECT_EQ(results[0].compressions, 0);
  EXPECT_EQ(results[1].compressions, rkv.compressions);
  EXPECT_GT(rkv.compressions, 0);
}

TEST(Engine, CancelledSequencesStopAtTheNextStepAndFreeTheirMemory) {
  ThreadPool pool(1);
  test::ToyModel model(24);
  EngineOptions o = options_for(Method::FullKV, 1);
  o.max_batch = 1;
  Engine engine(model, o, pool);
  const int a = engine.submit(request(prompt_of(8, 1), 1000));
  const int b = engine.submit(request(prompt_of(8, 2), 1000));  // waits behind a
  std::map<int, GenerationResult> results;
  EngineCallbacks cb{.on_done = [&](const GenerationResult& r) { results[r.id] = r; }};
  for (int i = 0; i < 10; ++i) engine.step(cb);
  EXPECT_EQ(engine.load().running, 1);
  EXPECT_GT(engine.load().kv_bytes_in_use, 0);
  EXPECT_TRUE(engine.cancel(b, StopReason::Cancelled));
  EXPECT_TRUE(engine.cancel(a, StopReason::Interrupted));
  engine.step(cb);
  EXPECT_TRUE(engine.idle());
  EXPECT_EQ(engine.load().kv_bytes_in_use, 0);
  EXPECT_EQ(results[a].stop, StopReason::Interrupted);
  EXPECT_EQ(results[a].ids.size(), 10u);  // what it had generated is kept
  EXPECT_EQ(results[b].stop, StopReason::Cancelled);
  EXPECT_TRUE(results[b].ids.empty());
  EXPECT_FALSE(engine.cancel(a));
}

// The second sequence of a two-sequence batch gets a NaN logit from
// position 15 on (broken weights would do that to every sequence).
class PoisonedModel : public test::ToyModel {
 public:
  using ToyModel::ToyModel;
  void forward(std::span<ForwardItem> batch) override {
    ToyModel::forward(batch);
    if (batch.size() == 2 && batch[1].logits && batch[1].first_position >= 15) batch[1].logits[3] = std::nanf("");
  }
};

// Two requests (10-token prompts, 30 new tokens) decoded as one batch:
// their results by id, after checking the engine let go of all KV memory.
std::map<int, GenerationResult> run_two_together(CausalLM& model, EngineOptions o) {
  ThreadPool pool(1);
  o.max_batch = 2;
  Engine engine(model, o, pool);
  engine.submit(request(prompt_of(10, 1), 30));
  engine.submit(request(prompt_of(10, 2), 30));
  std::map<int, GenerationResult> results;
  engine.run({.on_done = [&](const GenerationResult& r) { results[r.id] = r; }});
  EXPECT_EQ(engine.load().kv_bytes_in_use, 0);
  return results;
}

TEST(Engine, NonFiniteLogitsStopOnlyThatSequenceWithANamedError) {
  PoisonedModel model(25);
  auto results = run_two_together(model, options_for(Method::FullKV, 1));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].ids.size(), 30u);
  EXPECT_EQ(results[1].stop, StopReason::Error);
  EXPECT_NE(results[1].error.find("not finite"), std::string::npos) << results[1].error;
  EXPECT_EQ(results[1].ids.size(), 6u);  // one from the prefill, then positions 10..14
}

// The second sequence of a two-sequence batch gets an infinite query in its
// observation window from position 15 on: its R-KV scores turn non-finite.
class PoisonedQueriesModel : public test::ToyModel {
 public:
  using ToyModel::ToyModel;
  void forward(std::span<ForwardItem> batch) override {
    ToyModel::forward(batch);
    if (batch.size() != 2 || !batch[1].windows || batch[1].first_position < 15) return;
    std::vector<float> q(static_cast<size_t>(dims().n_q_heads * dims().head_dim), std::numeric_limits<float>::infinity());
    for (size_t i = 1; i < q.size(); i += 2) q[i] = -q[i];
    for (auto& window : *batch[1].windows) window.push(q.data(), 1);
  }
};

TEST(Engine, NonFiniteCompressionScoresStopOnlyThatSequenceWithANamedError) {
  PoisonedQueriesModel model(25);
  auto results = run_two_together(model, options_for(Method::RKV, 8, 4, 4));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].stop, StopReason::Length) << results[0].error;
  EXPECT_EQ(results[0].ids.size(), 30u);
  EXPECT_GT(results[0].compressions, 3);
  EXPECT_EQ(results[1].stop, StopReason::Error);
  EXPECT_NE(results[1].error.find("compression: KV head"), std::string::npos) << results[1].error;
  EXPECT_LT(results[1].ids.size(), 30u);
}

TEST(Engine, APromptLongerThanTheContextIsANamedError) {
  ThreadPool pool(1);
  test::ToyModel model(1);
  model.set_max_positions(32);
  Engine engine(model, options_for(Method::RKV, 16), pool);
  try {
    engine.submit(request(prompt_of(40, 1), 5));
    FAIL() << "accepted a 40-token prompt with a 32-token context";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("context is 32"), std::string::npos) << e.what();
  }
  GenerationRequest huge = request(prompt_of(8, 1), 5);
  huge.stop.max_new_tokens = std::numeric_limits<int64_t>::max();
  EXPECT_THROW(engine.submit(huge), Error);  // sizes that overflow are named, not wrapped
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
