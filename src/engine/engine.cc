#include "rkv/engine/engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "rkv/compression/compressor.h"
#include "rkv/core/error.h"
#include "rkv/ops/kv_row.h"
#include "rkv/tokenizer/tokenizer.h"

namespace rkv {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

int64_t checked_mul(int64_t a, int64_t b, const char* what) {
  int64_t out = 0;
  RKV_CHECK(!__builtin_mul_overflow(a, b, &out), what, " does not fit in 64 bits (", a, " x ", b, ")");
  return out;
}
int64_t checked_add(int64_t a, int64_t b, const char* what) {
  int64_t out = 0;
  RKV_CHECK(!__builtin_add_overflow(a, b, &out), what, " does not fit in 64 bits (", a, " + ", b, ")");
  return out;
}

// x * 0 is 0 for finite x and NaN for NaN or infinity: one pass, no branches.
bool all_finite(const std::vector<float>& v) {
  float acc[8] = {};
  size_t i = 0;
  for (; i + 8 <= v.size(); i += 8)
    for (int k = 0; k < 8; ++k) acc[k] += v[i + k] * 0.0f;
  for (; i < v.size(); ++i) acc[0] += v[i] * 0.0f;
  float sum = 0;
  for (float a : acc) sum += a;
  return sum == 0.0f;
}
// log-softmax of the logits at `token`, and the `k` largest, best first.
TokenLogprobs logprobs_of(const std::vector<float>& logits, int32_t token, int k) {
  const float max = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float x : logits) sum += std::exp(static_cast<double>(x - max));
  const float log_z = max + static_cast<float>(std::log(sum));
  TokenLogprobs out;
  out.token = token;
  out.logprob = logits[static_cast<size_t>(token)] - log_z;
  std::vector<int32_t> ids(logits.size());
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>(i);
  const size_t n = std::min(ids.size(), static_cast<size_t>(k));
  std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(n), ids.end(), [&](int32_t a, int32_t b) {
    return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)] || (logits[static_cast<size_t>(a)] == logits[static_cast<size_t>(b)] && a < b);
  });
  for (size_t i = 0; i < n; ++i) out.top.emplace_back(ids[i], logits[static_cast<size_t>(ids[i])] - log_z);
  return out;
}
}  // namespace

struct Engine::Sequence {
  int id = 0;
  GenerationRequest request;
  KvPolicy policy;                   // the request's, else the engine's
  std::vector<LayerCache> caches;    // [n_layers]
  std::vector<QueryWindow> windows;  // [n_layers], empty when the method needs no queries
  std::unique_ptr<CompressionSchedule> schedule;
  std::unique_ptr<Sampler> sampler;
  std::unique_ptr<StreamDecoder> decoder;
  size_t shown = 0;                  // bytes of result.text passed to on_token so far
  std::vector<int32_t> history;      // prompt + generated: what the penalties see
  std::vector<float> logits;         // [vocab]
  int64_t prefilled = 0;             // prompt tokens fed so far
  int64_t length = 0;                // tokens fed so far: the next RoPE position
  int64_t steps = 0;                 // forwards that ended the prefill or decoded a token
  bool compress_next = false;
  bool done = false;
  StopReason cancel = StopReason::None;  // set by cancel(): finish before the next step
  int32_t next_token = -1;
  Clock::time_point submitted;
  GenerationResult result;
};

Engine::Engine(CausalLM& model, EngineOptions options, ThreadPool& pool)
    : model_(model), options_(std::move(options)), pool_(pool) {
  options_.policy.validate();
  RKV_CHECK(options_.max_batch >= 1, "max_batch must be at least 1");
  RKV_CHECK(options_.prefill_chunk >= 1, "the prefill chunk must be at least 1 token");
  RKV_CHECK(options_.kv_memory >= 0, "the KV memory limit must be >= 0");
  kv_row_bytes(options_.kv_type, model_.dims().head_dim);  // a KV type this head size can store (named error)
}

Engine::~Engine() = default;

