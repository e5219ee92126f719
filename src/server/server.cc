#include "rkv/server/server.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <mutex>
#include <random>
#include <thread>
#include <utility>

#include <sys/socket.h>

#include "rkv/core/dtype.h"
#include "rkv/engine/async_engine.h"
#include "rkv/server/chat_page.h"
#include "rkv/server/metrics.h"
#include "rkv/tokenizer/tokenizer.h"

namespace rkv::server {

namespace {

using Json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

void reply(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(dump(body), "application/json");
}

void reply_error(httplib::Response& res, const ApiError& e) { reply(res, e.status(), error_body(e)); }

const char* finish_reason(StopReason r) {
  switch (r) {
    case StopReason::Eos:
    case StopReason::StopString: return "stop";
    case StopReason::Length: return "length";
    case StopReason::Error: return "error";
    default: return "abort";  // cancelled or interrupted: the server is stopping
  }
}

// What a request's sequences report, handed from the engine thread to the
// HTTP thread that answers the request.
struct Event {
  enum class Kind { Token, Compress, Done } kind = Kind::Token;
  int choice = 0;
  int32_t token = -1;  // -1: text held back until the end
  std::string text;
  Clock::time_point at;
  GenerationResult result;  // Done
  int64_t length = 0;       // Compress: tokens fed so far
  std::vector<int> kept;    // Compress: [length] how many layers keep each position
  std::optional<TokenLogprobs> logprobs;  // Token, when the request asked for them
};

struct Exchange {
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<Event> events;
  void push(Event e) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      events.push_back(std::move(e));
    }
    wake.notify_one();
  }
};

// Metrics are recorded here, on the engine thread, so that sequences whose
// client went away are counted too.
AsyncEngine::Sink sink_for(const std::shared_ptr<Exchange>& exchange, int choice, bool kv_view, Metrics& metrics) {
  AsyncEngine::Sink sink;
  // on_logprobs comes right before its token's on_token, on the same thread
  auto pending = std::make_shared<std::optional<TokenLogprobs>>();
  sink.on_logprobs = [pending](const TokenLogprobs& lp) { *pending = lp; };
  sink.on_token = [exchange, choice, &metrics, pending, last = std::optional<Clock::time_point>()](
                      int32_t token, const std::string& text) mutable {
    Event e;
    e.choice = choice;
    e.token = token;
    e.text = text;
    e.at = Clock::now();
    if (token >= 0) e.logprobs = std::exchange(*pending, std::nullopt);
    if (token >= 0) {
      if (last) metrics.inter_token(std::chrono::duration<double>(e.at - *last).count());
      last = e.at;
    }
    exchange->push(std::move(e));
  };
  sink.on_done = [exchange, choice, &metrics](const GenerationResult& r) {
    metrics.finished(r);
    Event e;
    e.kind = Event::Kind::Done;
    e.choice = choice;
    e.result = r;
    e.at = Clock::now();
    exchange->push(std::move(e));
  };
  if (kv_view)
    sink.on_compress = [exchange, choice](int64_t length, const std::vector<std::vector<int32_t>>& kept_by_layer) {
      Event e;
      e.kind = Event::Kind::Compress;
      e.choice = choice;
      e.length = length;
      e.kept.assign(static_cast<size_t>(length), 0);
      for (const auto& layer : kept_by_layer)
        for (int32_t p : layer)
          if (p >= 0 && p < length) ++e.kept[static_cast<size_t>(p)];
      exchange->push(std::move(e));
    };
  return sink;
}

// httplib listens with a backlog of 5 (compiled into Debian's library): a
// burst of clients would overflow it and wait out TCP retransmissions, or
// fail. Listening again on the bound socket raises the backlog.
class HttpServer : public httplib::Server {
 public:
  bool raise_backlog() { return ::listen(svr_sock_, SOMAXCONN) == 0; }
};

}  // namespace

struct Server::Impl {
  explicit Impl(ServerOptions o) : opt(std::move(o)) {}

  ServerOptions opt;
  HttpServer http;
  std::thread listener;
  int port = 0;
  std::atomic<bool> is_ready{false}, stopping{false};
  std::atomic<int> active{0};  // completion responses in flight
  Metrics metrics;  // before the engine: its thread records into it
  LoadedModel* model = nullptr;
  EngineOptions engine_options;
  std::unique_ptr<AsyncEngine> engine;
  int64_t kv_bytes_per_token = 0;
  int64_t context = 0;
  const std::time_t started = std::time(nullptr);
  const uint64_t id_base = std::random_device{}();
  std::atomic<uint64_t> next_id{1};

