// engine/model_lm: a loaded model/Model seen through the engine's CausalLM
// seam. Prompts are fed in chunks of `prefill_chunk` tokens (bounded scratch
// memory); each layer's post-RoPE queries go to the sequence's query window.
#pragma once

#include "rkv/engine/causal_lm.h"
#include "rkv/model/model.h"

namespace rkv {

class ModelLM : public CausalLM {
 public:
  ModelLM(const Model& model, ThreadPool& pool, int64_t prefill_chunk = 512);
  const ModelDims& dims() const override { return dims_; }
  void forward(std::span<ForwardItem> batch) override;
  const Model& model() const { return model_; }

 private:
  const Model& model_;
  ThreadPool& pool_;
  int64_t prefill_chunk_;
  ModelDims dims_;
};

}  // namespace rkv
