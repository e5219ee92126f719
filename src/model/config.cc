#include "rkv/model/config.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "rkv/core/error.h"
#include "rkv/core/json.h"
#include "rkv/formats/gguf.h"

namespace rkv {

namespace {

constexpr double kPi = 3.14159265358979323846;

struct ArchEntry {
  const char* hf_name;
  const char* name;
  bool qkv_bias, qk_norm;
};
constexpr ArchEntry kArchs[] = {
    {"LlamaForCausalLM", "llama", false, false},
    {"MistralForCausalLM", "mistral", false, false},
    {"Qwen2ForCausalLM", "qwen2", true, false},
    {"Qwen3ForCausalLM", "qwen3", false, true},
};

using json = nlohmann::json;

int64_t get_int(const json& j, const char* key, const std::string& src, int64_t fallback, bool required) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    RKV_CHECK(!required, src, ": missing '", key, "'");
    return fallback;
  }
  RKV_CHECK(it->is_number_integer() || (it->is_number_float() && std::floor(it->get<double>()) == it->get<double>()),
            src, ": '", key, "' must be an integer");
  return it->is_number_integer() ? it->get<int64_t>() : static_cast<int64_t>(it->get<double>());
}
double get_num(const json& j, const char* key, const std::string& src, double fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  RKV_CHECK(it->is_number(), src, ": '", key, "' must be a number");
  return it->get<double>();
}
bool get_bool(const json& j, const char* key, const std::string& src, bool fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  RKV_CHECK(it->is_boolean(), src, ": '", key, "' must be true or false");
  return it->get<bool>();
}
void add_ids(const json& j, const char* key, const std::string& src, std::vector<int64_t>& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  auto add = [&](const json& v) {
    RKV_CHECK(v.is_number_integer(), src, ": '", key, "' must be an integer or a list of integers");
    int64_t id = v.get<int64_t>();
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  };
  if (it->is_array())
    for (const auto& v : *it) add(v);
  else
    add(*it);
}

}  // namespace

std::string supported_architectures() {
  std::string s;
  for (const auto& a : kArchs) s += std::string(s.empty() ? "" : ", ") + a.hf_name;
  return s;
}

namespace {

// The counts read from a file, checked before anything is sized by them (a
// 1 KB config saying 10^9 layers must not allocate gigabytes first).
void check_counts(const ModelConfig& c, const std::string& src) {
  RKV_CHECK(c.hidden > 0 && c.hidden <= (1 << 20), src, ": hidden size ", c.hidden, " is not valid");
  RKV_CHECK(c.n_layers > 0 && c.n_layers <= 4096, src, ": layer count ", c.n_layers, " is not valid");
  RKV_CHECK(c.n_heads > 0 && c.n_heads <= 4096, src, ": attention head count ", c.n_heads, " is not valid");
  RKV_CHECK(c.n_kv_heads > 0 && c.n_kv_heads <= c.n_heads && c.n_heads % c.n_kv_heads == 0, src, ": KV head count ", c.n_kv_heads,
            " must divide the head count ", c.n_heads);
  RKV_CHECK(c.head_dim > 0 && c.head_dim % 2 == 0 && c.head_dim <= 4096, src, ": head_dim ", c.head_dim, " must be even and positive");
  RKV_CHECK(c.intermediate > 0 && c.intermediate <= (1 << 22), src, ": intermediate size ", c.intermediate, " is not valid");
  RKV_CHECK(c.vocab_size > 0 && c.vocab_size <= (1 << 24), src, ": vocabulary size ", c.vocab_size, " is not valid");
}

// generation_config.json beside a config.json, for messages.
std::string generation_source(const std::string& src) {
  const std::string name = "config.json";
  if (src.size() >= name.size() && src.compare(src.size() - name.size(), name.size(), name) == 0)
    return src.substr(0, src.size() - name.size()) + "generation_config.json";
  return src + " generation_config.json";
}

}  // namespace

void ModelConfig::validate(const std::string& src) const {
  check_counts(*this, src);
  RKV_CHECK(rms_norm_eps > 0 && rms_norm_eps < 1, src, ": rms_norm_eps ", rms_norm_eps, " is not valid");
  RKV_CHECK(rope_theta > 1, src, ": rope_theta ", rope_theta, " is not valid");
  RKV_CHECK(rope_scaling.factor > 0 && std::isfinite(rope_scaling.factor), src, ": rope_scaling factor ",
            rope_scaling.factor, " is not valid");
  RKV_CHECK(static_cast<int64_t>(sliding_window.size()) == n_layers, src, ": sliding window list has the wrong length");
}

