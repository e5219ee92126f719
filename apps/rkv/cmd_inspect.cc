// rkv inspect: what a model file is — architecture, shape, parameter count,
// weight types, context length and the KV-cache bytes per token.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "rkv/command.h"
#include "rkv/flags.h"
#include "rkv/model/model.h"

namespace rkv::cli {
namespace {

int run_inspect(const Args& args) {
  Flags f("inspect", "-m MODEL [--json]");
  f.option("-m,--model", "Hugging Face model folder or .gguf file").toggle("--json", "print JSON");
  if (!f.parse(args)) return 0;
  std::string path = f.given("--model") ? f.str("--model") : (f.positional().empty() ? "" : f.positional().front());
  RKV_CHECK(!path.empty(), "missing -m MODEL");
  auto model = Model::load(path);
  const auto& c = model->config();
  int64_t window = 0;
  for (int64_t w : c.sliding_window) window = std::max(window, w);
  nlohmann::ordered_json j;
  j["source"] = model->source();
  j["format"] = model->format();
  j["architecture"] = c.architecture;
  j["parameters"] = model->parameter_count();
  j["weight_types"] = model->weight_types();
  j["weight_bytes"] = model->weight_bytes();
  j["context_length"] = c.max_position_embeddings;
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden;
  j["layers"] = c.n_layers;
  j["heads"] = c.n_heads;
  j["kv_heads"] = c.n_kv_heads;
  j["head_dim"] = c.head_dim;
  j["intermediate_size"] = c.intermediate;
  j["rope_theta"] = c.rope_theta;
  j["rope_scaling"] = c.rope_scaling.type;
  j["tied_embeddings"] = c.tie_word_embeddings;
  j["qkv_bias"] = c.qkv_bias;
  j["qk_norm"] = c.qk_norm;
  j["sliding_window"] = window;
  j["kv_bytes_per_token_f32"] = c.kv_bytes_per_token(4);
  j["kv_bytes_per_token_f16"] = c.kv_bytes_per_token(2);
  j["eos_ids"] = c.eos_ids;
  if (f.on("--json")) {
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("model         %s (%s)\n", model->source().c_str(), model->format().c_str());
  std::printf("architecture  %s\n", c.architecture.c_str());
  std::printf("parameters    %lld (%.2f B)\n", static_cast<long long>(model->parameter_count()),
              static_cast<double>(model->parameter_count()) / 1e9);
  std::printf("weight types  %s (%.1f MiB of matrices)\n", model->weight_types().c_str(),
              static_cast<double>(model->weight_bytes()) / (1 << 20));
  std::printf("context       %lld positions\n", static_cast<long long>(c.max_position_embeddings));
  std::printf("shape         vocab %lld, hidden %lld, layers %lld, heads %lld / kv %lld, head_dim %lld, ffn %lld\n",
              static_cast<long long>(c.vocab_size), static_cast<long long>(c.hidden), static_cast<long long>(c.n_layers),
              static_cast<long long>(c.n_heads), static_cast<long long>(c.n_kv_heads), static_cast<long long>(c.head_dim),
              static_cast<long long>(c.intermediate));
  std::printf("rope          theta %g, scaling %s%s\n", c.rope_theta, c.rope_scaling.type.c_str(),
              window > 0 ? (", sliding window " + std::to_string(window)).c_str() : "");
  std::printf("KV per token  %lld bytes (f32 cache), %lld bytes (f16/bf16 cache)\n",
              static_cast<long long>(c.kv_bytes_per_token(4)), static_cast<long long>(c.kv_bytes_per_token(2)));
  return 0;
}

RKV_COMMAND("inspect", "print a model's architecture, size, weight types and KV bytes per token", run_inspect);

}  // namespace
}  // namespace rkv::cli
