// model/convert: a Hugging Face folder (config.json, safetensors,
// generation_config.json, tokenizer files) as one GGUF file that rkv's GGUF
// loader — and llama.cpp's — reads back as the same model: what llama.cpp's
// convert_hf_to_gguf.py and llama-quantize do for their users, for the
// architectures rkv runs (Llama, Mistral, Qwen2, Qwen3).
//
// Metadata: general.architecture ("llama" for Llama and Mistral, as
// llama.cpp writes them; "qwen2", "qwen3"), {arch}.block_count,
// context_length, embedding_length, feed_forward_length,
// attention.head_count(_kv), attention.key_length / value_length (when
// head_dim is not hidden / heads), rope.dimension_count, rope.freq_base,
// attention.layer_norm_rms_epsilon, rope scaling (linear and yarn keys; the
// llama3 rule as the per-frequency divisors rope_freqs.weight, chosen so that
// the loader's f32 division gives the Hugging Face frequencies, exactly
// where an f32 divisor can),
// attention.sliding_window (one window for every layer),
// general.sampling.temp / top_p / top_k (generation_config.json), the
// vocabulary (tokenizer/gguf_export.h) and the stop ids beyond EOS as
// tokenizer.ggml.eot_token_id / eom_token_id. Qwen2 biases and Qwen3 q/k
// norms travel as tensors; a tied model has no output.weight.
//
// Tensors: llama.cpp names; the Q and K rows (and biases) of Llama-family
// models permuted for adjacent-pair RoPE (what the GGUF loader expects);
// 1-D tensors (norms, biases) in f32; matrices in the requested type, with
// llama-quantize's per-tensor rules for the block types: the output head
// (output.weight, or token_embd.weight when tied) in Q6_K unless the type is
// Q8_0 or `pure`, and a matrix whose rows are not whole blocks in Q8_0 (F16
// when not a multiple of 32). Every such choice is reported through `note`.
//
// What cannot be converted is an rkv::Error naming it: an unsupported
// architecture, a missing, unexpected or wrongly shaped tensor, a weight
// dtype other than f32 / f16 / bf16, RoPE scaling GGUF cannot express
// (dynamic; yarn with an explicit attention_factor), different sliding
// windows per layer, a tokenizer GGUF cannot express.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "rkv/core/dtype.h"
#include "rkv/core/thread_pool.h"
#include "rkv/model/config.h"

namespace rkv {

struct ConvertOptions {
  std::optional<DType> type;  // weight type of the matrices; empty: each as stored (f32 / f16 / bf16)
  bool pure = false;          // block types: every matrix in `type` where its rows allow
  bool with_vocab = true;     // false: no tokenizer.json needed, no vocabulary written
  std::function<void(const std::string&)> note;  // choices the user should hear about
};

struct ConvertedTensor {
  std::string name;            // GGUF name
  DType type = DType::F32;
  std::vector<int64_t> shape;  // row-major
};

struct ConvertSummary {
  std::string architecture;  // general.architecture
  std::vector<ConvertedTensor> tensors;
  size_t bytes = 0;           // of the GGUF file
  std::string vocab_model, vocab_pre;  // tokenizer.ggml.model / .pre ("" without a vocabulary)
  int64_t vocab_tokens = 0;
};

// Converts `folder` (or the folder of a config.json) into `output`, written
// atomically; `pool` quantizes in parallel.
ConvertSummary convert_hf_to_gguf(const std::string& folder, const std::string& output, const ConvertOptions& options,
                                  ThreadPool& pool);

// The type a GGUF matrix of `cols` columns gets when `requested` is asked
// for (see above); `why` (if given) says why it differs.
DType gguf_matrix_type(DType requested, int64_t cols, bool output_head, bool pure, std::string* why = nullptr);

// Row `row` of a Q or K projection in llama.cpp's layout comes from this row
// of the Hugging Face weight: within each head, pairs (i, i + head_dim/2)
// become adjacent rows (2i, 2i + 1).
int64_t rope_adjacent_source_row(int64_t row, int64_t head_dim);

// llama3 RoPE scaling as the divisors of rope_freqs.weight [head_dim / 2]:
// the GGUF model's inv_freq (no scaling) divided by them in f32 equals
// `c.inv_freq` bit for bit wherever an f32 divisor can give it (all but one
// of 64 frequencies of Llama-3.1-8B's; that one is 1 ulp off). Throws unless
// c.rope_scaling.type == "llama3".
std::vector<float> llama3_rope_freq_factors(const ModelConfig& c);

// llama.cpp's general.file_type for a conversion to `type`.
uint32_t gguf_file_type(DType type);

}  // namespace rkv
