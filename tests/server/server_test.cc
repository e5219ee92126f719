// rkv serve end to end, in process, over HTTP on a loopback port: the
// scripted model (its output is known) for the reasoning split, stops,
// usage, per-request compression and errors; stories260K for streaming ==
// one body, concurrent == sequential and cancellation.
#include <atomic>
#include <cmath>
#include <thread>

#include "server/server_fixture.h"

namespace rkv::test {
namespace {

using nlohmann::json;

const json kHi = json::array({{{"role", "user"}, {"content", "What is 2 + 2?"}}});

std::string scripted_text() { return std::string(kScriptedReasoning) + "</think>" + kScriptedAnswer; }

// Streams a request; the events, and whether the stream ended with [DONE].
std::vector<json> stream(const TestServer& s, const std::string& path, json body, bool* done = nullptr) {
  body["stream"] = true;
  auto res = s.client()->Post(path, body.dump(), "application/json");
  EXPECT_TRUE(res);
  if (!res) return {};
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/event-stream");
  return sse_events(res->body, done);
}

TEST(Server, HealthIs503WhileTheModelLoads) {
  ServerSetup setup;
  setup.attach = false;
  TestServer s(setup);
  auto c = s.client();
  auto health = c->Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 503);
  EXPECT_EQ(json::parse(health->body)["status"], "loading");
  auto r = s.post("/v1/chat/completions", {{"messages", kHi}});
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body["error"]["code"], "model_loading");
  s.attach();
  health = c->Get("/health");
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(s.post("/v1/chat/completions", {{"messages", kHi}}).status, 200);
}

TEST(Server, ChatSplitsTheThinkingFromTheAnswer) {
  TestServer s;
  auto r = s.post("/v1/chat/completions", {{"model", "any"}, {"messages", kHi}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["object"], "chat.completion");
  EXPECT_EQ(r.body["model"], "any");
  const json& choice = r.body["choices"][0];
  EXPECT_EQ(choice["message"]["role"], "assistant");
  EXPECT_EQ(choice["message"]["reasoning_content"], kScriptedReasoning);
  EXPECT_EQ(choice["message"]["content"], kScriptedAnswer);
  EXPECT_EQ(choice["finish_reason"], "stop");
  const json& usage = r.body["usage"];
  EXPECT_EQ(usage["completion_tokens"], kScriptedTokens);
  EXPECT_EQ(usage["completion_tokens_details"]["reasoning_tokens"], 5);  // "Let", " me", " think", ".", "</think>"
  EXPECT_EQ(usage["total_tokens"], usage["prompt_tokens"].get<int>() + kScriptedTokens);
  EXPECT_EQ(usage["rkv"]["method"], "fullkv");
  EXPECT_GT(usage["rkv"]["kv_peak_bytes"].get<int64_t>(), 0);

  // Streaming: the same split, piece by piece, then the usage and [DONE].
  bool done = false;
  auto events = stream(s, "/v1/chat/completions",
                       {{"messages", kHi}, {"stream_options", {{"include_usage", true}}}}, &done);
  EXPECT_TRUE(done);
  std::string reasoning, content, finish;
  json last_usage;
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0]["choices"][0]["delta"]["role"], "assistant");
  for (const json& e : events) {
    EXPECT_EQ(e["object"], "chat.completion.chunk");
    EXPECT_EQ(e["id"], events[0]["id"]);
    if (!e["usage"].is_null()) last_usage = e["usage"];
    for (const json& c : e["choices"]) {
      reasoning += c["delta"].value("reasoning_content", "");
      content += c["delta"].value("content", "");
      if (!c["finish_reason"].is_null()) finish = c["finish_reason"];
    }
  }
  EXPECT_EQ(reasoning, kScriptedReasoning);
  EXPECT_EQ(content, kScriptedAnswer);
  EXPECT_EQ(finish, "stop");
  EXPECT_TRUE(events.back()["choices"].empty());
  EXPECT_EQ(last_usage["completion_tokens"], kScriptedTokens);
  EXPECT_EQ(last_usage["completion_tokens_details"]["reasoning_tokens"], 5);
}

