#include "server/server_fixture.h"

#include <chrono>
#include <sstream>
#include <thread>

namespace rkv::test {

TestServer::TestServer(ServerSetup setup) : setup_(std::move(setup)) {
  if (setup_.model_path.empty()) {
    setup_.model_path = dir_.path("scripted.gguf");
    write_scripted_model(setup_.model_path);
  }
  setup_.options.host = "127.0.0.1";
  setup_.options.port = 0;
  server_ = std::make_unique<server::Server>(setup_.options);
  port_ = server_->start();
  if (setup_.attach) attach();
}

TestServer::~TestServer() { server_->stop(); }

void TestServer::attach() {
  model_ = LoadedModel::load(setup_.model_path, 1);
  EngineOptions o = model_->engine_options(setup_.policy);
  o.max_batch = setup_.max_batch;
  o.kv_memory = setup_.kv_memory;
  server_->attach(*model_, o);
}

std::unique_ptr<httplib::Client> TestServer::client() const {
  auto c = std::make_unique<httplib::Client>("127.0.0.1", port_);
  c->set_read_timeout(60, 0);
  c->set_write_timeout(60, 0);
  c->set_connection_timeout(10, 0);
  if (!setup_.options.api_key.empty()) c->set_bearer_token_auth(setup_.options.api_key);
  return c;
}

TestServer::Reply TestServer::post_raw(const std::string& path, const std::string& body) const {
  Reply r;
  auto res = client()->Post(path, body, "application/json");
  if (!res) return r;
  r.status = res->status;
  r.raw = res->body;
  r.body = nlohmann::json::parse(res->body, nullptr, false);
  if (r.body.is_discarded()) r.body = {{"raw", res->body}};
  return r;
}

TestServer::Reply TestServer::post(const std::string& path, const nlohmann::json& body) const {
  return post_raw(path, body.dump());
}

double TestServer::metric(const std::string& sample) const {
  auto res = client()->Get("/metrics");
  if (!res) return -1;
  std::istringstream lines(res->body);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind(sample + " ", 0) == 0) return std::stod(line.substr(sample.size() + 1));
  return -1;
}

bool TestServer::wait_idle() const {
  for (int i = 0; i < 200; ++i) {
    if (metric("rkv_sequences_running") == 0 && metric("rkv_sequences_waiting") == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

std::vector<nlohmann::json> sse_events(const std::string& body, bool* done) {
  std::vector<nlohmann::json> out;
  if (done) *done = false;
  size_t at = 0;
  while (at < body.size()) {
    size_t end = body.find("\n\n", at);
    if (end == std::string::npos) end = body.size();
    const std::string event = body.substr(at, end - at);
    at = end + 2;
    if (event.rfind("data: ", 0) != 0) continue;
    const std::string data = event.substr(6);
    if (data == "[DONE]") {
      if (done) *done = true;
      continue;
    }
    out.push_back(nlohmann::json::parse(data));
  }
  return out;
}

}  // namespace rkv::test
