// rkv serve: an OpenAI-compatible HTTP server (server/server.h,
// docs/server.md). It binds first — /health answers 503 while the model
// loads — then loads the model and serves until SIGINT / SIGTERM, when
// every request ends and the process exits 0. The sampling and compression
// flags of `generate` are the defaults of every request (a request's own
// fields and its kv_compression object override them).
#include <chrono>
#include <cstdio>
#include <thread>

#include "rkv/command.h"
#include "rkv/core/buffer.h"
#include "rkv/core/interrupt.h"
#include "rkv/flags.h"
#include "rkv/generation_flags.h"
#include "rkv/server/server.h"

namespace rkv::cli {
namespace {

int64_t positive(const Flags& f, const char* name, int64_t max) {
  const int64_t v = f.integer(name);
  RKV_CHECK(v >= 1 && v <= max, name, " must be in [1, ", max, "] (got ", v, ")");
  return v;
}

int run_serve(const Args& args) {
  Flags f("serve", "-m MODEL [--host 127.0.0.1] [--port 8080] [--api-key KEY] [--max-batch N] [--kv-memory BYTES] "
                   "[--max-queue N] [--kv rkv --budget N ...]");
  f.option("-m,--model", "Hugging Face model folder or .gguf file")
      .option("--host", "address to listen on", "127.0.0.1")
      .option("--port", "TCP port (0: any free port, printed at start)", "8080")
      .option("--api-key", "require 'Authorization: Bearer KEY' on every endpoint but / and /health")
      .option("--api-key-file", "read the API key from this file (keeps it out of the process list)")
      .option("--max-queue", "requests that may wait beyond the running batch; more get 429", "16")
      .option("--max-body", "largest request body in bytes; larger get 413", "4194304")
      .option("--http-threads", "connections served at once (0: max-batch + max-queue + 16)", "0")
      .option("--reasoning-format", "deepseek: thinking up to </think> in reasoning_content | none", "deepseek")
      .option("--alias", "model id in /v1/models and responses (default: the model file's name)");
  declare_sampling_flags(f);
  declare_engine_flags(f);
  if (!f.parse(args)) return 0;
  RKV_CHECK(f.given("--model"), "missing -m MODEL");
  RKV_CHECK(f.positional().empty(), "unexpected argument '", f.positional().front(), "'");
  RKV_CHECK(!(f.given("--api-key") && f.given("--api-key-file")), "give --api-key or --api-key-file, not both");

  server::ServerOptions o;
  o.host = f.str("--host");
  const int64_t port = f.integer("--port");
  RKV_CHECK(port >= 0 && port <= 65535, "--port must be in [0, 65535] (got ", port, ")");
  o.port = static_cast<int>(port);
  if (f.given("--api-key")) o.api_key = f.str("--api-key");
  if (f.given("--api-key-file")) {
    o.api_key = read_text_file(f.str("--api-key-file"));
    while (!o.api_key.empty() && (o.api_key.back() == '\n' || o.api_key.back() == '\r')) o.api_key.pop_back();
    RKV_CHECK(!o.api_key.empty(), f.str("--api-key-file"), ": empty API key");
  }
  const int64_t max_queue = f.integer("--max-queue");
  RKV_CHECK(max_queue >= 0 && max_queue <= 65536, "--max-queue must be in [0, 65536] (got ", max_queue, ")");
  o.max_queue = static_cast<int>(max_queue);
  o.max_body_bytes = static_cast<size_t>(positive(f, "--max-body", int64_t{1} << 34));
  o.reasoning = server::parse_reasoning_format(f.str("--reasoning-format"));
  o.defaults = request_spec_from_flags(f);
  const EngineFlags engine_flags = engine_flags_from(f);
  const int64_t threads = f.integer("--http-threads");
  RKV_CHECK(threads >= 0 && threads <= 4096, "--http-threads must be in [0, 4096] (got ", threads, ")");
  o.http_threads = threads > 0 ? static_cast<int>(threads) : engine_flags.max_batch + o.max_queue + 16;
  const std::string model_path = f.str("--model");
  o.model_name = f.given("--alias") ? f.str("--alias") : model_path.substr(model_path.find_last_of('/') + 1);

  install_interrupt_handler();
  server::Server srv(o);
  const int bound = srv.start();
  std::fprintf(stderr, "rkv serve: listening on http://%s:%d (loading %s)\n", o.host.c_str(), bound, model_path.c_str());
  auto lm = load_model(model_path, engine_flags);
  srv.attach(*lm, engine_options_from(*lm, engine_flags));
  std::fprintf(stderr, "rkv serve: ready (%s, max batch %d, KV memory %lld bytes, queue %d)\n",
               method_name(engine_flags.policy.method.method).c_str(), engine_flags.max_batch,
               static_cast<long long>(engine_flags.kv_memory), o.max_queue);
  while (!interrupt_flag().load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::fprintf(stderr, "rkv serve: stopping\n");
  srv.stop();
  return 0;
}

RKV_COMMAND("serve", "OpenAI-compatible HTTP server (chat and completions, streaming, thinking split out, a chat page)",
            run_serve);

}  // namespace
}  // namespace rkv::cli