  std::string new_id(const char* prefix) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s-%08llx%08llx", prefix, static_cast<unsigned long long>(id_base & 0xffffffffu),
                  static_cast<unsigned long long>(next_id++));
    return buf;
  }
  void require_ready() const {
    if (stopping) throw ApiError(503, "the server is shutting down", "", "server_error", "shutting_down");
    if (!is_ready) throw ApiError(503, "the model is still loading; retry when /health says ok", "", "server_error", "model_loading");
  }

  void routes();
  void completion(const httplib::Request& req, httplib::Response& res, Endpoint endpoint);
  void tokenize(const httplib::Request& req, httplib::Response& res);
  void detokenize(const httplib::Request& req, httplib::Response& res);
  void models(httplib::Response& res);
};

namespace {

// Answers one completion request: consumes its sequences' events on the
// HTTP thread (httplib's content provider) and writes server-sent events,
// or one JSON body at the end.
class Responder {
 public:
  Responder(Server::Impl& server, CompletionRequest request, std::vector<int32_t> prompt, bool starts_in_thinking,
            KvPolicy policy, std::shared_ptr<Exchange> exchange, std::vector<uint64_t> tickets)
      : server_(server),
        request_(std::move(request)),
        prompt_(std::move(prompt)),
        policy_(std::move(policy)),
        exchange_(std::move(exchange)),
        tickets_(std::move(tickets)),
        chat_(request_.endpoint == Endpoint::ChatCompletions),
        split_(chat_ && server.opt.reasoning == ReasoningFormat::DeepSeek),
        id_(server.new_id(chat_ ? "chatcmpl" : "cmpl")),
        created_(std::time(nullptr)),
        accepted_(Clock::now()),
        last_write_(accepted_),
        last_check_(accepted_) {
    for (int i = 0; i < request_.n; ++i) choices_.emplace_back(starts_in_thinking);
    ++server_.active;
  }

  // httplib calls this until it returns false (the connection failed) or
  // sink.done() was called; each call waits at most a moment for events.
  bool pump(httplib::DataSink& sink) {
    if (!started_) {
      started_ = true;
      if (request_.stream && chat_)
        for (int i = 0; i < request_.n; ++i)
          if (!send(sink, chunk(i, {{"role", "assistant"}, {"content", ""}}, nullptr))) return abandon();
    }
    std::deque<Event> batch;
    {
      std::unique_lock<std::mutex> lock(exchange_->mutex);
      exchange_->wake.wait_for(lock, std::chrono::milliseconds(100), [&] { return !exchange_->events.empty(); });
      batch.swap(exchange_->events);
    }
    // Is the client still there? Checked while waiting and while tokens
    // flow (a one-body response writes nothing until the end).
    const auto now = Clock::now();
    if (now - last_check_ > std::chrono::milliseconds(100)) {
      last_check_ = now;
      if (!sink.is_writable()) return abandon();
    }
    if (server_.stopping) cancel();  // their on_done follow
    if (batch.empty()) {
      if (request_.stream && now - last_write_ > std::chrono::seconds(10) && !send_raw(sink, ": keep-alive\n\n"))
        return abandon();
      return true;
    }
    for (Event& e : batch)
      if (!handle(e, sink)) return abandon();
    if (finished_ < request_.n) return true;
    if (!finish(sink)) return abandon();
    sink.done();
    return true;
  }

  // After the response ended (or failed): sequences still running are cancelled.
  void release() {
    if (!complete_) abandon();
    --server_.active;
  }

 private:
  struct Choice {
    explicit Choice(bool thinking) : splitter(thinking) {}
    ReasoningSplitter splitter;
    std::string content, reasoning;
    int64_t reasoning_tokens = 0;
    int64_t generated = 0;  // tokens so far
    Json logprobs = nullptr;  // the response's logprobs object, when asked for
    bool done = false;
    GenerationResult result;
  };

