// apps/rkv/generation_flags: the flags every command that generates shares
// (`generate`, `eval`, `serve`), declared once: sampling and stops (turned
// into a RequestSpec for engine/loaded_model.h), and the engine — KV policy
// (--kv and the R-KV parameters, or --kv-config), cache type, batching, KV
// memory, threads.
#pragma once

#include "rkv/engine/loaded_model.h"
#include "rkv/flags.h"

namespace rkv::cli {

// -n --temp --top-p --top-k --min-p --repeat-penalty --presence-penalty
// --frequency-penalty --seed --stop --ignore-eos
void declare_sampling_flags(Flags& f);
// --threads --batch --kv-type --kv --divide-method --divide-length --compress
// --kv-config --max-batch --kv-memory --chat-template and the compression parameters
void declare_engine_flags(Flags& f);

// Sampling, stops and max_new_tokens; the input is left for the caller.
RequestSpec request_spec_from_flags(const Flags& f);

struct EngineFlags {
  KvPolicy policy;
  DType kv_type = DType::F32;
  int max_batch = 8;
  int64_t kv_memory = 0;
  int threads = 0;
  int64_t prefill_chunk = 512;
  std::string chat_template;  // --chat-template FILE, or empty
};
// Validated before any model loads.
EngineFlags engine_flags_from(const Flags& f);
// The KV policy of --kv and the R-KV flags, or of --kv-config.
KvPolicy policy_from_flags(const Flags& f);
EngineOptions engine_options_from(const LoadedModel& lm, const EngineFlags& flags);
// The model at `path` with the threads, prefill chunk and chat template of the flags.
std::unique_ptr<LoadedModel> load_model(const std::string& path, const EngineFlags& flags);

}  // namespace rkv::cli
