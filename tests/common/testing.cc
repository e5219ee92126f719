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

#include "rkv/core/error.h"

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

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string slurp(const std::filesystem::path& p) {
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
    std::string binary = options.program.empty() ? std::string(RKV_BINARY) : options.program;
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

CommandResult run_rkv_and_signal(const std::vector<std::string>& args, int sig) {
  TempDir tmp;
  const std::string err_path = tmp.path("stderr");
  int out_pipe[2];
  if (pipe(out_pipe) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out_pipe[1], 1);
    dup2(err, 2);
    close(out_pipe[0]);
    std::vector<char*> argv;
    std::string binary = RKV_BINARY;
    argv.push_back(binary.data());
    std::vector<std::string> copies = args;
    for (auto& a : copies) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  close(out_pipe[1]);
  CommandResult r;
  char buf[4096];
  bool signalled = false;
  for (;;) {
    ssize_t n = read(out_pipe[0], buf, sizeof buf);
    if (n <= 0) break;
    r.out.append(buf, static_cast<size_t>(n));
    if (!signalled) {
      kill(pid, sig);
      signalled = true;
    }
  }
  close(out_pipe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.err = slurp(err_path);
  return r;
}

BackgroundProcess::BackgroundProcess(const std::string& program, const std::vector<std::string>& args) {
  const std::string out_path = dir_.path("stdout"), err_path = dir_.path("stderr");
  pid_ = fork();
  if (pid_ == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    dup2(out, 1);
    dup2(err, 2);
    std::vector<std::string> copies = args;
    std::string name = program;
    std::vector<char*> argv = {name.data()};
    for (auto& a : copies) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp(name.c_str(), argv.data());
    _exit(127);
  }
}

BackgroundProcess::~BackgroundProcess() {
  if (!running()) return;
  signal(SIGTERM);
  if (wait(10) < 0) {
    signal(SIGKILL);
    wait(10);
  }
}

bool BackgroundProcess::running() {
  if (pid_ <= 0 || exit_code_ >= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return true;
}

void BackgroundProcess::signal(int sig) {
  if (running()) kill(pid_, sig);
}

int BackgroundProcess::wait(double seconds) {
  for (int i = 0; i < static_cast<int>(seconds * 100) && running(); ++i) usleep(10000);
  return running() ? -1 : exit_code_;
}

std::string BackgroundProcess::err() const { return slurp(dir_.path("stderr")); }

bool BackgroundProcess::wait_for_stderr(const std::string& needle, double seconds) {
  for (int i = 0; i < static_cast<int>(seconds * 100); ++i) {
    if (err().find(needle) != std::string::npos) return true;
    if (!running()) return err().find(needle) != std::string::npos;
    usleep(10000);
  }
  return false;
}

}  // namespace rkv::test