  void cancel() {
    if (cancelled_) return;
    cancelled_ = true;
    for (uint64_t t : tickets_) server_.engine->cancel(t);
  }
  bool abandon() {
    if (!complete_ && !abandoned_) {
      abandoned_ = true;
      cancel();
      server_.metrics.request(endpoint_name(request_.endpoint), 499);  // the client closed the request
    }
    return false;
  }

  bool send_raw(httplib::DataSink& sink, const std::string& bytes) {
    last_write_ = Clock::now();
    return sink.write(bytes.data(), bytes.size());
  }
  bool send(httplib::DataSink& sink, const Json& j) { return send_raw(sink, "data: " + dump(j) + "\n\n"); }

  Json chunk(int index, Json delta_or_text, const char* finish) const {
    Json choice = {{"index", index}};
    if (chat_) choice["delta"] = std::move(delta_or_text);
    else choice["text"] = std::move(delta_or_text);
    choice["logprobs"] = nullptr;
    choice["finish_reason"] = finish ? Json(finish) : Json(nullptr);
    Json c = {{"id", id_}, {"object", chat_ ? "chat.completion.chunk" : "text_completion"}, {"created", created_},
              {"model", model_name()}, {"choices", Json::array({std::move(choice)})}};
    if (request_.include_usage) c["usage"] = nullptr;
    return c;
  }
  std::string model_name() const { return request_.model.empty() ? server_.opt.model_name : request_.model; }

  bool handle(Event& e, httplib::DataSink& sink) {
    Choice& c = choices_[static_cast<size_t>(e.choice)];
    switch (e.kind) {
      case Event::Kind::Token: {
        ReasoningSplitter::Delta d;
        if (split_) {
          const bool before = c.splitter.thinking();
          d = c.splitter.push(e.text);
          if (e.token >= 0 && (before || c.splitter.thinking())) ++c.reasoning_tokens;
        } else {
          d.content = std::move(e.text);
        }
        // With kv_view every token gets a chunk that names its position, so
        // the page can place what the cache keeps under the right text;
        // with logprobs every token gets a chunk with its entry.
        std::optional<int64_t> position;
        if (e.token >= 0 && request_.kv_view) position = static_cast<int64_t>(prompt_.size()) + c.generated;
        if (e.token >= 0) ++c.generated;
        Json entry;
        if (e.logprobs) entry = logprob_entry(c, *e.logprobs);
        return emit(c, e.choice, d, sink, position, std::move(entry));
      }
      case Event::Kind::Compress: {
        if (!request_.stream) return true;
        Json view = {{"index", e.choice}, {"prompt_tokens", prompt_.size()}, {"length", e.length},
                     {"layers", server_.model->lm().dims().n_layers}, {"kept", e.kept}};
        Json c2 = {{"id", id_}, {"object", chat_ ? "chat.completion.chunk" : "text_completion"}, {"created", created_},
                   {"model", model_name()}, {"choices", Json::array()}, {"rkv_kv", std::move(view)}};
        return send(sink, c2);
      }
      case Event::Kind::Done: {
        c.done = true;
        ++finished_;
        c.result = std::move(e.result);
        ReasoningSplitter::Delta d;
        if (split_) d = c.splitter.finish();
        if (!emit(c, e.choice, d, sink)) return false;
        if (!request_.stream) return true;
        if (c.result.stop == StopReason::Error || server_.stopping) return send(sink, error_body(result_error(c.result)));
        return send(sink, chunk(e.choice, chat_ ? Json::object() : Json(""), finish_reason(c.result.stop)));
      }
    }
    return true;
  }

  bool emit(Choice& c, int index, ReasoningSplitter::Delta& d, httplib::DataSink& sink,
            std::optional<int64_t> position = std::nullopt, Json logprob = nullptr) {
    c.reasoning += d.reasoning;
    c.content += d.content;
    if (!logprob.is_null()) append_logprob(c.logprobs, logprob);
    if (!request_.stream || (d.empty() && !position && logprob.is_null())) return true;
    Json out;
    if (chat_) {
      Json delta = Json::object();
      if (!d.reasoning.empty()) delta["reasoning_content"] = d.reasoning;
      if (!d.content.empty()) delta["content"] = d.content;
      out = chunk(index, std::move(delta), nullptr);
    } else {
      out = chunk(index, d.content, nullptr);
    }
    if (position) out["rkv_position"] = *position;
    if (!logprob.is_null()) {
      Json one = nullptr;
      append_logprob(one, logprob);
      out["choices"][0]["logprobs"] = std::move(one);
    }
    return send(sink, out);
  }

