#include "rkv/flags.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "rkv/core/thread_pool.h"

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

int64_t Flags::integer(const std::string& name) const { return parse_integer(str(name), "option " + key(name)); }

int64_t Flags::integer(const std::string& name, int64_t min, int64_t max) const {
  const int64_t v = integer(name);
  RKV_CHECK(v >= min && v <= max, "option ", key(name), ": ", v, " is out of range [", min, ", ", max, "]");
  return v;
}

double Flags::number(const std::string& name) const { return parse_number(str(name), "option " + key(name)); }

double Flags::number(const std::string& name, double min, double max) const {
  const double v = number(name);
  RKV_CHECK(v >= min && v <= max, "option ", key(name), ": ", v, " is out of range [", min, ", ", max, "]");
  return v;
}

int64_t Flags::bytes(const std::string& name) const { return parse_byte_size(str(name), "option " + key(name)); }

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

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Length of the run of digits at `pos`.
size_t digits_at(const std::string& text, size_t pos) {
  size_t n = 0;
  while (pos + n < text.size() && is_digit(text[pos + n])) ++n;
  return n;
}

// Length of a decimal number at the start of `text`: digits, an optional
// fraction and, if `exponent`, an optional e[+-]digits; 0 if there is none.
size_t decimal_prefix(const std::string& text, bool exponent) {
  size_t pos = digits_at(text, 0);
  size_t mantissa = pos;
  if (pos < text.size() && text[pos] == '.') {
    const size_t frac = digits_at(text, pos + 1);
    mantissa += frac;
    pos += 1 + frac;
  }
  if (mantissa == 0) return 0;
  if (exponent && pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
    size_t p = pos + 1;
    if (p < text.size() && (text[p] == '+' || text[p] == '-')) ++p;
    if (const size_t e = digits_at(text, p); e > 0) pos = p + e;
  }
  return pos;
}

}  // namespace

int64_t parse_integer(const std::string& text, const std::string& what) {
  const size_t sign = !text.empty() && text[0] == '-' ? 1 : 0;
  const size_t n = digits_at(text, sign);
  RKV_CHECK(n > 0 && sign + n == text.size(), what, ": '", text, "' is not an integer");
  errno = 0;
  const long long v = std::strtoll(text.c_str(), nullptr, 10);
  RKV_CHECK(errno == 0, what, ": ", text, " is out of range (64-bit integers)");
  return v;
}

double parse_number(const std::string& text, const std::string& what) {
  const size_t sign = !text.empty() && text[0] == '-' ? 1 : 0;
  const std::string body = text.substr(sign);
  const size_t n = decimal_prefix(body, true);
  RKV_CHECK(n > 0 && n == body.size(), what, ": '", text, "' is not a number");
  const double v = std::strtod(text.c_str(), nullptr);
  RKV_CHECK(std::isfinite(v), what, ": ", text, " is out of range");
  return v;
}

int64_t parse_byte_size(const std::string& text, const std::string& what) {
  const size_t n = decimal_prefix(text, false);
  const std::string number = text.substr(0, n), unit = text.substr(n);
  int shift = -1;
  if (unit.empty()) shift = 0;
  for (const auto& [names, s] : {std::pair<const char*, int>{"K k KiB", 10}, {"M m MiB", 20}, {"G g GiB", 30}, {"T t TiB", 40}}) {
    std::stringstream ss(names);
    std::string name;
    while (ss >> name)
      if (unit == name) shift = s;
  }
  RKV_CHECK(n > 0 && shift >= 0, what, ": '", text, "' is not a byte size (e.g. 4096, 512M, 4G, 1.5GiB)");
  constexpr double kLimit = 9223372036854775807.0;  // int64
  if (number.find('.') == std::string::npos) {
    errno = 0;
    const unsigned long long v = std::strtoull(number.c_str(), nullptr, 10);
    RKV_CHECK(errno == 0 && v <= (static_cast<unsigned long long>(INT64_MAX) >> shift), what, ": ", text,
              " is out of range");
    return static_cast<int64_t>(v << shift);
  }
  const double v = std::ldexp(std::strtod(number.c_str(), nullptr), shift);
  RKV_CHECK(v < kLimit, what, ": ", text, " is out of range");
  return static_cast<int64_t>(v);
}

std::vector<int64_t> parse_int_list(const std::string& text, const std::string& what) {
  std::vector<int64_t> out;
  size_t start = 0;
  for (;;) {  // every element, the one after a trailing comma included, must be an integer
    const size_t comma = text.find(',', start);
    out.push_back(parse_integer(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start), what));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

int thread_count(const Flags& f) {
  const int64_t asked = f.integer("--threads", 0, 1 << 20);
  const int threads = asked > 0 ? static_cast<int>(asked) : ThreadPool::default_threads();
  const int cpus = ThreadPool::available_cpus();
  if (threads <= cpus) return threads;
  std::fprintf(stderr, "rkv: %d threads asked for (%s) but %d CPUs are available: using %d\n", threads,
               asked > 0 ? "--threads" : "RKV_THREADS", cpus, cpus);
  return cpus;
}

}  // namespace rkv::cli
