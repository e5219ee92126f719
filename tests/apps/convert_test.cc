// rkv convert: the GGUF it writes and the Hugging Face folder it read are
// the same model through the rkv binary.
//  - f32 / bf16 (bf16 source): `rkv logits` bitwise equal to the folder's.
//  - q8_0 / q4_k: with the portable kernels (RKV_ISA=scalar, where a block
//    matrix is dequantized and then multiplied like an f32 one), bitwise
//    equal to the logits of a folder whose weights are the source weights
//    quantized and dequantized here with the types the GGUF holds; with the
//    native kernels (activations rounded to int8 too) the distance to that
//    folder stays within twice the logit change Q8_0 weights cause (the
//    kernels' int8 activations are an error of that kind).
//  - tokenizer, special tokens and chat template: `rkv tokenize` (plain,
//    with special tokens, --chat, --decode) and `rkv template` print the same
//    through the GGUF as through the folder, on the reference vector texts
//    of real vocabularies (byte-level Qwen3, SentencePiece-style Mistral).
//  - `rkv inspect` shows the same model; every refusal exits 2 with a
//    message naming the problem and leaves no file.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "common/testing.h"
#include "rkv/core/buffer.h"
#include "rkv/formats/gguf.h"
#include "rkv/formats/safetensors.h"
#include "rkv/ops/matmul.h"

namespace rkv {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Sets an environment variable for the rkv processes this test starts.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { setenv(name, value, 1); }
  ~ScopedEnv() { unsetenv(name_); }

 private:
  const char* name_;
};

void must(const test::CommandResult& r, const std::string& what) {
  ASSERT_EQ(r.exit_code, 0) << what << ": " << r.err;
}

// make-model's tiny Qwen2 (hidden 256, ffn 512: every matrix holds whole
// 256-element blocks) as a bf16 Hugging Face folder.
std::string tiny_folder(const test::TempDir& dir, const std::string& name, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"make-model", "--shape", "tiny", "--format", "safetensors", "--type", "bf16",
                                   "-o", dir.path(name)};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = test::run_rkv(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return dir.path(name);
}

std::vector<float> logits_of(const std::string& model, const std::string& ids, const std::string& out) {
  auto r = test::run_rkv({"logits", "-m", model, "--ids", ids, "-o", out});
  EXPECT_EQ(r.exit_code, 0) << model << ": " << r.err;
  if (r.exit_code != 0) return {};
  SafetensorsFile f(out);
  TensorView v = f.get("logits");
  const float* p = v.as<const float>(DType::F32);
  return std::vector<float>(p, p + v.numel());
}

double max_abs(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, static_cast<double>(std::fabs(a[i] - b[i])));
  return m;
}

