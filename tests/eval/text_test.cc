// The Python-semantics helpers behind the grader, against Python 3's
// documented behaviour (float(), repr(), str.strip(), re's \w and \d).
#include <gtest/gtest.h>

#include <cmath>

#include "eval/text.h"

namespace rkv::eval::text {
namespace {

TEST(PythonFloat, AcceptsWhatFloatAccepts) {
  EXPECT_EQ(parse_float("42"), 42.0);
  EXPECT_EQ(parse_float(" -1.5e3 "), -1500.0);
  EXPECT_EQ(parse_float("+.5"), 0.5);
  EXPECT_EQ(parse_float("5."), 5.0);
  EXPECT_EQ(parse_float("1_000"), 1000.0);
  EXPECT_EQ(parse_float("\xEF\xBC\x94\xEF\xBC\x92"), 42.0);  // full-width digits
  EXPECT_EQ(parse_float("\xC2\xA0" "7\xE2\x80\x83"), 7.0);    // Unicode spaces around
  EXPECT_TRUE(std::isinf(*parse_float("-Infinity")));
  EXPECT_TRUE(std::isnan(*parse_float("nan")));
}

TEST(PythonFloat, RejectsWhatFloatRejects) {
  for (const char* bad : {"", ".", "e5", "1e", "1__0", "_1", "1_", "1,000", "0x10", "1/2", "5%", "inf5", "--1"})
    EXPECT_FALSE(parse_float(bad).has_value()) << bad;
}

TEST(PythonFloat, ReprIsShortestRoundTrip) {
  EXPECT_EQ(float_repr(1.0), "1.0");
  EXPECT_EQ(float_repr(0.5), "0.5");
  EXPECT_EQ(float_repr(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(float_repr(1e16), "1e+16");
  EXPECT_EQ(float_repr(123456789012345.0), "123456789012345.0");
  EXPECT_EQ(float_repr(0.0001), "0.0001");
  EXPECT_EQ(float_repr(0.00001), "1e-05");
  EXPECT_EQ(float_repr(-2.5e-7), "-2.5e-07");
}

TEST(PythonStr, StripIsUnicodeAware) {
  EXPECT_EQ(strip("\xE3\x80\x80 x y\t\n"), "x y");  // ideographic space
  EXPECT_EQ(strip("   "), "");
  EXPECT_EQ(rstrip("  a  "), "  a");
  EXPECT_EQ(strip_chars("[(1,2)]", "[]()"), "1,2");
  EXPECT_EQ(split_whitespace(" a  b\xC2\xA0" "c "), (std::vector<std::string_view>{"a", "b", "c"}));
  EXPECT_EQ(split("a==b", "="), (std::vector<std::string_view>{"a", "", "b"}));
  EXPECT_EQ(count("x=1,y=2", "="), 2u);
}

TEST(PythonStr, CodePointsAndClasses) {
  EXPECT_EQ(code_point_count("\xCF\x80r"), 2u);  // "πr"
  EXPECT_TRUE(is_word(U'_'));
  EXPECT_TRUE(is_word(U'\u03C0'));   // π is a letter
  EXPECT_TRUE(is_word(U'\u00B3'));   // ³ is numeric
  EXPECT_FALSE(is_word(U'\u00B0'));  // ° is a symbol
  EXPECT_FALSE(is_word(U'\\'));
  EXPECT_EQ(decimal_value(U'\u0663'), 3);  // Arabic-Indic three
  EXPECT_EQ(decimal_value(U'\u00B2'), -1);  // superscript two is not decimal
  EXPECT_TRUE(is_space(U'\u3000'));
  EXPECT_FALSE(is_space(U'\u200B'));  // zero-width space is not whitespace
}

TEST(PythonStr, InvalidUtf8DecodesAsReplacementCharacters) {
  std::string bad = "a\xFF\xC3";
  size_t i = 1;
  EXPECT_EQ(next_code_point(bad, i), 0xFFFDu);
  EXPECT_EQ(i, 2u);
  EXPECT_EQ(code_point_count(bad), 3u);
}

TEST(PythonInt, CanonicalIntegers) {
  EXPECT_TRUE(is_canonical_int("0"));
  EXPECT_TRUE(is_canonical_int("-12"));
  EXPECT_FALSE(is_canonical_int("012"));
  EXPECT_FALSE(is_canonical_int("-0"));
  EXPECT_FALSE(is_canonical_int("+1"));
  EXPECT_FALSE(is_canonical_int(""));
}

}  // namespace
}  // namespace rkv::eval::text
