// model/tensor_names: where each weight of the decoder lives — its Hugging
// Face name, its GGUF (llama.cpp) name and its shape for a configuration —
// and the safetensors of a Hugging Face folder. Shared by the loader
// (model.cc) and the GGUF converter (convert.cc).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "rkv/formats/safetensors.h"
#include "rkv/model/config.h"

namespace rkv::model_internal {

// The name of weight `role` ("embed", "wq", "attn_norm", ...) of `layer`.
std::string tensor_name(const char* role, int layer, bool gguf);

struct WeightSpec {
  std::string role;  // as tensor_name() takes it
  int layer = -1;    // -1: not per layer
  std::string hf, gguf;
  std::vector<int64_t> shape;  // row-major: [rows][cols] or [n]
};
// Every weight `c` implies, in file order; the output head only when
// `with_output` (tied models may omit it).
std::vector<WeightSpec> weight_specs(const ModelConfig& c, bool with_output);

std::string shape_str(const std::vector<int64_t>& s);

// model.safetensors, or the shards model.safetensors.index.json names.
struct HfWeights {
  std::vector<std::unique_ptr<SafetensorsFile>> files;
  std::map<std::string, size_t> where;  // tensor -> index in files
  bool has(const std::string& name) const { return where.count(name) > 0; }
  TensorView get(const std::string& name) const;  // rkv::Error naming a missing tensor
  std::string folder;
};
HfWeights open_hf_weights(const std::string& folder);

}  // namespace rkv::model_internal