  // A token's text and bytes as the OpenAI logprobs objects carry them.
  Json token_json(int32_t id) const {
    std::string text;
    if (const Tokenizer* tok = server_.model->tokenizer()) text = tok->decode(std::vector<TokenId>{id});
    else text = std::to_string(id);
    Json bytes = Json::array();
    for (unsigned char b : text) bytes.push_back(b);
    return {{"token", text}, {"bytes", std::move(bytes)}};
  }
  Json logprob_entry(const Choice& c, const TokenLogprobs& lp) const {
    Json entry = token_json(lp.token);
    entry["logprob"] = lp.logprob;
    entry["text_offset"] = c.content.size();
    Json top = Json::array();
    for (const auto& [id, logprob] : lp.top) {
      Json alt = token_json(id);
      alt["logprob"] = logprob;
      top.push_back(std::move(alt));
    }
    entry["top_logprobs"] = std::move(top);
    return entry;
  }
  // Chat: {"content": [{"token", "logprob", "bytes", "top_logprobs"}]};
  // completions: {"tokens", "token_logprobs", "top_logprobs" ({token: logprob}), "text_offset"}.
  void append_logprob(Json& into, const Json& entry) const {
    if (chat_) {
      if (into.is_null()) into = {{"content", Json::array()}};
      Json e = entry;
      e.erase("text_offset");
      into["content"].push_back(std::move(e));
      return;
    }
    if (into.is_null())
      into = {{"tokens", Json::array()}, {"token_logprobs", Json::array()}, {"top_logprobs", Json::array()},
              {"text_offset", Json::array()}};
    into["tokens"].push_back(entry["token"]);
    into["token_logprobs"].push_back(entry["logprob"]);
    Json top = Json::object();
    for (const Json& alt : entry["top_logprobs"]) top[alt["token"].get<std::string>()] = alt["logprob"];
    into["top_logprobs"].push_back(std::move(top));
    into["text_offset"].push_back(entry["text_offset"]);
  }

  ApiError result_error(const GenerationResult& r) const {
    if (r.stop == StopReason::Error) return ApiError(500, "generation failed: " + r.error, "", "server_error", "generation_failed");
    return ApiError(503, "the server is shutting down", "", "server_error", "shutting_down");
  }

  Json usage() const {
    int64_t completion = 0, reasoning = 0, peak = 0, fullkv = 0, compressions = 0;
    double first_token = 0, queued = 0, prefill = 0, decode = 0;
    for (const Choice& c : choices_) {
      const auto n = static_cast<int64_t>(c.result.ids.size());
      completion += n;
      reasoning += c.reasoning_tokens;
      peak += c.result.kv_peak_bytes;
      // FullKV allocates whole blocks of slots (EngineOptions::fullkv_block)
      const int64_t block = server_.engine_options.fullkv_block;
      fullkv += (static_cast<int64_t>(prompt_.size()) + n + block - 1) / block * block * server_.kv_bytes_per_token;
      compressions += c.result.compressions;
      first_token = first_token == 0 ? c.result.first_token_seconds : std::min(first_token, c.result.first_token_seconds);
      queued = std::max(queued, c.result.queued_seconds);
      prefill = std::max(prefill, c.result.prefill_seconds);
      decode = std::max(decode, c.result.decode_seconds);
    }
    const auto prompt = static_cast<int64_t>(prompt_.size());
    Json rkv = {{"method", method_name(policy_.method.method)},
                {"budget", policy_.method.method == Method::FullKV ? Json(nullptr) : Json(policy_.method.budget)},
                {"kv_peak_bytes", peak},
                {"fullkv_bytes", fullkv},
                {"compressions", compressions},
                {"queued_seconds", queued},
                {"prefill_seconds", prefill},
                {"decode_seconds", decode},
                {"first_token_seconds", first_token}};
    return {{"prompt_tokens", prompt},
            {"completion_tokens", completion},
            {"total_tokens", prompt + completion},
            {"completion_tokens_details", {{"reasoning_tokens", reasoning}}},
            {"rkv", std::move(rkv)}};
  }

