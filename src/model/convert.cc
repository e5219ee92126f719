// Hugging Face folder -> GGUF (see rkv/model/convert.h).
#include "rkv/model/convert.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>

#include "model/tensor_names.h"
#include "rkv/core/buffer.h"
#include "rkv/core/error.h"
#include "rkv/formats/gguf.h"
#include "rkv/ops/matmul.h"
#include "rkv/tokenizer/gguf_export.h"

namespace rkv {

namespace fs = std::filesystem;
using model_internal::shape_str;
using model_internal::WeightSpec;

namespace {

void tell(const ConvertOptions& o, const std::string& s) {
  if (o.note) o.note(s);
}

// What the GGUF loader cannot be told, refused before any work.
void check_expressible(const ModelConfig& c, const std::string& src) {
  const RopeScaling& rs = c.rope_scaling;
  RKV_CHECK(rs.type == "none" || rs.type == "linear" || rs.type == "yarn" || rs.type == "llama3", src,
            ": rope_scaling type '", rs.type, "' has no GGUF equivalent (linear, yarn and llama3 do)");
  RKV_CHECK(rs.type != "yarn" || rs.attention_factor == 0, src,
            ": yarn rope_scaling with an explicit attention_factor has no GGUF equivalent");
  for (int64_t w : c.sliding_window)
    RKV_CHECK(w == c.sliding_window.front(), src,
              ": layers have different sliding windows, and GGUF has one attention.sliding_window for all");
}

// f32 metadata: the loader reads the value back as this float (a note when
// it is not the config's value exactly).
void set_f32(GgufWriter& w, const std::string& key, double v, const ConvertOptions& o) {
  const float f = static_cast<float>(v);
  if (static_cast<double>(f) != v && key.find("epsilon") == std::string::npos)
    tell(o, key + " = " + std::to_string(v) + " is stored as the f32 " + std::to_string(f));
  w.set_f32(key, f);
}

void write_config(GgufWriter& w, const ModelConfig& c, const std::string& arch, const std::string& name,
                  const ConvertOptions& o) {
  auto k = [&](const char* key) { return arch + "." + key; };
  w.set_string("general.architecture", arch);
  w.set_string("general.name", name);
  w.set_u32(k("vocab_size"), static_cast<uint32_t>(c.vocab_size));
  if (c.max_position_embeddings > 0) w.set_u32(k("context_length"), static_cast<uint32_t>(c.max_position_embeddings));
  w.set_u32(k("embedding_length"), static_cast<uint32_t>(c.hidden));
  w.set_u32(k("block_count"), static_cast<uint32_t>(c.n_layers));
  w.set_u32(k("feed_forward_length"), static_cast<uint32_t>(c.intermediate));
  w.set_u32(k("attention.head_count"), static_cast<uint32_t>(c.n_heads));
  w.set_u32(k("attention.head_count_kv"), static_cast<uint32_t>(c.n_kv_heads));
  if (c.head_dim != c.hidden / c.n_heads) {
    w.set_u32(k("attention.key_length"), static_cast<uint32_t>(c.head_dim));
    w.set_u32(k("attention.value_length"), static_cast<uint32_t>(c.head_dim));
  }
  w.set_u32(k("rope.dimension_count"), static_cast<uint32_t>(c.head_dim));
  set_f32(w, k("rope.freq_base"), c.rope_theta, o);
  // The forward uses the epsilon as an f32, so the f32 loses nothing.
  set_f32(w, k("attention.layer_norm_rms_epsilon"), c.rms_norm_eps, o);
  const RopeScaling& rs = c.rope_scaling;
  if (rs.type == "linear" || rs.type == "yarn") {
    w.set_string(k("rope.scaling.type"), rs.type);
    set_f32(w, k("rope.scaling.factor"), rs.factor, o);
  }
  if (rs.type == "yarn") {
    w.set_u32(k("rope.scaling.original_context_length"), static_cast<uint32_t>(rs.original_max_position));
    set_f32(w, k("rope.scaling.yarn_beta_fast"), rs.beta_fast, o);
    set_f32(w, k("rope.scaling.yarn_beta_slow"), rs.beta_slow, o);
  }
  if (!c.sliding_window.empty() && c.sliding_window.front() > 0)
    w.set_u32(k("attention.sliding_window"), static_cast<uint32_t>(c.sliding_window.front()));
  if (c.default_temperature >= 0) w.set_f32("general.sampling.temp", static_cast<float>(c.default_temperature));
  if (c.default_top_p >= 0) w.set_f32("general.sampling.top_p", static_cast<float>(c.default_top_p));
  if (c.default_top_k >= 0) w.set_i32("general.sampling.top_k", static_cast<int32_t>(c.default_top_k));
}

// The model's stop ids beyond EOS, in the two slots GGUF has for them.
void write_stop_ids(GgufWriter& w, const ModelConfig& c, std::optional<TokenId> eos, const ConvertOptions& o) {
  std::vector<int64_t> extra;
  for (int64_t id : c.eos_ids)
    if (!eos || id != *eos) extra.push_back(id);
  if (!eos && !extra.empty()) {
    w.set_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(extra.front()));
    extra.erase(extra.begin());
  }
  const char* slots[] = {"tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"};
  for (size_t i = 0; i < extra.size(); ++i) {
    if (i < 2) {
      w.set_u32(slots[i], static_cast<uint32_t>(extra[i]));
    } else {
      tell(o, "stop id " + std::to_string(extra[i]) + " of config.json / generation_config.json: GGUF holds EOS, EOT and "
              "EOM only; left out");
    }
  }
}

struct Planned {
  const WeightSpec* spec;
  TensorView src;
  DType type;
  bool permute;  // Q / K rows for adjacent-pair RoPE
};

// Fills a GGUF tensor: rows of the source (permuted where asked), converted
// to f32 and quantized, or copied when the type is the same.
void fill_tensor(const Planned& p, int64_t head_dim, uint8_t* dst, ThreadPool& pool) {
  const bool matrix = p.spec->shape.size() == 2;
  const int64_t rows = matrix ? p.spec->shape[0] : 1, cols = p.spec->shape.back();
  const auto* src = static_cast<const uint8_t*>(p.src.data);
  const size_t src_elem = dtype_size(p.src.dtype);
  if (!matrix) {  // a vector: element permutation only
    std::vector<float> v(static_cast<size_t>(cols));  // [cols]
    for (int64_t i = 0; i < cols; ++i) {
      const int64_t from = p.permute ? rope_adjacent_source_row(i, head_dim) : i;
      convert_to_f32(p.src.dtype, src + static_cast<size_t>(from) * src_elem, &v[static_cast<size_t>(i)], 1);
    }
    quantize_matrix(v.data(), 1, cols, p.type, dst);
    return;
  }
  const size_t src_row = static_cast<size_t>(cols) * src_elem, dst_row = dtype_row_bytes(p.type, cols);
  if (p.type == p.src.dtype && !p.permute) {
    std::memcpy(dst, src, src_row * static_cast<size_t>(rows));
    return;
  }
  pool.parallel_for(rows, [&](int64_t b, int64_t e) {
    std::vector<float> row(static_cast<size_t>(cols));  // [cols]
    for (int64_t r = b; r < e; ++r) {
      const int64_t from = p.permute ? rope_adjacent_source_row(r, head_dim) : r;
      const uint8_t* in = src + static_cast<size_t>(from) * src_row;
      uint8_t* out = dst + static_cast<size_t>(r) * dst_row;
      if (p.type == p.src.dtype) {
        std::memcpy(out, in, src_row);
      } else {
        convert_to_f32(p.src.dtype, in, row.data(), static_cast<size_t>(cols));
        quantize_matrix(row.data(), 1, cols, p.type, out);
      }
    }
  });
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

DType gguf_matrix_type(DType requested, int64_t cols, bool output_head, bool pure, std::string* why) {
  if (!is_quantized(requested)) return requested;
  DType t = requested;
  if (output_head && !pure && requested != DType::Q8_0) {
    t = DType::Q6_K;
    if (why) *why = "the output head keeps 6 bits, as llama-quantize does; --pure keeps every matrix in the type asked for";
  }
  if (cols % dtype_block_elems(t) != 0) {
    const DType fallback = cols % 32 == 0 ? DType::Q8_0 : DType::F16;
    if (why)
      *why = "rows of " + std::to_string(cols) + " are not whole " + std::string(dtype_name(t)) + " blocks of " +
             std::to_string(dtype_block_elems(t));
    t = fallback;
  }
  return t;
}

int64_t rope_adjacent_source_row(int64_t row, int64_t head_dim) {
  const int64_t head = row / head_dim, w = row % head_dim;
  return head * head_dim + (w % 2) * (head_dim / 2) + w / 2;
}

std::vector<float> llama3_rope_freq_factors(const ModelConfig& c) {
  RKV_CHECK(c.rope_scaling.type == "llama3", "llama3_rope_freq_factors: rope scaling is '", c.rope_scaling.type, "'");
  ModelConfig plain = c;
  plain.rope_scaling = RopeScaling{};
  const std::vector<float> base = plain.inv_freq(0), scaled = c.inv_freq(0);
  std::vector<float> factors(base.size());
  for (size_t i = 0; i < base.size(); ++i) {
    // The f32 divisors next to the exact ratio: the first whose quotient
    // rounds to the scaled frequency, else (no f32 divisor gives it: the
    // quotient steps by more than one ulp) the closest.
    const float guess = static_cast<float>(static_cast<double>(base[i]) / static_cast<double>(scaled[i]));
    float best = guess, up = guess, down = guess;
    auto error = [&](float f) { return std::fabs(static_cast<double>(base[i] / f) - static_cast<double>(scaled[i])); };
    for (int step = 0; step < 8 && error(best) != 0; ++step) {
      up = std::nextafter(up, INFINITY);
      down = std::nextafter(down, 0.0f);
      for (float cand : {up, down})
        if (error(cand) < error(best)) best = cand;
    }
    factors[i] = best;
  }
  return factors;
}

uint32_t gguf_file_type(DType type) {
  switch (type) {  // llama.cpp's llama_ftype
    case DType::F32: return 0;
    case DType::F16: return 1;
    case DType::Q4_0: return 2;
    case DType::Q8_0: return 7;
    case DType::Q4_K: return 14;  // Q4_K_S: one type, no per-layer mix
    case DType::Q5_K: return 16;  // Q5_K_S
    case DType::Q6_K: return 18;
    case DType::BF16: return 32;
    default: fail("no GGUF file type for ", dtype_name(type));
  }
}

ConvertSummary convert_hf_to_gguf(const std::string& folder_in, const std::string& output, const ConvertOptions& o,
                                  ThreadPool& pool) {
  fs::path dir(folder_in);
  RKV_CHECK(fs::exists(dir), folder_in, ": no such file or folder");
  if (fs::is_regular_file(dir) && dir.filename() == "config.json") dir = dir.parent_path();
  RKV_CHECK(fs::is_directory(dir), folder_in, ": not a Hugging Face model folder");
  const fs::path cfg_path = dir / "config.json";
  RKV_CHECK(fs::exists(cfg_path), folder_in, ": no config.json in the folder");
  RKV_CHECK(!o.type || is_float(*o.type) || is_quantized(*o.type), "weight type ", dtype_name(*o.type),
            " is not one GGUF holds");
  std::string gen;
  if (fs::exists(dir / "generation_config.json")) gen = read_text_file((dir / "generation_config.json").string());
  const ModelConfig c = parse_hf_config(read_text_file(cfg_path.string()), gen, cfg_path.string());
  check_expressible(c, cfg_path.string());
  const std::string arch = c.architecture == "mistral" ? "llama" : c.architecture;
  const bool llama_family = arch == "llama";

  // Weights: every one the config implies, of the right shape and a float type; nothing else.
  const model_internal::HfWeights weights = model_internal::open_hf_weights(dir.string());
  const bool has_output = weights.has("lm_head.weight");
  RKV_CHECK(c.tie_word_embeddings || has_output, dir.string(), ": missing tensor 'lm_head.weight' (tie_word_embeddings is false)");
  const std::vector<WeightSpec> specs = model_internal::weight_specs(c, has_output);
  std::set<std::string> expected;
  for (const WeightSpec& s : specs) expected.insert(s.hf);
  for (const auto& [name, file] : weights.where) {
    (void)file;
    if (expected.count(name)) continue;
    if (ends_with(name, ".rotary_emb.inv_freq")) continue;  // a buffer old checkpoints saved; recomputed from the config
    fail(dir.string(), ": unexpected tensor '", name, "' (no place for it in a ", c.architecture, " GGUF)");
  }
  const std::string head_name = has_output ? "output.weight" : "token_embd.weight";
  std::vector<Planned> plan;
  DType main_type = o.type.value_or(DType::F32);
  for (const WeightSpec& s : specs) {
    RKV_CHECK(weights.has(s.hf), dir.string(), ": missing tensor '", s.hf, "'");
    TensorView v = weights.get(s.hf);
    RKV_CHECK(v.shape == s.shape, dir.string(), ": tensor '", s.hf, "' has shape ", shape_str(v.shape), ", expected ",
              shape_str(s.shape));
    RKV_CHECK(v.dtype == DType::F32 || v.dtype == DType::F16 || v.dtype == DType::BF16, dir.string(), ": tensor '", s.hf,
              "' has dtype ", dtype_name(v.dtype), " (rkv convert reads f32, f16 and bf16 weights)");
    Planned p{&s, v, DType::F32, llama_family && (s.role == "wq" || s.role == "wk" || s.role == "bq" || s.role == "bk")};
    if (s.shape.size() == 2) {
      const DType asked = o.type.value_or(v.dtype);
      if (!o.type && s.role == "embed") main_type = v.dtype;
      std::string why;
      p.type = gguf_matrix_type(asked, s.shape[1], s.gguf == head_name, o.pure, &why);
      if (p.type != asked) {
        tell(o, s.gguf + ": " + std::string(dtype_name(p.type)) + " instead of " + std::string(dtype_name(asked)) + " (" +
                    why + ")");
      }
    }
    plan.push_back(p);
  }
  const auto vectors = std::count_if(specs.begin(), specs.end(), [](const WeightSpec& s) { return s.shape.size() == 1; });
  if (o.type && *o.type != DType::F32)
    tell(o, std::to_string(vectors) + " 1-D tensors (norms, biases) stay f32, as llama.cpp keeps them");

  GgufWriter w;
  const std::string name = fs::absolute(dir).lexically_normal().filename().string();
  write_config(w, c, arch, name.empty() ? "model" : name, o);
  w.set_u32("general.file_type", gguf_file_type(main_type));
  if (is_quantized(main_type)) w.set_u32("general.quantization_version", 2);

  ConvertSummary summary;
  summary.architecture = arch;
  std::optional<TokenId> eos;
  if (o.with_vocab) {
    RKV_CHECK(fs::exists(dir / "tokenizer.json"), dir.string(),
              ": no tokenizer.json (convert without a vocabulary: --no-tokenizer)");
    GgufVocabOptions vo;
    vo.n_vocab = c.vocab_size;
    if (c.bos_id >= 0) vo.bos_id = static_cast<TokenId>(c.bos_id);
    if (!c.eos_ids.empty()) vo.eos_id = static_cast<TokenId>(c.eos_ids.front());
    GgufVocab vocab = export_gguf_vocab(dir.string(), vo);
    vocab.write_to(w);
    for (const std::string& n : vocab.notes) tell(o, "tokenizer: " + n);
    eos = vocab.eos_id;
    summary.vocab_model = vocab.model;
    summary.vocab_pre = vocab.pre;
    summary.vocab_tokens = vocab.n_tokens;
  } else if (c.bos_id >= 0) {
    w.set_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(c.bos_id));
  }
  write_stop_ids(w, c, eos, o);

  const int64_t hd = c.head_dim;
  for (const Planned& p : plan) {
    std::vector<int64_t> ne(p.spec->shape.rbegin(), p.spec->shape.rend());
    w.add_tensor(p.spec->gguf, p.type, ne, [p, hd, &pool](uint8_t* dst) { fill_tensor(p, hd, dst, pool); });
    summary.tensors.push_back({p.spec->gguf, p.type, p.spec->shape});
  }
  if (c.rope_scaling.type == "llama3") {
    const std::vector<float> factors = llama3_rope_freq_factors(c);
    w.add_tensor("rope_freqs.weight", DType::F32, {static_cast<int64_t>(factors.size())}, factors.data(),
                 factors.size() * sizeof(float));
    summary.tensors.push_back({"rope_freqs.weight", DType::F32, {static_cast<int64_t>(factors.size())}});
  }
  const std::vector<uint8_t> bytes = w.serialize();
  write_file_atomically(output, bytes.data(), bytes.size());
  summary.bytes = bytes.size();
  return summary;
}

}  // namespace rkv
