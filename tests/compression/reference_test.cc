// A plain, slow implementation of RKV-SPEC.md §1/§3 written from the spec
// (full matrices, double precision) checked against the fast Compressor on
// hundreds of random layers (every cache type: quantized caches against the
// spec on their dequantized keys), plus the properties every compression must keep.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>

#include "common/reference_compression.h"
#include "common/testing.h"
#include "ops/redundancy_internal.h"
#include "rkv/compression/compressor.h"
#include "rkv/kv/layer_cache.h"
#include "rkv/ops/kv_row.h"

namespace rkv {
namespace {

using RandomLayer = test::ReferenceLayer;
using test::Expected;
using test::reference_redundancy;
using test::reference_select;

RandomLayer random_layer(std::mt19937& rng, int n_kv, int group, int d, int64_t n, int64_t m, double dup_rate) {
  RandomLayer l{n_kv, group, d, n, m, {}, {}, {}, {}};
  std::normal_distribution<float> normal(0, 1);
  std::uniform_real_distribution<double> uni(0, 1);
  l.keys.resize(static_cast<size_t>(n_kv * n * d));
  l.values.resize(l.keys.size());
  for (auto& v : l.values) v = normal(rng);
  for (int h = 0; h < n_kv; ++h)
    for (int64_t j = 0; j < n; ++j) {
      float* k = &l.keys[(h * n + j) * d];
      if (j > 0 && uni(rng) < dup_rate) {  // near-duplicate of an earlier key: redundancy decides
        int64_t src = std::uniform_int_distribution<int64_t>(0, j - 1)(rng);
        for (int c = 0; c < d; ++c) k[c] = l.keys[(h * n + src) * d + c] + 0.3f * normal(rng);
      } else {
        for (int c = 0; c < d; ++c) k[c] = normal(rng) + (c % 4 == 0 ? 1.5f : 0.0f);
      }
    }
  l.queries.resize(static_cast<size_t>(n_kv * group * m * d));
  for (auto& v : l.queries) v = 2.0f * normal(rng);
  l.positions.resize(static_cast<size_t>(n_kv * n));
  for (int h = 0; h < n_kv; ++h)
    for (int64_t j = 0; j < n; ++j) l.positions[h * n + j] = static_cast<int32_t>(j);
  return l;
}

// ---- helpers for the fast path ----

struct FastRun {
  KeepLists keep;
  std::vector<float> stored_keys;  // keys as the cache holds them (after dtype rounding), [h][n][d]
};

FastRun fast_select(const RandomLayer& l, const CompressionConfig& c, DType storage, int threads) {
  LayerCache cache(l.n_kv, l.d, storage, l.n);
  cache.append_head_major(l.keys.data(), l.values.data(), l.positions.data(), l.n);
  ThreadPool pool(threads);
  FastRun r;
  r.keep = Compressor(c).select(snapshot_of(cache, l.queries.data(), l.n_kv * l.group, l.m), pool);
  r.stored_keys.resize(l.keys.size());
  for (int h = 0; h < l.n_kv; ++h)
    kv_rows_to_f32(storage, cache.key_data(h), l.n, l.d, &r.stored_keys[h * l.n * l.d]);
  return r;
}

CompressionConfig random_config(std::mt19937& rng, int64_t n) {
  static const Method methods[] = {Method::RKV, Method::RKV, Method::RKV, Method::SnapKV, Method::H2O, Method::StreamingLLM};
  static const RetainDirection dirs[] = {RetainDirection::Last, RetainDirection::First, RetainDirection::LastPercent,
                                         RetainDirection::FirstPercent};
  CompressionConfig c = default_config(methods[rng() % 6]);
  c.window_size = 1 + static_cast<int64_t>(rng() % 8);
  c.budget = c.window_size + 2 + static_cast<int64_t>(rng() % static_cast<uint32_t>(std::max<int64_t>(1, n - c.window_size)));
  c.kernel_size = 1 + 2 * static_cast<int>(rng() % 4);
  c.mix_lambda = (rng() % 10) / 9.0;
  c.retain_ratio = 0.05 + (rng() % 10) / 10.0;
  c.retain_direction = dirs[rng() % 4];
  c.gqa_pooling = rng() % 3 == 0 ? GqaPooling::Mean : GqaPooling::Max;
  c.first_tokens = std::min<int64_t>(static_cast<int64_t>(rng() % 6), c.budget - c.effective_window());
  c.keep_order = rng() % 3 == 0 ? KeepOrder::Position : KeepOrder::TopK;
  return c;
}

TEST(CompressionReference, FastPathAgreesWithPlainSpecOnRandomLayers) {
  std::mt19937 rng(2024);
  int compared = 0, ambiguous = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const int n_kv = 1 + static_cast<int>(rng() % 3), group = 1 + static_cast<int>(rng() % 4);
    const int d = (rng() % 2) ? 16 : 8 + static_cast<int>(rng() % 40);
    const int64_t n = 12 + static_cast<int64_t>(rng() % 100);
    RandomLayer l = random_layer(rng, n_kv, group, d, n, 8 + static_cast<int64_t>(rng() % 4), 0.3);
    CompressionConfig c = random_config(rng, n);
    // quantized caches are scored on their dequantized keys (the spec run on stored_keys)
    static const DType storages[] = {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0};
    DType storage = storages[trial % 5];
    if (storage == DType::Q4_0 && d % 2 != 0) storage = DType::Q8_0;  // q4_0 packs pairs
    SCOPED_TRACE("trial " + std::to_string(trial) + " method " + method_name(c.method) + " n " + std::to_string(n) +
                 " budget " + std::to_string(c.budget) + " window " + std::to_string(c.window_size) + " dir " +
                 retain_direction_name(c.retain_direction) + " sinks " + std::to_string(c.first_tokens));
    FastRun fast = fast_select(l, c, storage, 1 + trial % 3);
    for (int h = 0; h < n_kv; ++h) {
      Expected e = reference_select(l, fast.stored_keys, h, c);
      if (e.ambiguous) {
        ++ambiguous;
        ASSERT_EQ(fast.keep[h].size(), e.keep.size());
        continue;
      }
      ++compared;
      ASSERT_EQ(fast.keep[h], e.keep) << "head " << h;
    }
  }
  EXPECT_GT(compared, 300);  // the tie escape hatch must stay rare
  EXPECT_LT(ambiguous, compared / 10);
}

TEST(CompressionReference, RedundancyKernelsAgreeAcrossIsas) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 40; ++trial) {
    const int64_t n = 1 + static_cast<int64_t>(rng() % 300);
    const int d = 1 + static_cast<int>(rng() % 130);
    RandomLayer l = random_layer(rng, 1, 1, d, n, 1, 0.4);
    static const RetainDirection dirs[] = {RetainDirection::Last, RetainDirection::First, RetainDirection::LastPercent,
                                           RetainDirection::FirstPercent};
    RedundancyOptions o{dirs[trial % 4], 0.3, 0.5f};
    std::vector<std::vector<float>> results;
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
      if (isa > best_isa()) continue;
      std::vector<float> out(static_cast<size_t>(n));
      ThreadPool pool(1 + trial % 2);
      internal::key_redundancy_isa(l.keys.data(), n, d, o, out.data(), pool, isa);
      results.push_back(out);
    }
    CompressionConfig c;
    c.retain_direction = o.direction;
    c.retain_ratio = o.retain_ratio;
    std::vector<double> expected = reference_redundancy(l.keys, 0, n, d, c);
    for (const auto& r : results)
      for (int64_t b = 0; b < n; ++b) ASSERT_NEAR(r[b], expected[b], 1e-6 * (expected[b] + 1e-3)) << "n " << n << " b " << b;
    for (size_t i = 1; i < results.size(); ++i)
      for (int64_t b = 0; b < n; ++b) ASSERT_NEAR(results[i][b], results[0][b], 1e-6 * (results[0][b] + 1e-6));
  }
}

