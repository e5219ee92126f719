#include "rkv/engine/engine.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "rkv/compression/compressor.h"
#include "rkv/core/error.h"
#include "rkv/tokenizer/tokenizer.h"

namespace rkv {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
}  // namespace

struct Engine::Sequence {
  int id = 0;
  GenerationRequest request;
  std::vector<LayerCache> caches;    // [n_layers]
  std::vector<QueryWindow> windows;  // [n_layers], empty when the method needs no queries
  std::unique_ptr<CompressionSchedule> schedule;
  std::unique_ptr<Sampler> sampler;
  std::unique_ptr<StreamDecoder> decoder;
  std::vector<int32_t> history;      // prompt + generated: what the penalties see
  std::vector<float> logits;         // [vocab]
  int64_t length = 0;                // tokens fed so far: the next RoPE position
  int64_t steps = 0;                 // forwards run (0 = the prefill)
  bool compress_next = false;
  bool done = false;
  int32_t next_token = -1;
  GenerationResult result;
};

Engine::Engine(CausalLM& model, EngineOptions options, ThreadPool& pool)
    : model_(model), options_(std::move(options)), pool_(pool) {
  options_.policy.validate();
  RKV_CHECK(options_.max_batch >= 1, "max_batch must be at least 1");
  RKV_CHECK(options_.kv_type == DType::F32 || options_.kv_type == DType::F16 || options_.kv_type == DType::BF16,
            "kv type must be f32, f16 or bf16");
}

Engine::~Engine() = default;

int64_t Engine::reachable_kv_bytes(int64_t prompt_tokens, int64_t max_new_tokens) const {
  const ModelDims& d = model_.dims();
  int64_t slots;
  if (options_.policy.method.method == Method::FullKV) {
    int64_t b = options_.fullkv_block;
    slots = (prompt_tokens + max_new_tokens + b - 1) / b * b;
  } else {
    slots = std::max(prompt_tokens, options_.policy.steady_capacity());
  }
  return static_cast<int64_t>(d.n_layers) * d.n_kv_heads * slots * d.head_dim * 2 *
         static_cast<int64_t>(dtype_size(options_.kv_type));
}

int64_t Engine::kv_bytes(const Sequence& s) const {
  int64_t total = 0;
  for (const auto& c : s.caches) total += static_cast<int64_t>(c.kv_bytes());
  return total;
}

int Engine::submit(GenerationRequest request) {
  const ModelDims& d = model_.dims();
  RKV_CHECK(!request.prompt.empty(), "empty prompt: at least one token is needed");
  for (int32_t t : request.prompt)
    RKV_CHECK(t >= 0 && t < d.vocab_size, "prompt token ", t, " is outside the vocabulary (", d.vocab_size, ")");
  RKV_CHECK(request.stop.max_new_tokens >= 1, "max_new_tokens must be at least 1");
  request.sampling.validate();
  auto s = std::make_unique<Sequence>();
  s->id = next_id_++;
  s->request = std::move(request);
  waiting_.push_back(std::move(s));
  return waiting_.back()->id;
}

void Engine::admit(const EngineCallbacks& callbacks) {
  const ModelDims& d = model_.dims();
  const KvPolicy& policy = options_.policy;
  while (!waiting_.empty() && static_cast<int>(running_.size()) < options_.max_batch) {
    Sequence& next = *waiting_.front();
    const int64_t prompt = static_cast<int64_t>(next.request.prompt.size());
    const int64_t need = reachable_kv_bytes(prompt, next.request.stop.max_new_tokens);
    if (options_.kv_memory > 0) {
      int64_t used = 0;
      for (const auto& r : running_)
        used += reachable_kv_bytes(static_cast<int64_t>(r->request.prompt.size()), r->request.stop.max_new_tokens);
      RKV_CHECK(need <= options_.kv_memory, "sequence ", next.id, " needs ", need, " bytes of KV cache, more than --kv-memory ",
                options_.kv_memory);
      if (used + need > options_.kv_memory) break;  // wait for a running sequence to finish
    }
    std::unique_ptr<Sequence> s = std::move(waiting_.front());
    waiting_.erase(waiting_.begin());
    const bool full = policy.method.method == Method::FullKV;
    const int64_t capacity = full ? prompt : std::max(prompt, policy.steady_capacity());
    for (int l = 0; l < d.n_layers; ++l)
      s->caches.emplace_back(d.n_kv_heads, d.head_dim, options_.kv_type, capacity, full ? options_.fullkv_block : 0);
    if (policy.method.query_window() > 0)
      for (int l = 0; l < d.n_layers; ++l) s->windows.emplace_back(d.n_q_heads, d.head_dim, policy.method.query_window());
    s->schedule = std::make_unique<CompressionSchedule>(policy, options_.newline_tokens, options_.think_end_token);
    s->sampler = std::make_unique<Sampler>(s->request.sampling);
    if (options_.tokenizer) s->decoder = std::make_unique<StreamDecoder>(*options_.tokenizer);
    s->history = s->request.prompt;
    s->logits.resize(static_cast<size_t>(d.vocab_size));
    s->result.id = s->id;
    s->result.prompt_ids = s->request.prompt;

    auto start = Clock::now();
    ForwardItem item{s->request.prompt, 0, &s->caches, s->windows.empty() ? nullptr : &s->windows, s->logits.data()};
    model_.forward(std::span<ForwardItem>(&item, 1));
    after_forward(*s, prompt, true, callbacks);
    s->result.prefill_seconds = seconds_since(start);
    running_.push_back(std::move(s));
  }
}

