// Hugging Face folder -> GGUF: the converted file loads as the same model.
// On the Transformers goldens (../shared/golden/hf, f32 and bf16): the same
// configuration, every weight bit for bit (Q/K rows in llama.cpp's order for
// the Llama family, checked against llama.cpp's reshape-swap definition and
// against RoPE itself), q8_0 weights equal to quantize-then-dequantize of the
// source rows, and the same logits — bitwise for Qwen2/Qwen3; for
// Llama/Mistral the permuted Q/K only reorder the q.k sums, so f32 rounding
// (~1e-7 relative) is the whole difference. llama3 RoPE divisors reproduce
// the Hugging Face frequencies exactly wherever an f32 divisor can (else
// within one ulp); configurations GGUF cannot express are refused.
#include "rkv/model/convert.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>

#include "common/testing.h"
#include "rkv/core/cpu.h"
#include "rkv/core/buffer.h"
#include "rkv/formats/gguf.h"
#include "rkv/formats/safetensors.h"
#include "rkv/model/model.h"
#include "rkv/ops/matmul.h"
#include "rkv/ops/rope.h"

namespace rkv {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

TEST(ConvertRules, AdjacentRowsAreLlamaCppsReshapeSwap) {
  // llama.cpp: w.reshape(n_head, 2, hd / 2, cols).swapaxes(1, 2): output row
  // (h, i, j) is input row (h, j, i).
  const int64_t n_head = 3, hd = 8;
  for (int64_t h = 0; h < n_head; ++h)
    for (int64_t i = 0; i < hd / 2; ++i)
      for (int64_t j = 0; j < 2; ++j)
        EXPECT_EQ(rope_adjacent_source_row(h * hd + i * 2 + j, hd), h * hd + j * (hd / 2) + i);
  // And it is what makes adjacent-pair RoPE on the permuted vector equal
  // rotate-half RoPE on the original, permuted.
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> x(static_cast<size_t>(n_head * hd)), inv(static_cast<size_t>(hd / 2));
  for (float& v : x) v = u(rng);
  for (size_t i = 0; i < inv.size(); ++i) inv[i] = std::pow(10000.0f, -2.0f * static_cast<float>(i) / hd);
  std::vector<float> permuted(x.size());
  for (size_t r = 0; r < x.size(); ++r) permuted[r] = x[static_cast<size_t>(rope_adjacent_source_row(static_cast<int64_t>(r), hd))];
  rope_apply(x.data(), n_head, hd, hd, inv.data(), 37, 1.0f, RopeStyle::RotateHalf);
  rope_apply(permuted.data(), n_head, hd, hd, inv.data(), 37, 1.0f, RopeStyle::Adjacent);
  for (size_t r = 0; r < x.size(); ++r)
    EXPECT_EQ(permuted[r], x[static_cast<size_t>(rope_adjacent_source_row(static_cast<int64_t>(r), hd))]) << r;
}

TEST(ConvertRules, Llama3DivisorsGiveTheScaledFrequenciesExactly) {
  for (int64_t hd : {16, 64, 128}) {
    ModelConfig c;
    c.head_dim = hd;
    c.rope_theta = 500000.0;
    c.rope_scaling.type = "llama3";
    c.rope_scaling.factor = 8;
    c.rope_scaling.original_max_position = 8192;
    ModelConfig plain = c;
    plain.rope_scaling = RopeScaling{};
    const std::vector<float> f = llama3_rope_freq_factors(c), base = plain.inv_freq(0), want = c.inv_freq(0);
    ASSERT_EQ(f.size(), static_cast<size_t>(hd / 2));
    int scaled = 0, inexact = 0;
    for (size_t i = 0; i < f.size(); ++i) {
      // Exact wherever some f32 divisor near the ratio is (searched here
      // independently, 64 steps each way); otherwise within one ulp.
      bool reachable = false;
      float cand = static_cast<float>(static_cast<double>(base[i]) / want[i]);
      for (int k = 0; k < 64; ++k) cand = std::nextafter(cand, 0.0f);
      for (int k = 0; k < 129 && !reachable; ++k, cand = std::nextafter(cand, INFINITY)) reachable = base[i] / cand == want[i];
      if (reachable) {
        EXPECT_EQ(base[i] / f[i], want[i]) << "hd " << hd << " i " << i;  // the loader's f32 division
      } else {
        ++inexact;
        EXPECT_LE(std::fabs(base[i] / f[i] - want[i]), std::nextafter(want[i], INFINITY) - want[i]) << "hd " << hd << " i " << i;
      }
      EXPECT_GE(f[i], 1.0f);
      EXPECT_LE(f[i], 8.0f * (1 + 1e-6f));
      EXPECT_NEAR(f[i], static_cast<double>(base[i]) / want[i], 4e-7 * f[i]);
      scaled += f[i] > 1.0f;
    }
    EXPECT_LE(inexact, 1) << "hd " << hd;
    EXPECT_GT(scaled, 0) << "some frequencies are scaled";
  }
  ModelConfig none;
  EXPECT_THROW(llama3_rope_freq_factors(none), Error);
}

TEST(ConvertRules, MatrixTypesFollowLlamaQuantize) {
  std::string why;
  EXPECT_EQ(gguf_matrix_type(DType::BF16, 100, true, false), DType::BF16);
  EXPECT_EQ(gguf_matrix_type(DType::Q4_K, 512, false, false), DType::Q4_K);
  EXPECT_EQ(gguf_matrix_type(DType::Q4_K, 512, true, false, &why), DType::Q6_K);
  EXPECT_NE(why.find("output head"), std::string::npos);
  EXPECT_EQ(gguf_matrix_type(DType::Q4_K, 512, true, true), DType::Q4_K) << "pure";
  EXPECT_EQ(gguf_matrix_type(DType::Q8_0, 512, true, false), DType::Q8_0);
  EXPECT_EQ(gguf_matrix_type(DType::Q4_0, 512, true, false), DType::Q6_K);
  EXPECT_EQ(gguf_matrix_type(DType::Q4_K, 128, false, false, &why), DType::Q8_0);
  EXPECT_NE(why.find("not whole q4_k blocks"), std::string::npos) << why;
  EXPECT_EQ(gguf_matrix_type(DType::Q6_K, 128, true, false), DType::Q8_0);
  EXPECT_EQ(gguf_matrix_type(DType::Q8_0, 100, false, false), DType::F16);
  EXPECT_EQ(gguf_matrix_type(DType::Q4_0, 96, false, false), DType::Q4_0);
  EXPECT_EQ(gguf_file_type(DType::Q4_K), 14u);
  EXPECT_EQ(gguf_file_type(DType::BF16), 32u);
}

// ------------------------------------------------------------ the goldens

struct Golden {
  const char* name;
  const char* sub;  // "" (f32) or "bf16"
  const char* type;  // conversion target
};

class ConvertGolden : public ::testing::TestWithParam<Golden> {};

std::vector<float> logits(const Model& m, const std::vector<int32_t>& ids, ThreadPool& pool) {
  std::vector<int32_t> pos(ids.size());
  for (size_t i = 0; i < pos.size(); ++i) pos[i] = static_cast<int32_t>(i);
  auto caches = m.make_caches(static_cast<int64_t>(ids.size()));
  std::vector<float> out(ids.size() * static_cast<size_t>(m.config().vocab_size));  // [n][vocab]
  m.forward(ids.data(), pos.data(), static_cast<int64_t>(ids.size()), caches, out.data(), true, pool);
  return out;
}

// Row r of the GGUF matrix against its source row: bit for bit when the
// type is the source's (or f32), else quantize-then-dequantize of the source.
void expect_same_matrix(const WeightMatrix& hf, const WeightMatrix& gg, bool permuted, int64_t head_dim,
                        const std::string& what) {
  ASSERT_EQ(hf.rows, gg.rows) << what;
  ASSERT_EQ(hf.cols, gg.cols) << what;
  std::vector<float> a(static_cast<size_t>(hf.cols)), b(a.size()), q(a.size());
  std::vector<uint8_t> block(dtype_row_bytes(gg.type, gg.cols));
  int64_t bad = 0;
  for (int64_t r = 0; r < gg.rows; ++r) {
    dequantize_row(hf, permuted ? rope_adjacent_source_row(r, head_dim) : r, a.data());
    dequantize_row(gg, r, b.data());
    if (gg.type != hf.type && gg.type != DType::F32) {
      quantize_matrix(a.data(), 1, hf.cols, gg.type, block.data());
      dequantize_row(WeightMatrix{block.data(), gg.type, 1, hf.cols}, 0, a.data());
    }
    bad += std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) != 0;
  }
  EXPECT_EQ(bad, 0) << what << " (" << dtype_name(gg.type) << "): rows differ";
}

