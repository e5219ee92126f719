#include "rkv/compression/compressor.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "rkv/core/error.h"
#include "rkv/kv/layer_cache.h"
#include "rkv/ops/kv_row.h"
#include "rkv/ops/vec.h"

namespace rkv {

namespace {

// Keys of one head as f32: [n][d]. Both scores read these, so a quantized
// cache is scored exactly as its dequantized keys would be (docs/rkv-method.md,
// "Quantized caches": why the redundancy pass does not use int8 products).
std::vector<float> keys_f32(const LayerSnapshot& layer, int h) {
  std::vector<float> out(static_cast<size_t>(layer.n) * layer.head_dim);
  kv_rows_to_f32(layer.key_type, layer.keys[h], layer.n, layer.head_dim, out.data());
  return out;
}

// Mean over `rows` queries of softmax over keys [0, n_scored) of the
// GQA-pooled logits (RKV-SPEC.md §1 steps 1-2). Queries are the last `rows`
// of the snapshot's window. keys: [n][d]. out: [n_scored].
void pooled_attention(const LayerSnapshot& layer, int h, const std::vector<float>& keys, int64_t rows, int64_t n_scored,
                      GqaPooling pooling, std::vector<float>& out) {
  const int d = layer.head_dim;
  const int group = layer.n_q_heads / layer.n_kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  // This head's window queries, packed: [rows][group][d]
  std::vector<float> q(static_cast<size_t>(rows * group * d));
  for (int64_t i = 0; i < rows; ++i)
    for (int g = 0; g < group; ++g) {
      const float* src = layer.queries + ((static_cast<int64_t>(h) * group + g) * layer.n_queries + layer.n_queries - rows + i) * d;
      std::copy(src, src + d, q.begin() + (i * group + g) * d);
    }
  std::vector<float> logits(static_cast<size_t>(rows * n_scored));  // [rows][n_scored], pooled over the group
  std::vector<float> dots(static_cast<size_t>(rows * group));       // [rows][group]
  for (int64_t j = 0; j < n_scored; ++j) {
    dot_rows(keys.data() + j * d, q.data(), rows * group, d, dots.data());
    for (int64_t i = 0; i < rows; ++i) {
      const float* g_dots = dots.data() + i * group;
      float pooled;
      if (pooling == GqaPooling::Max) {
        pooled = g_dots[0] * scale;  // (q . k) / sqrt(d) as torch computes it, then max
        for (int g = 1; g < group; ++g) pooled = std::max(pooled, g_dots[g] * scale);
      } else {
        float sum = 0;
        for (int g = 0; g < group; ++g) sum += g_dots[g] * scale;
        pooled = sum / static_cast<float>(group);
      }
      logits[i * n_scored + j] = pooled;
    }
  }
  std::vector<double> mean(static_cast<size_t>(n_scored), 0.0);
  for (int64_t i = 0; i < rows; ++i) {
    const float* row = logits.data() + i * n_scored;
    float peak = *std::max_element(row, row + n_scored);
    double total = 0;
    for (int64_t j = 0; j < n_scored; ++j) total += std::exp(static_cast<double>(row[j] - peak));
    for (int64_t j = 0; j < n_scored; ++j) mean[j] += std::exp(static_cast<double>(row[j] - peak)) / total;
  }
  out.resize(static_cast<size_t>(n_scored));
  for (int64_t j = 0; j < n_scored; ++j) out[j] = static_cast<float>(mean[j] / static_cast<double>(rows));
}

// 1-D max pool, stride 1, padding kernel/2 that never wins.
std::vector<float> max_pool(const std::vector<float>& x, int kernel) {
  const int64_t n = static_cast<int64_t>(x.size());
  const int64_t half = kernel / 2;
  std::vector<float> out(x.size());
  for (int64_t j = 0; j < n; ++j) {
    float m = x[j];
    for (int64_t t = std::max<int64_t>(0, j - half); t <= std::min(n - 1, j + half); ++t) m = std::max(m, x[t]);
    out[j] = m;
  }
  return out;
}

// Shared selection (see compressor.h).
std::vector<int32_t> select_head(const std::vector<float>& score, int64_t n, int64_t window, int64_t budget,
                                 int64_t first_tokens, const int32_t* positions, KeepOrder order) {
  const int64_t n_scored = n - window;
  std::vector<int32_t> pinned, candidates;
  for (int64_t j = 0; j < n_scored; ++j)
    (positions[j] < first_tokens ? pinned : candidates).push_back(static_cast<int32_t>(j));
  const int64_t k = budget - window - static_cast<int64_t>(pinned.size());
  RKV_CHECK(k >= 0, "compression: ", pinned.size(), " sink tokens do not fit in budget ", budget, " - window ", window);
  auto better = [&](int32_t a, int32_t b) { return score[a] > score[b] || (score[a] == score[b] && a < b); };
  std::partial_sort(candidates.begin(), candidates.begin() + k, candidates.end(), better);
  std::vector<int32_t> keep = pinned;
  keep.insert(keep.end(), candidates.begin(), candidates.begin() + k);
  for (int64_t j = n_scored; j < n; ++j) keep.push_back(static_cast<int32_t>(j));
  if (order == KeepOrder::Position)
    std::stable_sort(keep.begin(), keep.end(), [&](int32_t a, int32_t b) { return positions[a] < positions[b]; });
  return keep;
}

}  // namespace

LayerSnapshot snapshot_of(const LayerCache& cache, const float* queries, int n_q_heads, int64_t n_queries) {
  LayerSnapshot s;
  s.n_kv_heads = cache.n_kv_heads();
  s.head_dim = cache.head_dim();
  s.n = cache.size();
  s.key_type = cache.storage();
  for (int h = 0; h < s.n_kv_heads; ++h) {
    s.keys.push_back(cache.key_data(h));
    s.positions.push_back(cache.position_data(h));
  }
  s.queries = queries;
  s.n_q_heads = n_q_heads;
  s.n_queries = n_queries;
  return s;
}

Compressor::Compressor(const CompressionConfig& config) : config_(config) { config_.validate(); }

void Compressor::check_snapshot(const LayerSnapshot& layer) const {
  RKV_CHECK(layer.n_kv_heads > 0 && layer.head_dim > 0, "compression: empty layer");
  RKV_CHECK(static_cast<int>(layer.keys.size()) == layer.n_kv_heads &&
                static_cast<int>(layer.positions.size()) == layer.n_kv_heads,
            "compression: snapshot has ", layer.keys.size(), " key heads for ", layer.n_kv_heads, " KV heads");
  int64_t need = config_.query_window();
  if (need == 0) return;
  RKV_CHECK(layer.queries != nullptr, "compression: ", method_name(config_.method), " needs the recent queries");
  RKV_CHECK(layer.n_q_heads > 0 && layer.n_q_heads % layer.n_kv_heads == 0, "compression: ", layer.n_q_heads,
            " query heads are not a multiple of ", layer.n_kv_heads, " KV heads");
  RKV_CHECK(layer.n_queries >= need, "compression: window ", need, " is larger than the ", layer.n_queries,
            " queries given");
}

namespace {

// Finite keys and queries can still give non-finite scores (dot products
// past float32's range): ranking them would keep an arbitrary set, so it is
// an error naming the head and slot.
void require_finite(const std::vector<float>& values, int head, const char* what) {
  for (size_t j = 0; j < values.size(); ++j)
    RKV_CHECK(std::isfinite(values[j]), "compression: KV head ", head, ": the ", what, " of slot ", j, " is ",
              std::isnan(values[j]) ? "NaN" : values[j] > 0 ? "+inf" : "-inf",
              " (keys or queries too large for float32 scores)");
}

}  // namespace

KeepLists Compressor::select(const LayerSnapshot& layer, ThreadPool& pool, LayerScores* scores) const {
  check_snapshot(layer);
  const CompressionConfig& c = config_;
  const int64_t n = layer.n;
  KeepLists keep(static_cast<size_t>(layer.n_kv_heads));
  if (c.method == Method::FullKV || n < c.budget) {
    for (auto& list : keep) {
      list.resize(static_cast<size_t>(n));
      std::iota(list.begin(), list.end(), 0);
    }
    return keep;
  }
  const int64_t window = c.effective_window();
  const int64_t n_scored = n - window;
  LayerScores local;
  LayerScores& out = scores ? *scores : local;
  out = LayerScores{};
  if (c.method == Method::StreamingLLM) {
    // The first first_tokens slots and the newest budget - first_tokens; no scores.
    for (int h = 0; h < layer.n_kv_heads; ++h) {
      std::vector<int32_t> list;
      for (int64_t j = 0; j < c.first_tokens; ++j) list.push_back(static_cast<int32_t>(j));
      for (int64_t j = n_scored; j < n; ++j) list.push_back(static_cast<int32_t>(j));
      if (c.keep_order == KeepOrder::Position)
        std::stable_sort(list.begin(), list.end(),
                         [&](int32_t a, int32_t b) { return layer.positions[h][a] < layer.positions[h][b]; });
      keep[h] = std::move(list);
    }
    return keep;
  }

  out.importance.resize(static_cast<size_t>(layer.n_kv_heads));
  out.final_score.resize(static_cast<size_t>(layer.n_kv_heads));
  if (c.method == Method::RKV) out.redundancy.resize(static_cast<size_t>(layer.n_kv_heads));
  std::vector<std::vector<float>> keys(static_cast<size_t>(layer.n_kv_heads));
  pool.parallel_for(layer.n_kv_heads, [&](int64_t h0, int64_t h1) {
    for (int64_t h = h0; h < h1; ++h) {
      keys[h] = keys_f32(layer, static_cast<int>(h));
      std::vector<float> attention;
      pooled_attention(layer, static_cast<int>(h), keys[h], c.query_window(), n_scored, c.gqa_pooling, attention);
      out.importance[h] = c.method == Method::H2O ? attention : max_pool(attention, c.kernel_size);
    }
  });
  RedundancyOptions redundancy{c.retain_direction, c.retain_ratio, 0.5f};
  const float lambda = static_cast<float>(c.mix_lambda), one_minus = static_cast<float>(1.0 - c.mix_lambda);
  for (int h = 0; h < layer.n_kv_heads; ++h) {
    auto& z = out.final_score[h];
    if (c.method == Method::RKV) {
      std::vector<float> r(static_cast<size_t>(n));
      key_redundancy(keys[h].data(), n, layer.head_dim, redundancy, r.data(), pool);
      r.resize(static_cast<size_t>(n_scored));
      z.resize(static_cast<size_t>(n_scored));
      for (int64_t j = 0; j < n_scored; ++j) z[j] = out.importance[h][j] * lambda - r[j] * one_minus;
      out.redundancy[h] = std::move(r);
    } else {
      z = out.importance[h];
    }
    require_finite(out.importance[h], h, "importance");
    if (c.method == Method::RKV) require_finite(out.redundancy[h], h, "redundancy");
    require_finite(z, h, "score");
    keep[h] = select_head(z, n, window, c.budget, c.first_tokens, layer.positions[h], c.keep_order);
  }
  return keep;
}

}  // namespace rkv