  bool finish(httplib::DataSink& sink) {
    complete_ = true;
    server_.metrics.request(endpoint_name(request_.endpoint), 200);
    server_.metrics.request_seconds(std::chrono::duration<double>(Clock::now() - accepted_).count());
    if (request_.stream) {
      if (request_.include_usage) {
        Json u = {{"id", id_}, {"object", chat_ ? "chat.completion.chunk" : "text_completion"}, {"created", created_},
                  {"model", model_name()}, {"choices", Json::array()}, {"usage", usage()}};
        if (!send(sink, u)) return false;
      }
      return send_raw(sink, "data: [DONE]\n\n");
    }
    // One JSON body. The status line went out when the request was accepted:
    // a sequence that failed afterwards is reported as the error object.
    for (const Choice& c : choices_)
      if (c.result.stop != StopReason::Eos && c.result.stop != StopReason::StopString &&
          c.result.stop != StopReason::Length)
        return send_raw(sink, dump(error_body(result_error(c.result))));
    Json list = Json::array();
    for (size_t i = 0; i < choices_.size(); ++i) {
      const Choice& c = choices_[i];
      Json choice = {{"index", i}};
      if (chat_) {
        Json message = {{"role", "assistant"}, {"content", c.content}};
        if (split_ && c.splitter.saw_thinking()) message["reasoning_content"] = c.reasoning;
        choice["message"] = std::move(message);
      } else {
        choice["text"] = c.content;
      }
      choice["logprobs"] = c.logprobs;
      choice["finish_reason"] = finish_reason(c.result.stop);
      list.push_back(std::move(choice));
    }
    Json body = {{"id", id_}, {"object", chat_ ? "chat.completion" : "text_completion"}, {"created", created_},
                 {"model", model_name()}, {"choices", std::move(list)}, {"usage", usage()}};
    return send_raw(sink, dump(body));
  }

  Server::Impl& server_;
  CompletionRequest request_;
  std::vector<int32_t> prompt_;
  KvPolicy policy_;
  std::shared_ptr<Exchange> exchange_;
  std::vector<uint64_t> tickets_;
  const bool chat_, split_;
  const std::string id_;
  const std::time_t created_;
  const Clock::time_point accepted_;
  Clock::time_point last_write_, last_check_;
  std::vector<Choice> choices_;
  int finished_ = 0;
  bool started_ = false, complete_ = false, abandoned_ = false, cancelled_ = false;
};

}  // namespace

void Server::Impl::completion(const httplib::Request& req, httplib::Response& res, Endpoint endpoint) {
  require_ready();
  CompletionRequest request = parse_completion_request(req.body, endpoint, opt.defaults, engine_options.policy, opt.limits);
  GenerationRequest g;
  try {
    g = model->build(request.spec);
  } catch (const ApiError&) {
    throw;
  } catch (const Error& e) {
    throw ApiError(400, e.what(), endpoint == Endpoint::ChatCompletions ? "messages" : "prompt");
  }
  g.top_logprobs = request.top_logprobs;
  const auto prompt_tokens = static_cast<int64_t>(g.prompt.size());
  if (context > 0) {
    const int64_t room = context - prompt_tokens;  // >= 1: build() checked
    if (request.max_tokens_given && g.stop.max_new_tokens > room)
      throw ApiError(400,
                     "the model's context is " + std::to_string(context) + " tokens and the prompt has " +
                         std::to_string(prompt_tokens) + ", so max_tokens can be at most " + std::to_string(room) +
                         " (got " + std::to_string(g.stop.max_new_tokens) + ")",
                     "max_tokens");
    g.stop.max_new_tokens = std::min(g.stop.max_new_tokens, room);
  }
  bool thinking = false;
  if (endpoint == Endpoint::ChatCompletions && opt.reasoning == ReasoningFormat::DeepSeek && model->tokenizer()) {
    const size_t tail = std::min<size_t>(g.prompt.size(), 8);
    std::vector<TokenId> last(g.prompt.end() - static_cast<std::ptrdiff_t>(tail), g.prompt.end());
    thinking = prompt_opens_thinking(model->tokenizer()->decode(last));
  }
  const KvPolicy policy = g.policy ? *g.policy : engine_options.policy;
  auto exchange = std::make_shared<Exchange>();
  std::vector<GenerationRequest> samples;
  std::vector<AsyncEngine::Sink> sinks;
  for (int i = 0; i < request.n; ++i) {
    samples.push_back(g);
    samples.back().sampling.seed = g.sampling.seed + static_cast<uint64_t>(i);
    sinks.push_back(sink_for(exchange, i, request.kv_view && request.stream, metrics));
  }
  std::vector<uint64_t> tickets = engine->submit_group(std::move(samples), std::move(sinks));
  const bool stream = request.stream;
  auto responder = std::make_shared<Responder>(*this, std::move(request), std::move(g.prompt), thinking, policy,
                                               std::move(exchange), std::move(tickets));
  res.status = 200;
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");  // nginx: pass events on at once
  res.set_chunked_content_provider(
      stream ? "text/event-stream" : "application/json",
      [responder](size_t, httplib::DataSink& sink) { return responder->pump(sink); },
      [responder](bool) { responder->release(); });
}

