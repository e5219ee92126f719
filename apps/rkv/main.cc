// rkv: the command-line entry point. See command.h for how subcommands plug in.
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "rkv/command.h"
#include "rkv/core/cpu.h"

namespace rkv::cli {

std::vector<Command>& command_registry() {
  static std::vector<Command> commands;
  return commands;
}

static void print_help() {
  auto commands = command_registry();
  std::sort(commands.begin(), commands.end(), [](const Command& a, const Command& b) { return a.name < b.name; });
  std::printf("rkv — reasoning-model inference with R-KV compressed KV cache\n\nusage: rkv <command> [options]\n\ncommands:\n");
  for (const auto& c : commands) std::printf("  %-12s %s\n", c.name.c_str(), c.summary.c_str());
  std::printf("\n'rkv <command> --help' shows each command's options. CPU: %s (kernels: %s)\n", cpu_summary().c_str(),
              isa_name(active_isa()));
}

// Output that never reached its destination (a full disk, a closed pipe, an
// I/O error) must not look like success: standard output is flushed and
// closed here, after every command, and a failure is an error (status 2).
static int finish_output(const char* who, int status) {
  std::string problem;
  if (std::fflush(stdout) != 0) problem = std::strerror(errno);
  else if (std::ferror(stdout)) problem = "an earlier write failed";
  if (std::fclose(stdout) != 0 && problem.empty()) problem = std::strerror(errno);
  if (problem.empty()) return status;
  std::fprintf(stderr, "%s: error: cannot write the output (standard output): %s\n", who, problem.c_str());
  return status == 0 ? 2 : status;
}

}  // namespace rkv::cli

int main(int argc, char** argv) {
  using namespace rkv::cli;
  // A closed pipe on standard output is a failed write (EPIPE), reported by
  // finish_output like any other, not a death by SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    print_help();
    return finish_output("rkv", argc < 2 ? 1 : 0);
  }
  std::string name = argv[1];
  for (const auto& command : command_registry()) {
    if (command.name != name) continue;
    Args args(argv + 2, argv + argc);
    try {
      const int status = command.run(args);
      return finish_output(("rkv " + name).c_str(), status);
    } catch (const rkv::Error& e) {
      std::fprintf(stderr, "rkv %s: error: %s\n", name.c_str(), e.what());
      return 2;
    } catch (const std::bad_alloc&) {
      // Sizes that come from files and flags are checked before allocating
      // (core/buffer.h require_memory); this is the last resort.
      std::fprintf(stderr, "rkv %s: error: out of memory (an allocation failed)\n", name.c_str());
      return 2;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "rkv %s: error: %s\n", name.c_str(), e.what());
      return 2;
    }
  }
  std::fprintf(stderr, "rkv: unknown command '%s' (see rkv --help)\n", name.c_str());
  return 2;
}
