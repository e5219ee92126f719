// engine/engine: generation with a compressed KV cache (RKV-SPEC.md §2).
//
// Each sequence owns its per-layer caches, query windows, compression
// schedule, sampler and token count. The loop: prefill (attention over the
// whole prompt; if the prompt has >= budget tokens every layer is compressed
// right after); then decode steps that batch every running sequence into one
// forward; after each forward the schedule decides whether the NEXT step
// compresses (its token is appended, attention sees the full cache, then each
// layer is compressed with its own scores). RoPE positions are the token
// count, never the cache size. Sequences join and leave the batch as they
// start and finish (continuous batching), bounded by max_batch and by the KV
// memory a sequence can reach (with compression: fixed).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "rkv/compression/schedule.h"
#include "rkv/core/thread_pool.h"
#include "rkv/engine/causal_lm.h"
#include "rkv/engine/stop.h"
#include "rkv/sampling/sampler.h"

namespace rkv {

class Tokenizer;

struct GenerationRequest {
  std::vector<int32_t> prompt;
  SamplingParams sampling;
  StopCriteria stop;
};

struct GenerationResult {
  int id = -1;
  std::vector<int32_t> prompt_ids, ids;  // ids: generated (an end-of-sequence token is not included)
  std::string text;                      // decoded generated text (empty without a tokenizer)
  StopReason stop = StopReason::None;
  int64_t kv_peak_bytes = 0;             // K+V bytes allocated for this sequence at its peak
  int compressions = 0;
  double prefill_seconds = 0, decode_seconds = 0;
  double compress_seconds = 0;           // scoring + compaction, all layers
};

struct EngineOptions {
  KvPolicy policy;                         // method + schedule
  DType kv_type = DType::F32;              // cache storage
  int max_batch = 1;                       // sequences decoded together
  int64_t kv_memory = 0;                   // bytes of KV all running sequences may reach (0: unlimited)
  const Tokenizer* tokenizer = nullptr;    // for text and stop strings (optional)
  std::set<int32_t> newline_tokens;        // divide_method newline
  int32_t think_end_token = -1;            // compression_content think
  std::ostream* trace = nullptr;           // --trace-kept JSONL
  bool trace_scores = false;
  std::ostream* kv_stats = nullptr;        // --kv-stats lines
  int64_t fullkv_block = 256;              // FullKV caches grow in blocks of this many slots
};

struct EngineCallbacks {
  // text: newly complete text (token -1: text held back until the end)
  std::function<void(int id, int32_t token, const std::string& text)> on_token;
  std::function<void(const GenerationResult&)> on_done;
};

class Engine {
 public:
  Engine(CausalLM& model, EngineOptions options, ThreadPool& pool);
  ~Engine();

  int submit(GenerationRequest request);  // returns the sequence id (0, 1, ...)
  // Runs until every submitted request has finished.
  void run(const EngineCallbacks& callbacks);

  // K+V bytes one sequence with this prompt can reach (admission control).
  int64_t reachable_kv_bytes(int64_t prompt_tokens, int64_t max_new_tokens) const;
  const EngineOptions& options() const { return options_; }

  struct Sequence;

 private:
  void admit(const EngineCallbacks& callbacks);
  void after_forward(Sequence& s, int64_t n_fed, bool prefill, const EngineCallbacks& callbacks);
  void compress(Sequence& s);
  int64_t kv_bytes(const Sequence& s) const;

  CausalLM& model_;
  EngineOptions options_;
  ThreadPool& pool_;
  std::vector<std::unique_ptr<Sequence>> waiting_, running_;
  int next_id_ = 0;
  int64_t trace_event_ = 0;
};

// Convenience: one request through a fresh engine.
GenerationResult generate_one(CausalLM& model, const EngineOptions& options, GenerationRequest request,
                              ThreadPool& pool, const EngineCallbacks& callbacks = {});

}  // namespace rkv
