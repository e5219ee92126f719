// server/metrics: what `rkv serve` counts, in the Prometheus text format
// (/metrics): requests by endpoint and HTTP status, finished sequences by
// reason, prompt and generated tokens, compressions, the engine's load
// (running and waiting sequences, KV bytes in use and reserved), and
// histograms of time to first token, inter-token latency and request time.
// Thread-safe: HTTP threads and the engine thread record, /metrics reads.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "rkv/engine/engine.h"

namespace rkv::server {

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);
  // "name_bucket{le=...} n" lines (cumulative), name_sum, name_count.
  void render(std::string& out, const std::string& name, const std::string& help) const;
  int64_t count() const { return count_; }

 private:
  std::vector<double> bounds_;
  std::vector<int64_t> counts_;  // [bounds + 1]: the last one is +Inf
  double sum_ = 0;
  int64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();
  void request(const std::string& endpoint, int status);       // an HTTP answer
  void finished(const GenerationResult& r);                    // a sequence ended: reason, tokens, compressions, TTFT
  void inter_token(double seconds);                            // between two tokens of one sequence
  void request_seconds(double seconds);                        // accepted -> last byte of a completion request
  // The Prometheus text; load: the engine's now; ready: the model is loaded.
  std::string render(const EngineLoad& load, int64_t kv_memory_limit, bool ready) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, int64_t> requests_;  // (endpoint, status) -> count
  std::map<std::string, int64_t> finished_;                  // stop reason -> sequences
  int64_t prompt_tokens_ = 0, generated_tokens_ = 0, compressions_ = 0;
  Histogram ttft_, itl_, request_;
};

}  // namespace rkv::server