void Server::Impl::tokenize(const httplib::Request& req, httplib::Response& res) {
  require_ready();
  TokenizeRequest t = parse_tokenize_request(req.body, opt.limits);
  std::vector<int32_t> ids;
  try {
    ids = t.messages ? model->encode(model->render_chat(*t.messages), false) : model->encode(*t.text, t.add_special_tokens);
  } catch (const Error& e) {
    throw ApiError(400, e.what(), t.messages ? "messages" : "prompt");
  }
  reply(res, 200, {{"tokens", ids}, {"count", ids.size()}, {"max_model_len", context}});
}

void Server::Impl::detokenize(const httplib::Request& req, httplib::Response& res) {
  require_ready();
  const std::vector<int64_t> ids = parse_detokenize_request(req.body, opt.limits);
  const Tokenizer* tok = model->tokenizer();
  if (!tok) throw ApiError(400, "the model has no tokenizer: " + model->tokenizer_error());
  std::vector<TokenId> tokens;
  for (int64_t id : ids) {
    if (id < 0 || id >= tok->vocab_size())
      throw ApiError(400, "token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                              std::to_string(tok->vocab_size()) + ")", "tokens");
    tokens.push_back(static_cast<TokenId>(id));
  }
  reply(res, 200, {{"prompt", tok->decode(tokens)}});
}

void Server::Impl::models(httplib::Response& res) {
  require_ready();
  Json m = {{"id", opt.model_name}, {"object", "model"}, {"created", started}, {"owned_by", "rkv"}, {"max_model_len", context}};
  reply(res, 200, {{"object", "list"}, {"data", Json::array({std::move(m)})}});
}

