// Request bodies: what is accepted becomes the RequestSpec the fields say;
// what is not is a 400 whose error object names the field.
#include "common/testing.h"
#include "rkv/server/api.h"

namespace rkv::server {
namespace {

CompletionRequest chat(const std::string& body, const RequestSpec& defaults = {}) {
  return parse_completion_request(body, Endpoint::ChatCompletions, defaults, KvPolicy{});
}
CompletionRequest completion(const std::string& body) {
  return parse_completion_request(body, Endpoint::Completions, RequestSpec{}, KvPolicy{});
}

// The refusal's status and param, with the message checked to name `needle`.
void expect_refused(const std::string& body, const std::string& param, const std::string& needle,
                    Endpoint endpoint = Endpoint::ChatCompletions) {
  try {
    parse_completion_request(body, endpoint, RequestSpec{}, KvPolicy{});
    ADD_FAILURE() << "accepted: " << body;
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400) << body;
    EXPECT_EQ(e.param(), param) << body << ": " << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << body << ": " << e.what();
    auto j = error_body(e);
    EXPECT_EQ(j["error"]["type"], "invalid_request_error");
    EXPECT_EQ(j["error"]["message"], e.what());
  }
}

const std::string kMsg = R"("messages": [{"role": "user", "content": "hi"}])";

TEST(ApiRequest, ChatFieldsBecomeTheSpec) {
  RequestSpec defaults;
  defaults.max_new_tokens = 77;
  defaults.temperature = 0.3;
  auto r = chat(R"({"model": "m", "messages": [{"role": "system", "content": "be brief"},
      {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}],
      "top_p": 0.9, "top_k": 5, "min_p": 0.1, "seed": 42, "stop": ["x", "yy"], "presence_penalty": 0.5,
      "frequency_penalty": -0.5, "n": 3, "stream": true, "stream_options": {"include_usage": true},
      "max_completion_tokens": 12, "user": "ignored", "metadata": {"a": 1}})",
               defaults);
  EXPECT_EQ(r.model, "m");
  ASSERT_TRUE(r.spec.messages);
  EXPECT_EQ((*r.spec.messages)[1]["content"], "ab");
  EXPECT_EQ((*r.spec.messages)[0]["role"], "system");
  EXPECT_EQ(r.spec.temperature, 0.3);  // the server's default stays
  EXPECT_EQ(r.spec.top_p, 0.9);
  EXPECT_EQ(r.spec.top_k, 5);
  EXPECT_EQ(r.spec.min_p, 0.1);
  EXPECT_EQ(r.spec.seed, 42u);
  EXPECT_EQ(r.spec.stop, (std::vector<std::string>{"x", "yy"}));
  EXPECT_EQ(r.spec.presence_penalty, 0.5);
  EXPECT_EQ(r.spec.frequency_penalty, -0.5);
  EXPECT_EQ(r.n, 3);
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  EXPECT_EQ(r.spec.max_new_tokens, 12);
  EXPECT_TRUE(r.max_tokens_given);
  EXPECT_EQ(r.top_logprobs, -1);
  auto d = chat("{" + kMsg + "}", defaults);
  EXPECT_EQ(d.spec.max_new_tokens, 77);
  EXPECT_FALSE(d.max_tokens_given);
  EXPECT_EQ(chat("{" + kMsg + R"(, "stop": "end", "top_k": -1, "logprobs": true, "top_logprobs": 3})").spec.stop,
            std::vector<std::string>{"end"});
  EXPECT_EQ(chat("{" + kMsg + R"(, "logprobs": true, "top_logprobs": 3})").top_logprobs, 3);
}