std::vector<float> ModelConfig::inv_freq(int64_t seq_len) const {
  const int64_t dim = head_dim;
  const int64_t half = dim / 2;
  double base = rope_theta;
  const auto& rs = rope_scaling;
  if (rs.type == "dynamic") {
    int64_t orig = rs.original_max_position > 0 ? rs.original_max_position : max_position_embeddings;
    if (orig > 0 && seq_len > orig) {
      double s = rs.factor * static_cast<double>(seq_len) / static_cast<double>(orig) - (rs.factor - 1.0);
      base = base * std::pow(s, static_cast<double>(dim) / static_cast<double>(dim - 2));
    }
  }
  std::vector<float> inv(static_cast<size_t>(half));
  // f32 like torch: 1 / base ** (arange(0, dim, 2).float() / dim)
  for (int64_t i = 0; i < half; ++i) {
    float e = static_cast<float>(2 * i) / static_cast<float>(dim);
    inv[i] = static_cast<float>(1.0 / std::pow(base, static_cast<double>(e)));
  }
  if (rs.type == "linear") {
    for (auto& f : inv) f = static_cast<float>(f / rs.factor);
  } else if (rs.type == "llama3") {
    const double orig = static_cast<double>(rs.original_max_position);
    const double low_wavelen = orig / rs.low_freq_factor, high_wavelen = orig / rs.high_freq_factor;
    for (auto& f : inv) {
      const double wavelen = 2 * kPi / f;
      double out;
      if (wavelen < high_wavelen) {
        out = f;
      } else if (wavelen > low_wavelen) {
        out = f / rs.factor;
      } else {
        double smooth = (orig / wavelen - rs.low_freq_factor) / (rs.high_freq_factor - rs.low_freq_factor);
        out = (1 - smooth) * f / rs.factor + smooth * f;
      }
      f = static_cast<float>(out);
    }
  } else if (rs.type == "yarn") {
    const double orig = static_cast<double>(rs.original_max_position > 0 ? rs.original_max_position : max_position_embeddings);
    auto corr_dim = [&](double rot) { return dim * std::log(orig / (rot * 2 * kPi)) / (2 * std::log(base)); };
    double low = std::max(0.0, std::floor(corr_dim(rs.beta_fast)));
    double high = std::min(static_cast<double>(dim - 1), std::ceil(corr_dim(rs.beta_slow)));
    if (low == high) high += 0.001;
    for (int64_t i = 0; i < half; ++i) {
      double ramp = std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
      double extrap_factor = 1.0 - ramp;
      double extrap = inv[i], interp = inv[i] / rs.factor;
      inv[i] = static_cast<float>(interp * (1 - extrap_factor) + extrap * extrap_factor);
    }
  }
  return inv;
}

float ModelConfig::rope_mscale() const {
  if (rope_scaling.type != "yarn") return 1.0f;
  if (rope_scaling.attention_factor > 0) return static_cast<float>(rope_scaling.attention_factor);
  return rope_scaling.factor <= 1 ? 1.0f : static_cast<float>(0.1 * std::log(rope_scaling.factor) + 1.0);
}

