// model/config: the shape and flags of a decoder-only transformer, read from
// a Hugging Face config.json (+ generation_config.json) or GGUF metadata.
//
// One decoder forward serves every supported architecture; an architecture
// is a mapping onto this struct (and a tensor-name table, model/weights.h).
// Supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM,
// Qwen3ForCausalLM (GGUF: llama, qwen2, qwen3).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rkv/ops/rope.h"

namespace rkv {

class GgufFile;

struct RopeScaling {
  std::string type = "none";  // none | linear | dynamic | yarn | llama3
  double factor = 1.0;
  double low_freq_factor = 1.0, high_freq_factor = 4.0;  // llama3
  int64_t original_max_position = 0;                     // llama3 / yarn / dynamic
  double beta_fast = 32.0, beta_slow = 1.0;              // yarn
  double attention_factor = 0.0;                         // yarn: 0 = default 0.1 ln(factor) + 1
};

struct ModelConfig {
  std::string architecture;  // "llama", "mistral", "qwen2", "qwen3"
  int64_t vocab_size = 0, hidden = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0, intermediate = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  RopeStyle rope_style = RopeStyle::RotateHalf;
  bool tie_word_embeddings = false;
  int64_t max_position_embeddings = 0;
  bool qkv_bias = false;  // qwen2 (and llama with attention_bias)
  bool qk_norm = false;   // qwen3: per-head RMSNorm of q and k before RoPE
  std::vector<int64_t> sliding_window;  // per layer, 0 = full attention
  int64_t bos_id = -1;
  std::vector<int64_t> eos_ids;
  // generation_config.json defaults (0 / negative = not given)
  double default_temperature = -1, default_top_p = -1;
  int64_t default_top_k = -1;

  // Inverse RoPE frequencies [head_dim / 2] for a context of `seq_len`
  // tokens (only `dynamic` depends on it), and the cos/sin factor.
  std::vector<float> inv_freq(int64_t seq_len) const;
  float rope_mscale() const;
  // Bytes of K + V per token in a cache of `storage` element size.
  int64_t kv_bytes_per_token(size_t element_bytes) const { return 2 * n_layers * n_kv_heads * head_dim * static_cast<int64_t>(element_bytes); }
  void validate(const std::string& source) const;
};

// "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM".
std::string supported_architectures();

// Parses config.json text; `generation_json` may be empty. Throws rkv::Error
// naming `source` and the key for missing / malformed / unsupported values.
ModelConfig parse_hf_config(std::string_view config_json, std::string_view generation_json, const std::string& source);
// Reads the {arch}.* keys (and the embedding tensor for the vocabulary size),
// the stop ids (tokenizer.ggml.eos / eot / eom_token_id) and the sampling
// defaults (general.sampling.temp / top_p / top_k).
ModelConfig config_from_gguf(const GgufFile& file);

}  // namespace rkv
