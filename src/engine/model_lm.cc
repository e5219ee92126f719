#include "rkv/engine/model_lm.h"

#include <algorithm>

#include "rkv/core/error.h"

namespace rkv {

ModelLM::ModelLM(const Model& model, ThreadPool& pool, int64_t prefill_chunk)
    : model_(model), pool_(pool), prefill_chunk_(prefill_chunk) {
  RKV_CHECK(prefill_chunk > 0, "prefill chunk must be positive");
  const ModelConfig& c = model.config();
  dims_ = {static_cast<int>(c.n_layers), static_cast<int>(c.n_heads), static_cast<int>(c.n_kv_heads),
           static_cast<int>(c.head_dim), c.vocab_size, c.max_position_embeddings};
}

void ModelLM::forward(std::span<ForwardItem> batch) {
  // Sequences run one after another: the model's forward takes one sequence.
  for (ForwardItem& item : batch) {
    ForwardHooks hooks;
    if (item.windows)
      hooks.on_queries = [&item](int layer, const float* q, int64_t n, const int32_t*) { (*item.windows)[layer].push(q, n); };
    const int64_t total = static_cast<int64_t>(item.tokens.size());
    std::vector<int32_t> positions;
    for (int64_t start = 0; start < total; start += prefill_chunk_) {
      const int64_t n = std::min(prefill_chunk_, total - start);
      positions.resize(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) positions[i] = static_cast<int32_t>(item.first_position + start + i);
      const bool last = start + n == total;
      model_.forward(item.tokens.data() + start, positions.data(), n, *item.caches, last ? item.logits : nullptr, false,
                     pool_, item.windows ? &hooks : nullptr);
    }
  }
}

}  // namespace rkv
