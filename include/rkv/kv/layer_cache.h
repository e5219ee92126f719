// kv/layer_cache: the KV store of one sequence x one layer.
//
// For each KV head a contiguous [capacity] block of K rows and of V rows plus
// the original token position of every slot (int32). A row is one token's
// head_dim values in the storage type: f32, f16, bf16, or q8_0 / q4_0 codes
// with their scales (ops/kv_row.h), quantized once when appended. Keys are
// stored after RoPE. The store never decides what to evict: it
// appends, exposes read views, and `compact(keep)` gathers K, V and positions
// per head in the order the keep lists give (compression/ decides them),
// moving rows as they are stored (quantized rows are never requantized).
// Capacity is fixed at construction unless growth is allowed (FullKV grows in
// blocks of `grow_block` slots); `bytes()` is the exact allocated size.
#pragma once

#include <cstdint>
#include <vector>

#include "rkv/core/buffer.h"
#include "rkv/core/tensor.h"

namespace rkv {

class LayerCache {
 public:
  // grow_block > 0: appends beyond capacity reallocate to the next multiple
  // of grow_block; 0: appending beyond capacity is an error.
  LayerCache(int n_kv_heads, int head_dim, DType storage, int64_t capacity, int64_t grow_block = 0);

  int n_kv_heads() const { return n_kv_heads_; }
  int head_dim() const { return head_dim_; }
  DType storage() const { return storage_; }
  size_t row_bytes() const { return row_bytes_; }  // bytes of one K (or V) row, scales included
  int64_t size() const { return size_; }          // slots in use (same for every head)
  int64_t capacity() const { return capacity_; }
  size_t bytes() const;                           // K + V + positions allocated
  size_t kv_bytes() const;                        // K + V allocated (what "KV memory" means)

  // Appends n tokens. keys/values: [n][n_kv_heads][head_dim] f32 (the layout
  // a QKV projection produces); positions: [n].
  void append(const float* keys, const float* values, const int32_t* positions, int64_t n);
  // Appends n tokens given head-major, as a dump of another engine's cache
  // holds them. keys/values: [n_kv_heads][n][head_dim] f32; positions:
  // [n_kv_heads][n] (heads may disagree after compression).
  void append_head_major(const float* keys, const float* values, const int32_t* positions, int64_t n);

  // Views of head h: keys/values [size][head_dim] in the storage type (q8_0 /
  // q4_0: the raw rows, u8 [size][row_bytes]), positions [size] int32.
  TensorView keys(int head) const;
  TensorView values(int head) const;
  TensorView positions(int head) const;
  // Raw pointers to slot 0 of head h (rows are row_bytes() apart; kv_rows_to_f32 reads them).
  const void* key_data(int head) const;
  const void* value_data(int head) const;
  const int32_t* position_data(int head) const;

  // keep[h] lists the slots of head h to keep, in the order they will be
  // stored; every list must have the same length <= size(), with slots in
  // range and no repeats (checked). Afterwards size() == keep[h].size().
  void compact(const std::vector<std::vector<int32_t>>& keep);

  void clear() { size_ = 0; }
  // Reallocates to exactly `capacity` slots (>= size()), keeping the contents:
  // a sequence's cache shrinks to budget + buffer after compressing a long prompt.
  void set_capacity(int64_t capacity);

 private:
  void grow_to(int64_t needed);
  void grow_to_exact(int64_t new_capacity);
  void reserve_for_append(int64_t n);
  size_t head_stride_bytes() const;  // bytes between consecutive heads' blocks
  TensorView rows_view(const void* rows) const;

  int n_kv_heads_, head_dim_;
  DType storage_;
  size_t row_bytes_;
  int64_t capacity_, grow_block_, size_ = 0;
  AlignedBuffer keys_;       // [n_kv_heads][capacity][row_bytes] rows of the storage type
  AlignedBuffer values_;     // [n_kv_heads][capacity][row_bytes] rows of the storage type
  AlignedBuffer positions_;  // [n_kv_heads][capacity] int32
};

}  // namespace rkv
