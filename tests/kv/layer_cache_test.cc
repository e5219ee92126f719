#include <cstring>
#include <numeric>
#include <random>

#include "common/testing.h"
#include "rkv/kv/layer_cache.h"
#include "rkv/ops/kv_row.h"

namespace rkv {
namespace {

// keys/values for n tokens in the append layout [n][heads][d], value = f(t, h, c)
std::vector<float> token_major(int64_t n, int heads, int d, float salt) {
  std::vector<float> out(static_cast<size_t>(n * heads * d));
  for (int64_t t = 0; t < n; ++t)
    for (int h = 0; h < heads; ++h)
      for (int c = 0; c < d; ++c) out[(t * heads + h) * d + c] = salt + t * 100.0f + h * 10.0f + c * 0.25f;
  return out;
}

TEST(LayerCache, AppendAndReadBackInEveryStorageType) {
  for (DType storage : {DType::F32, DType::F16, DType::BF16}) {
    LayerCache cache(3, 8, storage, 10);
    auto k = token_major(6, 3, 8, 0), v = token_major(6, 3, 8, 0.5f);
    std::vector<int32_t> pos = {10, 11, 12, 13, 14, 15};
    cache.append(k.data(), v.data(), pos.data(), 4);
    cache.append(k.data() + 4 * 24, v.data() + 4 * 24, pos.data() + 4, 2);
    ASSERT_EQ(cache.size(), 6);
    for (int h = 0; h < 3; ++h) {
      TensorView keys = cache.keys(h);
      ASSERT_EQ(keys.shape, (Shape{6, 8}));
      std::vector<float> back(48);
      convert_to_f32(storage, keys.data, back.data(), 48);
      for (int64_t t = 0; t < 6; ++t) {
        for (int c = 0; c < 8; ++c) {
          float expected = k[(t * 3 + h) * 8 + c];
          std::vector<float> one = {expected};
          std::vector<uint16_t> rounded(1);
          float stored = expected;
          if (storage != DType::F32) {
            convert_from_f32(one.data(), storage, rounded.data(), 1);
            convert_to_f32(storage, rounded.data(), &stored, 1);
          }
          ASSERT_EQ(back[t * 8 + c], stored);
        }
        ASSERT_EQ(cache.position_data(h)[t], 10 + t);
      }
    }
    EXPECT_EQ(cache.bytes(), static_cast<size_t>(3 * 10 * 8 * 2) * dtype_size(storage) + 3 * 10 * 4);
  }
}

TEST(LayerCache, CompactGathersEachHeadInTheGivenOrder) {
  LayerCache cache(2, 4, DType::F32, 8);
  auto k = token_major(8, 2, 4, 0), v = token_major(8, 2, 4, 1);
  std::vector<int32_t> pos(8);
  std::iota(pos.begin(), pos.end(), 100);
  cache.append(k.data(), v.data(), pos.data(), 8);
  cache.compact({{7, 0, 3}, {1, 2, 6}});
  ASSERT_EQ(cache.size(), 3);
  const std::vector<std::vector<int>> expected = {{7, 0, 3}, {1, 2, 6}};
  for (int h = 0; h < 2; ++h)
    for (int i = 0; i < 3; ++i) {
      int t = expected[h][i];
      EXPECT_EQ(cache.position_data(h)[i], 100 + t);
      for (int c = 0; c < 4; ++c) {
        EXPECT_EQ(static_cast<const float*>(cache.key_data(h))[i * 4 + c], k[(t * 2 + h) * 4 + c]);
        EXPECT_EQ(static_cast<const float*>(cache.value_data(h))[i * 4 + c], v[(t * 2 + h) * 4 + c]);
      }
    }
  // appending after a compaction continues behind the kept slots
  cache.append(k.data(), v.data(), pos.data(), 1);
  EXPECT_EQ(cache.size(), 4);
  EXPECT_EQ(cache.position_data(1)[3], 100);
}

TEST(LayerCache, RejectsBadKeepListsAndOverflow) {
  LayerCache cache(2, 4, DType::F32, 4);
  auto k = token_major(4, 2, 4, 0);
  std::vector<int32_t> pos = {0, 1, 2, 3};
  cache.append(k.data(), k.data(), pos.data(), 4);
  EXPECT_THROW(cache.append(k.data(), k.data(), pos.data(), 1), Error);  // fixed capacity
  EXPECT_THROW(cache.compact({{0, 1}}), Error);                          // one list for two heads
  EXPECT_THROW(cache.compact({{0, 1}, {0}}), Error);                     // lengths differ
  EXPECT_THROW(cache.compact({{0, 4}, {0, 1}}), Error);                  // out of range
  EXPECT_THROW(cache.compact({{1, 1}, {0, 1}}), Error);                  // repeated
  EXPECT_EQ(cache.size(), 4);
  EXPECT_THROW(LayerCache(2, 4, DType::I32, 4), Error);
}

TEST(LayerCache, GrowsInBlocksWhenAllowed) {
  LayerCache cache(1, 2, DType::BF16, 0, 16);
  std::vector<float> kv(2 * 40);
  std::iota(kv.begin(), kv.end(), 0.0f);
  std::vector<int32_t> pos(40);
  std::iota(pos.begin(), pos.end(), 0);
  for (int i = 0; i < 40; ++i) cache.append(kv.data() + 2 * i, kv.data() + 2 * i, pos.data() + i, 1);
  EXPECT_EQ(cache.size(), 40);
  EXPECT_EQ(cache.capacity(), 48);
  for (int i = 0; i < 40; ++i) EXPECT_EQ(cache.position_data(0)[i], i);
  EXPECT_EQ(bf16_to_f32(static_cast<const uint16_t*>(cache.key_data(0))[2 * 39 + 1]), 79.0f);
}

}  // namespace
}  // namespace rkv

