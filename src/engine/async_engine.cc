#include "rkv/engine/async_engine.h"

#include <algorithm>

namespace rkv {

AsyncEngine::AsyncEngine(CausalLM& model, EngineOptions options, ThreadPool& pool, int max_queue)
    : engine_(model, std::move(options), pool), max_queue_(max_queue) {
  RKV_CHECK(max_queue >= 0, "the queue limit must be >= 0");
  thread_ = std::thread([this] { loop(); });
}

AsyncEngine::~AsyncEngine() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

uint64_t AsyncEngine::submit(GenerationRequest request, Sink sink) {
  std::vector<GenerationRequest> requests;
  requests.push_back(std::move(request));
  std::vector<Sink> sinks;
  sinks.push_back(std::move(sink));
  return submit_group(std::move(requests), std::move(sinks)).front();
}

std::vector<uint64_t> AsyncEngine::submit_group(std::vector<GenerationRequest> requests, std::vector<Sink> sinks) {
  RKV_CHECK(requests.size() == sinks.size() && !requests.empty(), "one sink per request");
  for (const GenerationRequest& r : requests) engine_.validate(r);
  std::lock_guard<std::mutex> lock(mutex_);
  RKV_CHECK(!stopping_, "the engine is shutting down");
  // Room for max_batch running sequences and max_queue waiting ones. Every
  // accepted request has a sink until its on_done: counting sinks also sees
  // the requests drained from the inbox since load_ was last refreshed.
  const int queued = static_cast<int>(sinks_.size());
  const int room = engine_.options().max_batch + max_queue_;
  if (queued + static_cast<int>(requests.size()) > room)
    throw QueueFull("the server is busy: " + std::to_string(queued) + " requests are running or waiting and " +
                    std::to_string(requests.size()) + " more do not fit (max batch " +
                    std::to_string(engine_.options().max_batch) + ", queue limit " + std::to_string(max_queue_) + ")");
  std::vector<uint64_t> tickets;
  for (size_t i = 0; i < requests.size(); ++i) {
    const uint64_t ticket = next_ticket_++;
    sinks_[ticket] = std::move(sinks[i]);
    inbox_.push_back({ticket, std::move(requests[i])});
    tickets.push_back(ticket);
  }
  wake_.notify_all();
  return tickets;
}

void AsyncEngine::cancel(uint64_t ticket) {
  std::lock_guard<std::mutex> lock(mutex_);
  cancels_.push_back(ticket);
  wake_.notify_all();
}

EngineLoad AsyncEngine::load() const {
  std::lock_guard<std::mutex> lock(mutex_);
  EngineLoad out = load_;
  out.waiting += static_cast<int>(inbox_.size());
  return out;
}

void AsyncEngine::drain_inbox() {
  for (Pending& p : inbox_) {
    try {
      const int id = engine_.submit(std::move(p.request));
      ticket_of_[id] = p.ticket;
      engine_id_of_[p.ticket] = id;
    } catch (const Error& e) {  // validated at submit(): only a limit that changed since
      GenerationResult r;
      r.stop = StopReason::Error;
      r.error = e.what();
      if (auto it = sinks_.find(p.ticket); it != sinks_.end()) {
        if (it->second.on_done) it->second.on_done(r);
        sinks_.erase(it);
      }
    }
  }
  inbox_.clear();
  for (uint64_t ticket : cancels_)
    if (auto it = engine_id_of_.find(ticket); it != engine_id_of_.end()) engine_.cancel(it->second, StopReason::Cancelled);
  cancels_.clear();
}

void AsyncEngine::loop() {
  EngineCallbacks callbacks;
  auto sink_of = [this](int id) -> Sink* {
    auto t = ticket_of_.find(id);
    if (t == ticket_of_.end()) return nullptr;
    auto s = sinks_.find(t->second);
    return s == sinks_.end() ? nullptr : &s->second;
  };
  // submit() inserts into sinks_ from other threads: look up under the lock.
  // Only this thread erases, so the sink found stays valid after unlocking.
  auto locked_sink = [&](int id) {
    std::lock_guard<std::mutex> lock(mutex_);
    return sink_of(id);
  };
  callbacks.on_token = [&](int id, int32_t token, const std::string& text) {
    if (Sink* sink = locked_sink(id); sink && sink->on_token) sink->on_token(token, text);
  };
  callbacks.on_compress = [&](int id, int64_t length, const std::vector<std::vector<int32_t>>& kept) {
    if (Sink* sink = locked_sink(id); sink && sink->on_compress) sink->on_compress(length, kept);
  };
  callbacks.on_logprobs = [&](int id, const TokenLogprobs& logprobs) {
    if (Sink* sink = locked_sink(id); sink && sink->on_logprobs) sink->on_logprobs(logprobs);
  };
  callbacks.on_done = [&](const GenerationResult& r) {
    Sink sink;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto t = ticket_of_.find(r.id);
      if (t == ticket_of_.end()) return;
      auto s = sinks_.find(t->second);
      if (s != sinks_.end()) {
        sink = std::move(s->second);
        sinks_.erase(s);
      }
      engine_id_of_.erase(t->second);
      ticket_of_.erase(t);
    }
    if (sink.on_done) sink.on_done(r);
  };

  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !inbox_.empty() || !cancels_.empty() || !engine_.idle(); });
      if (stopping_) {
        drain_inbox();
        engine_.cancel_all(StopReason::Cancelled);
      } else {
        drain_inbox();
      }
    }
    bool more = false;
    try {
      more = engine_.step(callbacks);
    } catch (const std::exception& e) {
      engine_.abort_all(std::string("the engine failed: ") + e.what(), callbacks);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    load_ = engine_.load();
    if (stopping_ && !more && engine_.idle() && inbox_.empty()) break;
  }
}

}  // namespace rkv
