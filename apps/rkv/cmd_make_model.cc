// rkv make-model: a random-weight model of any shape (named presets for the
// DeepSeek-R1-Distill shapes) as a Hugging Face folder (safetensors,
// f32/f16/bf16) or a GGUF file (f32/f16/bf16/q8_0/q4_0/q4_k/q5_k/q6_k), with
// a valid tokenizer, so speed can be measured at real sizes without downloads.
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "rkv/command.h"
#include "rkv/core/buffer.h"
#include "rkv/core/output_file.h"
#include "rkv/core/thread_pool.h"
#include "rkv/flags.h"
#include "rkv/formats/gguf.h"
#include "rkv/formats/safetensors.h"
#include "rkv/model/convert.h"
#include "rkv/ops/matmul.h"

namespace rkv::cli {
namespace {

struct Shape_ {
  std::string arch;
  int64_t hidden, layers, heads, kv_heads, head_dim, intermediate, vocab;
  double theta;
  bool tie;
  bool llama3_rope;
};

// Shapes of the public DeepSeek-R1-Distill checkpoints (their config.json).
const Shape_* preset(const std::string& name) {
  static const Shape_ kQwen15{"qwen2", 1536, 28, 12, 2, 128, 8960, 151936, 10000.0, false, false};
  static const Shape_ kQwen7{"qwen2", 3584, 28, 28, 4, 128, 18944, 152064, 10000.0, false, false};
  static const Shape_ kLlama8{"llama", 4096, 32, 32, 8, 128, 14336, 128256, 500000.0, false, true};
  static const Shape_ kTiny{"qwen2", 256, 2, 4, 2, 64, 512, 512, 10000.0, false, false};
  if (name == "r1-qwen-1.5b" || name == "DeepSeek-R1-Distill-Qwen-1.5B") return &kQwen15;
  if (name == "r1-qwen-7b" || name == "DeepSeek-R1-Distill-Qwen-7B") return &kQwen7;
  if (name == "r1-llama-8b" || name == "DeepSeek-R1-Distill-Llama-8B") return &kLlama8;
  if (name == "tiny") return &kTiny;
  fail("unknown --shape '", name, "' (r1-qwen-1.5b, r1-qwen-7b, r1-llama-8b, tiny)");
}

uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// rows x cols uniform values with standard deviation `stddev` (+ `mean`),
// stored as `type`; deterministic in (seed, stream) whatever the thread count.
std::vector<uint8_t> random_matrix(int64_t rows, int64_t cols, DType type, uint64_t seed, uint64_t stream, float stddev,
                                   float mean, ThreadPool& pool) {
  const size_t rb = dtype_row_bytes(type, cols);
  std::vector<uint8_t> out(rb * static_cast<size_t>(rows));
  const float a = stddev * std::sqrt(3.0f);
  pool.parallel_for(rows, [&](int64_t b, int64_t e) {
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = b; r < e; ++r) {
      uint64_t s = mix(seed * 0x1000003 + stream * 0x10001 + static_cast<uint64_t>(r));
      for (int64_t c = 0; c < cols; ++c) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        float u = static_cast<float>(s >> 40) * (1.0f / 16777216.0f);  // [0, 1)
        row[static_cast<size_t>(c)] = mean + a * (2 * u - 1);
      }
      quantize_matrix(row.data(), 1, cols, type, out.data() + rb * static_cast<size_t>(r));
    }
  });
  return out;
}

