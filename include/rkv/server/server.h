// server/server: `rkv serve`, an OpenAI-compatible HTTP server over one
// model and one engine (docs/server.md).
//
// start() binds and answers at once — /health says 503 while the model
// loads — and attach() hands it the loaded model: from then on completion
// requests are parsed (server/api.h), built into GenerationRequests by the
// model (LoadedModel::build, the one request builder) and submitted to an
// AsyncEngine (engine/async_engine.h), whose thread runs Engine::step for
// every connection together. Each request's tokens come back through its
// sink to the HTTP thread that serves it, which splits the thinking from
// the answer (server/reasoning.h) and writes server-sent events or one JSON
// body. A client that goes away is noticed while waiting or writing and
// its sequences are cancelled (freed at the engine's next step).
//
// HTTP is Debian's cpp-httplib: a thread per connection from a bounded pool,
// chunked responses through a content provider that can see whether the
// peer is still there (DataSink::is_writable), a body size limit, an error
// hook for its own 4xx answers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "rkv/engine/loaded_model.h"
#include "rkv/server/api.h"
#include "rkv/server/reasoning.h"

namespace rkv::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                  // 0: any free port (start() returns it)
  std::string api_key;              // non-empty: every endpoint but / and /health needs "Authorization: Bearer KEY"
  size_t max_body_bytes = 4 << 20;  // larger request bodies get 413
  int max_queue = 16;               // requests that may wait beyond the running batch; more get 429
  int http_threads = 64;            // connections served at once (each streaming response holds one)
  ReasoningFormat reasoning = ReasoningFormat::DeepSeek;
  std::string model_name = "rkv";   // the id /v1/models shows and responses name
  RequestSpec defaults;             // the server's sampling defaults, stops and default max_tokens
  ApiLimits limits;
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts answering on a thread of its own; returns the port.
  // rkv::Error when the address cannot be bound.
  int start();
  // The model is ready: requests are served from now on. The server keeps
  // a reference to `model` (it must outlive the server) and runs an engine
  // with `engine_options` (the default KV policy, batch, KV memory).
  void attach(LoadedModel& model, const EngineOptions& engine_options);
  bool ready() const;
  // Ends every request (streams get an error event), stops answering,
  // joins the threads. Idempotent.
  void stop();
  int port() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace rkv::server
