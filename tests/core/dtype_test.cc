#include <cmath>
#include <cstring>
#include <random>

#include "common/testing.h"
#include "rkv/core/cpu.h"
#include "rkv/core/dtype.h"

namespace rkv {
namespace {

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Independent reference: round a double to the nearest value representable with
// `mantissa_bits` explicit bits and exponent range, ties to even, via exhaustive
// comparison of the two neighbouring candidates of the target format.
uint16_t reference_f16(float x) {
  if (std::isnan(x)) return 0x7e00;
  uint16_t best = 0;
  double best_err = INFINITY;
  // Candidates: scan neighbouring encodings found by binary search over positive values.
  double a = std::fabs(static_cast<double>(x));
  uint16_t lo = 0, hi = 0x7c00;  // [0, inf]
  while (hi - lo > 1) {
    uint16_t mid = static_cast<uint16_t>((lo + hi) / 2);
    if (static_cast<double>(f16_to_f32(mid)) <= a) lo = mid; else hi = mid;
  }
  for (uint16_t c : {lo, hi}) {
    double v = f16_to_f32(c);
    double err = std::fabs(v - a);
    if (c == 0x7c00) err = a >= 65520.0 ? 0 : INFINITY;
    if (err < best_err || (err == best_err && (c & 1) == 0)) {
      best = c;
      best_err = err;
    }
  }
  return static_cast<uint16_t>(best | (std::signbit(x) ? 0x8000 : 0));
}

TEST(DType, F16DecodesKnownValues) {
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xc000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::isinf(f16_to_f32(0x7c00)));
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7e00)));
}

TEST(DType, F16EncodeMatchesReferenceRounding) {
  std::mt19937 rng(7);
  for (int i = 0; i < 200000; ++i) {
    uint32_t bits = rng();
    // Concentrate on the f16 range (exponents 100..143) plus some random ones.
    if (i % 4) bits = (bits & 0x807fffffu) | ((100u + rng() % 44u) << 23);
    float x = from_bits(bits);
    if (std::isnan(x)) continue;
    ASSERT_EQ(f32_to_f16(x), reference_f16(x)) << "x=" << x << " bits=" << std::hex << bits;
  }
}

TEST(DType, F16RoundTripsEveryHalf) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = f16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(f))));
      continue;
    }
    ASSERT_EQ(f32_to_f16(f), h);
  }
}

TEST(DType, Bf16RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(from_bits(0x3f808000)), 0x3f80);  // tie, even stays
  EXPECT_EQ(f32_to_bf16(from_bits(0x3f818000)), 0x3f82);  // tie, odd rounds up
  EXPECT_EQ(f32_to_bf16(from_bits(0x3f808001)), 0x3f81);  // above tie
  EXPECT_EQ(f32_to_bf16(from_bits(0x7f7fffff)), 0x7f80);  // max float rounds to inf
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(from_bits(0x7f800001)))));  // sNaN stays NaN
  std::mt19937 rng(3);
  for (int i = 0; i < 100000; ++i) {
    float x = from_bits(rng());
    if (std::isnan(x)) continue;
    uint16_t b = f32_to_bf16(x);
    // The result is the closer of the two truncation neighbours.
    double v = bf16_to_f32(b);
    uint32_t xb;
    std::memcpy(&xb, &x, 4);
    double t = bf16_to_f32(static_cast<uint16_t>(xb >> 16));
    double t2 = bf16_to_f32(static_cast<uint16_t>((xb >> 16) + 1));
    double dx = x;
    if (std::isinf(v)) continue;
    ASSERT_LE(std::fabs(v - dx), std::min(std::fabs(t - dx), std::fabs(t2 - dx)) + 0.0);
  }
}

TEST(DType, BulkConversionsMatchScalar) {
  std::mt19937 rng(11);
  std::vector<float> src(1037);
  for (auto& v : src) v = std::normal_distribution<float>(0, 100)(rng);
  std::vector<uint16_t> half(src.size()), brain(src.size());
  convert_from_f32(src.data(), DType::F16, half.data(), src.size());
  convert_from_f32(src.data(), DType::BF16, brain.data(), src.size());
  std::vector<float> back(src.size());
  convert_to_f32(DType::F16, half.data(), back.data(), src.size());
  for (size_t i = 0; i < src.size(); ++i) {
    ASSERT_EQ(half[i], f32_to_f16(src[i]));
    ASSERT_EQ(back[i], f16_to_f32(half[i]));
  }
  convert_to_f32(DType::BF16, brain.data(), back.data(), src.size());
  for (size_t i = 0; i < src.size(); ++i) {
    ASSERT_EQ(brain[i], f32_to_bf16(src[i]));
    ASSERT_EQ(back[i], bf16_to_f32(brain[i]));
  }
}

}  // namespace
}  // namespace rkv