void Engine::compress(Sequence& s) {
  const ModelDims& d = model_.dims();
  const KvPolicy& policy = options_.policy;
  if (s.caches.empty() || s.caches[0].size() < policy.method.budget) return;  // below budget: nothing to evict
  Compressor compressor(policy.method);
  for (int l = 0; l < d.n_layers; ++l) {
    LayerCache& cache = s.caches[l];
    const int64_t kv_in = cache.size();
    const QueryWindow* w = s.windows.empty() ? nullptr : &s.windows[l];
    LayerSnapshot snap = snapshot_of(cache, w ? w->data() : nullptr, d.n_q_heads, w ? w->size() : 0);
    LayerScores scores;
    KeepLists keep = compressor.select(snap, pool_, options_.trace_scores ? &scores : nullptr);
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
}

void Engine::after_forward(Sequence& s, int64_t n_fed, bool prefill, const EngineCallbacks& callbacks) {
  s.length += n_fed;
  s.result.kv_peak_bytes = std::max(s.result.kv_peak_bytes, kv_bytes(s));
  const bool compressing = options_.policy.method.method != Method::FullKV &&
                           (prefill ? static_cast<int64_t>(s.request.prompt.size()) >= options_.policy.method.budget
                                    : s.compress_next);
  if (compressing) {
    auto start = Clock::now();
    compress(s);
    s.result.compress_seconds += seconds_since(start);
  }
  ++s.steps;

  const int32_t token = s.sampler->sample(s.logits.data(), static_cast<int64_t>(s.logits.size()), s.history);
  StopReason stop = StopReason::None;
  if (!s.request.stop.ignore_eos && s.request.stop.eos_ids.count(token)) {
    stop = StopReason::Eos;  // the end-of-sequence token is not part of the output
  } else {
    s.history.push_back(token);
    s.result.ids.push_back(token);
    std::string piece;
    if (s.decoder) {
      piece = s.decoder->push(token);
      s.result.text += piece;
    }
    size_t cut = 0;
    stop = s.request.stop.check(token, static_cast<int64_t>(s.result.ids.size()), s.result.text, &cut);
    if (stop == StopReason::StopString) {
      piece.resize(piece.size() - std::min(piece.size(), s.result.text.size() - cut));
      s.result.text.resize(cut);
    }
    if (callbacks.on_token) callbacks.on_token(s.id, token, piece);
  }
  const int64_t context = model_.dims().max_positions;
  if (stop == StopReason::None && context > 0 && s.length + 1 > context) stop = StopReason::Length;  // context full
  if (stop != StopReason::None) {
    if (s.decoder && stop != StopReason::StopString) {
      std::string rest = s.decoder->finish();
      s.result.text += rest;
      if (callbacks.on_token && !rest.empty()) callbacks.on_token(s.id, -1, rest);
    }
    s.result.stop = stop;
    s.done = true;
    return;
  }
  s.compress_next = s.schedule->due_after(s.length, token);
  s.next_token = token;
}

void Engine::run(const EngineCallbacks& callbacks) {
  while (!waiting_.empty() || !running_.empty()) {
    admit(callbacks);
    auto finish_done = [&] {
      for (auto it = running_.begin(); it != running_.end();) {
        if ((*it)->done) {
          if (callbacks.on_done) callbacks.on_done((*it)->result);
          it = running_.erase(it);
        } else {
          ++it;
        }
      }
    };
    finish_done();
    if (running_.empty()) continue;
    std::vector<ForwardItem> batch;
    for (auto& s : running_)
      batch.push_back({std::span<const int32_t>(&s->next_token, 1), s->length, &s->caches,
                       s->windows.empty() ? nullptr : &s->windows, s->logits.data()});
    auto start = Clock::now();
    model_.forward(batch);
    for (auto& s : running_) after_forward(*s, 1, false, callbacks);
    const double elapsed = seconds_since(start);
    for (auto& s : running_) s->result.decode_seconds += elapsed;
    finish_done();
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