// Per-layer slots a sequence's cache can reach: FullKV holds everything (in
// whole blocks); a compressed cache holds the prompt until its first
// compression, then budget + buffer — never more than the sequence can feed.
int64_t Engine::cache_slots(const KvPolicy& policy, int64_t prompt_tokens, int64_t max_new_tokens) const {
  const int64_t reach = checked_add(prompt_tokens, max_new_tokens, "prompt + max_new_tokens");
  if (policy.method.method == Method::FullKV) {
    const int64_t b = options_.fullkv_block;
    return checked_mul((checked_add(reach, b - 1, "the cache size")) / b, b, "the cache size");
  }
  const int64_t steady = checked_add(policy.method.budget, policy.divide_length, "budget + divide_length");
  return std::min(reach, std::max(prompt_tokens, steady));
}

// K + V rows of one slot in every layer and KV head, scales included.
int64_t Engine::kv_bytes_per_slot() const {
  const ModelDims& d = model_.dims();
  return static_cast<int64_t>(d.n_layers) * d.n_kv_heads * 2 *
         static_cast<int64_t>(kv_row_bytes(options_.kv_type, d.head_dim));
}

int64_t Engine::reachable_kv_bytes(int64_t prompt_tokens, int64_t max_new_tokens) const {
  return checked_mul(cache_slots(options_.policy, prompt_tokens, max_new_tokens), kv_bytes_per_slot(), "the KV cache size");
}

int64_t Engine::reachable_kv_bytes(const GenerationRequest& r) const {
  const KvPolicy& policy = r.policy ? *r.policy : options_.policy;
  return checked_mul(cache_slots(policy, static_cast<int64_t>(r.prompt.size()), r.stop.max_new_tokens),
                     kv_bytes_per_slot(), "the KV cache size");
}

int64_t Engine::kv_bytes(const Sequence& s) const {
  int64_t total = 0;
  for (const auto& c : s.caches) total += static_cast<int64_t>(c.kv_bytes());
  return total;
}

void Engine::validate(const GenerationRequest& request) const {
  const ModelDims& d = model_.dims();
  RKV_CHECK(!request.prompt.empty(), "empty prompt: at least one token is needed");
  for (int32_t t : request.prompt)
    RKV_CHECK(t >= 0 && t < d.vocab_size, "prompt token ", t, " is outside the vocabulary (", d.vocab_size, ")");
  RKV_CHECK(request.stop.max_new_tokens >= 1, "max_new_tokens must be at least 1");
  const int64_t prompt = static_cast<int64_t>(request.prompt.size());
  RKV_CHECK(d.max_positions <= 0 || prompt < d.max_positions, "the prompt has ", prompt,
            " tokens; the model's context is ", d.max_positions, " tokens (and one is needed to generate)");
  request.sampling.validate();
  RKV_CHECK(request.top_logprobs >= -1 && request.top_logprobs <= d.vocab_size, "top_logprobs must be in [0, ",
            d.vocab_size, "] (got ", request.top_logprobs, ")");
  if (request.policy) request.policy->validate();
  const int64_t need = reachable_kv_bytes(request);  // sizes that overflow are an error now, not at admission
  RKV_CHECK(options_.kv_memory == 0 || need <= options_.kv_memory, "the sequence needs ", need,
            " bytes of KV cache, more than the KV memory limit of ", options_.kv_memory, " bytes");
}

int Engine::submit(GenerationRequest request) {
  validate(request);
  auto s = std::make_unique<Sequence>();
  s->id = next_id_++;
  s->policy = request.policy ? *request.policy : options_.policy;
  s->request = std::move(request);
  s->submitted = Clock::now();
  s->result.id = s->id;
  s->result.prompt_ids = s->request.prompt;
  waiting_.push_back(std::move(s));
  return waiting_.back()->id;
}

bool Engine::cancel(int id, StopReason reason) {
  for (auto* list : {&waiting_, &running_})
    for (auto& s : *list)
      if (s->id == id && !s->done) {
        s->cancel = reason;
        return true;
      }
  return false;
}

void Engine::cancel_all(StopReason reason) {
  for (auto* list : {&waiting_, &running_})
    for (auto& s : *list)
      if (!s->done) s->cancel = reason;
}

void Engine::abort_all(const std::string& error, const EngineCallbacks& callbacks) {
  for (auto* list : {&waiting_, &running_})
    for (auto& s : *list) finish(*s, StopReason::Error, callbacks, error);
  retire_done(callbacks);
}

