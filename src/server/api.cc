#include "rkv/server/api.h"

#include <cmath>
#include <cstdio>
#include <limits>

#include "rkv/compression/schedule.h"

namespace rkv::server {

using Json = nlohmann::ordered_json;

ApiError::ApiError(int status, const std::string& message, std::string param, std::string type, std::string code)
    : Error(message), status_(status), type_(std::move(type)), param_(std::move(param)), code_(std::move(code)) {
  if (type_.empty()) type_ = status >= 500 ? "server_error" : "invalid_request_error";
}

Json error_body(const ApiError& e) {
  Json err = {{"message", e.what()}, {"type", e.type()}, {"param", nullptr}, {"code", nullptr}};
  if (!e.param().empty()) err["param"] = e.param();
  if (!e.code().empty()) err["code"] = e.code();
  return {{"error", std::move(err)}};
}

const char* endpoint_name(Endpoint e) { return e == Endpoint::ChatCompletions ? "chat.completions" : "completions"; }

namespace {

[[noreturn]] void bad(const std::string& param, const std::string& message) { throw ApiError(400, message, param); }

std::string num(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

Json parse_json(std::string_view body, int max_depth) {
  // The callback sees each container open before it is built; throwing there
  // refuses deep nesting without ever holding it.
  auto depth_guard = [max_depth](int depth, Json::parse_event_t event, Json&) {
    if ((event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start) && depth >= max_depth)
      bad("", "the JSON body nests deeper than " + std::to_string(max_depth) + " levels");
    return true;
  };
  try {
    return Json::parse(body.begin(), body.end(), depth_guard);
  } catch (const Json::parse_error& e) {
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." -> the part after the id
    if (auto at = what.find("] "); at != std::string::npos) what = what.substr(at + 2);
    bad("", "malformed JSON body: " + what);
  }
}

// Typed getters: a missing key or null is "not given"; anything else must have the type and range.
const Json* field(const Json& body, const char* key) {
  auto it = body.find(key);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

std::optional<double> number_field(const Json& body, const char* key, double lo, double hi) {
  const Json* v = field(body, key);
  if (!v) return std::nullopt;
  if (!v->is_number()) bad(key, std::string("'") + key + "' must be a number, got " + v->type_name());
  const double x = v->get<double>();
  if (!(x >= lo && x <= hi))
    bad(key, std::string("'") + key + "' must be in [" + num(lo) + ", " + num(hi) + "], got " + v->dump());
  return x;
}

std::optional<int64_t> integer_field(const Json& body, const char* key, int64_t lo, int64_t hi) {
  const Json* v = field(body, key);
  if (!v) return std::nullopt;
  if (!v->is_number_integer()) bad(key, std::string("'") + key + "' must be an integer, got " + v->dump());
  const bool too_big = v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(hi);
  const int64_t x = too_big ? hi : v->get<int64_t>();
  if (too_big || x < lo || x > hi)
    bad(key, std::string("'") + key + "' must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
                 v->dump());
  return x;
}

std::optional<bool> bool_field(const Json& body, const char* key) {
  const Json* v = field(body, key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) bad(key, std::string("'") + key + "' must be true or false, got " + v->dump());
  return v->get<bool>();
}

// Message content: a string, or OpenAI's array of parts where only text parts are supported.
std::string message_text(const Json& content, const std::string& param) {
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) bad(param, "'" + param + "' must be a string or an array of text parts");
  std::string text;
  for (const Json& part : content) {
    if (!part.is_object() || !part.contains("type") || !part["type"].is_string())
      bad(param, "'" + param + "' parts must be objects with a 'type'");
    if (part["type"] != "text") bad(param, "'" + param + "': only text parts are supported, got '" + part["type"].get<std::string>() + "'");
    if (!part.contains("text") || !part["text"].is_string()) bad(param, "'" + param + "' text parts need a string 'text'");
    text += part["text"].get<std::string>();
  }
  return text;
}

// The messages handed to the chat template: role and text only.
Json parse_messages(const Json& value) {
  if (!value.is_array()) bad("messages", "'messages' must be an array of {\"role\", \"content\"} objects");
  if (value.empty()) bad("messages", "'messages' must not be empty");
  Json out = Json::array();
  for (size_t i = 0; i < value.size(); ++i) {
    const std::string at = "messages[" + std::to_string(i) + "]";
    const Json& m = value[i];
    if (!m.is_object()) bad(at, "'" + at + "' must be an object with 'role' and 'content'");
    if (!m.contains("role") || !m["role"].is_string()) bad(at + ".role", "'" + at + ".role' must be a string");
    const std::string role = m["role"].get<std::string>();
    if (role != "system" && role != "user" && role != "assistant" && role != "developer")
      bad(at + ".role", "'" + at + ".role' must be system, user, assistant or developer, got '" + role + "'");
    if (m.contains("tool_calls") && !m["tool_calls"].is_null()) bad(at + ".tool_calls", "tool calls are not supported");
    const Json* content = field(m, "content");
    if (!content) bad(at + ".content", "'" + at + ".content' is missing");
    out.push_back({{"role", role == "developer" ? "system" : role}, {"content", message_text(*content, at + ".content")}});
  }
  return out;
}

// Fields that would change the answer and that rkv does not implement.
void refuse_unsupported(const Json& body) {
  for (const char* key : {"tools", "tool_choice", "functions", "function_call", "audio", "prediction", "suffix"})
    if (field(body, key)) bad(key, std::string("'") + key + "' is not supported by rkv serve");
  if (const Json* v = field(body, "logit_bias"); v && !(v->is_object() && v->empty()))
    bad("logit_bias", "'logit_bias' is not supported by rkv serve");
  if (const Json* v = field(body, "response_format"); v && !(v->is_object() && v->value("type", "") == "text"))
    bad("response_format", "'response_format' other than {\"type\": \"text\"} is not supported by rkv serve");
  if (auto echo = bool_field(body, "echo"); echo && *echo) bad("echo", "'echo' is not supported by rkv serve");
  if (auto best_of = integer_field(body, "best_of", 1, 1); best_of && *best_of != 1)
    bad("best_of", "'best_of' must be 1");
}

std::vector<std::string> parse_stop(const Json& body, const ApiLimits& limits) {
  const Json* v = field(body, "stop");
  if (!v) return {};
  std::vector<std::string> stops;
  if (v->is_string()) {
    stops.push_back(v->get<std::string>());
  } else if (v->is_array()) {
    for (const Json& s : *v) {
      if (!s.is_string()) bad("stop", "'stop' must be a string or an array of strings");
      stops.push_back(s.get<std::string>());
    }
  } else {
    bad("stop", "'stop' must be a string or an array of strings");
  }
  if (static_cast<int>(stops.size()) > limits.max_stop)
    bad("stop", "'stop' has " + std::to_string(stops.size()) + " strings; at most " + std::to_string(limits.max_stop));
  for (const auto& s : stops) {
    if (s.empty()) bad("stop", "'stop' strings must not be empty");
    if (s.size() > limits.max_stop_bytes)
      bad("stop", "'stop' strings must be at most " + std::to_string(limits.max_stop_bytes) + " bytes");
  }
  return stops;
}

// A completion prompt: a string, token ids, or a one-element array of either.
void parse_prompt(const Json& body, RequestSpec& spec) {
  const Json* v = field(body, "prompt");
  if (!v) bad("prompt", "'prompt' is missing");
  const Json* p = v;
  if (v->is_array() && v->size() == 1 && ((*v)[0].is_string() || (*v)[0].is_array())) p = &(*v)[0];
  else if (v->is_array() && !v->empty() && !(*v)[0].is_number()) bad("prompt", "one prompt per request: 'prompt' holds " + std::to_string(v->size()) + " prompts");
  if (p->is_string()) {
    spec.text = p->get<std::string>();
    return;
  }
  if (!p->is_array()) bad("prompt", "'prompt' must be a string or an array of token ids");
  std::vector<int64_t> ids;
  for (const Json& x : *p) {
    if (!x.is_number_integer() || (x.is_number_unsigned() && x.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)))
      bad("prompt", "'prompt' token ids must be integers");
    ids.push_back(x.get<int64_t>());
  }
  spec.ids = std::move(ids);
}

void parse_sampling(const Json& body, RequestSpec& spec) {
  if (auto x = number_field(body, "temperature", 0, 2)) spec.temperature = *x;
  if (auto x = number_field(body, "top_p", 0, 1)) {
    if (*x <= 0) bad("top_p", "'top_p' must be in (0, 1], got 0");
    spec.top_p = *x;
  }
  if (auto x = integer_field(body, "top_k", -1, std::numeric_limits<int32_t>::max())) spec.top_k = std::max<int64_t>(*x, 0);
  if (auto x = number_field(body, "min_p", 0, 1)) spec.min_p = *x;
  if (auto x = number_field(body, "presence_penalty", -2, 2)) spec.presence_penalty = *x;
  if (auto x = number_field(body, "frequency_penalty", -2, 2)) spec.frequency_penalty = *x;
  if (auto x = number_field(body, "repetition_penalty", 0, 100)) {
    if (*x <= 0) bad("repetition_penalty", "'repetition_penalty' must be > 0");
    spec.repetition_penalty = *x;
  }
  if (auto x = integer_field(body, "seed", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()))
    spec.seed = static_cast<uint64_t>(*x);
  if (auto x = bool_field(body, "ignore_eos")) spec.ignore_eos = *x;
}

}  // namespace

Json parse_json_body(std::string_view body, int max_depth) {
  Json j = parse_json(body, max_depth);
  if (!j.is_object()) bad("", "the request body must be a JSON object");
  return j;
}

KvPolicy parse_kv_compression(const Json& value, const KvPolicy& default_policy) {
  if (!value.is_object()) bad("kv_compression", "'kv_compression' must be an object");
  static const std::set<std::string> top_level = {"method", "method_config", "divide_method", "divide_length",
                                                  "compression_content", "compression", "update_kv"};
  nlohmann::json reference = nlohmann::json::object();
  nlohmann::json method_config = value.contains("method_config") ? nlohmann::json(value["method_config"]) : nlohmann::json::object();
  for (auto it = value.begin(); it != value.end(); ++it) {
    if (it.key() == "method_config") continue;
    if (top_level.count(it.key())) reference[it.key()] = nlohmann::json(it.value());
    else if (method_config.is_object()) method_config[it.key()] = nlohmann::json(it.value());  // the flat form
  }
  if (!reference.contains("method")) reference["method"] = method_name(default_policy.method.method);
  if (!method_config.empty() || value.contains("method_config")) reference["method_config"] = method_config;
  try {
    return parse_kv_policy(reference);
  } catch (const ApiError&) {
    throw;
  } catch (const Error& e) {
    std::string what = e.what();
    if (what.rfind("kv config: ", 0) == 0) what = what.substr(11);
    bad("kv_compression", "'kv_compression': " + what);
  }
}

CompletionRequest parse_completion_request(std::string_view body, Endpoint endpoint, const RequestSpec& defaults,
                                           const KvPolicy& default_policy, const ApiLimits& limits) {
  const Json j = parse_json_body(body, limits.max_json_depth);
  refuse_unsupported(j);
  CompletionRequest r;
  r.endpoint = endpoint;
  r.spec = defaults;
  r.spec.text.reset();
  r.spec.messages.reset();
  r.spec.ids.reset();
  r.spec.chat = false;
  r.spec.system.reset();
  if (const Json* m = field(j, "model")) {
    if (!m->is_string()) bad("model", "'model' must be a string");
    r.model = m->get<std::string>();
  }
  if (endpoint == Endpoint::ChatCompletions) {
    const Json* m = field(j, "messages");
    if (!m) bad("messages", "'messages' is missing");
    r.spec.messages = parse_messages(*m);
  } else {
    parse_prompt(j, r.spec);
  }
  // max_completion_tokens is the newer name; when both are given it wins.
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    const Json* v = field(j, key);
    if (!v) continue;
    if (!v->is_number_integer()) bad(key, std::string("'") + key + "' must be an integer, got " + v->dump());
    if (v->is_number_unsigned() ? v->get<uint64_t>() > static_cast<uint64_t>(limits.max_tokens)
                                : v->get<int64_t>() > limits.max_tokens)
      bad(key, std::string("'") + key + "' must be at most " + std::to_string(limits.max_tokens) + ", got " + v->dump());
    if (v->get<int64_t>() < 1) bad(key, std::string("'") + key + "' must be at least 1, got " + v->dump());
    r.spec.max_new_tokens = v->get<int64_t>();
    r.max_tokens_given = true;
  }
  parse_sampling(j, r.spec);
  r.spec.stop = parse_stop(j, limits);
  if (auto n = integer_field(j, "n", 1, limits.max_n)) r.n = static_cast<int>(*n);
  if (auto s = bool_field(j, "stream")) r.stream = *s;
  if (const Json* so = field(j, "stream_options")) {
    if (!so->is_object()) bad("stream_options", "'stream_options' must be an object");
    if (auto u = bool_field(*so, "include_usage")) r.include_usage = *u;
  }
  if (endpoint == Endpoint::ChatCompletions) {
    // logprobs: bool; top_logprobs: alternatives (needs logprobs)
    const bool logprobs = bool_field(j, "logprobs").value_or(false);
    auto top = integer_field(j, "top_logprobs", 0, limits.max_top_logprobs);
    if (top && !logprobs) bad("top_logprobs", "'top_logprobs' needs 'logprobs': true");
    if (logprobs) r.top_logprobs = static_cast<int>(top.value_or(0));
  } else if (auto lp = integer_field(j, "logprobs", 0, limits.max_top_logprobs)) {
    r.top_logprobs = static_cast<int>(*lp);  // completions: logprobs is the number of alternatives
  }
  if (const Json* kv = field(j, "kv_compression")) r.spec.policy = parse_kv_compression(*kv, default_policy);
  if (auto v = bool_field(j, "kv_view")) r.kv_view = *v;
  return r;
}

