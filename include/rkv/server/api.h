// server/api: the OpenAI-compatible request bodies `rkv serve` takes —
// /v1/chat/completions, /v1/completions, /tokenize, /detokenize — parsed and
// checked before anything reaches the model, and the error object every
// refusal carries ({"error": {"message", "type", "param", "code"}}, as the
// OpenAI API and vLLM answer). Parsing needs no model: a body becomes a
// RequestSpec (engine/loaded_model.h, the one place a request turns into
// tokens) plus what the HTTP side needs (stream, n, logprobs, the rkv
// extensions). Every field has its type and range checked; a field that
// would change the answer and that rkv cannot honour (tools, logit_bias,
// response_format, ...) is refused rather than ignored; fields that do not
// change the answer (user, metadata, ...) are ignored as OpenAI's own
// clients send them. JSON nested deeper than a limit is refused before it
// is built (the chat template and the JSON writer recurse).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rkv/core/error.h"
#include "rkv/engine/loaded_model.h"

namespace rkv::server {

// A refusal with its HTTP status and the OpenAI error object's fields.
class ApiError : public Error {
 public:
  // type: "invalid_request_error" for 4xx, "server_error" for 5xx unless given.
  ApiError(int status, const std::string& message, std::string param = {}, std::string type = {}, std::string code = {});
  int status() const { return status_; }
  const std::string& type() const { return type_; }
  const std::string& param() const { return param_; }
  const std::string& code() const { return code_; }

 private:
  int status_;
  std::string type_, param_, code_;
};

// {"error": {"message", "type", "param", "code"}} (param and code null when empty).
nlohmann::ordered_json error_body(const ApiError& e);

struct ApiLimits {
  int max_json_depth = 32;      // nesting of arrays and objects in a body
  int max_n = 16;               // parallel samples per request
  int max_stop = 16;            // stop strings per request
  size_t max_stop_bytes = 256;  // bytes per stop string
  int max_top_logprobs = 20;    // alternatives per token
  int64_t max_tokens = 1 << 20; // max_tokens above this is absurd whatever the context
};

enum class Endpoint { ChatCompletions, Completions };
const char* endpoint_name(Endpoint e);  // "chat.completions" | "completions"

struct CompletionRequest {
  Endpoint endpoint = Endpoint::ChatCompletions;
  RequestSpec spec;               // input, sampling, stops, max_new_tokens, KV policy
  bool max_tokens_given = false;  // else spec.max_new_tokens is the server's default (capped by the context later)
  bool stream = false;
  bool include_usage = false;     // stream_options.include_usage: a last chunk with the usage
  int n = 1;                      // parallel samples, seeds seed, seed + 1, ...
  int top_logprobs = -1;          // -1: no logprobs; else the sampled token's and this many alternatives
  bool kv_view = false;           // rkv extension: stream what the cache keeps after each compression
  std::string model;              // as the client named it (echoed back)
};

// Parses a JSON body: ApiError 400 naming the problem (malformed JSON,
// invalid UTF-8, nesting deeper than max_depth, not an object).
nlohmann::ordered_json parse_json_body(std::string_view body, int max_depth);

// Parses a completion body. `defaults` holds the server's sampling defaults,
// stops and default max_new_tokens (its -n); `default_policy` the server's
// KV policy (a kv_compression object without "method" keeps its method).
CompletionRequest parse_completion_request(std::string_view body, Endpoint endpoint, const RequestSpec& defaults,
                                           const KvPolicy& default_policy, const ApiLimits& limits = {});

// The per-request "kv_compression" object: the reference's dictionary (the
// keys of --kv-config) or the flat form {"method", "budget", "window_size",
// ..., "divide_length"} where method_config keys sit at the top level.
KvPolicy parse_kv_compression(const nlohmann::ordered_json& value, const KvPolicy& default_policy);

// /tokenize: {"prompt" | "content": TEXT} or {"messages": [...]}, optional
// "add_special_tokens" (default true; ignored for messages, whose template
// writes them).
struct TokenizeRequest {
  std::optional<std::string> text;
  std::optional<nlohmann::ordered_json> messages;
  bool add_special_tokens = true;
};
TokenizeRequest parse_tokenize_request(std::string_view body, const ApiLimits& limits = {});
// /detokenize: {"tokens": [ids]}; ids are range-checked against the vocabulary later.
std::vector<int64_t> parse_detokenize_request(std::string_view body, const ApiLimits& limits = {});

}  // namespace rkv::server
