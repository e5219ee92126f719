#include "model/tensor_names.h"

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "rkv/core/buffer.h"
#include "rkv/core/error.h"
#include "rkv/core/json.h"

namespace rkv::model_internal {

namespace fs = std::filesystem;

namespace {

// role -> (Hugging Face name, GGUF name); {} = layer index.
struct NameRow {
  const char* role;
  const char* hf;
  const char* gguf;
};
constexpr NameRow kNames[] = {
    {"embed", "model.embed_tokens.weight", "token_embd.weight"},
    {"final_norm", "model.norm.weight", "output_norm.weight"},
    {"output", "lm_head.weight", "output.weight"},
    {"attn_norm", "model.layers.{}.input_layernorm.weight", "blk.{}.attn_norm.weight"},
    {"ffn_norm", "model.layers.{}.post_attention_layernorm.weight", "blk.{}.ffn_norm.weight"},
    {"wq", "model.layers.{}.self_attn.q_proj.weight", "blk.{}.attn_q.weight"},
    {"wk", "model.layers.{}.self_attn.k_proj.weight", "blk.{}.attn_k.weight"},
    {"wv", "model.layers.{}.self_attn.v_proj.weight", "blk.{}.attn_v.weight"},
    {"wo", "model.layers.{}.self_attn.o_proj.weight", "blk.{}.attn_output.weight"},
    {"bq", "model.layers.{}.self_attn.q_proj.bias", "blk.{}.attn_q.bias"},
    {"bk", "model.layers.{}.self_attn.k_proj.bias", "blk.{}.attn_k.bias"},
    {"bv", "model.layers.{}.self_attn.v_proj.bias", "blk.{}.attn_v.bias"},
    {"q_norm", "model.layers.{}.self_attn.q_norm.weight", "blk.{}.attn_q_norm.weight"},
    {"k_norm", "model.layers.{}.self_attn.k_norm.weight", "blk.{}.attn_k_norm.weight"},
    {"w_gate", "model.layers.{}.mlp.gate_proj.weight", "blk.{}.ffn_gate.weight"},
    {"w_up", "model.layers.{}.mlp.up_proj.weight", "blk.{}.ffn_up.weight"},
    {"w_down", "model.layers.{}.mlp.down_proj.weight", "blk.{}.ffn_down.weight"},
};

}  // namespace

std::string tensor_name(const char* role, int layer, bool gguf) {
  for (const auto& r : kNames)
    if (std::strcmp(r.role, role) == 0) {
      std::string s = gguf ? r.gguf : r.hf;
      auto p = s.find("{}");
      if (p != std::string::npos) s.replace(p, 2, std::to_string(layer));
      return s;
    }
  fail("internal: unknown tensor role ", role);
}

std::vector<WeightSpec> weight_specs(const ModelConfig& c, bool with_output) {
  const int64_t H = c.hidden, hd = c.head_dim, q_dim = c.n_heads * hd, kv_dim = c.n_kv_heads * hd, I = c.intermediate;
  std::vector<WeightSpec> out;
  auto add = [&](const char* role, int layer, std::vector<int64_t> shape) {
    out.push_back({role, layer, tensor_name(role, layer, false), tensor_name(role, layer, true), std::move(shape)});
  };
  add("embed", -1, {c.vocab_size, H});
  add("final_norm", -1, {H});
  if (with_output) add("output", -1, {c.vocab_size, H});
  for (int l = 0; l < c.n_layers; ++l) {
    add("attn_norm", l, {H});
    add("ffn_norm", l, {H});
    add("wq", l, {q_dim, H});
    add("wk", l, {kv_dim, H});
    add("wv", l, {kv_dim, H});
    add("wo", l, {H, q_dim});
    if (c.qkv_bias) {
      add("bq", l, {q_dim});
      add("bk", l, {kv_dim});
      add("bv", l, {kv_dim});
    }
    if (c.qk_norm) {
      add("q_norm", l, {hd});
      add("k_norm", l, {hd});
    }
    add("w_gate", l, {I, H});
    add("w_up", l, {I, H});
    add("w_down", l, {H, I});
  }
  return out;
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::ostringstream o;
  o << "[";
  for (size_t i = 0; i < s.size(); ++i) o << (i ? ", " : "") << s[i];
  o << "]";
  return o.str();
}

TensorView HfWeights::get(const std::string& name) const {
  auto it = where.find(name);
  RKV_CHECK(it != where.end(), folder, ": missing tensor '", name, "'");
  return files[it->second]->get(name);
}

HfWeights open_hf_weights(const std::string& folder) {
  HfWeights st;
  st.folder = folder;
  const fs::path path(folder);
  if (fs::exists(path / "model.safetensors")) {
    st.files.push_back(std::make_unique<SafetensorsFile>((path / "model.safetensors").string()));
  } else {
    const fs::path index = path / "model.safetensors.index.json";
    RKV_CHECK(fs::exists(index), folder, ": neither model.safetensors nor model.safetensors.index.json in the folder");
    const std::string text = read_text_file(index.string());
    check_json_depth(text, index.string());
    auto j = nlohmann::json::parse(text, nullptr, false);
    RKV_CHECK(!j.is_discarded() && j.is_object() && j.contains("weight_map") && j["weight_map"].is_object(),
              index.string(), ": no 'weight_map' object");
    std::map<std::string, size_t> files;
    for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
      RKV_CHECK(it.value().is_string(), index.string(), ": weight_map entry '", it.key(), "' is not a file name");
      std::string file = it.value().get<std::string>();
      RKV_CHECK(file.find('/') == std::string::npos && file.find("..") == std::string::npos, index.string(),
                ": shard name '", file, "' is not a plain file name");
      if (!files.count(file)) {
        files[file] = st.files.size();
        st.files.push_back(std::make_unique<SafetensorsFile>((path / file).string()));
      }
    }
  }
  for (size_t i = 0; i < st.files.size(); ++i)
    for (const auto& n : st.files[i]->names()) st.where.emplace(n, i);
  return st;
}

}  // namespace rkv::model_internal
