// config.json / GGUF metadata mapping: the golden configs, rope scaling
// against hand-computed frequencies, named errors, and random mutations of
// a real config.json (parse or rkv::Error, never a crash).
#include <cmath>
#include <random>

#include "common/testing.h"
#include "rkv/core/buffer.h"
#include "rkv/core/error.h"
#include "rkv/formats/gguf.h"
#include "rkv/model/config.h"

namespace rkv {
namespace {

const char* kQwen2 = R"({"architectures":["Qwen2ForCausalLM"],"hidden_size":128,"intermediate_size":256,
  "num_attention_heads":4,"num_hidden_layers":3,"num_key_value_heads":2,"rms_norm_eps":1e-06,
  "rope_theta":1000000.0,"sliding_window":4096,"use_sliding_window":false,"tie_word_embeddings":true,
  "vocab_size":1024,"max_position_embeddings":4096,"eos_token_id":2,"bos_token_id":1})";

TEST(Config, Qwen2Fields) {
  ModelConfig c = parse_hf_config(kQwen2, R"({"eos_token_id":[2,5],"temperature":0.6})", "cfg");
  EXPECT_EQ(c.architecture, "qwen2");
  EXPECT_TRUE(c.qkv_bias);
  EXPECT_FALSE(c.qk_norm);
  EXPECT_EQ(c.head_dim, 32);
  EXPECT_EQ(c.n_kv_heads, 2);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.sliding_window, std::vector<int64_t>(3, 0));  // use_sliding_window false
  EXPECT_EQ(c.eos_ids, (std::vector<int64_t>{2, 5}));
  EXPECT_DOUBLE_EQ(c.default_temperature, 0.6);
}

TEST(Config, GoldenConfigs) {
  RKV_REQUIRE_ASSET("golden/hf/pub_qwen3/config.json");
  ModelConfig q3 = parse_hf_config(read_text_file(test::asset("golden/hf/pub_qwen3/config.json")), "", "qwen3");
  EXPECT_TRUE(q3.qk_norm);
  EXPECT_EQ(q3.head_dim, 32);  // differs from hidden / heads = 16
  ModelConfig ll = parse_hf_config(read_text_file(test::asset("golden/hf/pub_llama_llama3rope/config.json")), "", "llama");
  EXPECT_EQ(ll.rope_scaling.type, "llama3");
  EXPECT_FALSE(ll.tie_word_embeddings);
  ModelConfig mi = parse_hf_config(read_text_file(test::asset("golden/hf/pub_mistral/config.json")), "", "mistral");
  EXPECT_EQ(mi.architecture, "mistral");
  EXPECT_EQ(mi.sliding_window, std::vector<int64_t>(3, 0));  // "sliding_window": null
}

TEST(Config, RopeScalingFrequencies) {
  std::string base = R"({"architectures":["LlamaForCausalLM"],"hidden_size":64,"intermediate_size":128,
    "num_attention_heads":1,"num_hidden_layers":1,"vocab_size":300,"rope_theta":10000.0,
    "max_position_embeddings":4096)";
  ModelConfig plain = parse_hf_config(base + "}", "", "c");
  auto f0 = plain.inv_freq(10);
  ASSERT_EQ(f0.size(), 32u);
  for (int i = 0; i < 32; ++i) EXPECT_NEAR(f0[i], std::pow(10000.0, -2.0 * i / 64), 1e-7 * f0[i] + 1e-12);
  ModelConfig lin = parse_hf_config(base + R"(,"rope_scaling":{"type":"linear","factor":4.0}})", "", "c");
  auto fl = lin.inv_freq(10);
  for (int i = 0; i < 32; ++i) EXPECT_NEAR(fl[i], f0[i] / 4, 1e-6 * f0[i]);
  // llama3: wavelengths below orig/high keep their frequency, above orig/low are divided by factor.
  ModelConfig l3 = parse_hf_config(base + R"(,"rope_scaling":{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,
      "high_freq_factor":4.0,"original_max_position_embeddings":8192}})", "", "c");
  auto f3 = l3.inv_freq(10);
  for (int i = 0; i < 32; ++i) {
    double wl = 2 * M_PI / f0[i];
    if (wl < 8192 / 4.0) {
      EXPECT_FLOAT_EQ(f3[i], f0[i]);
    }
    if (wl > 8192 / 1.0) {
      EXPECT_NEAR(f3[i], f0[i] / 8, 1e-6 * f0[i]);
    }
  }
  ModelConfig yarn = parse_hf_config(base + R"(,"rope_scaling":{"rope_type":"yarn","factor":4.0,
      "original_max_position_embeddings":1024}})", "", "c");
  EXPECT_NEAR(yarn.rope_mscale(), 0.1 * std::log(4.0) + 1.0, 1e-6);
  auto fy = yarn.inv_freq(10);
  EXPECT_FLOAT_EQ(fy[0], f0[0]);                        // highest frequency: extrapolated
  EXPECT_NEAR(fy[31], f0[31] / 4, 1e-6 * f0[31]);       // lowest: interpolated
  ModelConfig dyn = parse_hf_config(base + R"(,"rope_scaling":{"type":"dynamic","factor":2.0}})", "", "c");
  EXPECT_EQ(dyn.inv_freq(100), f0);  // within the trained context nothing changes
  EXPECT_LT(dyn.inv_freq(8192)[31], f0[31]);
}

