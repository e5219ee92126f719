#include "common/testing.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

namespace rkv::test {

namespace fs = std::filesystem;

std::string assets_dir() {
  const char* env = std::getenv("RKV_ASSETS");
  fs::path dir = env && *env ? fs::path(env) : fs::path(RKV_SOURCE_DIR) / ".." / "shared";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return "";
  return fs::weakly_canonical(dir, ec).string();
}

std::string asset(const std::string& relative) {
  std::string dir = assets_dir();
  if (dir.empty()) return "";
  fs::path p = fs::path(dir) / relative;
  std::error_code ec;
  return fs::exists(p, ec) ? p.string() : "";
}

bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci && (std::string(ci) == "true" || std::string(ci) == "1");
}

TempDir::TempDir() {
  std::random_device rd;
  for (int attempt = 0; attempt < 100; ++attempt) {
    fs::path p = fs::temp_directory_path() / ("rkv-test-" + std::to_string(rd()));
    std::error_code ec;
    if (fs::create_directory(p, ec)) {
      dir_ = p;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary directory");
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

static std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CommandResult run_rkv(const std::vector<std::string>& args, const std::string& stdin_text) {
  RunOptions options;
  options.stdin_text = stdin_text;
  return run_rkv(args, options);
}

bool sanitized_build() {
#if defined(__SANITIZE_ADDRESS__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return true;
#else
  return false;
#endif
#else
  return false;
#endif
}

CommandResult run_rkv(const std::vector<std::string>& args, const RunOptions& options) {
  TempDir tmp;
  std::string in_path = tmp.path("stdin"), out_path = tmp.path("stdout"), err_path = tmp.path("stderr");
  std::ofstream(in_path, std::ios::binary) << options.stdin_text;
  const std::string stdout_target = options.stdout_path.empty() ? out_path : options.stdout_path;
  pid_t pid = fork();
  if (pid == 0) {
    int in = open(in_path.c_str(), O_RDONLY);
    int out = options.stdout_path.empty() ? open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644)
                                          : open(stdout_target.c_str(), O_WRONLY);
    if (options.stdout_closed_pipe) {
      int ends[2];
      if (pipe(ends) != 0) _exit(126);
      close(ends[0]);
      out = ends[1];
    }
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    if (!options.cwd.empty() && chdir(options.cwd.c_str()) != 0) _exit(126);
    for (const auto& [name, value] : options.env) setenv(name.c_str(), value.c_str(), 1);
    if (options.address_space_bytes > 0) {
      struct rlimit limit {options.address_space_bytes, options.address_space_bytes};
      setrlimit(RLIMIT_AS, &limit);
    }
    std::vector<char*> argv;
    std::string binary = RKV_BINARY;
    argv.push_back(binary.data());
    std::vector<std::string> copies = args;
    for (auto& a : copies) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  CommandResult r;
  const auto start = std::chrono::steady_clock::now();
  bool signalled = false;
  for (;;) {
    if (waitpid(pid, &status, WNOHANG) == pid) break;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (options.signal_after_seconds > 0 && !signalled && elapsed >= options.signal_after_seconds) {
      kill(pid, options.signal_to_send);
      signalled = true;
    }
    if (options.timeout_seconds > 0 && elapsed >= options.timeout_seconds && !r.timed_out) {
      kill(pid, SIGKILL);
      r.timed_out = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  r.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (options.stdout_path.empty()) r.out = slurp(out_path);
  r.err = slurp(err_path);
  return r;
}

}  // namespace rkv::test