namespace rkv {
namespace {

TEST(LayerCache, SetCapacityShrinksKeepingContents) {
  LayerCache cache(2, 4, DType::F16, 100);
  auto k = token_major(10, 2, 4, 0);
  std::vector<int32_t> pos(10);
  std::iota(pos.begin(), pos.end(), 0);
  cache.append(k.data(), k.data(), pos.data(), 10);
  cache.set_capacity(12);
  EXPECT_EQ(cache.capacity(), 12);
  EXPECT_EQ(cache.kv_bytes(), static_cast<size_t>(2 * 2 * 12 * 4 * 2));
  for (int h = 0; h < 2; ++h)
    for (int t = 0; t < 10; ++t) {
      EXPECT_EQ(cache.position_data(h)[t], t);
      EXPECT_EQ(f16_to_f32(static_cast<const uint16_t*>(cache.key_data(h))[t * 4 + 1]), f16_to_f32(f32_to_f16(k[(t * 2 + h) * 4 + 1])));
    }
  EXPECT_THROW(cache.set_capacity(9), Error);
}

}  // namespace
}  // namespace rkv

namespace rkv {
namespace {

// The rows of head h as stored, one vector of bytes per slot.
std::vector<std::vector<uint8_t>> stored_rows(const LayerCache& cache, const void* base) {
  std::vector<std::vector<uint8_t>> rows;
  const auto* p = static_cast<const uint8_t*>(base);
  for (int64_t i = 0; i < cache.size(); ++i)
    rows.emplace_back(p + i * cache.row_bytes(), p + (i + 1) * cache.row_bytes());
  return rows;
}

// q8_0 / q4_0 caches: appending quantizes each row exactly as kv_rows_from_f32
// does (both layouts), compaction moves the stored bytes (no requantization),
// growth and set_capacity keep them, and the sizes count codes and scales.
TEST(LayerCache, QuantizedRowsAppendCompactAndCountTheirBytes) {
  for (DType storage : {DType::Q8_0, DType::Q4_0})
    for (int d : {8, 64}) {
      const int heads = 2;
      const int64_t n = 9;
      LayerCache cache(heads, d, storage, 0, 4);  // grows in blocks of 4
      LayerCache head_major(heads, d, storage, n);
      auto k = token_major(n, heads, d, 0.3f), v = token_major(n, heads, d, -7.0f);
      std::vector<int32_t> pos(n);
      std::iota(pos.begin(), pos.end(), 50);
      cache.append(k.data(), v.data(), pos.data(), 5);
      cache.append(k.data() + 5 * heads * d, v.data() + 5 * heads * d, pos.data() + 5, n - 5);
      ASSERT_EQ(cache.size(), n);
      EXPECT_EQ(cache.capacity(), 12);
      const size_t row = kv_row_bytes(storage, d);
      EXPECT_EQ(cache.row_bytes(), row);
      EXPECT_EQ(cache.kv_bytes(), 2 * heads * 12 * row);
      EXPECT_EQ(cache.bytes(), 2 * heads * 12 * row + heads * 12 * sizeof(int32_t));
      EXPECT_EQ(cache.keys(1).shape, (Shape{n, static_cast<int64_t>(row)}));
      // head-major input: [heads][n][d]
      std::vector<float> khm(k.size()), vhm(v.size());
      std::vector<int32_t> phm(static_cast<size_t>(heads * n));
      for (int h = 0; h < heads; ++h)
        for (int64_t t = 0; t < n; ++t) {
          for (int c = 0; c < d; ++c) {
            khm[(h * n + t) * d + c] = k[(t * heads + h) * d + c];
            vhm[(h * n + t) * d + c] = v[(t * heads + h) * d + c];
          }
          phm[h * n + t] = pos[t];
        }
      head_major.append_head_major(khm.data(), vhm.data(), phm.data(), n);
      for (int h = 0; h < heads; ++h) {
        std::vector<uint8_t> expected(row * n);
        kv_rows_from_f32(khm.data() + h * n * d, n, d, storage, expected.data());
        EXPECT_EQ(std::memcmp(cache.key_data(h), expected.data(), expected.size()), 0) << dtype_name(storage) << " d " << d;
        EXPECT_EQ(std::memcmp(head_major.key_data(h), expected.data(), expected.size()), 0);
        kv_rows_from_f32(vhm.data() + h * n * d, n, d, storage, expected.data());
        EXPECT_EQ(std::memcmp(cache.value_data(h), expected.data(), expected.size()), 0);
      }
      auto keys0 = stored_rows(cache, cache.key_data(0)), keys1 = stored_rows(cache, cache.key_data(1));
      auto values1 = stored_rows(cache, cache.value_data(1));
      const std::vector<std::vector<int32_t>> keep = {{8, 0, 3, 5}, {2, 7, 1, 4}};
      cache.compact(keep);
      ASSERT_EQ(cache.size(), 4);
      auto after0 = stored_rows(cache, cache.key_data(0)), after1 = stored_rows(cache, cache.key_data(1));
      auto after_v1 = stored_rows(cache, cache.value_data(1));
      for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(after0[i], keys0[keep[0][i]]);
        EXPECT_EQ(after1[i], keys1[keep[1][i]]);
        EXPECT_EQ(after_v1[i], values1[keep[1][i]]);
        EXPECT_EQ(cache.position_data(1)[i], 50 + keep[1][i]);
      }
      cache.set_capacity(5);
      EXPECT_EQ(cache.kv_bytes(), 2 * heads * 5 * row);
      EXPECT_EQ(stored_rows(cache, cache.key_data(1)), after1);
    }
  EXPECT_THROW(LayerCache(1, 7, DType::Q4_0, 4), Error);  // odd head_dim: named error
  EXPECT_THROW(LayerCache(1, 256, DType::Q4_K, 4), Error);
}

}  // namespace
}  // namespace rkv
