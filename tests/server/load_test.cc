// A bounded load test: 32 concurrent streaming clients on stories260K, a
// quarter of them hanging up early, two rounds. Every stream that is read
// to the end is exactly its prompt's sequential answer (nothing mixed in
// from another), every early hang-up saw a prefix of it, nothing hangs, and
// afterwards the engine holds no sequence and no KV memory; the process's
// peak memory does not grow from one round to the next.
#include <fstream>
#include <thread>

#include "server/server_fixture.h"

namespace rkv::test {
namespace {

using nlohmann::json;

int64_t peak_rss_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  return -1;
}
void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;  // ASan's quarantine holds freed memory: peaks are not comparable
#else
constexpr bool kSanitized = false;
#endif

struct Outcome {
  std::string text;
  std::string error;  // httplib's, when the exchange failed
  bool done = false;  // read to [DONE]
  bool ok = false;    // HTTP 200 and events that parse
};

Outcome stream_one(const TestServer& s, const std::string& prompt, int max_tokens, bool hang_up) {
  Outcome out;
  std::string body;
  int chunks = 0;
  auto c = s.client();
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/completions";
  req.body = json{{"prompt", prompt}, {"max_tokens", max_tokens}, {"stream", true}}.dump();
  req.set_header("Content-Type", "application/json");
  req.response_handler = [&](const httplib::Response& res) {
    out.ok = res.status == 200;
    return true;
  };
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    body.append(data, n);
    return !hang_up || ++chunks < 4;
  };
  httplib::Response res;
  httplib::Error error = httplib::Error::Success;
  if (!c->send(req, res, error)) out.error = httplib::to_string(error);
  try {
    for (const json& e : sse_events(body, &out.done))
      for (const json& choice : e["choices"]) out.text += choice.value("text", "");
  } catch (const std::exception&) {
    out.ok = false;  // a torn event can only be the last one of a hang-up
  }
  return out;
}

TEST(ServerLoad, ThirtyTwoStreamsAQuarterHangingUp) {
  RKV_REQUIRE_ASSET("models/stories260K.gguf");
  ServerSetup setup;
  setup.model_path = asset("models/stories260K.gguf");
  setup.max_batch = 8;
  setup.options.max_queue = 32;  // all 32 are accepted: 8 run, 24 wait
  TestServer s(setup);
  const int clients = 32, max_tokens = 48;
  const std::vector<std::string> starts = {"Once upon a time", "The cat", "Lily", "Ben", "One day", "Mom",
                                           "A bird", "The sun"};
  std::vector<std::string> prompts, expected;
  for (int i = 0; i < clients; ++i) {
    prompts.push_back(starts[static_cast<size_t>(i) % starts.size()] + (i < 8 ? "" : i < 16 ? " saw" : i < 24 ? " had a" : " was very"));
    auto r = s.post("/v1/completions", {{"prompt", prompts.back()}, {"max_tokens", max_tokens}});
    ASSERT_EQ(r.status, 200) << r.raw;
    expected.push_back(r.body["choices"][0]["text"]);
  }
  int64_t first_peak = 0;
  for (int round = 0; round < 2; ++round) {
    reset_peak_rss();
    std::vector<Outcome> outcomes(clients);
    std::vector<std::thread> threads;
    for (int i = 0; i < clients; ++i)
      threads.emplace_back([&, i] { outcomes[i] = stream_one(s, prompts[i], max_tokens, i % 4 == 0); });
    for (auto& t : threads) t.join();
    for (int i = 0; i < clients; ++i) {
      const Outcome& o = outcomes[i];
      if (i % 4 == 0) {
        EXPECT_FALSE(o.done) << i;
        EXPECT_EQ(expected[i].compare(0, o.text.size(), o.text), 0) << "hang-up " << i << " saw " << o.text;
      } else {
        EXPECT_TRUE(o.ok && o.done) << "client " << i << " round " << round << ": " << o.error;
        EXPECT_EQ(o.text, expected[i]) << "client " << i << " round " << round;
      }
    }
    ASSERT_TRUE(s.wait_idle());
    EXPECT_EQ(s.metric("rkv_sequences_running"), 0);
    EXPECT_EQ(s.metric("rkv_kv_bytes_in_use"), 0);
    EXPECT_EQ(s.metric("rkv_kv_bytes_reserved"), 0);
    const int64_t peak = peak_rss_kib();
    if (round == 0) {
      first_peak = peak;
    } else if (!kSanitized) {
      EXPECT_LE(peak, first_peak + 16 * 1024) << "peak RSS grew from " << first_peak << " KiB";
    }
  }
  double finished = 0;
  for (const char* reason : {"cancelled", "length", "eos"})
    finished += std::max(0.0, s.metric(std::string("rkv_sequences_finished_total{reason=\"") + reason + "\"}"));
  EXPECT_EQ(finished, clients + 2 * clients);  // the sequential answers, then two rounds
}

}  // namespace
}  // namespace rkv::test