EngineLoad Engine::load() const {
  EngineLoad out;
  out.running = static_cast<int>(running_.size());
  out.waiting = static_cast<int>(waiting_.size());
  for (const auto& s : running_) {
    out.kv_bytes_in_use += kv_bytes(*s);
    out.kv_bytes_reserved += reachable_kv_bytes(s->request);
  }
  return out;
}

void Engine::finish(Sequence& s, StopReason reason, const EngineCallbacks& callbacks, std::string error) {
  if (s.done) return;
  // What the decoder and the stop-string check held back is final now (after
  // a stop string, the decoder's bytes belong to the cut-off tail).
  if (s.decoder && reason != StopReason::StopString) s.result.text += s.decoder->finish();
  if (s.result.text.size() > s.shown) {
    if (callbacks.on_token) callbacks.on_token(s.id, -1, s.result.text.substr(s.shown));
    s.shown = s.result.text.size();
  }
  s.result.stop = reason;
  s.result.error = std::move(error);
  s.done = true;
}

// Allocates what a sequence needs to run; the prompt is fed by later steps.
void Engine::start(Sequence& s) {
  const ModelDims& d = model_.dims();
  const KvPolicy& policy = s.policy;
  const int64_t prompt = static_cast<int64_t>(s.request.prompt.size());
  const bool full = policy.method.method == Method::FullKV;
  const int64_t capacity = full ? prompt : cache_slots(policy, prompt, s.request.stop.max_new_tokens);
  for (int l = 0; l < d.n_layers; ++l)
    s.caches.emplace_back(d.n_kv_heads, d.head_dim, options_.kv_type, capacity, full ? options_.fullkv_block : 0);
  if (policy.method.query_window() > 0)
    for (int l = 0; l < d.n_layers; ++l) s.windows.emplace_back(d.n_q_heads, d.head_dim, policy.method.query_window());
  s.schedule = std::make_unique<CompressionSchedule>(policy, options_.newline_tokens, options_.think_end_token);
  s.sampler = std::make_unique<Sampler>(s.request.sampling);
  if (options_.tokenizer) s.decoder = std::make_unique<StreamDecoder>(*options_.tokenizer);
  s.history = s.request.prompt;
  s.logits.resize(static_cast<size_t>(d.vocab_size));
  s.result.queued_seconds = seconds_since(s.submitted);
}

void Engine::admit(const EngineCallbacks& callbacks) {
  for (size_t i = 0; i < waiting_.size() && static_cast<int>(running_.size()) < options_.max_batch;) {
    Sequence& next = *waiting_[i];
    if (next.cancel != StopReason::None) {
      finish(next, next.cancel, callbacks);
      ++i;
      continue;
    }
    const int64_t need = reachable_kv_bytes(next.request);
    if (options_.kv_memory > 0) {
      if (need > options_.kv_memory) {
        finish(next, StopReason::Error, callbacks,
               "the sequence needs " + std::to_string(need) + " bytes of KV cache, more than the KV memory limit of " +
                   std::to_string(options_.kv_memory) + " bytes");
        ++i;
        continue;
      }
      int64_t used = 0;
      for (const auto& r : running_) used += reachable_kv_bytes(r->request);
      if (used + need > options_.kv_memory) break;  // first come, first served: wait for a running sequence to finish
    }
    std::unique_ptr<Sequence> s = std::move(waiting_[i]);
    waiting_.erase(waiting_.begin() + static_cast<std::ptrdiff_t>(i));
    start(*s);
    running_.push_back(std::move(s));
  }
}