// ---- properties ----

TEST(CompressionProperties, BudgetWindowSinksAndIdempotence) {
  std::mt19937 rng(99);
  for (int trial = 0; trial < 120; ++trial) {
    const int64_t n = 40 + static_cast<int64_t>(rng() % 80);
    RandomLayer l = random_layer(rng, 2, 2, 16, n, 8, 0.3);
    CompressionConfig c = random_config(rng, n);
    c.budget = std::min<int64_t>(c.budget, n);
    if (c.budget <= c.window_size + c.first_tokens) continue;
    FastRun r = fast_select(l, c, DType::F32, 2);
    for (int h = 0; h < 2; ++h) {
      const auto& keep = r.keep[h];
      ASSERT_EQ(static_cast<int64_t>(keep.size()), c.budget);
      std::set<int32_t> kept(keep.begin(), keep.end());
      ASSERT_EQ(kept.size(), keep.size()) << "repeated slot";
      for (int64_t j = n - c.effective_window(); j < n; ++j) ASSERT_TRUE(kept.count(static_cast<int32_t>(j))) << "window slot " << j;
      for (int64_t j = 0; j < c.first_tokens; ++j) ASSERT_TRUE(kept.count(static_cast<int32_t>(j))) << "sink " << j;
      if (c.keep_order == KeepOrder::TopK && c.first_tokens == 0) {  // window last, in order
        for (int64_t i = 0; i < c.effective_window(); ++i)
          ASSERT_EQ(keep[keep.size() - c.effective_window() + i], n - c.effective_window() + i);
      }
      if (c.keep_order == KeepOrder::Position) {
        ASSERT_TRUE(std::is_sorted(keep.begin(), keep.end()));
      }
    }
  }
}