// Byte-level BPE alphabet: printable bytes map to themselves, others to U+0100+.
std::string byte_char(int b) {
  static int table[256];
  static bool init = false;
  if (!init) {
    int n = 0;
    for (int i = 0; i < 256; ++i) {
      bool printable = (i >= 33 && i <= 126) || (i >= 161 && i <= 172) || (i >= 174 && i <= 255);
      table[i] = printable ? i : 256 + n++;
    }
    init = true;
  }
  int cp = table[b];
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

// One tensor of the model, in Hugging Face naming ("model.layers.0.mlp.up_proj.weight").
struct TensorSpec {
  std::string name;
  int64_t rows, cols;  // a vector has rows = 1
  bool matrix;
  float mean, stddev;
};

// Every tensor of the shape in file order: embeddings, final norm, output
// head, then each layer.
std::vector<TensorSpec> tensor_specs(const Shape_& s) {
  const int64_t H = s.hidden, hd = s.head_dim, qd = s.heads * hd, kvd = s.kv_heads * hd;
  const float wstd = 0.02f;
  std::vector<TensorSpec> specs;
  auto mat = [&](const std::string& name, int64_t rows, int64_t cols) { specs.push_back({name, rows, cols, true, 0, wstd}); };
  auto vec = [&](const std::string& name, int64_t n, float mean, float sd) { specs.push_back({name, 1, n, false, mean, sd}); };
  mat("model.embed_tokens.weight", s.vocab, H);
  vec("model.norm.weight", H, 1.0f, 0.05f);
  if (!s.tie) mat("lm_head.weight", s.vocab, H);
  for (int64_t l = 0; l < s.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    vec(p + "input_layernorm.weight", H, 1.0f, 0.05f);
    vec(p + "post_attention_layernorm.weight", H, 1.0f, 0.05f);
    mat(p + "self_attn.q_proj.weight", qd, H);
    mat(p + "self_attn.k_proj.weight", kvd, H);
    mat(p + "self_attn.v_proj.weight", kvd, H);
    mat(p + "self_attn.o_proj.weight", H, qd);
    if (s.arch == "qwen2") {
      vec(p + "self_attn.q_proj.bias", qd, 0, 0.02f);
      vec(p + "self_attn.k_proj.bias", kvd, 0, 0.02f);
      vec(p + "self_attn.v_proj.bias", kvd, 0, 0.02f);
    }
    if (s.arch == "qwen3") {
      vec(p + "self_attn.q_norm.weight", hd, 1.0f, 0.05f);
      vec(p + "self_attn.k_norm.weight", hd, 1.0f, 0.05f);
    }
    mat(p + "mlp.gate_proj.weight", s.intermediate, H);
    mat(p + "mlp.up_proj.weight", s.intermediate, H);
    mat(p + "mlp.down_proj.weight", H, s.intermediate);
  }
  return specs;
}

// llama.cpp's GGUF tensor name for a Hugging Face one.
std::string gguf_name(const std::string& hf) {
  static const std::pair<const char*, const char*> kTop[] = {
      {"model.embed_tokens.weight", "token_embd.weight"}, {"model.norm.weight", "output_norm.weight"}, {"lm_head.weight", "output.weight"}};
  for (const auto& [from, to] : kTop)
    if (hf == from) return to;
  static const std::pair<const char*, const char*> kLayer[] = {
      {"input_layernorm.weight", "attn_norm.weight"}, {"post_attention_layernorm.weight", "ffn_norm.weight"},
      {"self_attn.q_proj.weight", "attn_q.weight"},   {"self_attn.k_proj.weight", "attn_k.weight"},
      {"self_attn.v_proj.weight", "attn_v.weight"},   {"self_attn.o_proj.weight", "attn_output.weight"},
      {"self_attn.q_proj.bias", "attn_q.bias"},       {"self_attn.k_proj.bias", "attn_k.bias"},
      {"self_attn.v_proj.bias", "attn_v.bias"},       {"self_attn.q_norm.weight", "attn_q_norm.weight"},
      {"self_attn.k_norm.weight", "attn_k_norm.weight"}, {"mlp.gate_proj.weight", "ffn_gate.weight"},
      {"mlp.up_proj.weight", "ffn_up.weight"},        {"mlp.down_proj.weight", "ffn_down.weight"}};
  const std::string prefix = "model.layers.";
  const size_t dot = hf.find('.', prefix.size());
  const std::string layer = hf.substr(prefix.size(), dot - prefix.size()), rest = hf.substr(dot + 1);
  for (const auto& [from, to] : kLayer)
    if (rest == from) return "blk." + layer + "." + to;
  fail("make-model: no GGUF name for ", hf);
}

// tokenizer.json: byte-level BPE over the 256 byte characters, no merges.
std::string tokenizer_json(const std::vector<std::string>& pieces) {
  nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
  // Appended without ordered_map's per-insert search for an equal key (which
  // made a 150k vocabulary take a minute): the pieces are distinct.
  auto& entries = static_cast<std::vector<std::pair<const std::string, nlohmann::ordered_json>>&>(
      vocab.get_ref<nlohmann::ordered_json::object_t&>());
  entries.reserve(pieces.size());
  for (size_t i = 3; i < pieces.size(); ++i) entries.emplace_back(pieces[i], i);
  nlohmann::ordered_json tj;
  tj["version"] = "1.0";
  tj["truncation"] = nullptr;
  tj["padding"] = nullptr;
  tj["added_tokens"] = nlohmann::ordered_json::array();
  for (int i = 0; i < 3; ++i)
    tj["added_tokens"].push_back({{"id", i}, {"content", pieces[static_cast<size_t>(i)]}, {"single_word", false},
                                  {"lstrip", false}, {"rstrip", false}, {"normalized", false}, {"special", true}});
  tj["normalizer"] = nullptr;
  tj["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
  tj["post_processor"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
  tj["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
  tj["model"] = {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
                 {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false},
                 {"vocab", std::move(vocab)}, {"merges", nlohmann::ordered_json::array()}};
  return tj.dump() + "\n";
}

int run_make_model(const Args& args) {
  Flags f("make-model", "--arch qwen2|llama|qwen3|mistral (--shape NAME | --hidden ...) --format safetensors|gguf --type bf16|q4_k|... -o PATH");
  f.option("--arch", "qwen2 | llama | qwen3 | mistral (default: the preset's)")
      .option("--shape", "preset: r1-qwen-1.5b | r1-qwen-7b | r1-llama-8b | tiny")
      .option("--hidden", "hidden size (at most 1048576)")
      .option("--layers", "number of layers (at most 4096)")
      .option("--heads", "attention heads (at most 4096)")
      .option("--kv-heads", "KV heads")
      .option("--head-dim", "head dimension, even (default hidden / heads; at most 4096)")
      .option("--intermediate", "MLP intermediate size (at most 4194304)")
      .option("--vocab", "vocabulary size (300 to 16777216)")
      .option("--format", "safetensors | gguf", "gguf")
      .option("--type", "weight type: f32 f16 bf16 (both formats), q8_0 q4_0 (rows: multiples of 32), q4_k q5_k q6_k (rows: multiples of 256; gguf)", "bf16")
      .option("--seed", "random seed", "1")
      .option("--threads", "worker threads (default: all cores)", "0")
      .option("-o,--output", "output folder (safetensors) or .gguf file");
  if (!f.parse(args)) return 0;
  RKV_CHECK(f.given("--output"), "missing -o PATH");
  RKV_CHECK(f.positional().empty(), "unexpected argument '", f.positional().front(), "'");
  Shape_ s = f.given("--shape") ? *preset(f.str("--shape")) : Shape_{"qwen2", 0, 0, 0, 0, 0, 0, 4096, 10000.0, false, false};
  if (f.given("--arch")) s.arch = f.str("--arch");
  RKV_CHECK(s.arch == "qwen2" || s.arch == "llama" || s.arch == "qwen3" || s.arch == "mistral", "--arch '", s.arch,
            "' is not one of qwen2, llama, qwen3, mistral");
  // The limits rkv loads (model/config.cc), so that every model made here can be read back.
  if (f.given("--hidden")) s.hidden = f.integer("--hidden", 1, 1 << 20);
  if (f.given("--layers")) s.layers = f.integer("--layers", 1, 4096);
  if (f.given("--heads")) s.heads = f.integer("--heads", 1, 4096);
  if (f.given("--kv-heads")) s.kv_heads = f.integer("--kv-heads", 1, 4096);
  if (f.given("--intermediate")) s.intermediate = f.integer("--intermediate", 1, 1 << 22);
  if (f.given("--vocab")) s.vocab = f.integer("--vocab", 300, 1 << 24);
  if (f.given("--head-dim")) s.head_dim = f.integer("--head-dim", 2, 4096);
  if (!f.given("--shape") && !f.given("--head-dim") && s.heads > 0) s.head_dim = s.hidden / s.heads;
  if (!f.given("--kv-heads") && !f.given("--shape")) s.kv_heads = s.heads;
  RKV_CHECK(s.hidden > 0 && s.layers > 0 && s.heads > 0 && s.intermediate > 0, "give --shape or --hidden, --layers, --heads, --intermediate");
  RKV_CHECK(s.kv_heads > 0 && s.heads % s.kv_heads == 0, "--kv-heads must divide --heads");
  RKV_CHECK(s.head_dim > 0 && s.head_dim % 2 == 0 && s.head_dim <= 4096, "--head-dim must be even and at most 4096 (got ",
            s.head_dim, ")");
  const std::string format = f.str("--format");
  RKV_CHECK(format == "gguf" || format == "safetensors", "--format must be gguf or safetensors");
  const std::string tname = f.str("--type");
  // q4_k_m / q5_k_m: accepted for the file names people know (one type here).
  const DType type = parse_weight_dtype(tname == "q4_k_m" ? "q4_k" : tname == "q5_k_m" ? "q5_k" : tname);
  RKV_CHECK(format == "gguf" || !is_quantized(type), "--type ", tname, " needs --format gguf (safetensors holds f32/f16/bf16)");
  const uint64_t seed = static_cast<uint64_t>(f.integer("--seed"));
  const std::string out = f.str("--output");
  const bool gguf = format == "gguf";

  // Everything about the shape is checked before any work: each matrix's
  // rows fit the block type (no silent fallback to another type), and the
  // weights, all held in memory until written, fit in memory.
  const std::vector<TensorSpec> specs = tensor_specs(s);
  uint64_t weight_bytes = 0;
  for (const auto& t : specs) {
    const DType tt = t.matrix ? type : gguf ? DType::F32 : type;
    RKV_CHECK(t.cols % dtype_block_elems(tt) == 0, "--type ", tname, " stores rows in blocks of ", dtype_block_elems(tt),
              " values, and ", t.name, " has rows of ", t.cols, " (", t.cols == s.hidden ? "--hidden" :
              t.cols == s.intermediate ? "--intermediate" : "heads x head-dim", "); use a multiple of ",
              dtype_block_elems(tt), " or another --type");
    weight_bytes += dtype_row_bytes(tt, t.cols) * static_cast<uint64_t>(t.rows);
  }
  require_memory(weight_bytes, "the weights (held in memory until written)");
  const int64_t H = s.hidden, hd = s.head_dim;
  ThreadPool pool(thread_count(f));

  // Vocabulary: <unk> <s> </s>, 256 byte tokens, then filler pieces.
  std::vector<std::string> pieces;
  pieces.reserve(static_cast<size_t>(s.vocab));
  pieces.push_back("<unk>");
  pieces.push_back("<s>");
  pieces.push_back("</s>");
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    pieces.push_back(gguf ? std::string(buf) : byte_char(b));
  }
  for (int64_t i = static_cast<int64_t>(pieces.size()); i < s.vocab; ++i)
    pieces.push_back((gguf ? "\xe2\x96\x81" : "") + std::string("t") + std::to_string(i));

  uint64_t stream = 0;
  auto random_tensor = [&](const TensorSpec& t, DType tt) {
    return random_matrix(t.rows, t.cols, tt, seed, stream++, t.stddev, t.mean, pool);
  };
  if (gguf) {
    OutputFile file(out);  // checked before the weights are made
    GgufWriter w;
    const std::string a = s.arch == "mistral" ? "llama" : s.arch;
    w.set_string("general.architecture", a);
    w.set_string("general.name", "rkv random " + s.arch);
    w.set_u32(a + ".context_length", s.llama3_rope ? 131072 : 32768);
    w.set_u32(a + ".embedding_length", static_cast<uint32_t>(H));
    w.set_u32(a + ".block_count", static_cast<uint32_t>(s.layers));
    w.set_u32(a + ".feed_forward_length", static_cast<uint32_t>(s.intermediate));
    w.set_u32(a + ".attention.head_count", static_cast<uint32_t>(s.heads));
    w.set_u32(a + ".attention.head_count_kv", static_cast<uint32_t>(s.kv_heads));
    w.set_u32(a + ".attention.key_length", static_cast<uint32_t>(hd));
    w.set_u32(a + ".attention.value_length", static_cast<uint32_t>(hd));
    w.set_u32(a + ".rope.dimension_count", static_cast<uint32_t>(hd));
    w.set_f32(a + ".rope.freq_base", static_cast<float>(s.theta));
    w.set_f32(a + ".attention.layer_norm_rms_epsilon", 1e-6f);
    w.set_string("tokenizer.ggml.model", "llama");
    std::vector<double> scores;
    std::vector<int64_t> types;
    for (size_t i = 0; i < pieces.size(); ++i) {
      scores.push_back(i < 259 ? 0.0 : -static_cast<double>(i));
      types.push_back(i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1);
    }
    w.set("tokenizer.ggml.tokens", GgufValue::of_strings(pieces));
    w.set("tokenizer.ggml.scores", GgufValue::of_floats(GgufType::F32, scores));
    w.set("tokenizer.ggml.token_type", GgufValue::of_ints(GgufType::I32, types));
    w.set_u32("tokenizer.ggml.bos_token_id", 1);
    w.set_u32("tokenizer.ggml.eos_token_id", 2);
    w.set_u32("tokenizer.ggml.unknown_token_id", 0);
    for (size_t k = 0; k < specs.size(); ++k) {
      const TensorSpec& t = specs[k];
      const DType tt = t.matrix ? type : DType::F32;
      std::vector<int64_t> ne = t.matrix ? std::vector<int64_t>{t.cols, t.rows} : std::vector<int64_t>{t.cols};
      w.add_tensor(gguf_name(t.name), tt, ne, random_tensor(t, tt));
      const size_t last_top_level = s.tie ? 1 : 2;  // embeddings, final norm, output head
      if (k == last_top_level && s.llama3_rope) {  // llama.cpp stores llama3 RoPE as per-frequency divisors
        ModelConfig rope;  // DeepSeek-R1-Distill-Llama-8B's rope_scaling, as the converter writes it
        rope.head_dim = hd;
        rope.rope_theta = s.theta;
        rope.rope_scaling.type = "llama3";
        rope.rope_scaling.factor = 8;
        rope.rope_scaling.original_max_position = 8192;
        const std::vector<float> ff = llama3_rope_freq_factors(rope);
        w.add_tensor("rope_freqs.weight", DType::F32, {hd / 2}, ff.data(), ff.size() * 4);
      }
    }
    w.write(file);
    file.commit();
  } else {
    OutputFolder folder(out, {"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                              "model.safetensors"});
    auto write_text = [&](const std::string& name, const std::string& text) {
      write_file_atomically(folder.file(name), text.data(), text.size());
    };
    nlohmann::ordered_json c;
    const char* hf = s.arch == "qwen2" ? "Qwen2ForCausalLM" : s.arch == "qwen3" ? "Qwen3ForCausalLM"
                     : s.arch == "mistral" ? "MistralForCausalLM" : "LlamaForCausalLM";
    c["architectures"] = {hf};
    c["model_type"] = s.arch;
    c["hidden_size"] = H;
    c["num_hidden_layers"] = s.layers;
    c["num_attention_heads"] = s.heads;
    c["num_key_value_heads"] = s.kv_heads;
    c["head_dim"] = hd;
    c["intermediate_size"] = s.intermediate;
    c["vocab_size"] = s.vocab;
    c["rms_norm_eps"] = 1e-6;
    c["rope_theta"] = s.theta;
    c["hidden_act"] = "silu";
    c["tie_word_embeddings"] = s.tie;
    c["max_position_embeddings"] = s.llama3_rope ? 131072 : 32768;
    c["bos_token_id"] = 1;
    c["eos_token_id"] = 2;
    c["torch_dtype"] = tname == "bf16" ? "bfloat16" : tname == "f16" ? "float16" : "float32";
    if (s.llama3_rope)
      c["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0}, {"high_freq_factor", 4.0},
                           {"original_max_position_embeddings", 8192}};
    write_text("config.json", c.dump(2) + "\n");
    write_text("generation_config.json", "{\"bos_token_id\": 1, \"eos_token_id\": 2}\n");
    write_text("tokenizer.json", tokenizer_json(pieces));
    write_text("tokenizer_config.json", "{\"bos_token\": \"<s>\", \"eos_token\": \"</s>\", \"add_bos_token\": false}\n");

    SafetensorsWriter w;
    for (const TensorSpec& t : specs) {
      std::vector<uint8_t> bytes = random_tensor(t, type);
      w.add(t.name, TensorView(bytes.data(), type, t.matrix ? Shape{t.rows, t.cols} : Shape{t.cols}));
    }
    w.write(folder.file("model.safetensors"));
    folder.commit();
  }
  std::fprintf(stderr, "wrote %s (%s, %s, %s)\n", out.c_str(), s.arch.c_str(), format.c_str(), tname.c_str());
  return 0;
}

RKV_COMMAND("make-model", "write a random-weight model of any shape (safetensors folder or GGUF)", run_make_model);

}  // namespace
}  // namespace rkv::cli