TokenizeRequest parse_tokenize_request(std::string_view body, const ApiLimits& limits) {
  const Json j = parse_json_body(body, limits.max_json_depth);
  TokenizeRequest r;
  int inputs = 0;
  for (const char* key : {"prompt", "content"})
    if (const Json* v = field(j, key)) {
      if (!v->is_string()) bad(key, std::string("'") + key + "' must be a string");
      r.text = v->get<std::string>();
      ++inputs;
    }
  if (const Json* m = field(j, "messages")) {
    r.messages = parse_messages(*m);
    ++inputs;
  }
  if (inputs != 1) bad("prompt", "give exactly one of 'prompt' (or 'content') and 'messages'");
  if (auto a = bool_field(j, "add_special_tokens")) r.add_special_tokens = *a;
  return r;
}

std::vector<int64_t> parse_detokenize_request(std::string_view body, const ApiLimits& limits) {
  const Json j = parse_json_body(body, limits.max_json_depth);
  const Json* v = field(j, "tokens");
  if (!v || !v->is_array()) bad("tokens", "'tokens' must be an array of token ids");
  std::vector<int64_t> ids;
  for (const Json& x : *v) {
    if (!x.is_number_integer() || (x.is_number_unsigned() && x.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)))
      bad("tokens", "'tokens' must hold integer token ids");
    ids.push_back(x.get<int64_t>());
  }
  return ids;
}

}  // namespace rkv::server
