// model/model: a loaded decoder-only transformer and its CPU forward pass.
//
// Model::load takes what the user has: a Hugging Face folder (config.json,
// model.safetensors or a sharded index, optional generation_config.json) or
// a .gguf file. Weight matrices are copied into huge-page memory when they
// fit (else used in place from the mapped files, RKV_MMAP), packed on the
// way for this machine's kernels where it has a packed layout (ops/matmul.h:
// AVX-512 VNNI block types, AMX bf16) -- only the packed copy is kept, and
// the embedding table stays as it is; 1-D tensors (norms, biases) are
// copied to f32. The forward runs a batch of tokens of one sequence:
// embeddings -> per layer [RMSNorm, Q/K/V projections (+bias), q/k RMSNorm
// (qwen3), RoPE, append K/V to that layer's LayerCache (keys post-RoPE),
// GQA attention over the cache, output projection, residual, RMSNorm,
// SwiGLU MLP, residual] -> final RMSNorm -> logits. The model never decides
// what the cache keeps: an observer sees every layer's post-RoPE queries
// (what compression needs), and compression acts on the caches between calls.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "rkv/core/thread_pool.h"
#include "rkv/kv/layer_cache.h"
#include "rkv/model/config.h"
#include "rkv/ops/matmul.h"

namespace rkv {

// Per-layer weights. Matrices are [out_features][in_features].
struct LayerWeights {
  WeightMatrix wq, wk, wv, wo;        // [n_heads*hd][hidden], [n_kv*hd][hidden] x2, [hidden][n_heads*hd]
  WeightMatrix w_gate, w_up, w_down;  // [inter][hidden] x2, [hidden][inter]
  std::vector<float> attn_norm, ffn_norm;  // [hidden]
  std::vector<float> bq, bk, bv;           // [n_heads*hd], [n_kv*hd] x2 (qkv_bias)
  std::vector<float> q_norm, k_norm;       // [head_dim] (qk_norm)
};

// A named tensor as a weight source provides it; shape is row-major.
struct TensorRef {
  const void* data = nullptr;
  DType type = DType::F32;
  std::vector<int64_t> shape;
};

struct ForwardHooks {
  // Post-RoPE queries of layer `layer` for the n tokens of this call:
  // q [n][n_heads][head_dim], positions [n].
  std::function<void(int layer, const float* q, int64_t n, const int32_t* positions)> on_queries;
  // Input of layer `layer` (layer == n_layers: after the final norm): [n][hidden].
  std::function<void(int layer, const float* h, int64_t n)> on_hidden;
};

// One sequence's share of a batched forward.
struct SequenceChunk {
  const int32_t* tokens = nullptr;      // [n]
  const int32_t* positions = nullptr;   // [n]
  int64_t n = 0;
  std::vector<LayerCache>* caches = nullptr;  // one per layer: K/V of the n tokens are appended
  float* logits = nullptr;              // [vocab] (last token) or [n][vocab] (all_logits); nullptr: none
  bool all_logits = false;
  const ForwardHooks* hooks = nullptr;
};

class Model {
 public:
  // A folder, a config.json inside one, or a .gguf file; throws rkv::Error.
  static std::unique_ptr<Model> load(const std::string& path);
  ~Model();

  const ModelConfig& config() const { return config_; }
  const std::string& source() const { return source_; }
  const std::string& format() const { return format_; }  // "safetensors" | "gguf"
  int64_t parameter_count() const;
  // "bf16 x 197, f32 x 57" style summary of the weight types.
  std::string weight_types() const;
  int64_t weight_bytes() const;

  // One LayerCache per layer for a sequence.
  std::vector<LayerCache> make_caches(int64_t capacity, DType storage = DType::F32, int64_t grow_block = 256) const;

  // Runs n tokens at `positions` through the model, appending their K/V to
  // `caches` (one per layer). logits: [n][vocab] when all_logits, else
  // [1][vocab] for the last token; nullptr skips the output head.
  void forward(const int32_t* tokens, const int32_t* positions, int64_t n, std::vector<LayerCache>& caches,
               float* logits, bool all_logits, ThreadPool& pool, const ForwardHooks* hooks = nullptr) const;

  // Several sequences at once: the projections and MLP see all their tokens
  // in one pass over the weights (what makes batched decoding pay); cache
  // appends, attention and hooks stay per sequence.
  void forward_batch(std::span<const SequenceChunk> chunks, ThreadPool& pool) const;

  // Whether the output head is the embedding table (tie_word_embeddings).
  bool tied_output() const { return tied_output_; }

  // Test access.
  const LayerWeights& layer(int i) const { return layers_.at(static_cast<size_t>(i)); }
  const WeightMatrix& embedding() const { return embed_; }
  const WeightMatrix& output() const { return output_; }
  const std::vector<float>& final_norm() const { return final_norm_; }
  const std::vector<float>& rope_freq_factors() const { return rope_freq_factors_; }

  struct Storage;  // the mapped files

 private:
  Model() = default;
  void load_weights(const std::function<bool(const std::string&)>& has,
                    const std::function<TensorRef(const std::string&)>& get, bool gguf_names);

  ModelConfig config_;
  std::string source_, format_;
  std::unique_ptr<Storage> storage_;
  WeightMatrix embed_, output_;   // [vocab][hidden]
  bool tied_output_ = false;
  std::vector<float> final_norm_;  // [hidden]
  std::vector<float> rope_freq_factors_;  // [head_dim/2] (GGUF rope_freqs.weight) or empty
  std::vector<LayerWeights> layers_;
};


}  // namespace rkv
