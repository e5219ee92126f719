#include "rkv/generation_flags.h"

#include <limits>

#include "rkv/kv_flags.h"
#include "rkv/ops/kv_row.h"

namespace rkv::cli {

void declare_sampling_flags(Flags& f) {
  f.option("-n,--max-new", "maximum number of new tokens", "256")
      .option("--temp", "temperature (0 = greedy; default: generation_config.json or 0)")
      .option("--top-p", "nucleus sampling mass (default: generation_config.json or 1)")
      .option("--top-k", "keep the k most likely tokens (0 = off)")
      .option("--min-p", "drop tokens below min-p x the top probability", "0")
      .option("--repeat-penalty", "repetition penalty (1 = off)", "1")
      .option("--presence-penalty", "presence penalty", "0")
      .option("--frequency-penalty", "frequency penalty", "0")
      .option("--seed", "random seed", "0")
      .option("--stop", "stop when the generated text contains this string")
      .toggle("--ignore-eos", "do not stop on end-of-sequence tokens");
}

void declare_engine_flags(Flags& f) {
  f.option("--threads", "worker threads (default: all cores)", "0")
      .option("--batch", "prefill chunk in tokens", "512")
      .option("--kv-type", "KV cache storage: f32 | f16 | bf16 | q8_0 | q4_0 (docs/rkv-method.md)", "f32")
      // KV compression (RKV-SPEC.md; docs/rkv-method.md)
      .option("--kv", "KV method: rkv | snapkv | h2o | streamingllm | fullkv", "fullkv")
      .option("--divide-method", "step_length | newline: when to compress", "step_length")
      .option("--divide-length", "tokens between compressions (the buffer)", "128")
      .option("--compress", "all | think: stop compressing after </think> with think", "all")
      .option("--kv-config", "JSON file with the reference's compression dictionary (overrides the flags above)")
      .option("--max-batch", "sequences decoded together", "8")
      .option("--kv-memory", "KV bytes all running sequences may reach, e.g. 4G (0 = unlimited)", "0")
      .option("--chat-template", "Jinja file to use instead of the model's chat template");
  declare_compression_flags(f);
}

RequestSpec request_spec_from_flags(const Flags& f) {
  RequestSpec s;
  s.max_new_tokens = f.integer("--max-new", 1, kMaxTokens);
  if (f.given("--temp")) s.temperature = f.number("--temp");
  if (f.given("--top-p")) s.top_p = f.number("--top-p");
  if (f.given("--top-k")) s.top_k = f.integer("--top-k");
  s.min_p = f.number("--min-p");
  s.repetition_penalty = f.number("--repeat-penalty");
  s.presence_penalty = f.number("--presence-penalty");
  s.frequency_penalty = f.number("--frequency-penalty");
  s.seed = static_cast<uint64_t>(f.integer("--seed", 0, std::numeric_limits<int64_t>::max()));
  if (f.given("--stop")) s.stop.push_back(f.str("--stop"));
  s.ignore_eos = f.on("--ignore-eos");
  // the values themselves are checked where every request is (SamplingParams::validate)
  SamplingParams probe;
  probe.temperature = s.temperature.value_or(0);
  probe.top_p = s.top_p.value_or(1);
  probe.top_k = s.top_k.value_or(0);
  probe.min_p = *s.min_p;
  probe.repetition_penalty = s.repetition_penalty;
  probe.presence_penalty = s.presence_penalty;
  probe.frequency_penalty = s.frequency_penalty;
  probe.validate();
  return s;
}

KvPolicy policy_from_flags(const Flags& f) {
  if (f.given("--kv-config")) return load_kv_policy(f.str("--kv-config"));
  KvPolicy p;
  p.method = compression_from_flags(f, parse_method(f.str("--kv")));
  p.divide_method = parse_divide_method(f.str("--divide-method"));
  p.divide_length = f.integer("--divide-length");
  p.content = parse_compression_content(f.str("--compress"));
  p.validate();
  return p;
}

EngineFlags engine_flags_from(const Flags& f) {
  EngineFlags e;
  e.policy = policy_from_flags(f);
  e.kv_type = parse_kv_type(f.str("--kv-type"));
  e.max_batch = static_cast<int>(f.integer("--max-batch", 1, 1 << 16));
  e.kv_memory = f.bytes("--kv-memory");
  e.threads = thread_count(f);
  e.prefill_chunk = f.integer("--batch", 1, 1 << 20);
  if (f.given("--chat-template")) e.chat_template = f.str("--chat-template");
  RKV_CHECK(!f.given("--chat-template") || !e.chat_template.empty(), "--chat-template needs a file name");
  return e;
}

EngineOptions engine_options_from(const LoadedModel& lm, const EngineFlags& flags) {
  EngineOptions o = lm.engine_options(flags.policy, flags.kv_type);
  o.max_batch = flags.max_batch;
  o.kv_memory = flags.kv_memory;
  return o;
}

std::unique_ptr<LoadedModel> load_model(const std::string& path, const EngineFlags& flags) {
  return LoadedModel::load(path, flags.threads, flags.prefill_chunk, flags.chat_template);
}

}  // namespace rkv::cli
