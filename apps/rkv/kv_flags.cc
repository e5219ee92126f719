#include "rkv/kv_flags.h"

namespace rkv::cli {

void declare_compression_flags(Flags& f) {
  f.option("--budget", "tokens kept per KV head", "1024")
      .option("--window", "observation window (recent tokens always kept)", "8")
      .option("--kernel", "max-pool kernel size (odd)", "7")
      .option("--lambda", "mix_lambda: weight of importance vs redundancy", "0.07")
      .option("--retain-ratio", "retain_ratio for *_percent directions", "0.2")
      .option("--retain-direction", "last | first | last_percent | first_percent", "last")
      .option("--first-tokens", "attention sinks never evicted (default 4 for rkv/streamingllm, else 0)")
      .option("--gqa-pool", "max | mean: pooling of a KV head's query heads", "max")
      .option("--keep-order", "topk (reference order) | position", "topk");
}

CompressionConfig compression_from_flags(const Flags& f, Method method) {
  CompressionConfig c = default_config(method);
  c.budget = f.integer("--budget");
  c.window_size = f.integer("--window");
  c.kernel_size = static_cast<int>(f.integer("--kernel", INT32_MIN, INT32_MAX));
  c.mix_lambda = f.number("--lambda");
  c.retain_ratio = f.number("--retain-ratio");
  c.retain_direction = parse_retain_direction(f.str("--retain-direction"));
  if (f.given("--first-tokens")) c.first_tokens = f.integer("--first-tokens");
  c.gqa_pooling = parse_gqa_pooling(f.str("--gqa-pool"));
  c.keep_order = parse_keep_order(f.str("--keep-order"));
  c.validate();
  return c;
}

}  // namespace rkv::cli
