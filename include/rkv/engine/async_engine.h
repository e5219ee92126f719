// engine/async_engine: the engine driven by a thread of its own, for
// servers. Any thread may submit a request (with a sink that receives its
// tokens and its result) or cancel one; the engine thread drains those
// between steps and runs Engine::step() while there is work, sleeping
// otherwise. It is the same loop as `rkv generate` — Engine::step — not a
// second one. Sinks are called on the engine thread and must return quickly
// (hand the data to the waiting connection). Every accepted request gets
// exactly one on_done, whatever happens: finished, cancelled, failed, or the
// engine shut down. Requests beyond `max_queue` waiting ones are refused at
// once (QueueFull), never queued without bound.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "rkv/engine/engine.h"

namespace rkv {

class QueueFull : public Error {
 public:
  using Error::Error;
};

class AsyncEngine {
 public:
  struct Sink {
    std::function<void(int32_t token, const std::string& text)> on_token = nullptr;
    std::function<void(const GenerationResult&)> on_done = nullptr;
    std::function<void(int64_t length, const std::vector<std::vector<int32_t>>& kept_by_layer)> on_compress = nullptr;
    std::function<void(const TokenLogprobs&)> on_logprobs = nullptr;  // before on_token (top_logprobs >= 0)
  };

  // max_queue: requests that may wait for admission (0 = none may wait).
  AsyncEngine(CausalLM& model, EngineOptions options, ThreadPool& pool, int max_queue);
  ~AsyncEngine();  // every pending request ends (Cancelled), then the thread joins
  AsyncEngine(const AsyncEngine&) = delete;
  AsyncEngine& operator=(const AsyncEngine&) = delete;

  // Validates (rkv::Error naming the problem) and queues the request;
  // QueueFull when max_queue requests already wait. Returns a ticket for cancel().
  uint64_t submit(GenerationRequest request, Sink sink);
  // Several requests that go together (a request's n samples): all are
  // accepted or none (QueueFull).
  std::vector<uint64_t> submit_group(std::vector<GenerationRequest> requests, std::vector<Sink> sinks);
  // The request stops at the next step (StopReason::Cancelled) and its KV
  // memory is freed; unknown or finished tickets are ignored.
  void cancel(uint64_t ticket);

  EngineLoad load() const;  // as of the last step
  const Engine& engine() const { return engine_; }

 private:
  void loop();
  void drain_inbox();  // under mutex_

  struct Pending {
    uint64_t ticket;
    GenerationRequest request;
  };
  Engine engine_;
  int max_queue_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> inbox_;
  std::vector<uint64_t> cancels_;
  std::map<uint64_t, Sink> sinks_;        // ticket -> sink, until on_done
  std::map<int, uint64_t> ticket_of_;     // engine id -> ticket
  std::map<uint64_t, int> engine_id_of_;  // ticket -> engine id
  uint64_t next_ticket_ = 1;
  EngineLoad load_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace rkv
