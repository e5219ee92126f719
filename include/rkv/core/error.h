// core/error: the one error type of rkv.
//
// Every layer reports bad input (malformed files, wrong shapes, invalid
// configuration) by throwing rkv::Error with a one-line message naming the
// problem. Apps catch it at the top, print it, and exit with status 2.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace rkv {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Concatenates the parts with operator<< and throws rkv::Error.
template <class... Parts>
[[noreturn]] void fail(Parts&&... parts) {
  std::ostringstream message;
  (message << ... << std::forward<Parts>(parts));
  throw Error(message.str());
}

}  // namespace rkv

// RKV_CHECK(cond, parts...): throw rkv::Error(parts...) unless cond holds.
#define RKV_CHECK(cond, ...)          \
  do {                                \
    if (!(cond)) ::rkv::fail(__VA_ARGS__); \
  } while (0)