void Engine::compress(Sequence& s, const EngineCallbacks& callbacks) {
  const ModelDims& d = model_.dims();
  const KvPolicy& policy = s.policy;
  if (s.caches.empty() || s.caches[0].size() < policy.method.budget) return;  // below budget: nothing to evict
  Compressor compressor(policy.method);
  std::vector<std::vector<int32_t>> kept_by_layer;  // [n_layers][kept positions, any head], for on_compress
  for (int l = 0; l < d.n_layers; ++l) {
    LayerCache& cache = s.caches[l];
    const int64_t kv_in = cache.size();
    const QueryWindow* w = s.windows.empty() ? nullptr : &s.windows[l];
    LayerSnapshot snap = snapshot_of(cache, w ? w->data() : nullptr, d.n_q_heads, w ? w->size() : 0);
    LayerScores scores;
    KeepLists keep = compressor.select(snap, pool_, options_.trace_scores ? &scores : nullptr);
    if (callbacks.on_compress) {
      std::vector<int32_t> positions;
      for (int h = 0; h < d.n_kv_heads; ++h)
        for (int32_t slot : keep[h]) positions.push_back(cache.position_data(h)[slot]);
      std::sort(positions.begin(), positions.end());
      positions.erase(std::unique(positions.begin(), positions.end()), positions.end());
      kept_by_layer.push_back(std::move(positions));
    }
    if (options_.trace) {
      nlohmann::json kept = nlohmann::json::array();
      for (int h = 0; h < d.n_kv_heads; ++h) {
        nlohmann::json positions = nlohmann::json::array();
        for (int32_t slot : keep[h]) positions.push_back(cache.position_data(h)[slot]);
        kept.push_back(std::move(positions));
      }
      nlohmann::json record = {{"sequence", s.id}, {"event", trace_event_}, {"step", s.steps}, {"length", s.length},
                               {"layer", l}, {"kv_in", kv_in}, {"kept_positions", std::move(kept)}};
      if (options_.trace_scores) {
        record["importance"] = scores.importance;
        record["redundancy"] = scores.redundancy;
        record["score"] = scores.final_score;
      }
      *options_.trace << record.dump() << "\n";
    }
    cache.compact(keep);
    if (options_.kv_stats)
      *options_.kv_stats << "kv-stats: sequence " << s.id << " step " << s.steps << " layer " << l << ": " << kv_in
                         << " -> " << cache.size() << " (capacity " << cache.capacity() << ")\n";
  }
  ++trace_event_;
  ++s.result.compressions;
  // A long prompt was held whole for the prefill; from now on the cache
  // never needs more than budget + buffer slots.
  const int64_t steady = policy.steady_capacity();
  for (auto& cache : s.caches)
    if (cache.capacity() > steady) cache.set_capacity(steady);
  if (callbacks.on_compress) callbacks.on_compress(s.id, s.length, kept_by_layer);
}

void Engine::after_forward(Sequence& s, int64_t n_fed, bool prefill, const EngineCallbacks& callbacks) {
  s.length += n_fed;
  s.result.kv_peak_bytes = std::max(s.result.kv_peak_bytes, kv_bytes(s));
  if (!all_finite(s.logits)) {
    finish(s, StopReason::Error, callbacks,
           "the model's logits are not finite (NaN or infinity) at position " + std::to_string(s.length - 1) +
               ": broken weights, or activations that overflow the model's number format");
    return;
  }
  const bool compressing = s.policy.method.method != Method::FullKV &&
                           (prefill ? static_cast<int64_t>(s.request.prompt.size()) >= s.policy.method.budget
                                    : s.compress_next);
  if (compressing) {
    auto start = Clock::now();
    try {
      compress(s, callbacks);
    } catch (const Error& e) {
      // Scores this sequence's keys and queries made non-finite end this
      // sequence, not the batch (the others' caches are untouched).
      finish(s, StopReason::Error, callbacks, e.what());
      return;
    }
    s.result.compress_seconds += seconds_since(start);
  }
  ++s.steps;

  const int32_t token = s.sampler->sample(s.logits.data(), static_cast<int64_t>(s.logits.size()), s.history);
  if (s.result.ids.empty()) s.result.first_token_seconds = seconds_since(s.submitted);
  StopReason stop = StopReason::None;
  if (!s.request.stop.ignore_eos && s.request.stop.eos_ids.count(token)) {
    stop = StopReason::Eos;  // the end-of-sequence token is not part of the output
  } else {
    if (s.request.top_logprobs >= 0 && callbacks.on_logprobs)
      callbacks.on_logprobs(s.id, logprobs_of(s.logits, token, s.request.top_logprobs));
    s.history.push_back(token);
    s.result.ids.push_back(token);
    if (s.decoder) s.result.text += s.decoder->push(token);
    size_t cut = 0;
    stop = s.request.stop.check(token, static_cast<int64_t>(s.result.ids.size()), s.result.text, &cut);
    if (stop == StopReason::StopString) s.result.text.resize(cut);
    // Streamed text never shows what a stop string may still cut off.
    const size_t settled = stop == StopReason::StopString ? s.result.text.size()
                                                          : s.request.stop.settled_length(s.result.text);
    std::string piece;
    if (settled > s.shown) {
      piece = s.result.text.substr(s.shown, settled - s.shown);
      s.shown = settled;
    }
    if (callbacks.on_token) callbacks.on_token(s.id, token, piece);
  }
  const int64_t context = model_.dims().max_positions;
  if (stop == StopReason::None && context > 0 && s.length + 1 > context) stop = StopReason::Length;  // context full
  if (stop != StopReason::None) {
    finish(s, stop, callbacks);
    return;
  }
  s.compress_next = s.schedule->due_after(s.length, token);
  s.next_token = token;
}