ModelConfig parse_hf_config(std::string_view config_json, std::string_view generation_json, const std::string& src) {
  check_json_depth(config_json, src);
  json j = json::parse(config_json.begin(), config_json.end(), nullptr, false);
  RKV_CHECK(!j.is_discarded() && j.is_object(), src, ": not a JSON object");
  ModelConfig c;
  const ArchEntry* arch = nullptr;
  if (auto it = j.find("architectures"); it != j.end() && it->is_array()) {
    for (const auto& a : *it) {
      RKV_CHECK(a.is_string(), src, ": 'architectures' must list strings");
      for (const auto& e : kArchs)
        if (a.get<std::string>() == e.hf_name) arch = &e;
      RKV_CHECK(arch, src, ": unsupported architecture '", a.get<std::string>(), "' (supported: ", supported_architectures(), ")");
    }
  }
  if (!arch) {
    auto mt = j.find("model_type");
    RKV_CHECK(mt != j.end() && mt->is_string(), src, ": no 'architectures' or 'model_type' (supported: ",
              supported_architectures(), ")");
    for (const auto& e : kArchs)
      if (mt->get<std::string>() == e.name) arch = &e;
    RKV_CHECK(arch, src, ": unsupported model_type '", mt->get<std::string>(), "' (supported: ", supported_architectures(), ")");
  }
  c.architecture = arch->name;
  c.qk_norm = arch->qk_norm;
  c.qkv_bias = arch->qkv_bias || get_bool(j, "attention_bias", src, false);
  c.hidden = get_int(j, "hidden_size", src, 0, true);
  c.n_layers = get_int(j, "num_hidden_layers", src, 0, true);
  c.n_heads = get_int(j, "num_attention_heads", src, 0, true);
  c.n_kv_heads = get_int(j, "num_key_value_heads", src, c.n_heads, false);
  RKV_CHECK(c.n_heads > 0, src, ": num_attention_heads must be positive");
  c.head_dim = get_int(j, "head_dim", src, c.hidden / c.n_heads, false);
  c.intermediate = get_int(j, "intermediate_size", src, 0, true);
  c.vocab_size = get_int(j, "vocab_size", src, 0, true);
  c.rms_norm_eps = get_num(j, "rms_norm_eps", src, 1e-6);
  c.rope_theta = get_num(j, "rope_theta", src, 10000.0);
  c.tie_word_embeddings = get_bool(j, "tie_word_embeddings", src, false);
  c.max_position_embeddings = get_int(j, "max_position_embeddings", src, 0, false);
  if (auto act = j.find("hidden_act"); act != j.end() && !act->is_null()) {
    RKV_CHECK(act->is_string() && (act->get<std::string>() == "silu" || act->get<std::string>() == "swish"), src,
              ": hidden_act must be silu");
  }
  if (auto rs = j.find("rope_scaling"); rs != j.end() && !rs->is_null()) {
    RKV_CHECK(rs->is_object(), src, ": 'rope_scaling' must be an object");
    auto t = rs->find("rope_type");
    if (t == rs->end()) t = rs->find("type");
    RKV_CHECK(t != rs->end() && t->is_string(), src, ": rope_scaling has no 'rope_type'");
    std::string type = t->get<std::string>();
    RKV_CHECK(type == "linear" || type == "dynamic" || type == "yarn" || type == "llama3" || type == "default", src,
              ": rope_scaling type '", type, "' is not supported (linear, dynamic, yarn, llama3)");
    auto& r = c.rope_scaling;
    r.type = type == "default" ? "none" : type;
    r.factor = get_num(*rs, "factor", src, 1.0);
    r.low_freq_factor = get_num(*rs, "low_freq_factor", src, 1.0);
    r.high_freq_factor = get_num(*rs, "high_freq_factor", src, 4.0);
    r.original_max_position = get_int(*rs, "original_max_position_embeddings", src, c.max_position_embeddings, false);
    r.beta_fast = get_num(*rs, "beta_fast", src, 32.0);
    r.beta_slow = get_num(*rs, "beta_slow", src, 1.0);
    r.attention_factor = get_num(*rs, "attention_factor", src, 0.0);
    if (r.type == "llama3") {
      RKV_CHECK(r.original_max_position > 0, src, ": llama3 rope_scaling needs original_max_position_embeddings");
      RKV_CHECK(r.high_freq_factor > r.low_freq_factor, src, ": llama3 rope_scaling needs high_freq_factor > low_freq_factor");
    }
  }
  check_counts(c, src);
  c.sliding_window.assign(static_cast<size_t>(c.n_layers), 0);
  int64_t window = get_int(j, "sliding_window", src, 0, false);
  if (window > 0) {
    if (c.architecture == "mistral") {
      std::fill(c.sliding_window.begin(), c.sliding_window.end(), window);
    } else if (c.architecture == "qwen2" || c.architecture == "qwen3") {
      if (get_bool(j, "use_sliding_window", src, false)) {
        int64_t from = get_int(j, "max_window_layers", src, 0, false);
        for (int64_t l = std::max<int64_t>(from, 0); l < c.n_layers; ++l) c.sliding_window[l] = window;
      }
    }
  }
  c.bos_id = get_int(j, "bos_token_id", src, -1, false);
  add_ids(j, "eos_token_id", src, c.eos_ids);
  if (!generation_json.empty()) {
    const std::string gen_src = generation_source(src);
    check_json_depth(generation_json, gen_src);
    json g = json::parse(generation_json.begin(), generation_json.end(), nullptr, false);
    RKV_CHECK(!g.is_discarded() && g.is_object(), gen_src, ": not a JSON object");
    add_ids(g, "eos_token_id", gen_src, c.eos_ids);
    c.default_temperature = get_num(g, "temperature", gen_src, -1);
    c.default_top_p = get_num(g, "top_p", gen_src, -1);
    c.default_top_k = get_int(g, "top_k", gen_src, -1, false);
  }
  c.rope_style = RopeStyle::RotateHalf;
  c.validate(src);
  return c;
}

