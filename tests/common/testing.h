// tests/common: what every test binary shares — where the shared assets are,
// temporary directories, and running the rkv binary as a subprocess.
//
// Assets: RKV_ASSETS (default ../shared relative to the source tree). When
// missing, RKV_REQUIRE_ASSETS() skips with a message, or fails when CI=true.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace rkv::test {

// Absolute path of the assets folder, or "" when it does not exist.
std::string assets_dir();
// assets_dir() + "/" + relative, or "" when that file/folder is missing.
std::string asset(const std::string& relative);
bool running_in_ci();

// A fresh directory removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

// A whole file's bytes ("" when it cannot be read).
std::string slurp(const std::filesystem::path& p);
// What fn throws as rkv::Error, or "" when it returns.
std::string error_of(const std::function<void()>& fn);

struct CommandResult {
  int exit_code = -1;   // 128 + signal when killed by one
  int signal = 0;       // the signal that ended it, or 0
  bool timed_out = false;
  std::string out, err;
};
// Runs the rkv binary with args (no shell), capturing stdout and stderr.
CommandResult run_rkv(const std::vector<std::string>& args, const std::string& stdin_text = "");
// Runs the rkv binary and sends it `sig` as soon as it has written anything
// to stdout (e.g. SIGINT in the middle of a streamed generation).
CommandResult run_rkv_and_signal(const std::vector<std::string>& args, int sig);

// A program running in the background (a server): stdout and stderr go to
// files; the destructor sends SIGTERM, waits up to 10 s, then SIGKILL.
class BackgroundProcess {
 public:
  // program: a path, or a name looked up in PATH (nginx).
  BackgroundProcess(const std::string& program, const std::vector<std::string>& args);
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;
  // Waits until stderr contains `needle` (true), or the process ended or
  // `seconds` passed (false).
  bool wait_for_stderr(const std::string& needle, double seconds = 60);
  std::string err() const;
  void signal(int sig);
  // Waits for the exit (up to `seconds`); the exit code (128 + signal), or -1 on timeout.
  int wait(double seconds = 10);
  bool running();

 private:
  TempDir dir_;
  int pid_ = -1;
  int exit_code_ = -1;
};

// How to run it for tests of hostile input and faults.
struct RunOptions {
  std::string program;             // the executable ("": the rkv binary), e.g. /bin/bash for a script
  std::string stdin_text;
  std::string cwd;                 // working directory ("": the test's)
  std::string stdout_path;         // write stdout here (e.g. /dev/full) instead of capturing it
  bool stdout_closed_pipe = false; // stdout is a pipe whose reader has gone (writes fail with EPIPE)
  double timeout_seconds = 0;      // > 0: SIGKILL after this long (timed_out = true)
  double signal_after_seconds = 0; // > 0: send `signal_to_send` after this long
  int signal_to_send = 0;
  uint64_t address_space_bytes = 0;  // > 0: RLIMIT_AS of the child (ulimit -v)
  std::vector<std::pair<std::string, std::string>> env;  // set in the child
};
CommandResult run_rkv(const std::vector<std::string>& args, const RunOptions& options);

// Whether this build runs under AddressSanitizer (which needs an unlimited
// address space: address_space_bytes must stay 0 there).
bool sanitized_build();

}  // namespace rkv::test

// Skips the test (or fails it under CI=true) when the asset is missing.
#define RKV_REQUIRE_ASSET(relative)                                                      \
  do {                                                                                   \
    if (::rkv::test::asset(relative).empty()) {                                          \
      if (::rkv::test::running_in_ci()) FAIL() << "missing test asset " << (relative);  \
      GTEST_SKIP() << "test asset " << (relative) << " not found (set RKV_ASSETS)";      \
    }                                                                                    \
  } while (0)
