// engine/causal_lm: what the engine needs from a model — the seam between
// engine/ and model/. A model runs new tokens of several sequences at once
// (one pass over the weights), appends their post-RoPE K/V to each
// sequence's per-layer caches, hands this step's post-RoPE queries to the
// sequence's per-layer query windows (for the compression scorers), and
// returns the logits of each sequence's last token. Models never name a
// compression policy.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "rkv/compression/query_window.h"
#include "rkv/kv/layer_cache.h"

namespace rkv {

struct ModelDims {
  int n_layers = 0, n_q_heads = 0, n_kv_heads = 0, head_dim = 0;
  int64_t vocab_size = 0;
  int64_t max_positions = 0;  // context length the model was configured for (0: unknown)
};

struct ForwardItem {
  std::span<const int32_t> tokens;     // new tokens of one sequence
  int64_t first_position = 0;          // RoPE position of tokens[0] (the sequence's token count)
  std::vector<LayerCache>* caches;     // [n_layers]: the new K/V are appended, attention reads all
  std::vector<QueryWindow>* windows;   // [n_layers] or nullptr: receives the new post-RoPE queries
  float* logits;                       // [vocab_size]: logits of the last new token
};

class CausalLM {
 public:
  virtual ~CausalLM() = default;
  virtual const ModelDims& dims() const = 0;
  virtual void forward(std::span<ForwardItem> batch) = 0;
};

}  // namespace rkv
