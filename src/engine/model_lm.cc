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
  // Hooks per item: the model hands each sequence's queries to its windows.
  std::vector<ForwardHooks> hooks(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    ForwardItem* item = &batch[i];
    if (item->windows)
      hooks[i].on_queries = [item](int layer, const float* q, int64_t n, const int32_t*) { (*item->windows)[layer].push(q, n); };
  }
  // Long prompts are fed in chunks of prefill_chunk_ tokens (bounded scratch
  // memory); each round batches the next chunk of every unfinished item.
  std::vector<std::vector<int32_t>> positions(batch.size());
  for (int64_t start = 0;; start += prefill_chunk_) {
    std::vector<SequenceChunk> round;
    for (size_t i = 0; i < batch.size(); ++i) {
      ForwardItem& item = batch[i];
      const int64_t total = static_cast<int64_t>(item.tokens.size());
      if (start >= total) continue;
      const int64_t n = std::min(prefill_chunk_, total - start);
      positions[i].resize(static_cast<size_t>(n));
      for (int64_t t = 0; t < n; ++t) positions[i][t] = static_cast<int32_t>(item.first_position + start + t);
      const bool last = start + n == total;
      round.push_back({item.tokens.data() + start, positions[i].data(), n, item.caches, last ? item.logits : nullptr, false,
                       item.windows ? &hooks[i] : nullptr});
    }
    if (round.empty()) break;
    model_.forward_batch(round, pool_);
  }
}

}  // namespace rkv
