// Compression of q8_0 / q4_0 caches: every score term and keep list equals
// what the same step computes on an f32 cache holding the dequantized keys
// (the scorers read the stored keys dequantized, never int8 products —
// docs/rkv-method.md, "Quantized caches").
#include <random>

#include "common/testing.h"
#include "rkv/compression/compressor.h"
#include "rkv/kv/layer_cache.h"
#include "rkv/ops/kv_row.h"

namespace rkv {
namespace {

TEST(QuantizedCompression, ScoresEqualTheScoresOfTheDequantizedKeys) {
  std::mt19937 rng(77);
  std::normal_distribution<float> normal(0, 1);
  const int n_kv = 2, group = 3, d = 64;
  const int64_t n = 150, window = 8;
  std::vector<float> keys(static_cast<size_t>(n_kv * n * d)), values(keys.size());  // [h][n][d]
  for (size_t i = 0; i < keys.size(); ++i) {
    const size_t row = i / d;
    // every 4th key a near-copy of the one before: redundancy has work to do
    keys[i] = row % 4 == 3 ? keys[i - d] + 0.1f * normal(rng) : normal(rng) + (i % 16 == 0 ? 3.0f : 0.0f);
    values[i] = normal(rng);
  }
  std::vector<float> queries(static_cast<size_t>(n_kv * group * window * d));  // [hq][window][d]
  for (auto& q : queries) q = normal(rng);
  std::vector<int32_t> positions(static_cast<size_t>(n_kv * n));
  for (size_t i = 0; i < positions.size(); ++i) positions[i] = static_cast<int32_t>(i % n);
  ThreadPool pool(2);
  for (DType type : {DType::Q8_0, DType::Q4_0})
    for (Method method : {Method::RKV, Method::SnapKV, Method::H2O}) {
      SCOPED_TRACE(std::string(dtype_name(type)) + " " + method_name(method));
      CompressionConfig config = default_config(method);
      config.budget = 64;
      config.window_size = window;
      Compressor compressor(config);
      LayerCache quantized(n_kv, d, type, n);
      quantized.append_head_major(keys.data(), values.data(), positions.data(), n);
      std::vector<float> dequantized(keys.size()), dequantized_values(values.size());
      for (int h = 0; h < n_kv; ++h) {
        kv_rows_to_f32(type, quantized.key_data(h), n, d, &dequantized[static_cast<size_t>(h * n * d)]);
        kv_rows_to_f32(type, quantized.value_data(h), n, d, &dequantized_values[static_cast<size_t>(h * n * d)]);
      }
      LayerCache plain(n_kv, d, DType::F32, n);
      plain.append_head_major(dequantized.data(), dequantized_values.data(), positions.data(), n);
      LayerScores sq, sp;
      KeepLists kq = compressor.select(snapshot_of(quantized, queries.data(), n_kv * group, window), pool, &sq);
      KeepLists kp = compressor.select(snapshot_of(plain, queries.data(), n_kv * group, window), pool, &sp);
      EXPECT_EQ(sq.importance, sp.importance);
      EXPECT_EQ(sq.redundancy, sp.redundancy);
      EXPECT_EQ(sq.final_score, sp.final_score);
      EXPECT_EQ(kq, kp);
      ASSERT_EQ(sq.final_score.size(), static_cast<size_t>(n_kv));
      if (method == Method::RKV) {
        EXPECT_EQ(sq.redundancy[0].size(), static_cast<size_t>(n - window));
      }
      // and quantization did change the keys the scores were computed on
      EXPECT_NE(dequantized, keys);
    }
}

}  // namespace
}  // namespace rkv
