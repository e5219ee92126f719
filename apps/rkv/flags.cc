#include "rkv/flags.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace rkv::cli {

Flags::Flags(std::string command, std::string usage_line)
    : command_(std::move(command)), usage_line_(std::move(usage_line)) {}

static std::vector<std::string> split_names(const std::string& names) {
  std::vector<std::string> out;
  std::stringstream ss(names);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(item);
  return out;
}

Flags& Flags::option(const std::string& names, const std::string& help, std::optional<std::string> default_value) {
  specs_.push_back({split_names(names), help, std::move(default_value), false});
  return *this;
}

Flags& Flags::toggle(const std::string& names, const std::string& help) {
  specs_.push_back({split_names(names), help, std::nullopt, true});
  return *this;
}

const Flags::Spec& Flags::spec(const std::string& name) const {
  for (const auto& s : specs_)
    for (const auto& n : s.names)
      if (n == name) return s;
  fail("unknown option '", name, "' (see rkv ", command_, " --help)");
}

std::string Flags::key(const std::string& name) const { return spec(name).names.back(); }

bool Flags::parse(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      std::printf("%s", usage().c_str());
      return false;
    }
    if (arg.size() < 2 || arg[0] != '-' || (arg[1] >= '0' && arg[1] <= '9')) {
      positional_.push_back(arg);
      continue;
    }
    std::string name = arg, value;
    bool inline_value = false;
    if (auto eq = arg.find('='); eq != std::string::npos && arg.rfind("--", 0) == 0) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      inline_value = true;
    }
    const Spec& s = spec(name);
    if (s.is_toggle) {
      RKV_CHECK(!inline_value, "option ", name, " takes no value");
      values_[s.names.back()] = "1";
      continue;
    }
    if (!inline_value) {
      RKV_CHECK(i + 1 < args.size(), "option ", name, " needs a value");
      value = args[++i];
    }
    values_[s.names.back()] = value;
  }
  return true;
}

bool Flags::given(const std::string& name) const { return values_.count(key(name)) > 0; }
bool Flags::has(const std::string& name) const { return given(name) || spec(name).default_value.has_value(); }
bool Flags::on(const std::string& name) const { return given(name); }

std::string Flags::str(const std::string& name) const {
  auto it = values_.find(key(name));
  if (it != values_.end()) return it->second;
  const Spec& s = spec(name);
  RKV_CHECK(s.default_value.has_value(), "missing required option ", s.names.back());
  return *s.default_value;
}

int64_t Flags::integer(const std::string& name) const {
  std::string text = str(name);
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  RKV_CHECK(!text.empty() && *end == '\0' && errno == 0, "option ", key(name), ": '", text, "' is not an integer");
  return v;
}

double Flags::number(const std::string& name) const {
  std::string text = str(name);
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  RKV_CHECK(!text.empty() && *end == '\0' && std::isfinite(v), "option ", key(name), ": '", text, "' is not a number");
  return v;
}

std::string Flags::usage() const {
  std::ostringstream s;
  s << "usage: rkv " << command_ << " " << usage_line_ << "\n\noptions:\n";
  for (const auto& spec : specs_) {
    std::string names;
    for (const auto& n : spec.names) names += (names.empty() ? "" : ", ") + n;
    if (!spec.is_toggle) names += " VALUE";
    s << "  " << names;
    if (names.size() < 28) s << std::string(28 - names.size(), ' ');
    else s << "\n" << std::string(30, ' ');
    s << spec.help;
    if (spec.default_value && !spec.default_value->empty()) s << " (default " << *spec.default_value << ")";
    s << "\n";
  }
  return s.str();
}

std::vector<int64_t> parse_int_list(const std::string& text, const std::string& what) {
  std::vector<int64_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(item.c_str(), &end, 10);
    RKV_CHECK(!item.empty() && *end == '\0' && errno == 0, what, ": '", item, "' is not an integer");
    out.push_back(v);
  }
  return out;
}

}  // namespace rkv::cli
