#include "common/testing.h"
#include "rkv/engine/stop.h"

namespace rkv {
namespace {

TEST(StopCriteria, EosStopStringAndLength) {
  StopCriteria c;
  c.eos_ids = {2, 7};
  c.stop_strings = {"</answer>"};
  c.max_new_tokens = 5;
  EXPECT_EQ(c.check(7, 1, "x"), StopReason::Eos);
  EXPECT_EQ(c.check(3, 1, "x"), StopReason::None);
  size_t cut = 0;
  EXPECT_EQ(c.check(3, 2, "the answer is 4</ans", &cut), StopReason::None);
  EXPECT_EQ(c.check(3, 3, "the answer is 4</answer> trailing", &cut), StopReason::StopString);
  EXPECT_EQ(cut, 15u);
  EXPECT_EQ(c.check(3, 5, "x"), StopReason::Length);
  c.ignore_eos = true;
  EXPECT_EQ(c.check(2, 1, "x"), StopReason::None);
  EXPECT_STREQ(stop_reason_name(StopReason::Length), "length");
}

}  // namespace
}  // namespace rkv
