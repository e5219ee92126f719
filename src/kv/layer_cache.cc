#include "rkv/kv/layer_cache.h"

#include <cstring>

#include "rkv/core/error.h"
#include "rkv/ops/kv_row.h"

namespace rkv {

LayerCache::LayerCache(int n_kv_heads, int head_dim, DType storage, int64_t capacity, int64_t grow_block)
    : n_kv_heads_(n_kv_heads), head_dim_(head_dim), storage_(storage), row_bytes_(0), capacity_(0), grow_block_(grow_block) {
  RKV_CHECK(n_kv_heads > 0 && head_dim > 0, "kv cache: heads (", n_kv_heads, ") and head_dim (", head_dim, ") must be positive");
  row_bytes_ = kv_row_bytes(storage, head_dim);  // checks the type
  RKV_CHECK(capacity >= 0 && grow_block >= 0, "kv cache: negative capacity");
  grow_to(capacity);
}

size_t LayerCache::bytes() const { return keys_.size() + values_.size() + positions_.size(); }
size_t LayerCache::kv_bytes() const { return keys_.size() + values_.size(); }

void LayerCache::set_capacity(int64_t capacity) {
  RKV_CHECK(capacity >= size_, "kv cache: capacity ", capacity, " below the ", size_, " slots in use");
  grow_to_exact(capacity);
}

size_t LayerCache::head_stride_bytes() const {
  return static_cast<size_t>(capacity_) * row_bytes_;
}

void LayerCache::grow_to(int64_t needed) {
  if (needed <= capacity_ && capacity_ > 0) return;
  int64_t new_capacity = needed;
  if (grow_block_ > 0) new_capacity = (needed + grow_block_ - 1) / grow_block_ * grow_block_;
  grow_to_exact(new_capacity);
}

void LayerCache::grow_to_exact(int64_t new_capacity) {
  const size_t row = row_bytes_;
  AlignedBuffer keys(static_cast<size_t>(n_kv_heads_) * static_cast<size_t>(new_capacity) * row);
  AlignedBuffer values(keys.size());
  AlignedBuffer positions(static_cast<size_t>(n_kv_heads_) * static_cast<size_t>(new_capacity) * sizeof(int32_t));
  size_t old_stride = head_stride_bytes();
  size_t new_stride = static_cast<size_t>(new_capacity) * row;
  for (int h = 0; h < n_kv_heads_ && size_ > 0; ++h) {
    std::memcpy(keys.as<char>() + h * new_stride, keys_.as<char>() + h * old_stride, static_cast<size_t>(size_) * row);
    std::memcpy(values.as<char>() + h * new_stride, values_.as<char>() + h * old_stride, static_cast<size_t>(size_) * row);
    std::memcpy(positions.as<int32_t>() + h * new_capacity, positions_.as<int32_t>() + h * capacity_,
                static_cast<size_t>(size_) * sizeof(int32_t));
  }
  keys_ = std::move(keys);
  values_ = std::move(values);
  positions_ = std::move(positions);
  capacity_ = new_capacity;
}

void LayerCache::append_head_major(const float* keys, const float* values, const int32_t* positions, int64_t n) {
  reserve_for_append(n);
  const size_t row = row_bytes_;
  for (int h = 0; h < n_kv_heads_; ++h) {
    size_t src = static_cast<size_t>(h) * static_cast<size_t>(n) * head_dim_;  // [h][0][0]
    char* k = keys_.as<char>() + h * head_stride_bytes() + static_cast<size_t>(size_) * row;
    char* v = values_.as<char>() + h * head_stride_bytes() + static_cast<size_t>(size_) * row;
    kv_rows_from_f32(keys + src, n, head_dim_, storage_, k);
    kv_rows_from_f32(values + src, n, head_dim_, storage_, v);
    std::memcpy(positions_.as<int32_t>() + h * capacity_ + size_, positions + static_cast<size_t>(h) * n,
                static_cast<size_t>(n) * sizeof(int32_t));
  }
  size_ += n;
}

void LayerCache::reserve_for_append(int64_t n) {
  RKV_CHECK(n >= 0, "kv cache: negative append");
  if (size_ + n <= capacity_) return;
  RKV_CHECK(grow_block_ > 0, "kv cache: appending ", n, " tokens to ", size_, " exceeds capacity ", capacity_);
  grow_to(size_ + n);
}

void LayerCache::append(const float* keys, const float* values, const int32_t* positions, int64_t n) {
  reserve_for_append(n);
  const size_t row = row_bytes_;
  for (int h = 0; h < n_kv_heads_; ++h) {
    char* k = keys_.as<char>() + h * head_stride_bytes() + static_cast<size_t>(size_) * row;
    char* v = values_.as<char>() + h * head_stride_bytes() + static_cast<size_t>(size_) * row;
    for (int64_t t = 0; t < n; ++t) {
      // source rows: [t][h][head_dim]
      size_t src = (static_cast<size_t>(t) * n_kv_heads_ + h) * head_dim_;
      kv_rows_from_f32(keys + src, 1, head_dim_, storage_, k + t * row);
      kv_rows_from_f32(values + src, 1, head_dim_, storage_, v + t * row);
    }
    std::memcpy(positions_.as<int32_t>() + h * capacity_ + size_, positions, static_cast<size_t>(n) * sizeof(int32_t));
  }
  size_ += n;
}

const void* LayerCache::key_data(int head) const { return keys_.as<char>() + head * head_stride_bytes(); }
const void* LayerCache::value_data(int head) const { return values_.as<char>() + head * head_stride_bytes(); }
const int32_t* LayerCache::position_data(int head) const { return positions_.as<int32_t>() + head * capacity_; }

TensorView LayerCache::rows_view(const void* rows) const {
  if (is_quantized(storage_)) return TensorView(const_cast<void*>(rows), DType::U8, {size_, static_cast<int64_t>(row_bytes_)});
  return TensorView(const_cast<void*>(rows), storage_, {size_, head_dim_});
}
TensorView LayerCache::keys(int head) const {
  RKV_CHECK(head >= 0 && head < n_kv_heads_, "kv cache: head ", head, " out of range");
  return rows_view(key_data(head));
}
TensorView LayerCache::values(int head) const {
  RKV_CHECK(head >= 0 && head < n_kv_heads_, "kv cache: head ", head, " out of range");
  return rows_view(value_data(head));
}
TensorView LayerCache::positions(int head) const {
  RKV_CHECK(head >= 0 && head < n_kv_heads_, "kv cache: head ", head, " out of range");
  return TensorView(const_cast<int32_t*>(position_data(head)), DType::I32, {size_});
}

void LayerCache::compact(const std::vector<std::vector<int32_t>>& keep) {
  RKV_CHECK(static_cast<int>(keep.size()) == n_kv_heads_, "kv compact: ", keep.size(), " keep lists for ", n_kv_heads_, " heads");
  const size_t count = keep.empty() ? 0 : keep[0].size();
  RKV_CHECK(static_cast<int64_t>(count) <= size_, "kv compact: keeping ", count, " of ", size_, " slots");
  const size_t row = row_bytes_;
  std::vector<char> seen(static_cast<size_t>(size_));
  AlignedBuffer scratch_k(count * row), scratch_v(count * row);
  std::vector<int32_t> scratch_pos(count);
  for (int h = 0; h < n_kv_heads_; ++h) {
    const auto& list = keep[h];
    RKV_CHECK(list.size() == count, "kv compact: head ", h, " keeps ", list.size(), " slots, head 0 keeps ", count);
    std::fill(seen.begin(), seen.end(), 0);
    char* k = keys_.as<char>() + h * head_stride_bytes();
    char* v = values_.as<char>() + h * head_stride_bytes();
    int32_t* pos = positions_.as<int32_t>() + h * capacity_;
    for (size_t i = 0; i < count; ++i) {
      int32_t slot = list[i];
      RKV_CHECK(slot >= 0 && slot < size_, "kv compact: head ", h, ": slot ", slot, " out of range [0, ", size_, ")");
      RKV_CHECK(!seen[static_cast<size_t>(slot)], "kv compact: head ", h, ": slot ", slot, " listed twice");
      seen[static_cast<size_t>(slot)] = 1;
      std::memcpy(scratch_k.as<char>() + i * row, k + static_cast<size_t>(slot) * row, row);
      std::memcpy(scratch_v.as<char>() + i * row, v + static_cast<size_t>(slot) * row, row);
      scratch_pos[i] = pos[slot];
    }
    if (count == 0) continue;
    std::memcpy(k, scratch_k.data(), count * row);
    std::memcpy(v, scratch_v.data(), count * row);
    std::memcpy(pos, scratch_pos.data(), count * sizeof(int32_t));
  }
  size_ = static_cast<int64_t>(count);
}

}  // namespace rkv
