// tests/server: an rkv server started inside the test process on a free
// loopback port, with the scripted model (common/scripted_model.h) or a
// model file, and the helpers the tests share (server-sent events, metrics).
#pragma once

#include <httplib.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/scripted_model.h"
#include "common/testing.h"
#include "rkv/server/server.h"

namespace rkv::test {

inline KvPolicy fullkv() {
  KvPolicy p;
  p.method = default_config(Method::FullKV);
  return p;
}

struct ServerSetup {
  std::string model_path;  // empty: the scripted model
  server::ServerOptions options;
  KvPolicy policy = fullkv();  // the server's default policy
  int max_batch = 8;
  int64_t kv_memory = 0;
  bool attach = true;  // false: the server answers while "loading"
};

class TestServer {
 public:
  explicit TestServer(ServerSetup setup = {});
  ~TestServer();
  void attach();  // when started with attach = false
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::unique_ptr<httplib::Client> client() const;  // 60 s timeouts, the API key if any
  server::Server& server() { return *server_; }

  // POST a JSON body; the parsed response (or {"raw": body} when not JSON).
  struct Reply {
    int status = -1;
    nlohmann::json body;
    std::string raw;
  };
  Reply post(const std::string& path, const nlohmann::json& body) const;
  Reply post_raw(const std::string& path, const std::string& body) const;
  // The value of one sample line of /metrics ("name{labels}"); -1 when absent.
  double metric(const std::string& sample) const;
  // Waits (up to 10 s) until /metrics shows no running sequence.
  bool wait_idle() const;

 private:
  ServerSetup setup_;
  TempDir dir_;
  std::unique_ptr<LoadedModel> model_;
  std::unique_ptr<server::Server> server_;
  int port_ = 0;
};

// The JSON of every "data: " event of a server-sent event stream, and
// whether it ended with "data: [DONE]".
std::vector<nlohmann::json> sse_events(const std::string& body, bool* done = nullptr);

}  // namespace rkv::test