bool bitwise(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && !a.empty() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// llama.cpp's tensor names, written out independently of the converter.
std::string gguf_name(std::string hf) {
  const std::pair<const char*, const char*> whole[] = {{"model.embed_tokens.weight", "token_embd.weight"},
                                                       {"lm_head.weight", "output.weight"},
                                                       {"model.norm.weight", "output_norm.weight"}};
  for (const auto& [a, b] : whole)
    if (hf == a) return b;
  const std::pair<const char*, const char*> parts[] = {
      {"model.layers.", "blk."},         {"self_attn.q_proj", "attn_q"},    {"self_attn.k_proj", "attn_k"},
      {"self_attn.v_proj", "attn_v"},    {"self_attn.o_proj", "attn_output"}, {"mlp.gate_proj", "ffn_gate"},
      {"mlp.up_proj", "ffn_up"},         {"mlp.down_proj", "ffn_down"},     {"post_attention_layernorm", "ffn_norm"},
      {"input_layernorm", "attn_norm"},  {"self_attn.q_norm", "attn_q_norm"}, {"self_attn.k_norm", "attn_k_norm"}};
  for (const auto& [a, b] : parts)
    if (auto p = hf.find(a); p != std::string::npos) hf.replace(p, std::strlen(a), b);
  return hf;
}

// The folder's model with every weight replaced by f32 values: quantized to
// the type the GGUF holds for it and dequantized (Qwen2: no row permutation).
std::string quantized_dequantized_folder(const std::string& folder, const std::string& gguf, const std::string& out) {
  fs::create_directories(out);
  for (const char* f : {"config.json", "generation_config.json"}) fs::copy_file(fs::path(folder) / f, fs::path(out) / f);
  SafetensorsFile src((fs::path(folder) / "model.safetensors").string());
  GgufFile g(gguf);
  SafetensorsWriter w;
  for (const std::string& name : src.names()) {
    TensorView v = src.get(name);
    const GgufTensorInfo& t = g.tensor(gguf_name(name));
    std::vector<float> x(static_cast<size_t>(v.numel()));
    convert_to_f32(v.dtype, v.data, x.data(), x.size());
    if (v.rank() == 2 && t.dtype != DType::F32) {
      const int64_t rows = v.shape[0], cols = v.shape[1];
      std::vector<uint8_t> q(dtype_row_bytes(t.dtype, cols) * static_cast<size_t>(rows));
      quantize_matrix(x.data(), rows, cols, t.dtype, q.data());
      EXPECT_EQ(std::memcmp(q.data(), t.data, q.size()), 0) << name << ": the GGUF holds other blocks";
      for (int64_t r = 0; r < rows; ++r) dequantize_row(WeightMatrix{q.data(), t.dtype, rows, cols}, r, x.data() + r * cols);
    }
    w.add(name, TensorView(x.data(), DType::F32, v.shape));
  }
  w.write((fs::path(out) / "model.safetensors").string());
  return out;
}

const char* kIds = "1,5,9,300,17,42,511,3,100,200,7,7,7,64,128,255,256,400";

TEST(ConvertCli, FloatTypesGiveTheFolderLogitsBitwise) {
  test::TempDir dir;
  const std::string folder = tiny_folder(dir, "hf");
  // Without AMX: its bf16 GEMM rounds activations for bf16 weights only.
  ScopedEnv no_amx("RKV_ISA", "avx512");
  const std::vector<float> ref = logits_of(folder, kIds, dir.path("ref.st"));
  for (const char* type : {"bf16", "f32", ""}) {  // "": as stored (bf16)
    const std::string out = dir.path(std::string("m_") + type + ".gguf");
    std::vector<std::string> args = {"convert", "-m", folder, "-o", out};
    if (*type) args.insert(args.end(), {"--type", type});
    auto r = test::run_rkv(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("wrote " + out + ": qwen2, 27 tensors"), std::string::npos) << r.err;
    EXPECT_TRUE(bitwise(logits_of(out, kIds, dir.path("l.st")), ref)) << type;
    GgufFile g(out);
    const DType matrices = std::string(type) == "f32" ? DType::F32 : DType::BF16;
    EXPECT_EQ(g.tensor("blk.1.ffn_down.weight").dtype, matrices);
    EXPECT_EQ(g.tensor("blk.1.attn_q.bias").dtype, DType::F32) << "biases stay f32";
    EXPECT_EQ(g.tensor("output_norm.weight").dtype, DType::F32) << "norms stay f32";
    EXPECT_EQ(g.get_int("general.file_type", -1), std::string(type) == "f32" ? 0 : 32);
  }
}

TEST(ConvertCli, BlockTypesGiveTheQuantizedModelsLogits) {
  test::TempDir dir;
  const std::string folder = tiny_folder(dir, "hf");
  const std::vector<float> full = logits_of(folder, kIds, dir.path("full.st"));
  double q8_effect = 0;  // max |logit change| the q8_0 weights cause
  for (const char* type : {"q8_0", "q4_k"}) {
    const std::string out = dir.path(std::string(type) + ".gguf");
    auto r = test::run_rkv({"convert", "-m", folder, "-o", out, "--type", type});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    GgufFile g(out);
    EXPECT_EQ(g.tensor("blk.0.ffn_up.weight").dtype, parse_weight_dtype(type));
    EXPECT_EQ(g.tensor("token_embd.weight").dtype, parse_weight_dtype(type));
    const DType head = std::string(type) == "q8_0" ? DType::Q8_0 : DType::Q6_K;
    EXPECT_EQ(g.tensor("output.weight").dtype, head) << "llama-quantize's output head";
    if (head == DType::Q6_K) {
      EXPECT_NE(r.err.find("output.weight: q6_k instead of q4_k"), std::string::npos) << r.err;
    }
    EXPECT_NE(r.err.find("11 1-D tensors (norms, biases) stay f32"), std::string::npos) << r.err;
    const std::string qdq = quantized_dequantized_folder(folder, out, dir.path(std::string("qdq_") + type));
    std::vector<float> scalar_gguf, scalar_qdq;
    {
      ScopedEnv portable("RKV_ISA", "scalar");
      scalar_gguf = logits_of(out, kIds, dir.path("sg.st"));
      scalar_qdq = logits_of(qdq, kIds, dir.path("sq.st"));
    }
    EXPECT_TRUE(bitwise(scalar_gguf, scalar_qdq)) << type << ": max diff " << max_abs(scalar_gguf, scalar_qdq);
    // The native kernels also round the activations to int8 (one scale per
    // 32 values, per 256 for the K types): an error of the kind Q8_0 makes in
    // the weights. So their distance to the quantized model is bounded by
    // twice the logit change Q8_0 weights cause (measured first), and for
    // q4_k it stays below the change its own 4-bit weights cause.
    const std::vector<float> native = logits_of(out, kIds, dir.path("ng.st"));
    const double kernel = max_abs(native, scalar_qdq), quantization = max_abs(scalar_qdq, full);
    if (q8_effect == 0) q8_effect = quantization;
    EXPECT_GT(quantization, 0) << type;
    EXPECT_LE(kernel, 2 * q8_effect) << type;
    if (std::string(type) == "q4_k") {
      EXPECT_LT(kernel, quantization);
    }
    std::printf("%s: max |logit difference| quantization %.4g, native kernels %.4g\n", type, quantization, kernel);
  }
  // --pure keeps the output head in the type asked for.
  auto pure = test::run_rkv({"convert", "-m", folder, "-o", dir.path("pure.gguf"), "--type", "q4_k", "--pure"});
  ASSERT_EQ(pure.exit_code, 0) << pure.err;
  EXPECT_EQ(GgufFile(dir.path("pure.gguf")).tensor("output.weight").dtype, DType::Q4_K);
}

// The project's own model (models/rkv-reasoner-mini, a Llama: Q/K rows are
// permuted into GGUF's order, so f32 sums of q.k run in another order).
// The shipped GGUF is exactly what `rkv convert` makes of the folder today;
// f32/bf16 GGUFs give the folder's logits up to that reordering (without
// AMX, whose bf16 GEMM rounds activations for bf16 weights only); the q8_0
// one predicts the same next tokens along a whole chain of thought.
TEST(ConvertCli, ShippedReasonerModelAndItsGguf) {
  const fs::path models = fs::path(RKV_SOURCE_DIR) / "models";
  const std::string folder = (models / "rkv-reasoner-mini").string();
  const std::string shipped = (models / "rkv-reasoner-mini-Q8_0.gguf").string();
  ASSERT_TRUE(fs::exists(shipped)) << shipped;
  test::TempDir dir;
  const std::string remade = dir.path("q8.gguf");
  must(test::run_rkv({"convert", "-m", folder, "-o", remade, "--type", "q8_0"}), "convert q8_0");
  EXPECT_EQ(test::slurp(remade), test::slurp(shipped)) << "rkv convert no longer makes the shipped GGUF";

  // The ids of a prompt and its reference chain (held-out problem 0).
  std::ifstream in(fs::path(folder) / "test.jsonl");
  std::string line;
  std::getline(in, line);
  const std::string problem = json::parse(line).at("problem").get<std::string>();
  auto prompt = test::run_rkv({"tokenize", "-m", folder, "--chat", "-p", problem});
  must(prompt, "tokenize");
  std::string ids = prompt.out.substr(0, prompt.out.find('\n'));
  auto chain = test::run_rkv({"generate", "-m", folder, "--chat", "-p", problem, "-n", "400", "--json"});
  must(chain, "generate");
  const json generated = json::parse(chain.out);
  for (const auto& id : generated.at("ids")) ids += " " + std::to_string(id.get<int>());
  std::replace(ids.begin(), ids.end(), ' ', ',');

  ScopedEnv no_amx("RKV_ISA", "avx512");
  const std::vector<float> ref = logits_of(folder, ids, dir.path("ref.st"));
  ASSERT_FALSE(ref.empty());
  double scale = 0;
  for (float v : ref) scale = std::max(scale, static_cast<double>(std::fabs(v)));
  for (const char* type : {"f32", "bf16"}) {
    const std::string out = dir.path(std::string(type) + ".gguf");
    must(test::run_rkv({"convert", "-m", folder, "-o", out, "--type", type}), type);
    EXPECT_LE(max_abs(logits_of(out, ids, dir.path("l.st")), ref), 2e-6 * scale) << type;
  }
  const std::vector<float> q8 = logits_of(shipped, ids, dir.path("q8.st"));
  ASSERT_EQ(q8.size(), ref.size());
  const size_t vocab = 448, positions = ref.size() / vocab;
  size_t same = 0;
  for (size_t p = 0; p < positions; ++p) {
    const float* a = ref.data() + p * vocab;
    const float* b = q8.data() + p * vocab;
    same += std::max_element(a, a + vocab) - a == std::max_element(b, b + vocab) - b;
  }
  EXPECT_GE(static_cast<double>(same), 0.99 * static_cast<double>(positions))
      << same << " of " << positions << " next tokens agree";
  std::printf("q8_0 GGUF: %zu of %zu argmax agree, max |logit difference| %.4g (max |logit| %.4g)\n", same, positions,
              max_abs(q8, ref), scale);
}

TEST(ConvertCli, InspectShowsTheSameModel) {
  test::TempDir dir;
  const std::string folder = tiny_folder(dir, "hf");
  must(test::run_rkv({"convert", "-m", folder, "-o", dir.path("m.gguf"), "--type", "q8_0"}), "convert");
  auto a = test::run_rkv({"inspect", "-m", folder, "--json"}), b = test::run_rkv({"inspect", "-m", dir.path("m.gguf"), "--json"});
  must(a, "inspect folder");
  must(b, "inspect gguf");
  json ja = json::parse(a.out), jb = json::parse(b.out);
  EXPECT_EQ(jb["format"], "gguf");
  EXPECT_EQ(jb["weight_types"], "q8_0 x 16");
  for (const char* key : {"architecture", "parameters", "context_length", "vocab_size", "hidden_size", "layers", "heads",
                          "kv_heads", "head_dim", "intermediate_size", "rope_theta", "rope_scaling", "tied_embeddings",
                          "qkv_bias", "qk_norm", "sliding_window", "kv_bytes_per_token_f32"})
    EXPECT_EQ(jb[key], ja[key]) << key;
  // The GGUF's stop ids: the config's and the tokenizer's EOS (</s> = 2 here).
  EXPECT_EQ(jb["eos_ids"], ja["eos_ids"]);
}

// A random model whose vocabulary is a real tokenizer's (its files linked).
std::string model_with_tokenizer(const test::TempDir& dir, const std::string& tokenizer, const std::string& arch,
                                 int64_t vocab) {
  const std::string folder = dir.path(tokenizer);
  auto r = test::run_rkv({"make-model", "--arch", arch, "--hidden", "64", "--layers", "1", "--heads", "2", "--kv-heads",
                          "1", "--intermediate", "64", "--vocab", std::to_string(vocab), "--format", "safetensors",
                          "--type", "bf16", "-o", folder});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) {
    fs::remove(fs::path(folder) / f);
    fs::create_symlink(test::asset("tokenizers/" + tokenizer + "/" + f), fs::path(folder) / f);
  }
  return folder;
}

