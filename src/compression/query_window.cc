#include "rkv/compression/query_window.h"

#include <algorithm>
#include <cstring>

#include "rkv/core/error.h"

namespace rkv {

QueryWindow::QueryWindow(int n_q_heads, int head_dim, int64_t window)
    : n_q_heads_(n_q_heads), head_dim_(head_dim), window_(window) {
  RKV_CHECK(n_q_heads > 0 && head_dim > 0 && window >= 0, "query window: bad shape");
  data_.reserve(static_cast<size_t>(n_q_heads) * window * head_dim);
  scratch_.reserve(data_.capacity());
}

void QueryWindow::push(const float* queries, int64_t n_tokens) {
  if (window_ == 0 || n_tokens <= 0) return;
  const int64_t take = std::min(n_tokens, window_);          // newest tokens that survive
  const int64_t keep_old = std::min(size_, window_ - take);  // old rows that survive
  const int64_t new_size = keep_old + take;
  const size_t row = static_cast<size_t>(head_dim_) * sizeof(float);
  scratch_.resize(static_cast<size_t>(n_q_heads_) * new_size * head_dim_);
  for (int h = 0; h < n_q_heads_; ++h) {
    const float* old_head = data_.data() + static_cast<size_t>(h) * size_ * head_dim_;  // [size_][d]
    float* head = scratch_.data() + static_cast<size_t>(h) * new_size * head_dim_;     // [new_size][d]
    std::memcpy(head, old_head + (size_ - keep_old) * head_dim_, static_cast<size_t>(keep_old) * row);
    for (int64_t t = 0; t < take; ++t) {
      const float* src = queries + ((n_tokens - take + t) * n_q_heads_ + h) * head_dim_;
      std::memcpy(head + (keep_old + t) * head_dim_, src, row);
    }
  }
  std::swap(data_, scratch_);
  size_ = new_size;
}

}  // namespace rkv