TEST(Config, NamedErrors) {
  auto err = [](const std::string& text) {
    try {
      parse_hf_config(text, "", "config.json");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(err(R"({"architectures":["GPT2LMHeadModel"]})").find("Qwen3ForCausalLM"), std::string::npos);
  EXPECT_NE(err("not json").find("config.json"), std::string::npos);
  std::string c = kQwen2;
  EXPECT_NE(err(c.replace(c.find("\"num_key_value_heads\":2"), 23, "\"num_key_value_heads\":3")).find("KV head"),
            std::string::npos);
  std::string d = kQwen2;
  EXPECT_NE(err(d.replace(d.find("\"hidden_size\":128"), 17, "\"hidden_size\":\"x\"")).find("hidden_size"),
            std::string::npos);
}

// Counts from a small file are checked before anything is sized by them: a
// billion layers (or 2^32 - 1) is an immediate named error, not gigabytes of
// per-layer vectors first (the test would exhaust memory or time otherwise).
TEST(Config, HugeCountsAreRejectedBeforeAllocating) {
  for (const char* layers : {"1000000000", "4294967295", "9223372036854775807"}) {
    std::string c = kQwen2;
    c.replace(c.find("\"num_hidden_layers\":3"), 21, std::string("\"num_hidden_layers\":") + layers);
    try {
      parse_hf_config(c, "", "config.json");
      ADD_FAILURE() << layers << " layers accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("layer count " + std::string(layers)), std::string::npos) << e.what();
    }
  }
  test::TempDir dir;
  for (uint32_t blocks : {1000000000u, 4294967295u}) {
    GgufWriter w;
    w.set_string("general.architecture", "qwen2");
    w.set_u32("qwen2.embedding_length", 64);
    w.set_u32("qwen2.block_count", blocks);
    w.set_u32("qwen2.feed_forward_length", 128);
    w.set_u32("qwen2.attention.head_count", 4);
    std::vector<float> embedding(64 * 300);
    w.add_tensor("token_embd.weight", DType::F32, {64, 300}, embedding.data(), embedding.size() * 4);
    w.write(dir.path("m.gguf"));
    GgufFile file(dir.path("m.gguf"));
    try {
      config_from_gguf(file);
      ADD_FAILURE() << blocks << " blocks accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("layer count " + std::to_string(blocks)), std::string::npos) << e.what();
    }
  }
}

// A problem in generation_config.json is reported as that file's.
TEST(Config, GenerationConfigErrorsNameThatFile) {
  for (const char* generation : {"[1", R"({"eos_token_id": "x"})", R"({"top_k": 1.5})"}) {
    try {
      parse_hf_config(kQwen2, generation, "/models/m/config.json");
      ADD_FAILURE() << generation << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("/models/m/generation_config.json: ", 0), 0u) << e.what();
    }
  }
}

// Random byte mutations of a real config: parse or rkv::Error.
TEST(Config, MutationsParseOrAreRejected) {
  std::mt19937 rng(7);
  const std::string good = kQwen2;
  int accepted = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string s = good;
    int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      size_t at = rng() % s.size();
      switch (rng() % 3) {
        case 0: s[at] = static_cast<char>(rng() % 128); break;
        case 1: s.erase(at, 1 + rng() % 8); break;
        default: s.insert(at, 1, "0123456789-.e:,{}[]\""[rng() % 20]);
      }
    }
    try {
      ModelConfig c = parse_hf_config(s, "", "mutated");
      EXPECT_GT(c.hidden, 0);
      EXPECT_EQ(c.n_heads % c.n_kv_heads, 0);
      ++accepted;
    } catch (const Error&) {
    }
  }
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace rkv