TEST(ConvertCli, TokenizerAndChatTemplateTravel) {
  struct C {
    const char* tokenizer;
    const char* arch;
    int64_t vocab;  // the model's rows (> the tokenizer's ids, as Qwen's 151936)
    const char* vocab_summary;
    bool chat;
  } cases[] = {{"qwen3", "qwen3", 151936, "vocabulary gpt2 (pre qwen2, 151936 tokens)", true},
               {"mistral7b_v0.1", "mistral", 32000, "vocabulary llama (pre default, 32000 tokens)", false}};
  for (const C& c : cases) {
    RKV_REQUIRE_ASSET(std::string("tokenizers/") + c.tokenizer + "/vectors.jsonl");
    test::TempDir dir;
    const std::string folder = model_with_tokenizer(dir, c.tokenizer, c.arch, c.vocab), gguf = dir.path("m.gguf");
    auto conv = test::run_rkv({"convert", "-m", folder, "-o", gguf});
    ASSERT_EQ(conv.exit_code, 0) << conv.err;
    EXPECT_NE(conv.err.find(c.vocab_summary), std::string::npos) << conv.err;
    // Every reference text, one per line, in one file.
    std::string texts;
    std::ifstream in(test::asset(std::string("tokenizers/") + c.tokenizer + "/vectors.jsonl"));
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) texts += json::parse(line)["text"].get<std::string>() + "\n";
    std::ofstream(dir.path("texts.txt"), std::ios::binary) << texts;
    std::vector<std::vector<std::string>> runs = {{"-f", dir.path("texts.txt"), "--json"},
                                                  {"-f", dir.path("texts.txt"), "--add-special-tokens", "--pieces"}};
    if (c.chat) runs.push_back({"-p", "What is 17 * 23?", "--chat"});
    std::string ids;
    for (const auto& extra : runs) {
      std::vector<std::string> a = {"tokenize", "-m", folder}, b = {"tokenize", "-m", gguf};
      a.insert(a.end(), extra.begin(), extra.end());
      b.insert(b.end(), extra.begin(), extra.end());
      auto ra = test::run_rkv(a), rb = test::run_rkv(b);
      ASSERT_EQ(ra.exit_code, 0) << ra.err;
      ASSERT_EQ(rb.exit_code, 0) << rb.err;
      EXPECT_EQ(rb.out, ra.out) << c.tokenizer << " " << extra.back();
      if (ids.empty()) {
        for (int64_t id : json::parse(ra.out)["ids"].get<std::vector<int64_t>>()) ids += (ids.empty() ? "" : ",") + std::to_string(id);
      }
    }
    auto da = test::run_rkv({"tokenize", "-m", folder, "--decode", ids}),
         db = test::run_rkv({"tokenize", "-m", gguf, "--decode", ids});
    must(da, "decode folder");
    EXPECT_EQ(db.out, da.out) << c.tokenizer;
    if (c.chat) {
      std::ofstream(dir.path("messages.json"))
          << R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"},)"
          << R"( {"role": "assistant", "content": "<think>\nsum\n</think>\n\n4"}, {"role": "user", "content": "and 3+3?"}])";
      auto ta = test::run_rkv({"template", "-m", folder, "--messages", dir.path("messages.json"), "--add-generation-prompt"});
      auto tb = test::run_rkv({"template", "-m", gguf, "--messages", dir.path("messages.json"), "--add-generation-prompt"});
      must(ta, "template folder");
      must(tb, "template gguf");
      EXPECT_EQ(tb.out, ta.out);
      EXPECT_NE(ta.out.find("<|im_start|>assistant"), std::string::npos);
    }
    // The weights travel too (bf16 as stored); Mistral's Q/K rows are
    // permuted for llama.cpp's RoPE, which reorders the q.k sums only.
    const std::vector<float> lg = logits_of(gguf, "1,2,3,400,9000", dir.path("g.st")),
                             lf = logits_of(folder, "1,2,3,400,9000", dir.path("f.st"));
    if (std::string(c.arch) == "mistral") {
      double scale = 0;
      for (float v : lf) scale = std::max(scale, static_cast<double>(std::fabs(v)));
      EXPECT_LE(max_abs(lg, lf), 2e-6 * scale);
    } else {
      EXPECT_TRUE(bitwise(lg, lf)) << c.tokenizer << ": max diff " << max_abs(lg, lf);
    }
  }
}