TEST(CompressionProperties, AtBudgetEverySlotIsKeptAndASecondPassKeepsTheSameSet) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 30; ++trial) {
    const int64_t n = 32 + static_cast<int64_t>(rng() % 40);
    RandomLayer l = random_layer(rng, 2, 3, 16, n, 8, 0.3);
    CompressionConfig c = default_config(Method::RKV);
    c.first_tokens = 0;
    c.budget = n;
    LayerCache cache(2, 16, DType::F32, n);
    cache.append_head_major(l.keys.data(), l.values.data(), l.positions.data(), n);
    ThreadPool pool(2);
    Compressor compressor(c);
    KeepLists first = compressor.select(snapshot_of(cache, l.queries.data(), 6, 8), pool);
    for (const auto& keep : first) ASSERT_EQ(std::set<int32_t>(keep.begin(), keep.end()).size(), static_cast<size_t>(n));
    cache.compact(first);
    KeepLists second = compressor.select(snapshot_of(cache, l.queries.data(), 6, 8), pool);
    for (int h = 0; h < 2; ++h) {
      std::set<int32_t> positions;
      for (int32_t slot : second[h]) positions.insert(cache.position_data(h)[slot]);
      ASSERT_EQ(positions.size(), static_cast<size_t>(n));
    }
  }
}

// Finite keys and queries whose dot products overflow float32 give NaN
// scores: every scoring method refuses them, naming the head, instead of
// keeping an arbitrary set.
TEST(CompressionProperties, NonFiniteScoresAreNamedErrors) {
  std::mt19937 rng(5);
  RandomLayer l = random_layer(rng, 2, 2, 16, 40, 8, 0.0);
  for (auto& k : l.keys) k *= 1e20f;
  for (auto& q : l.queries) q *= 1e20f;
  for (Method method : {Method::RKV, Method::SnapKV, Method::H2O}) {
    CompressionConfig c = default_config(method);
    c.budget = 24;
    try {
      fast_select(l, c, DType::F32, 2);
      ADD_FAILURE() << method_name(method) << " ranked non-finite scores";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("KV head 0"), std::string::npos) << e.what();
    }
  }
  {  // streamingllm keeps by position and computes no scores
    CompressionConfig c = default_config(Method::StreamingLLM);
    c.budget = 24;
    EXPECT_EQ(fast_select(l, c, DType::F32, 2).keep[0].size(), 24u);  // no scores, nothing to check
  }
}

TEST(CompressionProperties, BelowBudgetIsIdentity) {
  std::mt19937 rng(1);
  RandomLayer l = random_layer(rng, 2, 2, 16, 31, 8, 0.0);
  CompressionConfig c = default_config(Method::RKV);
  c.budget = 32;
  FastRun r = fast_select(l, c, DType::F32, 1);
  std::vector<int32_t> identity(31);
  std::iota(identity.begin(), identity.end(), 0);
  for (const auto& keep : r.keep) EXPECT_EQ(keep, identity);
}

TEST(CompressionConfigTest, RejectsInvalidCombinations) {
  auto invalid = [](auto mutate) {
    CompressionConfig c = default_config(Method::RKV);
    mutate(c);
    EXPECT_THROW(c.validate(), Error);
  };
  invalid([](CompressionConfig& c) { c.budget = 8; c.window_size = 8; });
  invalid([](CompressionConfig& c) { c.window_size = 0; });
  invalid([](CompressionConfig& c) { c.window_size = -3; });
  invalid([](CompressionConfig& c) { c.kernel_size = 4; });
  invalid([](CompressionConfig& c) { c.kernel_size = 0; });
  invalid([](CompressionConfig& c) { c.mix_lambda = 1.5; });
  invalid([](CompressionConfig& c) { c.mix_lambda = -0.1; });
  invalid([](CompressionConfig& c) { c.first_tokens = 1020; });
  invalid([](CompressionConfig& c) { c.retain_ratio = 0; });
  EXPECT_NO_THROW(default_config(Method::RKV).validate());
  EXPECT_THROW(parse_method("magic"), Error);
  EXPECT_THROW(parse_retain_direction("middle"), Error);
}

}  // namespace
}  // namespace rkv