void Engine::retire_done(const EngineCallbacks& callbacks) {
  for (auto* list : {&waiting_, &running_})
    for (auto it = list->begin(); it != list->end();) {
      if ((*it)->done) {
        if (callbacks.on_done) callbacks.on_done((*it)->result);
        it = list->erase(it);
      } else {
        ++it;
      }
    }
}

bool Engine::step(const EngineCallbacks& callbacks) {
  for (auto& s : running_)
    if (s->cancel != StopReason::None) finish(*s, s->cancel, callbacks);
  retire_done(callbacks);
  admit(callbacks);
  retire_done(callbacks);
  if (running_.empty()) return !idle();

  // The batch: every decoding sequence's next token, and up to
  // prefill_chunk prompt tokens of the prefilling ones (oldest first).
  struct Part {
    Sequence* s;
    int64_t n;
    bool prefill;
  };
  std::vector<Part> parts;
  std::vector<ForwardItem> batch;
  int64_t prefill_left = options_.prefill_chunk;
  for (auto& s : running_) {
    const int64_t prompt = static_cast<int64_t>(s->request.prompt.size());
    auto* windows = s->windows.empty() ? nullptr : &s->windows;
    if (s->prefilled < prompt) {
      if (prefill_left == 0) continue;
      const int64_t n = std::min(prefill_left, prompt - s->prefilled);
      prefill_left -= n;
      const bool last = s->prefilled + n == prompt;
      batch.push_back({std::span<const int32_t>(s->request.prompt.data() + s->prefilled, static_cast<size_t>(n)),
                       s->prefilled, &s->caches, windows, last ? s->logits.data() : nullptr});
      parts.push_back({s.get(), n, true});
    } else {
      batch.push_back({std::span<const int32_t>(&s->next_token, 1), s->length, &s->caches, windows, s->logits.data()});
      parts.push_back({s.get(), 1, false});
    }
  }
  auto start = Clock::now();
  model_.forward(batch);
  const double elapsed = seconds_since(start);
  for (const Part& p : parts) {
    Sequence& s = *p.s;
    if (p.prefill) {
      s.result.prefill_seconds += elapsed;
      s.prefilled += p.n;
      if (s.prefilled < static_cast<int64_t>(s.request.prompt.size())) {
        s.length += p.n;
        s.result.kv_peak_bytes = std::max(s.result.kv_peak_bytes, kv_bytes(s));
      } else {
        after_forward(s, p.n, true, callbacks);
      }
    } else {
      s.result.decode_seconds += elapsed;
      after_forward(s, 1, false, callbacks);
    }
  }
  retire_done(callbacks);
  return !idle();
}

void Engine::run(const EngineCallbacks& callbacks, const std::atomic<bool>* interrupt) {
  bool interrupted = false;
  while (step(callbacks)) {
    if (interrupt && !interrupted && interrupt->load()) {
      cancel_all(StopReason::Interrupted);
      interrupted = true;
    }
  }
}

GenerationResult generate_one(CausalLM& model, const EngineOptions& options, GenerationRequest request,
                              ThreadPool& pool, const EngineCallbacks& callbacks) {
  Engine engine(model, options, pool);
  engine.submit(std::move(request));
  GenerationResult out;
  EngineCallbacks cb = callbacks;
  cb.on_done = [&](const GenerationResult& r) {
    out = r;
    if (callbacks.on_done) callbacks.on_done(r);
  };
  engine.run(cb);
  return out;
}

}  // namespace rkv