// ---------------------------------------------------------------- refusals

// Rewrites a folder's model.safetensors through `edit` (name -> tensor).
void edit_weights(const std::string& folder, const std::function<void(std::map<std::string, TensorView>&)>& edit) {
  const std::string path = (fs::path(folder) / "model.safetensors").string();
  std::vector<uint8_t> bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  SafetensorsFile src(bytes.data(), bytes.size(), path);
  std::map<std::string, TensorView> tensors;
  for (const std::string& n : src.names()) tensors[n] = src.get(n);
  edit(tensors);
  SafetensorsWriter w;
  for (const auto& [n, v] : tensors) w.add(n, v);
  w.write(path);
}

void edit_json(const std::string& path, const std::function<void(json&)>& edit) {
  json j = json::parse(read_text_file(path));
  edit(j);
  std::ofstream(path) << j.dump();
}

TEST(ConvertCli, RefusalsNameTheProblem) {
  test::TempDir dir;
  const std::string base = tiny_folder(dir, "base");
  std::vector<float> f64_storage(256 * 2, 0.5f);
  std::vector<float> wide(512 * 256, 0.0f);
  struct Refusal {
    const char* name;
    std::function<void(const std::string&)> edit;
    std::vector<std::string> flags;
    const char* message;
  };
  const Refusal refusals[] = {
      {"architecture", [](const std::string& f) { edit_json(f + "/config.json", [](json& c) { c["architectures"] = {"GPT2LMHeadModel"}; }); },
       {}, "unsupported architecture 'GPT2LMHeadModel'"},
      {"missing tensor", [](const std::string& f) { edit_weights(f, [](auto& t) { t.erase("model.norm.weight"); }); }, {},
       "missing tensor 'model.norm.weight'"},
      {"shape",
       [&](const std::string& f) {
         edit_weights(f, [&](auto& t) { t["model.layers.0.mlp.up_proj.weight"] = TensorView(wide.data(), DType::F32, {256, 512}); });
       },
       {}, "'model.layers.0.mlp.up_proj.weight' has shape [256, 512], expected [512, 256]"},
      {"dtype",
       [&](const std::string& f) {
         edit_weights(f, [&](auto& t) { t["model.norm.weight"] = TensorView(f64_storage.data(), DType::F64, {256}); });
       },
       {}, "'model.norm.weight' has dtype f64"},
      {"unexpected tensor",
       [&](const std::string& f) {
         edit_weights(f, [&](auto& t) { t["model.layers.0.self_attn.o_proj.bias"] = TensorView(wide.data(), DType::F32, {256}); });
       },
       {}, "unexpected tensor 'model.layers.0.self_attn.o_proj.bias'"},
      {"rope scaling",
       [](const std::string& f) {
         edit_json(f + "/config.json", [](json& c) { c["rope_scaling"] = {{"type", "dynamic"}, {"factor", 2.0}}; });
       },
       {}, "rope_scaling type 'dynamic' has no GGUF equivalent"},
      {"tokenizer type",
       [](const std::string& f) {
         edit_json(f + "/tokenizer.json", [](json& t) {
           t["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "\\s+"}}}, {"behavior", "Removed"}};
           t["decoder"] = nullptr;
         });
       },
       {}, "cannot be mapped to a GGUF vocabulary"},
      {"no tokenizer", [](const std::string& f) { fs::remove(f + "/tokenizer.json"); }, {}, "no tokenizer.json"},
      {"weight type", [](const std::string&) {}, {"--type", "q3_k"}, "unknown weight type 'q3_k'"},
      {"pure", [](const std::string&) {}, {"--type", "bf16", "--pure"}, "--pure goes with a block --type"},
  };
  int i = 0;
  for (const Refusal& r : refusals) {
    const std::string folder = dir.path("case" + std::to_string(i++));
    fs::copy(base, folder);
    r.edit(folder);
    const std::string out = dir.path("out.gguf");
    std::vector<std::string> args = {"convert", "-m", folder, "-o", out};
    args.insert(args.end(), r.flags.begin(), r.flags.end());
    auto res = test::run_rkv(args);
    EXPECT_EQ(res.exit_code, 2) << r.name << ": " << res.err;
    EXPECT_NE(res.err.find(r.message), std::string::npos) << r.name << ": " << res.err;
    EXPECT_FALSE(fs::exists(out)) << r.name;
  }
  // A tokenizer with more ids than the model has rows.
  if (!test::asset("tokenizers/qwen3/tokenizer.json").empty()) {
    const std::string folder = dir.path("big_vocab");
    fs::copy(base, folder);
    fs::remove(folder + "/tokenizer.json");
    fs::create_symlink(test::asset("tokenizers/qwen3/tokenizer.json"), folder + "/tokenizer.json");
    auto res = test::run_rkv({"convert", "-m", folder, "-o", dir.path("out.gguf")});
    EXPECT_EQ(res.exit_code, 2);
    EXPECT_NE(res.err.find("has only 512 rows"), std::string::npos) << res.err;
  }
  // Command-line mistakes.
  EXPECT_EQ(test::run_rkv({"convert", "-o", dir.path("x.gguf")}).exit_code, 2);
  EXPECT_EQ(test::run_rkv({"convert", "-m", dir.path("nowhere"), "-o", dir.path("x.gguf")}).exit_code, 2);
  auto suffix = test::run_rkv({"convert", "-m", base, "-o", dir.path("x.bin")});
  EXPECT_EQ(suffix.exit_code, 2);
  EXPECT_NE(suffix.err.find("must end in .gguf"), std::string::npos) << suffix.err;
  EXPECT_FALSE(fs::exists(dir.path("x.gguf")));
  // --no-tokenizer writes a model without a vocabulary.
  const std::string bare = dir.path("bare");
  fs::copy(base, bare);
  fs::remove(bare + "/tokenizer.json");
  must(test::run_rkv({"convert", "-m", bare, "-o", dir.path("bare.gguf"), "--no-tokenizer"}), "--no-tokenizer");
  EXPECT_FALSE(GgufFile(dir.path("bare.gguf")).has("tokenizer.ggml.tokens"));
}

}  // namespace
}  // namespace rkv