TEST_P(ConvertGolden, LoadsAsTheSameModel) {
  const Golden g = GetParam();
  const std::string rel = std::string("golden/hf/") + g.name + (*g.sub ? std::string("/") + g.sub : "");
  RKV_REQUIRE_ASSET(rel + "/model.safetensors");
  test::TempDir dir;
  const std::string out = dir.path("m.gguf");
  ThreadPool pool(2);
  ConvertOptions opt;
  opt.type = parse_weight_dtype(g.type);
  opt.with_vocab = false;
  std::vector<std::string> notes;
  opt.note = [&](const std::string& s) { notes.push_back(s); };
  ConvertSummary s = convert_hf_to_gguf(test::asset(rel), out, opt, pool);
  EXPECT_EQ(s.bytes, fs::file_size(out));
  auto hf = Model::load(test::asset(rel));
  auto gg = Model::load(out);
  const ModelConfig &a = hf->config(), &b = gg->config();
  const bool llama = a.architecture == "llama" || a.architecture == "mistral";
  EXPECT_EQ(b.architecture, llama ? "llama" : a.architecture);
  EXPECT_EQ(s.architecture, b.architecture);
  EXPECT_EQ(b.hidden, a.hidden);
  EXPECT_EQ(b.n_layers, a.n_layers);
  EXPECT_EQ(b.n_heads, a.n_heads);
  EXPECT_EQ(b.n_kv_heads, a.n_kv_heads);
  EXPECT_EQ(b.head_dim, a.head_dim);
  EXPECT_EQ(b.intermediate, a.intermediate);
  EXPECT_EQ(b.vocab_size, a.vocab_size);
  EXPECT_EQ(static_cast<float>(b.rms_norm_eps), static_cast<float>(a.rms_norm_eps));
  EXPECT_EQ(b.rope_theta, a.rope_theta);
  EXPECT_EQ(b.max_position_embeddings, a.max_position_embeddings);
  EXPECT_EQ(b.tie_word_embeddings, a.tie_word_embeddings);
  EXPECT_EQ(b.qkv_bias, a.qkv_bias);
  EXPECT_EQ(b.qk_norm, a.qk_norm);
  EXPECT_EQ(b.sliding_window, a.sliding_window);
  EXPECT_EQ(b.bos_id, a.bos_id);
  EXPECT_EQ(b.eos_ids, a.eos_ids);
  EXPECT_EQ(b.rope_style, llama ? RopeStyle::Adjacent : RopeStyle::RotateHalf);
  // RoPE frequencies as the forward uses them.
  std::vector<float> fa = a.inv_freq(100), fb = b.inv_freq(100);
  const auto& factors = gg->rope_freq_factors();
  EXPECT_EQ(factors.empty(), a.rope_scaling.type != "llama3");
  for (size_t i = 0; i < factors.size(); ++i) fb[i] /= factors[i];
  EXPECT_EQ(fa, fb);

  // Weights.
  const int64_t hd = a.head_dim;
  expect_same_matrix(hf->embedding(), gg->embedding(), false, hd, "embedding");
  expect_same_matrix(hf->output(), gg->output(), false, hd, "output");
  EXPECT_EQ(hf->final_norm(), gg->final_norm());
  for (int l = 0; l < a.n_layers; ++l) {
    const LayerWeights &x = hf->layer(l), &y = gg->layer(l);
    const std::string L = "layer " + std::to_string(l) + " ";
    expect_same_matrix(x.wq, y.wq, llama, hd, L + "wq");
    expect_same_matrix(x.wk, y.wk, llama, hd, L + "wk");
    expect_same_matrix(x.wv, y.wv, false, hd, L + "wv");
    expect_same_matrix(x.wo, y.wo, false, hd, L + "wo");
    expect_same_matrix(x.w_gate, y.w_gate, false, hd, L + "w_gate");
    expect_same_matrix(x.w_up, y.w_up, false, hd, L + "w_up");
    expect_same_matrix(x.w_down, y.w_down, false, hd, L + "w_down");
    EXPECT_EQ(x.attn_norm, y.attn_norm);
    EXPECT_EQ(x.ffn_norm, y.ffn_norm);
    EXPECT_EQ(x.bq, y.bq);  // qwen2 only (no permutation)
    EXPECT_EQ(x.bk, y.bk);
    EXPECT_EQ(x.bv, y.bv);
    EXPECT_EQ(x.q_norm, y.q_norm);
    EXPECT_EQ(x.k_norm, y.k_norm);
  }
  if (is_quantized(*opt.type)) return;  // quantized logits: tests/apps/convert_test.cc

  // Logits of the golden prompt.
  SafetensorsFile golden(test::asset(std::string("golden/hf/") + g.name + "/golden.safetensors"));
  TensorView p = golden.get("prompt_ids");
  std::vector<int32_t> ids;
  for (int64_t i = 0; i < p.numel(); ++i) ids.push_back(static_cast<int32_t>(p.as<const int64_t>(DType::I64)[i]));
  std::vector<float> la = logits(*hf, ids, pool), lb = logits(*gg, ids, pool);
  // The AMX bf16 GEMM rounds activations to bf16 for bf16 weights only, so
  // with AMX a bf16 -> f32 conversion changes the arithmetic, and the q.k
  // reordering of a Llama permutation can flip a bf16 rounding downstream.
  const bool amx_rounding = amx_active() && (llama || hf->layer(0).wq.type != gg->layer(0).wq.type);
  if (!llama && !amx_rounding) {
    EXPECT_EQ(std::memcmp(la.data(), lb.data(), la.size() * sizeof(float)), 0) << "logits not bitwise equal";
  } else {
    double scale = 0, diff = 0;
    for (size_t i = 0; i < la.size(); ++i) {
      scale = std::max(scale, static_cast<double>(std::fabs(la[i])));
      diff = std::max(diff, static_cast<double>(std::fabs(la[i] - lb[i])));
    }
    const double tolerance = amx_rounding ? 1e-4 : 2e-6;
    EXPECT_LE(diff, tolerance * scale) << (amx_rounding ? "bf16 activation rounding (AMX)" : "f32 reordering of q.k only")
                                       << " (max |logit| " << scale << ")";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Goldens, ConvertGolden,
    ::testing::Values(Golden{"pub_qwen2", "", "f32"}, Golden{"pub_qwen2", "bf16", "bf16"}, Golden{"pub_qwen2", "", "q8_0"},
                      Golden{"pub_qwen3", "", "f32"}, Golden{"pub_qwen3", "bf16", "bf16"},
                      Golden{"pub_llama_llama3rope", "", "f32"}, Golden{"pub_llama_llama3rope", "bf16", "bf16"},
                      Golden{"pub_llama_llama3rope", "", "q4_k"}, Golden{"pub_mistral", "", "f32"},
                      Golden{"pub_mistral", "bf16", "f32"}),
    [](const auto& info) { return std::string(info.param.name) + "_" + (*info.param.sub ? info.param.sub : "f32") + "_to_" + info.param.type; });

// ------------------------------------------------------- configurations

// A golden folder with its config.json / generation_config.json edited (the
// weights linked, not copied).
std::string edited_golden(const test::TempDir& dir, const std::string& name, const std::function<void(json&)>& edit_config,
                          const json& generation) {
  const std::string src = test::asset("golden/hf/" + name);
  fs::create_directories(dir.dir() / name);
  fs::create_symlink(fs::path(src) / "model.safetensors", dir.dir() / name / "model.safetensors");
  json c = json::parse(read_text_file(src + "/config.json"));
  edit_config(c);
  std::ofstream(dir.dir() / name / "config.json") << c.dump(2);
  std::ofstream(dir.dir() / name / "generation_config.json") << generation.dump(2);
  return (dir.dir() / name).string();
}

TEST(ConvertConfig, ScalingWindowsStopIdsAndSamplingTravel) {
  RKV_REQUIRE_ASSET("golden/hf/pub_mistral/model.safetensors");
  test::TempDir dir;
  ThreadPool pool(1);
  ConvertOptions opt;
  opt.with_vocab = false;
  std::vector<std::string> notes;
  opt.note = [&](const std::string& s) { notes.push_back(s); };
  struct Variant {
    json rope_scaling;
    int64_t window;
  };
  const Variant variants[] = {
      {json{{"type", "linear"}, {"factor", 4.0}}, 0},
      {json{{"rope_type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 1024}, {"beta_fast", 16.0}}, 256},
  };
  for (const Variant& v : variants) {
    std::string folder = edited_golden(
        dir, "pub_mistral",
        [&](json& c) {
          c["rope_scaling"] = v.rope_scaling;
          c["sliding_window"] = v.window > 0 ? json(v.window) : json();
        },
        json{{"bos_token_id", 1}, {"eos_token_id", {2, 7, 9}}, {"temperature", 0.6}, {"top_p", 0.95}, {"top_k", 20}});
    const std::string out = dir.path("m.gguf");
    convert_hf_to_gguf(folder, out, opt, pool);
    auto hf = Model::load(folder);
    auto gg = Model::load(out);
    const ModelConfig &a = hf->config(), &b = gg->config();
    EXPECT_EQ(b.rope_scaling.type, a.rope_scaling.type);
    EXPECT_EQ(b.rope_scaling.factor, a.rope_scaling.factor);
    EXPECT_EQ(b.rope_scaling.beta_fast, a.rope_scaling.beta_fast);
    EXPECT_EQ(b.rope_scaling.beta_slow, a.rope_scaling.beta_slow);
    EXPECT_EQ(b.rope_mscale(), a.rope_mscale());
    if (a.rope_scaling.type == "yarn") {
      EXPECT_EQ(b.rope_scaling.original_max_position, 1024);
    }
    EXPECT_EQ(b.inv_freq(3000), a.inv_freq(3000));
    EXPECT_EQ(b.sliding_window, a.sliding_window);
    EXPECT_EQ(b.eos_ids, a.eos_ids) << "EOS, then EOT and EOM";
    EXPECT_EQ(static_cast<float>(b.default_temperature), 0.6f);
    EXPECT_EQ(static_cast<float>(b.default_top_p), 0.95f);
    EXPECT_EQ(b.default_top_k, 20);
    fs::remove_all(dir.dir() / "pub_mistral");
  }

  // Refused: dynamic NTK, yarn with its own attention factor, per-layer windows.
  const std::pair<std::function<void(json&)>, const char*> refused[] = {
      {[](json& c) { c["rope_scaling"] = {{"type", "dynamic"}, {"factor", 2.0}}; }, "no GGUF equivalent"},
      {[](json& c) { c["rope_scaling"] = {{"type", "yarn"}, {"factor", 2.0}, {"attention_factor", 1.2}}; }, "attention_factor"},
      {[](json& c) {
         c["architectures"] = {"Qwen2ForCausalLM"};
         c["use_sliding_window"] = true;
         c["sliding_window"] = 64;
         c["max_window_layers"] = 1;
       },
       "different sliding windows"},
  };
  for (const auto& [edit, message] : refused) {
    std::string folder = edited_golden(dir, "pub_mistral", edit, json{{"eos_token_id", 2}});
    try {
      convert_hf_to_gguf(folder, dir.path("x.gguf"), opt, pool);
      ADD_FAILURE() << "accepted: " << message;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(dir.path("x.gguf")));
    fs::remove_all(dir.dir() / "pub_mistral");
  }
}

}  // namespace
}  // namespace rkv
