// engine/engine: generation with a compressed KV cache (RKV-SPEC.md §2).
//
// Each sequence owns its per-layer caches, query windows, compression
// schedule, sampler and token count, and its own KV policy (a request may
// override the engine's default: `rkv eval` sweeps methods through one
// engine, the server takes a policy per request). One `step()` is one
// forward over every running sequence: decoding sequences contribute their
// next token, prefilling ones the next chunk of their prompt (at most
// `prefill_chunk` prompt tokens per step, so a long prompt does not freeze
// the other streams). After a sequence's forward the schedule decides
// whether the NEXT step compresses (its token is appended, attention sees the
// full cache, then each layer is compressed with its own scores); a prompt
// with >= budget tokens is compressed right after its prefill. RoPE positions
// are the token count, never the cache size. Sequences join and leave the
// batch as they start and finish (continuous batching), bounded by max_batch
// and by the KV memory a sequence can reach (with compression: fixed).
//
// A request that cannot be served (it needs more KV memory than exists, the
// model's logits turn non-finite) finishes alone with StopReason::Error and a
// message; the other sequences go on. `run()` is `while (step())`; the
// server drives the same loop from its own thread (engine/async_engine.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
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
  std::optional<KvPolicy> policy;  // overrides EngineOptions::policy for this request
  int top_logprobs = -1;           // >= 0: EngineCallbacks::on_logprobs for each generated token, with this many alternatives
};

// A generated token's log-probability under the model's distribution (the
// log-softmax of its raw logits, before penalties, temperature or filters,
// as vLLM reports by default) and the most likely alternatives, best first.
struct TokenLogprobs {
  int32_t token = -1;
  float logprob = 0;
  std::vector<std::pair<int32_t, float>> top;  // [top_logprobs]
};

struct GenerationResult {
  int id = -1;
  std::vector<int32_t> prompt_ids, ids;  // ids: generated (an end-of-sequence token is not included)
  std::string text;                      // decoded generated text (empty without a tokenizer)
  StopReason stop = StopReason::None;
  std::string error;                     // why, when stop == Error
  int64_t kv_peak_bytes = 0;             // K+V bytes allocated for this sequence at its peak
  int compressions = 0;
  double queued_seconds = 0;             // submitted -> admitted
  double prefill_seconds = 0, decode_seconds = 0;
  double compress_seconds = 0;           // scoring + compaction, all layers
  double first_token_seconds = 0;        // submitted -> first generated token
};

struct EngineOptions {
  KvPolicy policy;                         // default method + schedule (a request may override it)
  DType kv_type = DType::F32;              // cache storage: f32 | f16 | bf16 | q8_0 | q4_0 (ops/kv_row.h)
  int max_batch = 1;                       // sequences decoded together
  int64_t kv_memory = 0;                   // bytes of KV all running sequences may reach (0: unlimited)
  int64_t prefill_chunk = 512;             // prompt tokens fed per step, all prefilling sequences together
  const Tokenizer* tokenizer = nullptr;    // for text and stop strings (optional)
  std::set<int32_t> newline_tokens;        // divide_method newline
  int32_t think_end_token = -1;            // compression_content think
  std::ostream* trace = nullptr;           // --trace-kept JSONL
  bool trace_scores = false;
  std::ostream* kv_stats = nullptr;        // --kv-stats lines
  int64_t fullkv_block = 256;              // FullKV caches grow in blocks of this many slots
};

struct EngineCallbacks {
  // text: newly settled text — complete UTF-8, and never a tail that a stop
  // string may still cut off — so the pieces add up to GenerationResult::text
  // (token -1: text held back until the end)
  std::function<void(int id, int32_t token, const std::string& text)> on_token = nullptr;
  std::function<void(const GenerationResult&)> on_done = nullptr;
  // After each compression of a sequence: the original positions each layer's
  // head 0 kept (the server's live view of what the cache holds).
  std::function<void(int id, int64_t length, const std::vector<std::vector<int32_t>>& kept_by_layer)> on_compress = nullptr;
  // Before on_token, for requests with top_logprobs >= 0.
  std::function<void(int id, const TokenLogprobs& logprobs)> on_logprobs = nullptr;
};

// What the engine holds now (for /metrics and progress lines).
struct EngineLoad {
  int running = 0, waiting = 0;
  int64_t kv_bytes_in_use = 0;   // allocated by running sequences
  int64_t kv_bytes_reserved = 0; // what running sequences can reach (admission counts this)
};

class Engine {
 public:
  Engine(CausalLM& model, EngineOptions options, ThreadPool& pool);
  ~Engine();

  // Validates the request (rkv::Error naming the problem) and queues it;
  // returns the sequence id (0, 1, ...).
  int submit(GenerationRequest request);
  // The checks submit() makes; reads only the model's dimensions and the
  // options, so any thread may call it.
  void validate(const GenerationRequest& request) const;
  // Stops a waiting or running sequence before the next step; it finishes
  // with `reason` (Cancelled, Interrupted) and what it generated so far.
  // Returns false for an unknown or finished id.
  bool cancel(int id, StopReason reason = StopReason::Cancelled);
  void cancel_all(StopReason reason);
  // Ends every sequence now with StopReason::Error and `error` (after a
  // failure inside a step left their caches in an unknown state).
  void abort_all(const std::string& error, const EngineCallbacks& callbacks);

  // One forward over every running sequence (admitting waiting ones first);
  // returns whether any sequence is still waiting or running.
  bool step(const EngineCallbacks& callbacks);
  // Runs until every submitted request has finished. Once *interrupt is
  // set, every sequence stops with StopReason::Interrupted at the next step.
  void run(const EngineCallbacks& callbacks, const std::atomic<bool>* interrupt = nullptr);
  bool idle() const { return waiting_.empty() && running_.empty(); }
  EngineLoad load() const;

  // K+V bytes one sequence can reach (admission control); rkv::Error when the
  // size does not fit in 64 bits.
  int64_t reachable_kv_bytes(int64_t prompt_tokens, int64_t max_new_tokens) const;
  int64_t reachable_kv_bytes(const GenerationRequest& request) const;
  const EngineOptions& options() const { return options_; }

  struct Sequence;

 private:
  void admit(const EngineCallbacks& callbacks);
  void start(Sequence& s);
  void after_forward(Sequence& s, int64_t n_fed, bool prefill, const EngineCallbacks& callbacks);
  void compress(Sequence& s, const EngineCallbacks& callbacks);
  void finish(Sequence& s, StopReason reason, const EngineCallbacks& callbacks, std::string error = {});
  void retire_done(const EngineCallbacks& callbacks);
  int64_t kv_bytes(const Sequence& s) const;
  int64_t kv_bytes_per_slot() const;
  int64_t cache_slots(const KvPolicy& policy, int64_t prompt_tokens, int64_t max_new_tokens) const;

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
