// KV row formats (ops/kv_row.h): sizes, hand-worked q8_0 / q4_0 rows, the
// rounding bound of every quantized value, the q4_0 block fallback, the
// non-finite rule and the type names the CLI accepts.
#include <cmath>
#include <cstring>
#include <random>

#include "common/testing.h"
#include "ops/kv_row_internal.h"
#include "rkv/core/cpu.h"
#include "rkv/core/error.h"
#include "rkv/ops/kv_row.h"

namespace rkv {
namespace {

float f16_scale_at(const std::vector<uint8_t>& row, size_t offset) {
  uint16_t h;
  std::memcpy(&h, row.data() + offset, 2);
  return f16_to_f32(h);
}

TEST(KvRow, BytesPerRowIncludeTheScales) {
  EXPECT_EQ(kv_row_bytes(DType::F32, 128), 512u);
  EXPECT_EQ(kv_row_bytes(DType::BF16, 128), 256u);
  EXPECT_EQ(kv_row_bytes(DType::Q8_0, 128), 130u);     // 128 codes + one f16 scale
  EXPECT_EQ(kv_row_bytes(DType::Q4_0, 128), 64u + 8u);  // 4 blocks of 32: 16 bytes + f16 scale each
  EXPECT_EQ(kv_row_bytes(DType::Q8_0, 8), 10u);
  EXPECT_EQ(kv_row_bytes(DType::Q4_0, 8), 6u);          // head_dim 8: one block of 8
  EXPECT_EQ(kv_row_bytes(DType::Q4_0, 80), 42u);        // 80 is not a multiple of 32: one block of 80
  EXPECT_THROW(kv_row_bytes(DType::Q4_0, 7), Error);    // two values per byte
  EXPECT_THROW(kv_row_bytes(DType::Q4_K, 256), Error);  // a weight type, not a cache type
  EXPECT_THROW(kv_row_bytes(DType::I32, 8), Error);
}

TEST(KvRow, HandWorkedQ8Row) {
  // max |x| = 12.7 -> scale 0.1 (as f16: 0.0999755859375); codes round(x / scale)
  std::vector<float> x = {12.7f, -6.35f, 0.0f, 0.05f, -0.2f, 1.0f, -12.7f, 3.0f};
  std::vector<uint8_t> row(kv_row_bytes(DType::Q8_0, 8));
  kv_rows_from_f32(x.data(), 1, 8, DType::Q8_0, row.data());
  const float d = f16_scale_at(row, 8);
  EXPECT_EQ(d, f16_to_f32(f32_to_f16(12.7f / 127.0f)));
  const int8_t expected[8] = {127, -64, 0, 1, -2, 10, -127, 30};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(static_cast<int8_t>(row[i]), expected[i]) << i;
  std::vector<float> back(8);
  kv_rows_to_f32(DType::Q8_0, row.data(), 1, 8, back.data());
  for (int i = 0; i < 8; ++i) EXPECT_EQ(back[i], expected[i] * d);
}

TEST(KvRow, HandWorkedQ4Block) {
  // one block of 32: the value of largest magnitude (-4) maps to code 0 (-8 * d), d = 0.5
  std::vector<float> x(32, 0.0f);
  x[0] = -4.0f;
  x[1] = 1.0f;
  x[16] = 3.5f;
  x[17] = -0.26f;  // -0.52 -> -1 (code 7)
  std::vector<uint8_t> row(kv_row_bytes(DType::Q4_0, 32));
  kv_rows_from_f32(x.data(), 1, 32, DType::Q4_0, row.data());
  EXPECT_EQ(f16_scale_at(row, 16), 0.5f);
  EXPECT_EQ(row[0], 0x0 | (0xF << 4));  // value 0 -> -8 + 8 = 0, value 16: 3.5 / 0.5 = 7 -> 15
  EXPECT_EQ(row[1], 10 | (7 << 4));     // value 1: 2 + 8, value 17: -1 + 8
  EXPECT_EQ(row[2], 8 | (8 << 4));      // zeros
  std::vector<float> back(32);
  kv_rows_to_f32(DType::Q4_0, row.data(), 1, 32, back.data());
  EXPECT_EQ(back[0], -4.0f);
  EXPECT_EQ(back[1], 1.0f);
  EXPECT_EQ(back[16], 3.5f);
  EXPECT_EQ(back[17], -0.5f);
  EXPECT_EQ(back[5], 0.0f);
}

// Every value is within half a step of its original (plus the clamp at the
// top of the q4_0 range), per block; the rows do not disturb one another.
TEST(KvRow, RoundTripStaysWithinHalfAStep) {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.0f, 2.0f);
  for (DType t : {DType::Q8_0, DType::Q4_0})
    for (int d : {8, 32, 80, 128}) {
      const int64_t rows = 5;
      std::vector<float> x(static_cast<size_t>(rows * d));
      for (auto& v : x) v = nd(rng);
      x[3] = 40.0f;  // an outlier in row 0
      std::vector<uint8_t> q(kv_row_bytes(t, d) * rows);
      kv_rows_from_f32(x.data(), rows, d, t, q.data());
      std::vector<float> back(x.size());
      kv_rows_to_f32(t, q.data(), rows, d, back.data());
      const int block = kv_block(t, d);
      EXPECT_EQ(block, t == DType::Q4_0 && d % 32 == 0 ? 32 : d);
      for (int64_t r = 0; r < rows; ++r)
        for (int b0 = 0; b0 < d; b0 += block) {
          float amax = 0;
          for (int i = 0; i < block; ++i) amax = std::max(amax, std::fabs(x[r * d + b0 + i]));
          const float step = t == DType::Q8_0 ? amax / 127 : amax / 8;
          // q4_0's range is [-8, 7] steps: a value of the other sign than the extreme clamps at 7 steps
          const float slack = t == DType::Q8_0 ? 0.5f * step * 1.002f : 1.002f * step;
          for (int i = 0; i < block; ++i) {
            const size_t at = static_cast<size_t>(r * d + b0 + i);
            ASSERT_LE(std::fabs(back[at] - x[at]), slack) << dtype_name(t) << " d " << d << " row " << r << " i " << b0 + i;
          }
        }
    }
}

// Every dequantization path gives code x scale exactly, read from the raw row.
TEST(KvRow, DequantizationPathsGiveCodeTimesScale) {
  std::mt19937 rng(9);
  std::normal_distribution<float> nd(0.0f, 3.0f);
  for (int d : {8, 12, 128}) {  // 12: a tail after the vector part
    const int64_t rows = 7;
    std::vector<float> x(static_cast<size_t>(rows * d));
    for (auto& v : x) v = nd(rng);
    const size_t rb = kv_row_bytes(DType::Q8_0, d);
    std::vector<uint8_t> q(rb * rows);
    kv_rows_from_f32(x.data(), rows, d, DType::Q8_0, q.data());
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
      if (isa > best_isa()) continue;
      std::vector<float> back(x.size(), -1.0f);
      internal::kv_rows_to_f32_isa(isa, DType::Q8_0, q.data(), rows, d, back.data());
      for (int64_t r = 0; r < rows; ++r) {
        const std::vector<uint8_t> row(q.begin() + r * rb, q.begin() + (r + 1) * rb);
        const float scale = f16_scale_at(row, static_cast<size_t>(d));
        for (int i = 0; i < d; ++i)
          ASSERT_EQ(back[r * d + i], static_cast<float>(static_cast<int8_t>(row[i])) * scale) << isa_name(isa) << " d " << d;
      }
    }
  }
}