TEST(ApiRequest, CompletionPrompts) {
  EXPECT_EQ(*completion(R"({"prompt": "Once"})").spec.text, "Once");
  EXPECT_EQ(*completion(R"({"prompt": ["Once"]})").spec.text, "Once");
  EXPECT_EQ(*completion(R"({"prompt": [1, 2, 3]})").spec.ids, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(*completion(R"({"prompt": [[4, 5]], "max_tokens": 3})").spec.ids, (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(completion(R"({"prompt": "x", "logprobs": 2})").top_logprobs, 2);
  expect_refused(R"({"prompt": ["a", "b"]})", "prompt", "one prompt per request", Endpoint::Completions);
  expect_refused(R"({"prompt": {"a": 1}})", "prompt", "string or an array", Endpoint::Completions);
  expect_refused(R"({"prompt": [1, "x"]})", "prompt", "integers", Endpoint::Completions);
  expect_refused(R"({"max_tokens": 3})", "prompt", "missing", Endpoint::Completions);
}

TEST(ApiRequest, BadBodiesNameTheProblem) {
  expect_refused("{", "", "malformed JSON");
  expect_refused("[1, 2]", "", "JSON object");
  expect_refused(R"({"messages": [{"role": "user", "content": "caf\xC3"}]})", "", "malformed JSON");  // invalid UTF-8
  expect_refused(R"({"messages": "hi"})", "messages", "array");
  expect_refused(R"({"messages": []})", "messages", "must not be empty");
  expect_refused(R"({"model": "x"})", "messages", "missing");
  expect_refused(R"({"messages": [{"role": "wizard", "content": "x"}]})", "messages[0].role", "wizard");
  expect_refused(R"({"messages": [{"role": "user"}]})", "messages[0].content", "missing");
  expect_refused(R"({"messages": [{"role": "user", "content": 5}]})", "messages[0].content", "string");
  expect_refused(R"({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})", "messages[0].content",
                 "only text parts");
  expect_refused("{" + kMsg + R"(, "max_tokens": 0})", "max_tokens", "at least 1");
  expect_refused("{" + kMsg + R"(, "max_tokens": -5})", "max_tokens", "at least 1");
  expect_refused("{" + kMsg + R"(, "max_tokens": 1e30})", "max_tokens", "integer");
  expect_refused("{" + kMsg + R"(, "max_tokens": 18446744073709551615})", "max_tokens", "at most");
  expect_refused("{" + kMsg + R"(, "max_completion_tokens": "10"})", "max_completion_tokens", "integer");
  expect_refused("{" + kMsg + R"(, "temperature": "hot"})", "temperature", "number");
  expect_refused("{" + kMsg + R"(, "temperature": 3})", "temperature", "[0");
  expect_refused("{" + kMsg + R"(, "top_p": 0})", "top_p", "(0, 1]");
  expect_refused("{" + kMsg + R"(, "n": 0})", "n", "[1, 16]");
  expect_refused("{" + kMsg + R"(, "n": 1.5})", "n", "integer");
  expect_refused("{" + kMsg + R"(, "stream": "yes"})", "stream", "true or false");
  expect_refused("{" + kMsg + R"(, "stop": [1]})", "stop", "strings");
  expect_refused("{" + kMsg + R"(, "stop": [""]})", "stop", "empty");
  expect_refused("{" + kMsg + R"(, "stop": ")" + std::string(300, 'x') + "\"}", "stop", "at most 256 bytes");
  expect_refused("{" + kMsg + R"(, "top_logprobs": 2})", "top_logprobs", "needs 'logprobs'");
  expect_refused("{" + kMsg + R"(, "tools": [{"type": "function"}]})", "tools", "not supported");
  expect_refused("{" + kMsg + R"(, "logit_bias": {"5": 10}})", "logit_bias", "not supported");
  expect_refused("{" + kMsg + R"(, "response_format": {"type": "json_object"}})", "response_format", "not supported");
  expect_refused("{" + kMsg + R"(, "seed": 1.5})", "seed", "integer");
  // nesting: refused before it is built
  expect_refused("{" + kMsg + R"(, "metadata": )" + std::string(100, '[') + std::string(100, ']') + "}", "", "deeper");
  expect_refused(std::string(100000, '['), "", "deeper");
}

TEST(ApiRequest, KvCompressionInBothForms) {
  auto nested = chat("{" + kMsg + R"(, "kv_compression": {"method": "rkv", "method_config": {"budget": 64,
      "window_size": 4}, "divide_length": 16}})");
  ASSERT_TRUE(nested.spec.policy);
  EXPECT_EQ(nested.spec.policy->method.method, Method::RKV);
  EXPECT_EQ(nested.spec.policy->method.budget, 64);
  EXPECT_EQ(nested.spec.policy->method.window_size, 4);
  EXPECT_EQ(nested.spec.policy->divide_length, 16);
  auto flat = chat("{" + kMsg + R"(, "kv_compression": {"method": "snapkv", "budget": 32, "divide_length": 8}})");
  EXPECT_EQ(flat.spec.policy->method.method, Method::SnapKV);
  EXPECT_EQ(flat.spec.policy->method.budget, 32);
  EXPECT_EQ(flat.spec.policy->divide_length, 8);
  // no method: the server's
  KvPolicy server_policy;
  server_policy.method = default_config(Method::H2O);
  auto inherit = parse_completion_request("{" + kMsg + R"(, "kv_compression": {"budget": 48}})",
                                          Endpoint::ChatCompletions, RequestSpec{}, server_policy);
  EXPECT_EQ(inherit.spec.policy->method.method, Method::H2O);
  EXPECT_EQ(inherit.spec.policy->method.budget, 48);
  expect_refused("{" + kMsg + R"(, "kv_compression": {"method": "zip"}})", "kv_compression", "zip");
  expect_refused("{" + kMsg + R"(, "kv_compression": {"method": "rkv", "bugdet": 5}})", "kv_compression", "bugdet");
  expect_refused("{" + kMsg + R"(, "kv_compression": {"method": "rkv", "budget": "big"}})", "kv_compression", "budget");
  expect_refused("{" + kMsg + R"(, "kv_compression": {"method": "rkv", "budget": -3}})", "kv_compression", "budget");
  expect_refused("{" + kMsg + R"(, "kv_compression": 5})", "kv_compression", "object");
}

TEST(ApiRequest, TokenizeAndDetokenizeBodies) {
  auto t = parse_tokenize_request(R"({"prompt": "hi", "add_special_tokens": false})");
  EXPECT_EQ(*t.text, "hi");
  EXPECT_FALSE(t.add_special_tokens);
  EXPECT_EQ(*parse_tokenize_request(R"({"content": "x"})").text, "x");
  EXPECT_TRUE(parse_tokenize_request("{" + kMsg + "}").messages);
  EXPECT_THROW(parse_tokenize_request(R"({"prompt": "a", "content": "b"})"), ApiError);
  EXPECT_THROW(parse_tokenize_request(R"({"prompt": 3})"), ApiError);
  EXPECT_EQ(parse_detokenize_request(R"({"tokens": [1, 2]})"), (std::vector<int64_t>{1, 2}));
  EXPECT_THROW(parse_detokenize_request(R"({"tokens": [1.5]})"), ApiError);
  EXPECT_THROW(parse_detokenize_request(R"({"tokens": "1"})"), ApiError);
}

}  // namespace
}  // namespace rkv::server
