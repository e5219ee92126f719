// check_json_depth: counts the nesting of arrays and objects, not brackets
// inside strings (escaped quotes included), and names the input.
#include "rkv/core/json.h"

#include <string>

#include "common/testing.h"
#include "rkv/core/error.h"

namespace rkv {
namespace {

std::string nested(int levels, const std::string& inner = "1") {
  std::string text;
  for (int k = 0; k < levels; ++k) text += k % 2 ? "{\"k\":" : "[";
  text += inner;
  for (int k = levels - 1; k >= 0; --k) text += k % 2 ? "}" : "]";
  return text;
}

TEST(JsonDepth, LimitIsOnNestingNotOnBracketsInStrings) {
  EXPECT_NO_THROW(check_json_depth(nested(kMaxJsonDepth), "x"));
  EXPECT_NO_THROW(check_json_depth("[\"" + std::string(100000, '[') + "\"]", "x"));
  EXPECT_NO_THROW(check_json_depth(nested(10, "\"\\\"[[[[\\\\\""), "x", 10));  // escaped quote and backslash inside
  EXPECT_NO_THROW(check_json_depth("[1], [2], [3]", "x", 1));  // siblings do not add up
  try {
    check_json_depth(nested(1000000), "config.json");
    FAIL() << "a million levels passed";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "config.json: JSON nested more than 512 levels deep");
  }
  EXPECT_THROW(check_json_depth(nested(11, "\"]]]]\""), "x", 10), Error);
}

}  // namespace
}  // namespace rkv