TEST(Server, ReasoningFormatNoneLeavesTheTextWhole) {
  ServerSetup setup;
  setup.options.reasoning = server::ReasoningFormat::None;
  TestServer s(setup);
  auto r = s.post("/v1/chat/completions", {{"messages", kHi}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["choices"][0]["message"]["content"], scripted_text());
  EXPECT_FALSE(r.body["choices"][0]["message"].contains("reasoning_content"));
  EXPECT_EQ(r.body["usage"]["completion_tokens_details"]["reasoning_tokens"], 0);
}

TEST(Server, StopStringsEndTheAnswerAndAreNotPartOfIt) {
  TestServer s;
  for (bool streamed : {false, true}) {
    json body = {{"messages", kHi}, {"stop", json::array({"zzz", "answer is"})}};
    std::string content, finish;
    if (streamed) {
      for (const json& e : stream(s, "/v1/chat/completions", body))
        for (const json& c : e["choices"]) {
          content += c["delta"].value("content", "");
          if (!c["finish_reason"].is_null()) finish = c["finish_reason"];
        }
    } else {
      auto r = s.post("/v1/chat/completions", body);
      ASSERT_EQ(r.status, 200) << r.raw;
      content = r.body["choices"][0]["message"]["content"];
      finish = r.body["choices"][0]["finish_reason"];
    }
    EXPECT_EQ(content, "The ") << streamed;
    EXPECT_EQ(finish, "stop") << streamed;
  }
  // completions: the raw text, cut at the stop string
  auto r = s.post("/v1/completions", {{"prompt", "x"}, {"stop", "think"}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["choices"][0]["text"], "Let me ");
  EXPECT_EQ(r.body["object"], "text_completion");
}

TEST(Server, LogprobsOfEachTokenAndItsAlternatives) {
  TestServer s;
  // The scripted model's next-token logit is 10 x sqrt(32) (an RMS-normed
  // one-hot times 10), every other logit 0: the sampled token has
  // log-probability ~0, any alternative ~ -56.57.
  const double other = -10.0 / std::sqrt(1.0 / 32 + 1e-6);
  auto r = s.post("/v1/chat/completions", {{"messages", kHi}, {"logprobs", true}, {"top_logprobs", 2}});
  ASSERT_EQ(r.status, 200) << r.raw;
  const json& content = r.body["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(content.size(), static_cast<size_t>(kScriptedTokens));
  for (const json& e : content) {
    EXPECT_NEAR(e["logprob"].get<double>(), 0.0, 1e-4);
    ASSERT_EQ(e["top_logprobs"].size(), 2u);
    EXPECT_EQ(e["top_logprobs"][0]["token"], e["token"]);
    EXPECT_NEAR(e["top_logprobs"][1]["logprob"].get<double>(), other, 1e-2);
    EXPECT_EQ(e["bytes"].size(), e["token"].get<std::string>().size());
  }
  EXPECT_EQ(content[4]["token"], "</think>");
  // streamed: one entry per token, the same values
  json body = {{"prompt", "x"}, {"logprobs", 1}, {"max_tokens", 4}};
  auto whole = s.post("/v1/completions", body);
  ASSERT_EQ(whole.status, 200) << whole.raw;
  const json& lp = whole.body["choices"][0]["logprobs"];
  ASSERT_EQ(lp["tokens"].size(), 4u);
  EXPECT_EQ(lp["text_offset"], json({0, 3, 6, 12}));  // "Let", "Let me", "Let me think"
  std::vector<double> streamed;
  for (const json& e : stream(s, "/v1/completions", body))
    for (const json& c : e["choices"])
      if (!c["logprobs"].is_null()) streamed.push_back(c["logprobs"]["token_logprobs"][0]);
  ASSERT_EQ(streamed.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_DOUBLE_EQ(streamed[i], lp["token_logprobs"][i].get<double>());
}

TEST(Server, MaxTokensEndsWithLength) {
  TestServer s;
  auto r = s.post("/v1/completions", {{"prompt", "x"}, {"max_tokens", 3}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["choices"][0]["text"], "Let me think");
  EXPECT_EQ(r.body["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(r.body["usage"]["completion_tokens"], 3);
}

TEST(Server, PerRequestCompressionIsUsedAndReported) {
  TestServer s;  // the server's default: FullKV
  json body = {{"prompt", "x"}, {"max_tokens", 120}, {"ignore_eos", true}};
  auto full = s.post("/v1/completions", body);
  body["kv_compression"] = {{"method", "rkv"}, {"budget", 16}, {"window_size", 4}, {"divide_length", 8}};
  auto rkv = s.post("/v1/completions", body);
  ASSERT_EQ(rkv.status, 200) << rkv.raw;
  const json& r = rkv.body["usage"]["rkv"];
  EXPECT_EQ(r["method"], "rkv");
  EXPECT_EQ(r["budget"], 16);
  EXPECT_GE(r["compressions"].get<int>(), 10);
  EXPECT_LT(r["kv_peak_bytes"].get<int64_t>(), full.body["usage"]["rkv"]["kv_peak_bytes"].get<int64_t>());
  EXPECT_EQ(full.body["usage"]["rkv"]["compressions"], 0);
  // the scripted model's next token does not depend on attention: same text
  EXPECT_EQ(rkv.body["choices"][0]["text"], full.body["choices"][0]["text"]);
  body["kv_compression"] = {{"method", "rkv"}, {"budgett", 16}};
  auto bad = s.post("/v1/completions", body);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body["error"]["param"], "kv_compression");
  EXPECT_NE(bad.body["error"]["message"].get<std::string>().find("budgett"), std::string::npos);
}

TEST(Server, BadRequestsGetAnErrorObjectAndTheServerGoesOn) {
  ServerSetup setup;
  setup.options.max_body_bytes = 4096;
  TestServer s(setup);
  struct Case {
    std::string path, body;
    int status;
    std::string param, needle;
  };
  const std::vector<Case> cases = {
      {"/v1/chat/completions", "{\"messages\": [", 400, "", "malformed JSON"},
      {"/v1/chat/completions", "{\"messages\": \"hi\"}", 400, "messages", "array"},
      {"/v1/chat/completions", "{\"messages\": []}", 400, "messages", "empty"},
      {"/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"\xff\"}]}", 400, "", "UTF-8"},
      {"/v1/completions", "{\"prompt\": \"x\", \"max_tokens\": 0}", 400, "max_tokens", "at least 1"},
      {"/v1/completions", "{\"prompt\": \"x\", \"max_tokens\": 100000000000}", 400, "max_tokens", "at most"},
      {"/v1/completions", "{\"prompt\": \"x\", \"max_tokens\": 300}", 400, "max_tokens", "context is 256"},
      {"/v1/completions", "{\"prompt\": \"" + std::string(300, 'a') + "\"}", 400, "prompt", "context"},
      {"/v1/completions", "{\"prompt\": [1, 99999]}", 400, "prompt", "vocabulary"},
      {"/v1/completions", "{\"prompt\": \"x\", \"temperature\": -1}", 400, "temperature", "[0, 2]"},
      {"/v1/completions", "{\"prompt\": \"" + std::string(5000, 'a') + "\"}", 413, "", "4096 bytes"},
      {"/v1/nothing", "{}", 404, "", "no such endpoint"},
      {"/tokenize", "{\"prompt\": 5}", 400, "prompt", "string"},
      {"/detokenize", "{\"tokens\": [-1]}", 400, "tokens", "vocabulary"},
  };
  for (const Case& c : cases) {
    auto r = s.post_raw(c.path, c.body);
    EXPECT_EQ(r.status, c.status) << c.path << " " << c.body.substr(0, 80) << " -> " << r.raw;
    ASSERT_TRUE(r.body.contains("error")) << r.raw;
    EXPECT_EQ(r.body["error"]["param"].is_null() ? "" : r.body["error"]["param"].get<std::string>(), c.param) << r.raw;
    EXPECT_NE(r.body["error"]["message"].get<std::string>().find(c.needle), std::string::npos) << r.raw;
  }
  // still serving
  auto r = s.post("/v1/chat/completions", {{"messages", kHi}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(s.metric("rkv_http_requests_total{endpoint=\"completions\",code=\"400\"}"), 6);
}

TEST(Server, ApiKeyIsRequiredWhereSet) {
  ServerSetup setup;
  setup.options.api_key = "sesame";
  TestServer s(setup);
  httplib::Client anonymous("127.0.0.1", s.port());
  auto r = anonymous.Post("/v1/chat/completions", json{{"messages", kHi}}.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(json::parse(r->body)["error"]["code"], "invalid_api_key");
  httplib::Client wrong("127.0.0.1", s.port());
  wrong.set_bearer_token_auth("sesamf");
  EXPECT_EQ(wrong.Get("/v1/models")->status, 401);
  EXPECT_EQ(wrong.Get("/metrics")->status, 401);
  EXPECT_EQ(anonymous.Get("/health")->status, 200);  // the load balancer's probe needs no key
  EXPECT_EQ(anonymous.Get("/")->status, 200);        // nor the page (it asks for the key)
  EXPECT_EQ(s.post("/v1/chat/completions", {{"messages", kHi}}).status, 200);  // the fixture sends the key
}

TEST(Server, RequestsBeyondTheQueueGet429) {
  ServerSetup setup;
  setup.max_batch = 1;
  setup.options.max_queue = 0;
  TestServer s(setup);
  // two samples need two places; there is one
  auto r = s.post("/v1/chat/completions", {{"messages", kHi}, {"n", 2}});
  EXPECT_EQ(r.status, 429) << r.raw;
  EXPECT_EQ(r.body["error"]["type"], "rate_limit_error");
  EXPECT_TRUE(s.wait_idle());
  EXPECT_EQ(s.post("/v1/chat/completions", {{"messages", kHi}}).status, 200);
}

TEST(Server, ModelsTokenizeDetokenizeAndThePage) {
  ServerSetup setup;
  setup.options.model_name = "scripted";
  TestServer s(setup);
  auto c = s.client();
  auto models = c->Get("/v1/models");
  ASSERT_TRUE(models);
  auto m = json::parse(models->body);
  EXPECT_EQ(m["data"][0]["id"], "scripted");
  EXPECT_EQ(m["data"][0]["max_model_len"], kScriptedContext);
  // The scripted vocabulary has byte pieces and the script's words: "ab"
  // is its bytes after the "▁" (3 bytes) a SentencePiece prompt begins with.
  auto t = s.post("/tokenize", {{"prompt", "ab"}, {"add_special_tokens", false}});
  ASSERT_EQ(t.status, 200) << t.raw;
  EXPECT_EQ(t.body["count"], 5);
  EXPECT_EQ(s.post("/tokenize", {{"prompt", "ab"}}).body["count"], 6);  // with <s>
  auto d = s.post("/detokenize", {{"tokens", {259, 260, 261}}});  // the script's first three
  EXPECT_EQ(d.body["prompt"], "Let me think");
  auto chat = s.post("/tokenize", {{"messages", kHi}});
  EXPECT_EQ(chat.body["count"], s.post("/v1/chat/completions", {{"messages", kHi}}).body["usage"]["prompt_tokens"]);
  auto page = c->Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page->body.find("/v1/chat/completions"), std::string::npos);
  EXPECT_EQ(page->body.find("http://"), std::string::npos) << "the page must not load anything from elsewhere";
  EXPECT_EQ(page->body.find("https://"), std::string::npos);
}

TEST(Server, MetricsCountRequestsTokensAndLoad) {
  TestServer s;
  for (int i = 0; i < 3; ++i) s.post("/v1/chat/completions", {{"messages", kHi}});
  s.post("/v1/completions", {{"prompt", "x"}, {"max_tokens", 4}});
  s.post_raw("/v1/completions", "{");
  ASSERT_TRUE(s.wait_idle());
  EXPECT_EQ(s.metric("rkv_http_requests_total{endpoint=\"chat.completions\",code=\"200\"}"), 3);
  EXPECT_EQ(s.metric("rkv_http_requests_total{endpoint=\"completions\",code=\"200\"}"), 1);
  EXPECT_EQ(s.metric("rkv_http_requests_total{endpoint=\"completions\",code=\"400\"}"), 1);
  EXPECT_EQ(s.metric("rkv_sequences_finished_total{reason=\"eos\"}"), 3);
  EXPECT_EQ(s.metric("rkv_sequences_finished_total{reason=\"length\"}"), 1);
  EXPECT_EQ(s.metric("rkv_generation_tokens_total"), 3 * kScriptedTokens + 4);
  EXPECT_EQ(s.metric("rkv_time_to_first_token_seconds_count"), 4);
  EXPECT_EQ(s.metric("rkv_inter_token_latency_seconds_count"), 3 * (kScriptedTokens - 1) + 3);
  EXPECT_EQ(s.metric("rkv_kv_bytes_in_use"), 0);
  EXPECT_EQ(s.metric("rkv_kv_bytes_reserved"), 0);
  EXPECT_EQ(s.metric("rkv_model_ready"), 1);
}

// --- stories260K: a real model with varied output ---------------------------

ServerSetup stories(int max_batch = 8) {
  ServerSetup setup;
  setup.model_path = asset("models/stories260K.gguf");
  setup.max_batch = max_batch;
  setup.options.max_queue = 64;
  return setup;
}

std::string streamed_text(const std::vector<json>& events) {
  std::string text;
  for (const json& e : events)
    for (const json& c : e["choices"]) text += c.value("text", "");
  return text;
}

TEST(Server, StreamingGivesTheTextOfOneBodyForTheSameSeed) {
  RKV_REQUIRE_ASSET("models/stories260K.gguf");
  TestServer s(stories());
  json body = {{"prompt", "Once upon a time"}, {"max_tokens", 60}, {"temperature", 0.9}, {"seed", 7}};
  auto whole = s.post("/v1/completions", body);
  ASSERT_EQ(whole.status, 200) << whole.raw;
  bool done = false;
  auto events = stream(s, "/v1/completions", body, &done);
  EXPECT_TRUE(done);
  EXPECT_EQ(streamed_text(events), whole.body["choices"][0]["text"]);
  body["seed"] = 8;
  EXPECT_NE(s.post("/v1/completions", body).body["choices"][0]["text"], whole.body["choices"][0]["text"]);
}

TEST(Server, ConcurrentRequestsGiveTheTokensOfSequentialOnes) {
  RKV_REQUIRE_ASSET("models/stories260K.gguf");
  TestServer s(stories());
  const std::vector<std::string> prompts = {"Once upon a time", "The cat", "Lily and Ben", "One day, a bird",
                                            "Tom had a red", "The sun was", "A little dog", "Mom said"};
  std::vector<std::string> sequential, concurrent(prompts.size());
  for (const auto& p : prompts) {
    auto r = s.post("/v1/completions", {{"prompt", p}, {"max_tokens", 40}});
    ASSERT_EQ(r.status, 200) << r.raw;
    sequential.push_back(r.body["choices"][0]["text"]);
  }
  std::vector<std::thread> clients;
  for (size_t i = 0; i < prompts.size(); ++i)
    clients.emplace_back([&, i] {
      if (i % 2) concurrent[i] = streamed_text(stream(s, "/v1/completions", {{"prompt", prompts[i]}, {"max_tokens", 40}}));
      else concurrent[i] = s.post("/v1/completions", {{"prompt", prompts[i]}, {"max_tokens", 40}}).body["choices"][0]["text"];
    });
  for (auto& c : clients) c.join();
  for (size_t i = 0; i < prompts.size(); ++i) EXPECT_EQ(concurrent[i], sequential[i]) << prompts[i];
}

TEST(Server, NSamplesAreTheRequestWithConsecutiveSeeds) {
  RKV_REQUIRE_ASSET("models/stories260K.gguf");
  TestServer s(stories());
  json body = {{"prompt", "Once upon a time"}, {"max_tokens", 30}, {"temperature", 1.0}, {"seed", 11}, {"n", 3}};
  auto r = s.post("/v1/completions", body);
  ASSERT_EQ(r.status, 200) << r.raw;
  ASSERT_EQ(r.body["choices"].size(), 3u);
  body["n"] = 1;
  for (int i = 0; i < 3; ++i) {
    body["seed"] = 11 + i;
    EXPECT_EQ(r.body["choices"][i]["index"], i);
    EXPECT_EQ(r.body["choices"][i]["text"], s.post("/v1/completions", body).body["choices"][0]["text"]) << i;
  }
  EXPECT_EQ(r.body["usage"]["completion_tokens"], 90);
}

TEST(Server, AClientThatGoesAwayIsCancelledAndItsMemoryFreed) {
  RKV_REQUIRE_ASSET("models/stories260K.gguf");
  TestServer s(stories());
  json body = {{"prompt", "Once upon a time"}, {"max_tokens", 2000}, {"ignore_eos", true}, {"stream", true}};
  int chunks = 0;
  auto c = s.client();
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/completions";
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) { return ++chunks < 3; };  // then hang up
  c->send(req);
  EXPECT_GE(chunks, 3);
  ASSERT_TRUE(s.wait_idle());
  EXPECT_EQ(s.metric("rkv_sequences_finished_total{reason=\"cancelled\"}"), 1);
  EXPECT_LT(s.metric("rkv_generation_tokens_total"), 2000);
  EXPECT_EQ(s.metric("rkv_kv_bytes_in_use"), 0);
  EXPECT_EQ(s.metric("rkv_http_requests_total{endpoint=\"completions\",code=\"499\"}"), 1);
  // and the server serves the next one
  EXPECT_EQ(s.post("/v1/completions", {{"prompt", "Once"}, {"max_tokens", 5}}).status, 200);
}

TEST(Server, AClientWaitingForOneBodyThatGoesAwayIsCancelledToo) {
  RKV_REQUIRE_ASSET("models/stories260K.gguf");
  TestServer s(stories());
  httplib::Client impatient("127.0.0.1", s.port());
  impatient.set_read_timeout(0, 300000);  // gives up (closes the connection) after 0.3 s
  json body = {{"prompt", "Once upon a time"}, {"max_tokens", 2000}, {"ignore_eos", true}};
  auto res = impatient.Post("/v1/completions", body.dump(), "application/json");
  EXPECT_FALSE(res);  // timed out
  ASSERT_TRUE(s.wait_idle());
  EXPECT_EQ(s.metric("rkv_sequences_finished_total{reason=\"cancelled\"}"), 1);
  EXPECT_LT(s.metric("rkv_generation_tokens_total"), 2000);
  EXPECT_EQ(s.metric("rkv_kv_bytes_in_use"), 0);
}

}  // namespace
}  // namespace rkv::test
