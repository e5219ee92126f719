// The engine driven from its own thread: requests from many threads give the
// tokens they give alone, cancel frees memory, the queue is bounded, and
// every request gets exactly one on_done.
#include <atomic>
#include <future>
#include <map>
#include <random>

#include "common/testing.h"
#include "engine/toy_model.h"
#include "rkv/engine/async_engine.h"

namespace rkv {
namespace {

std::vector<int32_t> prompt_of(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> p;
  for (int i = 0; i < n; ++i) p.push_back(static_cast<int32_t>(rng() % 64));
  return p;
}

GenerationRequest request(std::vector<int32_t> prompt, int64_t max_new) {
  GenerationRequest r;
  r.prompt = std::move(prompt);
  r.stop.max_new_tokens = max_new;
  return r;
}

// load() is refreshed after each step; on_done comes during the step.
void wait_until_idle(const AsyncEngine& engine) {
  for (int i = 0; i < 2000 && engine.load().running > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

EngineOptions rkv_options(int max_batch) {
  EngineOptions o;
  o.policy.method = default_config(Method::RKV);
  o.policy.method.budget = 16;
  o.policy.method.window_size = 4;
  o.policy.divide_length = 8;
  o.max_batch = max_batch;
  o.prefill_chunk = 5;
  return o;
}

TEST(AsyncEngine, ConcurrentSubmissionsGiveTheTokensOfSequentialRuns) {
  ThreadPool pool(1);
  const int n = 8;
  std::vector<std::vector<int32_t>> expected;
  for (int i = 0; i < n; ++i) {
    test::ToyModel model(31);
    expected.push_back(generate_one(model, rkv_options(1), request(prompt_of(3 + 4 * i, 100 + i), 30 + i), pool).ids);
  }
  test::ToyModel model(31);
  AsyncEngine engine(model, rkv_options(3), pool, 16);
  std::vector<std::promise<GenerationResult>> done(n);
  std::vector<std::vector<int32_t>> streamed(n);
  std::vector<std::thread> clients;
  for (int i = 0; i < n; ++i)
    clients.emplace_back([&, i] {
      AsyncEngine::Sink sink;
      sink.on_token = [&, i](int32_t token, const std::string&) { streamed[i].push_back(token); };
      sink.on_done = [&, i](const GenerationResult& r) { done[i].set_value(r); };
      engine.submit(request(prompt_of(3 + 4 * i, 100 + i), 30 + i), std::move(sink));
    });
  for (auto& c : clients) c.join();
  for (int i = 0; i < n; ++i) {
    GenerationResult r = done[i].get_future().get();
    EXPECT_EQ(r.ids, expected[i]) << i;
    EXPECT_EQ(streamed[i], expected[i]) << i;
  }
  wait_until_idle(engine);
  EXPECT_EQ(engine.load().running, 0);
}

TEST(AsyncEngine, CancelStopsARequestAndFreesItsMemory) {
  ThreadPool pool(1);
  test::ToyModel model(32);
  AsyncEngine engine(model, rkv_options(2), pool, 4);
  std::promise<GenerationResult> done;
  std::atomic<int> tokens{0};
  AsyncEngine::Sink sink;
  sink.on_token = [&](int32_t, const std::string&) { ++tokens; };
  sink.on_done = [&](const GenerationResult& r) { done.set_value(r); };
  const uint64_t ticket = engine.submit(request(prompt_of(4, 1), 1'000'000), std::move(sink));
  while (tokens < 20) std::this_thread::yield();
  engine.cancel(ticket);
  GenerationResult r = done.get_future().get();
  EXPECT_EQ(r.stop, StopReason::Cancelled);
  EXPECT_GE(r.ids.size(), 20u);
  EXPECT_LT(r.ids.size(), 1'000'000u);
  wait_until_idle(engine);
  EXPECT_EQ(engine.load().running, 0);
  EXPECT_EQ(engine.load().kv_bytes_in_use, 0);
}

TEST(AsyncEngine, TheQueueIsBoundedAndShutdownEndsEveryRequest) {
  ThreadPool pool(1);
  test::ToyModel model(33);
  std::atomic<int> done{0}, cancelled{0};
  {
    AsyncEngine engine(model, rkv_options(1), pool, 2);  // one running, two waiting
    auto sink = [&] {
      AsyncEngine::Sink s;
      s.on_done = [&](const GenerationResult& r) {
        ++done;
        cancelled += r.stop == StopReason::Cancelled ? 1 : 0;
      };
      return s;
    };
    int accepted = 0, refused = 0;
    for (int i = 0; i < 6; ++i) {
      try {
        engine.submit(request(prompt_of(4, i), 1'000'000), sink());
        ++accepted;
      } catch (const QueueFull&) {
        ++refused;
      }
    }
    EXPECT_EQ(accepted, 3);
    EXPECT_EQ(refused, 3);
    EXPECT_THROW(engine.submit(request({}, 5), sink()), Error);  // invalid: refused at once, no on_done
  }
  EXPECT_EQ(done, 3);
  EXPECT_EQ(cancelled, 3);
}

// The limit holds whenever the second request comes: also while the engine
// thread has taken the first from the inbox but not yet refreshed its load.
TEST(AsyncEngine, TheQueueLimitHoldsAtEveryMomentOfAStep) {
  ThreadPool pool(1);
  test::ToyModel model(34);
  AsyncEngine engine(model, rkv_options(1), pool, 0);  // one running, none waiting
  for (int trial = 0; trial < 40; ++trial) {
    std::promise<void> first_done;
    AsyncEngine::Sink first;
    first.on_done = [&](const GenerationResult&) { first_done.set_value(); };
    const uint64_t ticket = engine.submit(request(prompt_of(8, trial), 1'000'000), std::move(first));
    std::this_thread::sleep_for(std::chrono::microseconds(50 * (trial % 8)));
    EXPECT_THROW(engine.submit(request(prompt_of(4, 99), 5), AsyncEngine::Sink{}), QueueFull) << trial;
    engine.cancel(ticket);
    first_done.get_future().wait();
  }
}

}  // namespace
}  // namespace rkv
