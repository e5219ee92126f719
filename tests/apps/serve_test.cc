// rkv serve as a process: flags, binding, plain curl against it, SIGTERM,
// and the scale-out setup of deploy/nginx/rkv.conf — two replicas behind
// nginx, one stopped, requests still served.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "common/testing.h"
#include "rkv/core/buffer.h"

namespace rkv {
namespace {

using nlohmann::json;

struct HttpResult {
  int status = -1;
  std::string body;
};

// curl (the plain client): POST when a body is given. `extra`: more curl arguments.
HttpResult curl(const test::TempDir& dir, const std::string& url, const std::string& body = "",
                const std::string& extra = "") {
  std::string cmd = "curl -s -N --max-time 60 -w '\\n%{http_code}' " + extra + " ";
  if (!body.empty()) {
    std::ofstream(dir.path("body.json"), std::ios::binary) << body;
    cmd += "-H 'Content-Type: application/json' --data-binary @" + dir.path("body.json") + " ";
  }
  cmd += "'" + url + "'";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return {};
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
  pclose(pipe);
  HttpResult r;
  const size_t cut = out.rfind('\n');
  if (cut == std::string::npos) return r;
  r.status = std::atoi(out.c_str() + cut + 1);
  r.body = out.substr(0, cut);
  return r;
}

// A started `rkv serve --port 0`; its port from the "listening on" line.
struct Replica {
  explicit Replica(const std::vector<std::string>& extra) : process(RKV_BINARY, args(extra)) {
    ready = process.wait_for_stderr("rkv serve: ready", 60);
    std::smatch m;
    const std::string err = process.err();
    if (std::regex_search(err, m, std::regex("listening on http://127\\.0\\.0\\.1:([0-9]+)"))) port = std::stoi(m[1]);
  }
  static std::vector<std::string> args(const std::vector<std::string>& extra) {
    std::vector<std::string> a = {"serve", "-m", test::asset("models/stories260K.gguf"), "--port", "0", "--threads", "1"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port) + path; }
  test::BackgroundProcess process;
  bool ready = false;
  int port = 0;
};

const std::string kCompletion = R"({"prompt": "Once upon a time", "max_tokens": 16})";

TEST(ServeCli, AnswersCurlAndStopsOnSigterm) {
  RKV_REQUIRE_ASSET("models/stories260K.gguf");
  test::TempDir dir;
  Replica r({"--api-key", "k1", "--max-body", "2000", "--alias", "tiny"});
  ASSERT_TRUE(r.ready) << r.process.err();
  const std::string key = "-H 'Authorization: Bearer k1'";
  EXPECT_EQ(curl(dir, r.url("/health")).status, 200);
  EXPECT_EQ(curl(dir, r.url("/v1/completions"), kCompletion).status, 401);
  auto one = curl(dir, r.url("/v1/completions"), kCompletion, key);
  ASSERT_EQ(one.status, 200) << one.body;
  const json body = json::parse(one.body);
  EXPECT_EQ(body["model"], "tiny");
  EXPECT_EQ(body["usage"]["completion_tokens"], 16);
  auto streamed = curl(dir, r.url("/v1/completions"), R"({"prompt": "Once upon a time", "max_tokens": 16, "stream": true})", key);
  ASSERT_EQ(streamed.status, 200);
  std::string text;
  std::istringstream lines(streamed.body);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("data: {", 0) == 0) text += json::parse(line.substr(6))["choices"][0]["text"].get<std::string>();
  EXPECT_EQ(text, body["choices"][0]["text"]);
  EXPECT_NE(streamed.body.find("data: [DONE]"), std::string::npos);
  auto bad = curl(dir, r.url("/v1/completions"), "{\"prompt\": ", key);
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("malformed JSON"), std::string::npos) << bad.body;
  EXPECT_EQ(curl(dir, r.url("/v1/completions"), "{\"prompt\": \"" + std::string(3000, 'a') + "\"}", key).status, 413);
  auto metrics = curl(dir, r.url("/metrics"), "", key);
  EXPECT_NE(metrics.body.find("rkv_http_requests_total{endpoint=\"completions\",code=\"200\"} 2"), std::string::npos)
      << metrics.body;
  r.process.signal(SIGTERM);
  EXPECT_EQ(r.process.wait(10), 0) << r.process.err();
  EXPECT_NE(r.process.err().find("rkv serve: stopping"), std::string::npos);
}

