// apps/rkv/flags: one small parser for every subcommand's flags.
//
// Each flag is declared once with its names, default and help; unknown flags,
// missing values and malformed numbers are rkv::Error naming the flag.
// Supports "--flag value", "--flag=value" and boolean switches.
//
// Numbers are parsed strictly, the same way in every command: an integer is
// an optional '-' and decimal digits, nothing else (no spaces, no '+', no
// 1e3), within int64 and the flag's range; a real number is decimal with an
// optional fraction and exponent, finite (no nan / inf / hex); a byte size is
// a non-negative number with an optional unit K, M, G, T (or KiB, MiB, GiB,
// TiB; k, m, g, t), all powers of 1024: 4096, 512M, 4G, 1.5GiB.
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
  int64_t integer(const std::string& name, int64_t min, int64_t max) const;  // also range-checked
  double number(const std::string& name) const;
  double number(const std::string& name, double min, double max) const;
  int64_t bytes(const std::string& name) const;  // a byte size (see above)
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

// The strict parsers behind the methods above; errors name `what`.
int64_t parse_integer(const std::string& text, const std::string& what);
double parse_number(const std::string& text, const std::string& what);
int64_t parse_byte_size(const std::string& text, const std::string& what);
// Parses "1,2,3" into integers; throws naming `what` on a bad element.
std::vector<int64_t> parse_int_list(const std::string& text, const std::string& what);

// The worker-thread count of a command's --threads flag (0: RKV_THREADS or
// every available CPU). More threads than CPUs only slow rkv down (idle
// workers spin, core/thread_pool.h): such a count is capped at the CPUs this
// process may use, with a notice on stderr.
int thread_count(const Flags& f);

}  // namespace rkv::cli