TEST(KvRow, ZeroAndNonFiniteRows) {
  for (DType t : {DType::Q8_0, DType::Q4_0}) {
    std::vector<float> zeros(32, 0.0f), back(32, 1.0f);
    std::vector<uint8_t> q(kv_row_bytes(t, 32));
    kv_rows_from_f32(zeros.data(), 1, 32, t, q.data());
    kv_rows_to_f32(t, q.data(), 1, 32, back.data());
    for (float v : back) EXPECT_EQ(v, 0.0f);
    for (float bad : {std::nanf(""), INFINITY}) {
      std::vector<float> x(32, 1.0f);
      x[4] = bad;
      kv_rows_from_f32(x.data(), 1, 32, t, q.data());
      kv_rows_to_f32(t, q.data(), 1, 32, back.data());
      EXPECT_TRUE(std::isnan(back[0])) << dtype_name(t) << ": a non-finite row must not read back as finite";
    }
  }
}

TEST(KvRow, PlainTypesAreElementConversions) {
  std::vector<float> x = {1.0f, -2.5f, 3.14159f, 1e-3f};
  for (DType t : {DType::F32, DType::F16, DType::BF16}) {
    std::vector<uint8_t> row(kv_row_bytes(t, 4)), expected(row.size());
    kv_rows_from_f32(x.data(), 1, 4, t, row.data());
    convert_from_f32(x.data(), t, expected.data(), 4);
    EXPECT_EQ(row, expected) << dtype_name(t);
  }
}

TEST(KvRow, ParsesTheCacheTypeNames) {
  EXPECT_EQ(parse_kv_type("q8_0"), DType::Q8_0);
  EXPECT_EQ(parse_kv_type("q4_0"), DType::Q4_0);
  EXPECT_EQ(parse_kv_type("bf16"), DType::BF16);
  EXPECT_EQ(parse_kv_type("float32"), DType::F32);
  try {
    parse_kv_type("q4_k");
    FAIL() << "q4_k accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("q8_0 or q4_0"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rkv
