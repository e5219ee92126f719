// apps/rkv: the `rkv` command. Each subcommand lives in one cmd_<name>.cc
// that registers itself with RKV_COMMAND; main.cc dispatches on argv[1].
//
// A command returns its exit status. rkv::Error escaping a command is printed
// as "rkv <command>: error: <message>" and exits 2 (bad input); --help prints
// the command's usage and exits 0.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "rkv/core/error.h"

namespace rkv::cli {

using Args = std::vector<std::string>;  // arguments after the subcommand name

struct Command {
  std::string name;
  std::string summary;  // one line for `rkv --help`
  std::function<int(const Args&)> run;
};

std::vector<Command>& command_registry();

struct CommandRegistration {
  CommandRegistration(std::string name, std::string summary, std::function<int(const Args&)> run) {
    command_registry().push_back({std::move(name), std::move(summary), std::move(run)});
  }
};

}  // namespace rkv::cli

#define RKV_CLI_CONCAT2(a, b) a##b
#define RKV_CLI_CONCAT(a, b) RKV_CLI_CONCAT2(a, b)
#define RKV_COMMAND(name, summary, fn) \
  static ::rkv::cli::CommandRegistration RKV_CLI_CONCAT(rkv_command_, __LINE__)(name, summary, fn)
