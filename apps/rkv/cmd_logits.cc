// rkv logits: the f32 logits of every prompt position, written as tensor
// `logits` [n_tokens, vocab] to a safetensors file (perplexity, comparisons).
#include <cstdio>

#include "rkv/command.h"
#include "rkv/core/buffer.h"
#include "rkv/flags.h"
#include "rkv/formats/safetensors.h"
#include "rkv/model/model.h"
#include "rkv/tokenizer/tokenizer.h"

namespace rkv::cli {
namespace {

int run_logits(const Args& args) {
  Flags f("logits", "-m MODEL (--ids 1,2,3 | -p TEXT) -o FILE.safetensors");
  f.option("-m,--model", "Hugging Face model folder or .gguf file")
      .option("--ids", "token ids, comma-separated")
      .option("-p,--prompt", "text (needs the model's tokenizer)")
      .option("-o,--output", "output safetensors file")
      .option("--threads", "worker threads (default: all cores)", "0")
      .option("--batch", "tokens per forward batch", "512");
  if (!f.parse(args)) return 0;
  RKV_CHECK(f.given("--model"), "missing -m MODEL");
  RKV_CHECK(f.given("--output"), "missing -o FILE.safetensors");
  RKV_CHECK(f.given("--ids") != f.given("--prompt"), "give exactly one of --ids or -p");
  RKV_CHECK(f.positional().empty(), "unexpected argument '", f.positional().front(), "'");
  OutputFile output(f.str("--output"));  // a bad path fails before the model runs
  auto model = Model::load(f.str("--model"));
  const auto& cfg = model->config();
  std::vector<int32_t> ids;
  if (f.given("--ids")) {
    for (int64_t id : parse_int_list(f.str("--ids"), "--ids")) {
      RKV_CHECK(id >= 0 && id < cfg.vocab_size, "--ids: token id ", id, " is outside the vocabulary [0, ", cfg.vocab_size, ")");
      ids.push_back(static_cast<int32_t>(id));
    }
  } else {
    Tokenizer tok = Tokenizer::load(f.str("--model"));
    for (TokenId id : tok.encode(f.str("--prompt"), true)) ids.push_back(id);
  }
  RKV_CHECK(!ids.empty(), "no tokens given");
  const int64_t n = static_cast<int64_t>(ids.size()), V = cfg.vocab_size, batch = f.integer("--batch", 1, 1 << 20);
  RKV_CHECK(cfg.max_position_embeddings <= 0 || n <= cfg.max_position_embeddings, n, " tokens are more than the model's context of ",
            cfg.max_position_embeddings, " positions");
  require_memory(static_cast<uint64_t>(n) * static_cast<uint64_t>(V * 4 + cfg.kv_bytes_per_token(4)),
                 "the logits and KV cache of " + std::to_string(n) + " tokens");
  ThreadPool pool(thread_count(f));
  auto caches = model->make_caches(n);
  std::vector<float> logits(static_cast<size_t>(n * V));  // [n][V]
  for (int64_t s = 0; s < n; s += batch) {
    const int64_t m = std::min(batch, n - s);
    std::vector<int32_t> pos(static_cast<size_t>(m));
    for (int64_t i = 0; i < m; ++i) pos[i] = static_cast<int32_t>(s + i);
    model->forward(ids.data() + s, pos.data(), m, caches, logits.data() + s * V, true, pool);
  }
  SafetensorsWriter w;
  w.add("logits", TensorView(logits.data(), DType::F32, {n, V}));
  w.write(output);
  output.commit();
  std::fprintf(stderr, "wrote logits [%lld, %lld] to %s\n", static_cast<long long>(n), static_cast<long long>(V),
               f.str("--output").c_str());
  return 0;
}

RKV_COMMAND("logits", "write the logits of every prompt position to a safetensors file", run_logits);

}  // namespace
}  // namespace rkv::cli