void Server::Impl::routes() {
  // Every handler answers errors as OpenAI error objects and is counted.
  auto guarded = [this](const char* endpoint, std::function<void(const httplib::Request&, httplib::Response&)> f) {
    return [this, endpoint, f](const httplib::Request& req, httplib::Response& res) {
      try {
        f(req, res);
      } catch (const QueueFull& e) {
        reply_error(res, ApiError(429, e.what(), "", "rate_limit_error", "rate_limit_exceeded"));
      } catch (const ApiError& e) {
        reply_error(res, e);
      } catch (const Error& e) {
        reply_error(res, ApiError(400, e.what()));
      } catch (const std::exception& e) {
        reply_error(res, ApiError(500, std::string("internal error: ") + e.what()));
      }
      if (res.status != 200 || !res.is_chunked_content_provider_) metrics.request(endpoint, res.status);
    };
  };
  http.Post("/v1/chat/completions", guarded("chat.completions", [this](const auto& req, auto& res) {
              completion(req, res, Endpoint::ChatCompletions);
            }));
  http.Post("/v1/completions",
            guarded("completions", [this](const auto& req, auto& res) { completion(req, res, Endpoint::Completions); }));
  http.Post("/tokenize", guarded("tokenize", [this](const auto& req, auto& res) { tokenize(req, res); }));
  http.Post("/detokenize", guarded("detokenize", [this](const auto& req, auto& res) { detokenize(req, res); }));
  http.Get("/v1/models", guarded("models", [this](const auto&, auto& res) { models(res); }));
  http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    const char* status = stopping ? "stopping" : is_ready ? "ok" : "loading";
    reply(res, is_ready && !stopping ? 200 : 503, {{"status", status}});
  });
  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    const EngineLoad load = engine ? engine->load() : EngineLoad{};
    res.set_content(metrics.render(load, engine_options.kv_memory, is_ready), "text/plain; version=0.0.4");
  });
  http.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(chat_page_html()), "text/html; charset=utf-8");
  });
  http.Options(".*", [](const httplib::Request&, httplib::Response& res) {
    res.status = 204;
    res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type");
    res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
  });
  http.set_default_headers({{"Access-Control-Allow-Origin", "*"}});

  if (!opt.api_key.empty())
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (req.method == "OPTIONS" || req.path == "/" || req.path == "/health") return httplib::Server::HandlerResponse::Unhandled;
      const std::string expected = "Bearer " + opt.api_key, given = req.get_header_value("Authorization");
      // compare every byte whatever the first difference (no timing hint)
      unsigned char diff = given.size() == expected.size() ? 0 : 1;
      for (size_t i = 0; i < given.size() && i < expected.size(); ++i)
        diff |= static_cast<unsigned char>(given[i] ^ expected[i]);
      if (diff == 0) return httplib::Server::HandlerResponse::Unhandled;
      reply_error(res, ApiError(401, "missing or wrong API key: send 'Authorization: Bearer KEY'", "",
                                "invalid_request_error", "invalid_api_key"));
      metrics.request("unauthorized", 401);
      return httplib::Server::HandlerResponse::Handled;
    });
  // httplib's own refusals (unknown path, body over the limit, bad request line) as error objects.
  http.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string message = "HTTP " + std::to_string(res.status);
    if (res.status == 404) message = "no such endpoint: " + req.method + " " + req.path;
    if (res.status == 413)
      message = "the request body is larger than the limit of " + std::to_string(opt.max_body_bytes) + " bytes (--max-body)";
    reply_error(res, ApiError(res.status, message));
    metrics.request("other", res.status);
  });
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    reply_error(res, ApiError(500, "internal error: " + what));
  });
}

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  RKV_CHECK(impl_->opt.http_threads >= 1, "the HTTP thread count must be at least 1");
  RKV_CHECK(impl_->opt.max_queue >= 0, "the queue limit must be >= 0");
  RKV_CHECK(impl_->opt.max_body_bytes >= 1, "the body size limit must be at least 1 byte");
}

Server::~Server() { stop(); }

int Server::start() {
  Impl& s = *impl_;
  s.routes();
  s.http.set_payload_max_length(s.opt.max_body_bytes);
  const size_t threads = static_cast<size_t>(s.opt.http_threads);
  s.http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  if (s.opt.port == 0) {
    s.port = s.http.bind_to_any_port(s.opt.host);
    RKV_CHECK(s.port > 0, "cannot bind ", s.opt.host, " to any port");
  } else {
    RKV_CHECK(s.http.bind_to_port(s.opt.host, s.opt.port), "cannot bind ", s.opt.host, ":", s.opt.port,
              " (in use, or not an address of this machine)");
    s.port = s.opt.port;
  }
  RKV_CHECK(s.http.raise_backlog(), "cannot listen on ", s.opt.host, ":", s.port);
  s.listener = std::thread([&s] { s.http.listen_after_bind(); });
  // httplib's stop() does nothing until the listener runs: wait for it, so
  // that a stop() right after start() (the model failed to load) ends it.
  for (int i = 0; i < 10000 && !s.http.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return s.port;
}

void Server::attach(LoadedModel& model, const EngineOptions& engine_options) {
  Impl& s = *impl_;
  RKV_CHECK(!s.is_ready, "the server already has a model");
  s.model = &model;
  s.engine_options = engine_options;
  const ModelDims& d = model.lm().dims();
  s.kv_bytes_per_token = static_cast<int64_t>(d.n_layers) * d.n_kv_heads * d.head_dim * 2 *
                         static_cast<int64_t>(dtype_size(engine_options.kv_type));
  s.context = d.max_positions;
  s.engine = std::make_unique<AsyncEngine>(model.lm(), engine_options, model.pool(), s.opt.max_queue);
  s.is_ready = true;
}

bool Server::ready() const { return impl_->is_ready; }

int Server::port() const { return impl_->port; }

void Server::stop() {
  Impl& s = *impl_;
  if (s.stopping.exchange(true)) return;
  // Responders notice `stopping` within a moment, cancel their sequences and
  // end their responses; then the listener stops and the engine goes.
  for (int i = 0; i < 300 && s.active > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  s.http.stop();
  if (s.listener.joinable()) s.listener.join();
  s.engine.reset();
}

}  // namespace rkv::server
