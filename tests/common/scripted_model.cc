#include "common/scripted_model.h"

#include <cstdint>
#include <vector>

#include "rkv/formats/gguf.h"

namespace rkv::test {

void write_scripted_model(const std::string& path) {
  const std::vector<std::string> script = {"Let",  "\xe2\x96\x81me",     "\xe2\x96\x81think", ".",  "</think>",
                                           "The", "\xe2\x96\x81" "answer", "\xe2\x96\x81is",   "\xe2\x96\x81" "4", "!"};
  const int64_t H = 32, layers = 2, heads = 4, kv_heads = 2, head_dim = H / heads, ffn = 32;
  const int32_t eos = 2, first_script = 259;
  std::vector<std::string> pieces = {"<unk>", "<s>", "</s>"};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    pieces.push_back(buf);
  }
  pieces.insert(pieces.end(), script.begin(), script.end());
  const auto vocab = static_cast<int64_t>(pieces.size());

  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_string("general.name", "rkv scripted test model");
  w.set_u32("llama.context_length", kScriptedContext);
  w.set_u32("llama.embedding_length", H);
  w.set_u32("llama.block_count", layers);
  w.set_u32("llama.feed_forward_length", ffn);
  w.set_u32("llama.attention.head_count", heads);
  w.set_u32("llama.attention.head_count_kv", kv_heads);
  w.set_u32("llama.rope.dimension_count", head_dim);
  w.set_f32("llama.rope.freq_base", 10000.0f);
  w.set_f32("llama.attention.layer_norm_rms_epsilon", 1e-6f);
  w.set_string("tokenizer.ggml.model", "llama");
  std::vector<double> scores;
  std::vector<int64_t> types;
  for (int64_t i = 0; i < vocab; ++i) {
    scores.push_back(i < first_script ? 0.0 : -static_cast<double>(i));
    types.push_back(i == 0 ? 2 : i < 3 ? 3 : i < first_script ? 6 : 1);
  }
  w.set("tokenizer.ggml.tokens", GgufValue::of_strings(pieces));
  w.set("tokenizer.ggml.scores", GgufValue::of_floats(GgufType::F32, scores));
  w.set("tokenizer.ggml.token_type", GgufValue::of_ints(GgufType::I32, types));
  w.set_u32("tokenizer.ggml.bos_token_id", 1);
  w.set_u32("tokenizer.ggml.eos_token_id", eos);
  w.set_u32("tokenizer.ggml.unknown_token_id", 0);
  w.set_string("tokenizer.chat_template",
               "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}User: {{ m['content'] }}\n"
               "{% elif m['role'] == 'assistant' %}Assistant: {{ m['content'] }}\n"
               "{% else %}{{ m['content'] }}\n{% endif %}{% endfor %}"
               "{% if add_generation_prompt %}Assistant: <think>\n{% endif %}");

  // Class of a token: 0 for any token outside the script, k + 1 for script[k].
  // The token after class c: script[0] after class 0, script[k + 1] after
  // script[k], end-of-sequence after the last.
  const auto n_classes = static_cast<int64_t>(script.size()) + 1;
  std::vector<float> embed(static_cast<size_t>(vocab * H), 0.0f), output(static_cast<size_t>(vocab * H), 0.0f);  // [vocab][H]
  for (int64_t t = 0; t < vocab; ++t) {
    const int64_t c = t >= first_script ? t - first_script + 1 : 0;
    embed[static_cast<size_t>(t * H + c)] = 1.0f;
  }
  for (int64_t c = 0; c < n_classes; ++c) {
    const int64_t next = c < n_classes - 1 ? first_script + c : eos;
    output[static_cast<size_t>(next * H + c)] = 10.0f;
  }
  auto add = [&](const std::string& name, int64_t rows, int64_t cols, const std::vector<float>& data) {
    w.add_tensor(name, DType::F32, {cols, rows}, data.data(), data.size() * sizeof(float));
  };
  uint64_t state = 12345;
  auto random = [&](int64_t rows, int64_t cols) {  // [rows][cols], uniform in [-0.5, 0.5)
    std::vector<float> m(static_cast<size_t>(rows * cols));
    for (float& x : m) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      x = static_cast<float>(state >> 40) / static_cast<float>(1 << 24) - 0.5f;
    }
    return m;
  };
  auto zeros = [](int64_t rows, int64_t cols) { return std::vector<float>(static_cast<size_t>(rows * cols), 0.0f); };
  const std::vector<float> ones(static_cast<size_t>(H), 1.0f);
  add("token_embd.weight", vocab, H, embed);
  w.add_tensor("output_norm.weight", DType::F32, {H}, ones.data(), ones.size() * sizeof(float));
  add("output.weight", vocab, H, output);
  for (int64_t l = 0; l < layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    w.add_tensor(p + "attn_norm.weight", DType::F32, {H}, ones.data(), ones.size() * sizeof(float));
    w.add_tensor(p + "ffn_norm.weight", DType::F32, {H}, ones.data(), ones.size() * sizeof(float));
    add(p + "attn_q.weight", heads * head_dim, H, random(heads * head_dim, H));
    add(p + "attn_k.weight", kv_heads * head_dim, H, random(kv_heads * head_dim, H));
    add(p + "attn_v.weight", kv_heads * head_dim, H, zeros(kv_heads * head_dim, H));
    add(p + "attn_output.weight", H, heads * head_dim, zeros(H, heads * head_dim));
    add(p + "ffn_gate.weight", ffn, H, zeros(ffn, H));
    add(p + "ffn_up.weight", ffn, H, zeros(ffn, H));
    add(p + "ffn_down.weight", H, ffn, zeros(H, ffn));
  }
  w.write(path);
}

}  // namespace rkv::test
