// compression/compressor: one compression step of one layer (RKV-SPEC.md §1,
// §3) — scoring plus the shared selection — returning keep lists for
// kv/LayerCache::compact. It never mutates the cache.
//
// Selection: per KV head, the newest `window` slots are always kept (in
// order, at the end); slots whose original position is < first_tokens are
// pinned; the top (budget - window - pinned) of the rest by score are kept in
// descending-score order. Ties are broken towards the lower slot index (the
// reference's torch.topk leaves this unspecified). With keep_order=position
// every kept slot is re-sorted by original position. When n < budget nothing
// is evicted and the keep list is the identity (the reference's `<`).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "rkv/compression/config.h"
#include "rkv/core/dtype.h"
#include "rkv/core/thread_pool.h"

namespace rkv {

class LayerCache;

// Read-only inputs of one layer of one sequence.
struct LayerSnapshot {
  int n_kv_heads = 0;
  int head_dim = 0;
  int64_t n = 0;                          // slots per head
  DType key_type = DType::F32;            // a KV type (ops/kv_row.h)
  std::vector<const void*> keys;          // per head: [n] rows of key_type, RoPE applied
  std::vector<const int32_t*> positions;  // per head: [n] original positions
  const float* queries = nullptr;         // [n_q_heads][n_queries][head_dim] f32, newest last
  int n_q_heads = 0;
  int64_t n_queries = 0;
};

LayerSnapshot snapshot_of(const LayerCache& cache, const float* queries, int n_q_heads, int64_t n_queries);

using KeepLists = std::vector<std::vector<int32_t>>;  // [n_kv_heads][kept]

// Per-head score arrays over the scored slots [0, n - window).
struct LayerScores {
  std::vector<std::vector<float>> importance;  // pooled attention (rkv, snapkv, h2o)
  std::vector<std::vector<float>> redundancy;  // rkv only
  std::vector<std::vector<float>> final_score; // what the top-k ranks
};

class Compressor {
 public:
  explicit Compressor(const CompressionConfig& config);  // validates
  const CompressionConfig& config() const { return config_; }

  // Keep lists for the snapshot (identity when n < budget or method fullkv).
  // `scores`, when given, receives the per-head arrays. A non-finite score
  // (keys or queries whose products overflow float32) is rkv::Error naming
  // the KV head and slot.
  KeepLists select(const LayerSnapshot& layer, ThreadPool& pool, LayerScores* scores = nullptr) const;

 private:
  void check_snapshot(const LayerSnapshot& layer) const;
  CompressionConfig config_;
};

}  // namespace rkv