TEST(ServeCli, BadFlagsAndModelsAreErrors) {
  auto r = test::run_rkv({"serve", "--port", "70000", "-m", "x.gguf"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--port"), std::string::npos) << r.err;
  r = test::run_rkv({"serve", "--port", "0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("-m MODEL"), std::string::npos) << r.err;
  r = test::run_rkv({"serve", "-m", "x.gguf", "--reasoning-format", "r1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("reasoning format"), std::string::npos) << r.err;
  r = test::run_rkv({"serve", "-m", "/nonexistent/model.gguf", "--port", "0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("/nonexistent/model.gguf"), std::string::npos) << r.err;
  r = test::run_rkv({"serve", "-m", "x.gguf", "--host", "192.0.2.1", "--port", "0"});  // not an address of this machine
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("cannot bind"), std::string::npos) << r.err;
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

TEST(ServeCli, TwoReplicasBehindNginxSurviveOneStopping) {
  RKV_REQUIRE_ASSET("models/stories260K.gguf");
  if (std::system("command -v nginx > /dev/null 2>&1 || test -x /usr/sbin/nginx") != 0) {
    if (test::running_in_ci()) FAIL() << "nginx is not installed (scripts/install-deps.sh installs it)";
    GTEST_SKIP() << "nginx not installed";
  }
  test::TempDir dir;
  Replica a({}), b({});
  ASSERT_TRUE(a.ready && b.ready) << a.process.err() << b.process.err();
  // The repository's configuration, on this test's ports.
  std::string conf = read_text_file(std::string(RKV_SOURCE_DIR) + "/deploy/nginx/rkv.conf");
  const int port = free_port();
  conf = std::regex_replace(conf, std::regex("127\\.0\\.0\\.1:8081"), "127.0.0.1:" + std::to_string(a.port));
  conf = std::regex_replace(conf, std::regex("127\\.0\\.0\\.1:8082"), "127.0.0.1:" + std::to_string(b.port));
  conf = std::regex_replace(conf, std::regex("listen 127\\.0\\.0\\.1:8080"), "listen 127.0.0.1:" + std::to_string(port));
  ASSERT_NE(conf.find(std::to_string(a.port)), std::string::npos);
  std::ofstream(dir.path("rkv.conf")) << conf;
  std::ofstream(dir.path("nginx.conf"))
      << (geteuid() == 0 ? "user root;\n" : "") << "worker_processes 1;\ndaemon off;\npid " << dir.path("nginx.pid")
      << ";\nerror_log " << dir.path("error.log") << ";\nevents { worker_connections 256; }\nhttp {\n  access_log off;\n"
      << "  client_body_temp_path " << dir.path("body") << ";\n  proxy_temp_path " << dir.path("proxy") << ";\n"
      << "  fastcgi_temp_path " << dir.path("fastcgi") << ";\n  uwsgi_temp_path " << dir.path("uwsgi") << ";\n"
      << "  scgi_temp_path " << dir.path("scgi") << ";\n  include " << dir.path("rkv.conf") << ";\n}\n";
  const std::string nginx = std::system("test -x /usr/sbin/nginx") == 0 ? "/usr/sbin/nginx" : "nginx";
  test::BackgroundProcess lb(nginx, {"-p", dir.path(""), "-c", dir.path("nginx.conf"), "-e", dir.path("error.log")});
  const std::string front = "http://127.0.0.1:" + std::to_string(port);
  bool up = false;
  for (int i = 0; i < 100 && !up; ++i) {
    up = curl(dir, front + "/health").status == 200;
    if (!up) usleep(50000);
  }
  ASSERT_TRUE(up) << "nginx did not come up: " << lb.err() << read_text_file(dir.path("error.log"));

  auto served = [&](int n) {
    int ok = 0;
    for (int i = 0; i < n; ++i) {
      auto r = curl(dir, front + "/v1/completions", kCompletion);
      if (r.status == 200 && json::parse(r.body)["usage"]["completion_tokens"] == 16) ++ok;
    }
    return ok;
  };
  EXPECT_EQ(served(6), 6);
  const std::string completions_200 = "rkv_http_requests_total{endpoint=\"completions\",code=\"200\"}";
  EXPECT_NE(curl(dir, a.url("/metrics")).body.find(completions_200), std::string::npos) << "replica a served nothing";
  EXPECT_NE(curl(dir, b.url("/metrics")).body.find(completions_200), std::string::npos) << "replica b served nothing";
  // A streamed answer passes through as events.
  auto stream = curl(dir, front + "/v1/completions", R"({"prompt": "Once upon a time", "max_tokens": 8, "stream": true})");
  EXPECT_EQ(stream.status, 200);
  EXPECT_NE(stream.body.find("data: [DONE]"), std::string::npos) << stream.body;

  a.process.signal(SIGKILL);  // a replica dies
  a.process.wait(10);
  EXPECT_EQ(served(6), 6) << read_text_file(dir.path("error.log"));
  EXPECT_EQ(curl(dir, front + "/health").status, 200);
}

}  // namespace
}  // namespace rkv
