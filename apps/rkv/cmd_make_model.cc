// rkv make-model: a random-weight model of any shape (named presets for the
// DeepSeek-R1-Distill shapes) as a Hugging Face folder (safetensors,
// f32/f16/bf16) or a GGUF file (f32/f16/bf16/q8_0/q4_0/q4_k/q5_k/q6_k), with
// a valid tokenizer, so speed can be measured at real sizes without downloads.
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "rkv/command.h"
#include "rkv/core/output_file.h"
#include "rkv/core/thread_pool.h"
#include "rkv/flags.h"
#include "rkv/formats/gguf.h"
#include "rkv/formats/safetensors.h"
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

int run_make_model(const Args& args) {
  Flags f("make-model", "--arch qwen2|llama|qwen3|mistral (--shape NAME | --hidden ...) --format safetensors|gguf --type bf16|q4_k|... -o PATH");
  f.option("--arch", "qwen2 | llama | qwen3 | mistral (default: the preset's)")
      .option("--shape", "preset: r1-qwen-1.5b | r1-qwen-7b | r1-llama-8b | tiny")
      .option("--hidden", "hidden size")
      .option("--layers", "number of layers")
      .option("--heads", "attention heads")
      .option("--kv-heads", "KV heads")
      .option("--head-dim", "head dimension (default hidden / heads)")
      .option("--intermediate", "MLP intermediate size")
      .option("--vocab", "vocabulary size (>= 300)")
      .option("--format", "safetensors | gguf", "gguf")
      .option("--type", "weight type: f32 f16 bf16 (both formats), q8_0 q4_0 q4_k q5_k q6_k (gguf)", "bf16")
      .option("--seed", "random seed", "1")
      .option("--threads", "worker threads (default: all cores)", "0")
      .option("-o,--output", "output folder (safetensors) or .gguf file");
  if (!f.parse(args)) return 0;
  RKV_CHECK(f.given("--output"), "missing -o PATH");
  Shape_ s = f.given("--shape") ? *preset(f.str("--shape")) : Shape_{"qwen2", 0, 0, 0, 0, 0, 0, 4096, 10000.0, false, false};
  if (f.given("--arch")) s.arch = f.str("--arch");
  RKV_CHECK(s.arch == "qwen2" || s.arch == "llama" || s.arch == "qwen3" || s.arch == "mistral", "--arch '", s.arch,
            "' is not one of qwen2, llama, qwen3, mistral");
  if (f.given("--hidden")) s.hidden = f.integer("--hidden");
  if (f.given("--layers")) s.layers = f.integer("--layers");
  if (f.given("--heads")) s.heads = f.integer("--heads");
  if (f.given("--kv-heads")) s.kv_heads = f.integer("--kv-heads");
  if (f.given("--intermediate")) s.intermediate = f.integer("--intermediate");
  if (f.given("--vocab")) s.vocab = f.integer("--vocab");
  if (f.given("--head-dim")) s.head_dim = f.integer("--head-dim");
  if (!f.given("--shape") && !f.given("--head-dim") && s.heads > 0) s.head_dim = s.hidden / s.heads;
  if (!f.given("--kv-heads") && !f.given("--shape")) s.kv_heads = s.heads;
  RKV_CHECK(s.hidden > 0 && s.layers > 0 && s.heads > 0 && s.intermediate > 0, "give --shape or --hidden, --layers, --heads, --intermediate");
  RKV_CHECK(s.kv_heads > 0 && s.heads % s.kv_heads == 0, "--kv-heads must divide --heads");
  RKV_CHECK(s.head_dim > 0 && s.head_dim % 2 == 0, "--head-dim must be even");
  RKV_CHECK(s.vocab >= 300 && s.vocab <= (1 << 24), "--vocab must be in [300, 16M]");
  const std::string format = f.str("--format");
  RKV_CHECK(format == "gguf" || format == "safetensors", "--format must be gguf or safetensors");
  std::string tname = f.str("--type");
  DType type;
  if (tname == "q8_0") type = DType::Q8_0;
  else if (tname == "q4_0") type = DType::Q4_0;
  else if (tname == "q4_k" || tname == "q4_k_m") type = DType::Q4_K;
  else if (tname == "q5_k" || tname == "q5_k_m") type = DType::Q5_K;
  else if (tname == "q6_k") type = DType::Q6_K;
  else type = parse_float_dtype(tname);
  RKV_CHECK(type == DType::F32 || type == DType::F16 || type == DType::BF16 || is_quantized(type), "--type ", tname,
            " is not a weight type");
  RKV_CHECK(format == "gguf" || !is_quantized(type), "--type ", tname, " needs --format gguf (safetensors holds f32/f16/bf16)");
  const uint64_t seed = static_cast<uint64_t>(f.integer("--seed"));
  const std::string out = f.str("--output");
  ThreadPool pool(static_cast<int>(f.integer("--threads")));
  const bool qwen2 = s.arch == "qwen2", qwen3 = s.arch == "qwen3";
  const int64_t H = s.hidden, hd = s.head_dim, qd = s.heads * hd, kvd = s.kv_heads * hd;
  const float wstd = 0.02f;

  // Vocabulary: <unk> <s> </s>, 256 byte tokens, then filler pieces.
  std::vector<std::string> pieces;
  const bool gguf = format == "gguf";
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

  // A block type the row length allows (K-quants need multiples of 256).
  auto type_for = [&](int64_t cols) {
    if (cols % dtype_block_elems(type) == 0) return type;
    if (is_quantized(type) && cols % 32 == 0) return DType::Q8_0;
    return is_quantized(type) ? DType::F16 : type;
  };

  uint64_t stream = 0;
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
    auto mat = [&](const std::string& name, int64_t rows, int64_t cols) {
      DType t = type_for(cols);
      w.add_tensor(name, t, {cols, rows}, random_matrix(rows, cols, t, seed, stream++, wstd, 0, pool));
    };
    auto vec = [&](const std::string& name, int64_t n, float mean, float sd) {
      w.add_tensor(name, DType::F32, {n}, random_matrix(1, n, DType::F32, seed, stream++, sd, mean, pool));
    };
    mat("token_embd.weight", s.vocab, H);
    vec("output_norm.weight", H, 1.0f, 0.05f);
    if (!s.tie) mat("output.weight", s.vocab, H);
    if (s.llama3_rope) {  // llama.cpp stores llama3 RoPE as per-frequency divisors
      std::vector<float> ff(static_cast<size_t>(hd / 2));
      const double pi = 3.14159265358979323846, orig = 8192, lo = 1, hi = 4, factor = 8;
      for (int64_t i = 0; i < hd / 2; ++i) {
        double inv = 1.0 / std::pow(s.theta, 2.0 * static_cast<double>(i) / static_cast<double>(hd));
        double wl = 2 * pi / inv;
        double div = wl < orig / hi ? 1.0 : wl > orig / lo ? factor : 1.0 / ((1 - (orig / wl - lo) / (hi - lo)) / factor + (orig / wl - lo) / (hi - lo));
        ff[static_cast<size_t>(i)] = static_cast<float>(div);
      }
      w.add_tensor("rope_freqs.weight", DType::F32, {hd / 2}, ff.data(), ff.size() * 4);
    }
    for (int64_t l = 0; l < s.layers; ++l) {
      const std::string p = "blk." + std::to_string(l) + ".";
      vec(p + "attn_norm.weight", H, 1.0f, 0.05f);
      vec(p + "ffn_norm.weight", H, 1.0f, 0.05f);
      mat(p + "attn_q.weight", qd, H);
      mat(p + "attn_k.weight", kvd, H);
      mat(p + "attn_v.weight", kvd, H);
      mat(p + "attn_output.weight", H, qd);
      if (qwen2) {
        vec(p + "attn_q.bias", qd, 0, 0.02f);
        vec(p + "attn_k.bias", kvd, 0, 0.02f);
        vec(p + "attn_v.bias", kvd, 0, 0.02f);
      }
      if (qwen3) {
        vec(p + "attn_q_norm.weight", hd, 1.0f, 0.05f);
        vec(p + "attn_k_norm.weight", hd, 1.0f, 0.05f);
      }
      mat(p + "ffn_gate.weight", s.intermediate, H);
      mat(p + "ffn_up.weight", s.intermediate, H);
      mat(p + "ffn_down.weight", H, s.intermediate);
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
    // tokenizer.json: byte-level BPE over the 256 byte characters, no merges.
    nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
    for (size_t i = 3; i < pieces.size(); ++i) vocab[pieces[i]] = i;
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
                   {"vocab", vocab}, {"merges", nlohmann::ordered_json::array()}};
    write_text("tokenizer.json", tj.dump() + "\n");
    write_text("tokenizer_config.json", "{\"bos_token\": \"<s>\", \"eos_token\": \"</s>\", \"add_bos_token\": false}\n");

    SafetensorsWriter w;
    std::vector<std::vector<uint8_t>> keep;
    auto add = [&](const std::string& name, std::vector<uint8_t> bytes, DType t, Shape shape) {
      keep.push_back(std::move(bytes));
      w.add(name, TensorView(keep.back().data(), t, shape));
      keep.back().clear();
      keep.back().shrink_to_fit();
    };
    auto mat = [&](const std::string& name, int64_t rows, int64_t cols) {
      add(name, random_matrix(rows, cols, type, seed, stream++, wstd, 0, pool), type, {rows, cols});
    };
    auto vec = [&](const std::string& name, int64_t n, float mean, float sd) {
      add(name, random_matrix(1, n, type, seed, stream++, sd, mean, pool), type, {n});
    };
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
      if (qwen2) {
        vec(p + "self_attn.q_proj.bias", qd, 0, 0.02f);
        vec(p + "self_attn.k_proj.bias", kvd, 0, 0.02f);
        vec(p + "self_attn.v_proj.bias", kvd, 0, 0.02f);
      }
      if (qwen3) {
        vec(p + "self_attn.q_norm.weight", hd, 1.0f, 0.05f);
        vec(p + "self_attn.k_norm.weight", hd, 1.0f, 0.05f);
      }
      mat(p + "mlp.gate_proj.weight", s.intermediate, H);
      mat(p + "mlp.up_proj.weight", s.intermediate, H);
      mat(p + "mlp.down_proj.weight", H, s.intermediate);
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
