// compression/query_window: the most recent `window` post-RoPE queries of one
// layer of one sequence — what the R-KV / SnapKV / H2O scorers look at. After
// a prefill it holds the prompt's last `window` queries; each decode step
// pushes the current query and drops the oldest (RKV-SPEC.md §2).
#pragma once

#include <cstdint>
#include <vector>

namespace rkv {

class QueryWindow {
 public:
  QueryWindow(int n_q_heads, int head_dim, int64_t window);

  // queries: [n_tokens][n_q_heads][head_dim], oldest first (a QKV
  // projection's layout). Keeps the newest `window` of everything pushed.
  void push(const float* queries, int64_t n_tokens);
  void clear() { size_ = 0; }

  int64_t size() const { return size_; }          // <= window
  int n_q_heads() const { return n_q_heads_; }
  // [n_q_heads][size()][head_dim], oldest first: the snapshot layout.
  const float* data() const { return data_.data(); }

 private:
  int n_q_heads_, head_dim_;
  int64_t window_, size_ = 0;
  std::vector<float> data_;     // [n_q_heads][size_][head_dim], packed
  std::vector<float> scratch_;  // the next data_ while pushing
};

}  // namespace rkv
