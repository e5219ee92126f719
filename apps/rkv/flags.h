// apps/rkv/flags: one small parser for every subcommand's flags.
//
// Each flag is declared once with its names, default and help; unknown flags,
// missing values and malformed numbers are rkv::Error naming the flag.
// Supports "--flag value", "--flag=value" and boolean switches.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "rkv/core/error.h"

namespace rkv::cli {

class Flags {
 public:
  Flags(std::string command, std::string usage_line);

  // Declarations. `names` is "--budget" or "-m,--model".
  Flags& option(const std::string& names, const std::string& help, std::optional<std::string> default_value = {});
  Flags& toggle(const std::string& names, const std::string& help);

  // Parses args; returns false if --help was given (usage already printed).
  bool parse(const std::vector<std::string>& args);

  bool has(const std::string& name) const;  // given on the command line, or has a default
  bool given(const std::string& name) const;  // given on the command line
  bool on(const std::string& name) const;     // toggle state
  std::string str(const std::string& name) const;
  int64_t integer(const std::string& name) const;
  double number(const std::string& name) const;
  std::vector<std::string> positional() const { return positional_; }
  std::string usage() const;

 private:
  struct Spec {
    std::vector<std::string> names;
    std::string help;
    std::optional<std::string> default_value;
    bool is_toggle = false;
  };
  const Spec& spec(const std::string& name) const;
  std::string key(const std::string& name) const;

  std::string command_, usage_line_;
  std::vector<Spec> specs_;
  std::map<std::string, std::string> values_;  // canonical (last) name -> value
  std::vector<std::string> positional_;
};

// Parses "1,2,3" into integers; throws naming `what` on a bad element.
std::vector<int64_t> parse_int_list(const std::string& text, const std::string& what);

}  // namespace rkv::cli