ModelConfig config_from_gguf(const GgufFile& f) {
  const std::string& src = f.path();
  const std::string arch = f.get("general.architecture").as_string();
  ModelConfig c;
  const ArchEntry* entry = nullptr;
  for (const auto& e : kArchs)
    if (arch == e.name) entry = &e;
  RKV_CHECK(entry, src, ": unsupported GGUF architecture '", arch, "' (supported: llama, mistral, qwen2, qwen3)");
  c.architecture = arch;
  auto key = [&](const char* k) { return arch + "." + k; };
  c.hidden = f.get(key("embedding_length")).as_int();
  c.n_layers = f.get(key("block_count")).as_int();
  c.n_heads = f.get(key("attention.head_count")).as_int();
  c.n_kv_heads = f.get_int(key("attention.head_count_kv"), c.n_heads);
  RKV_CHECK(c.n_heads > 0, src, ": ", key("attention.head_count"), " must be positive");
  c.head_dim = f.get_int(key("attention.key_length"), c.hidden / c.n_heads);
  c.intermediate = f.get(key("feed_forward_length")).as_int();
  c.rms_norm_eps = f.get_float(key("attention.layer_norm_rms_epsilon"), 1e-5);
  c.rope_theta = f.get_float(key("rope.freq_base"), 10000.0);
  c.max_position_embeddings = f.get_int(key("context_length"), 0);
  const auto& emb = f.tensor("token_embd.weight");
  RKV_CHECK(emb.ne.size() == 2, src, ": token_embd.weight must be 2-D");
  c.vocab_size = emb.ne[1];
  c.tie_word_embeddings = !f.has_tensor("output.weight");
  c.qkv_bias = f.has_tensor("blk.0.attn_q.bias");
  c.qk_norm = f.has_tensor("blk.0.attn_q_norm.weight");
  // llama.cpp's converter permutes Q/K rows of llama-family weights for adjacent-pair RoPE;
  // qwen2/qwen3 keep the Hugging Face (rotate-half, "NEOX") layout.
  c.rope_style = (arch == "llama" || arch == "mistral") ? RopeStyle::Adjacent : RopeStyle::RotateHalf;
  std::string scaling = f.get_string(key("rope.scaling.type"), "none");
  if (scaling != "none") {
    RKV_CHECK(scaling == "linear" || scaling == "yarn", src, ": GGUF rope scaling '", scaling, "' is not supported");
    c.rope_scaling.type = scaling;
    c.rope_scaling.factor = f.get_float(key("rope.scaling.factor"), 1.0);
    c.rope_scaling.original_max_position = f.get_int(key("rope.scaling.original_context_length"), c.max_position_embeddings);
    c.rope_scaling.beta_fast = f.get_float(key("rope.scaling.yarn_beta_fast"), c.rope_scaling.beta_fast);
    c.rope_scaling.beta_slow = f.get_float(key("rope.scaling.yarn_beta_slow"), c.rope_scaling.beta_slow);
  }
  check_counts(c, src);
  c.sliding_window.assign(static_cast<size_t>(c.n_layers), 0);
  if (int64_t w = f.get_int(key("attention.sliding_window"), 0); w > 0)
    std::fill(c.sliding_window.begin(), c.sliding_window.end(), w);
  c.bos_id = f.get_int("tokenizer.ggml.bos_token_id", -1);
  // End of turn / message ids stop generation too (llama.cpp's EOG set).
  for (const char* k : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"})
    if (int64_t e = f.get_int(k, -1); e >= 0 && e < c.vocab_size && std::find(c.eos_ids.begin(), c.eos_ids.end(), e) == c.eos_ids.end())
      c.eos_ids.push_back(e);
  // Sampling defaults the model's author recommends (generation_config.json).
  c.default_temperature = f.get_float("general.sampling.temp", -1);
  c.default_top_p = f.get_float("general.sampling.top_p", -1);
  c.default_top_k = f.get_int("general.sampling.top_k", -1);
  c.validate(src);
  return c;
}

}  // namespace rkv
