#include "rkv/server/metrics.h"

#include <algorithm>
#include <cstdio>

#include "rkv/engine/stop.h"

namespace rkv::server {

namespace {
std::string number(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", x);
  return buf;
}
void header(std::string& out, const std::string& name, const char* type, const std::string& help) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}
void sample(std::string& out, const std::string& name, double value, const char* type, const std::string& help) {
  header(out, name, type, help);
  out += name + " " + number(value) + "\n";
}
}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1) {}

void Histogram::observe(double value) {
  const size_t at = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  ++counts_[at];
  sum_ += value;
  ++count_;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& help) const {
  header(out, name, "histogram", help);
  int64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += name + "_bucket{le=\"" + number(bounds_[i]) + "\"} " + std::to_string(cumulative) + "\n";
  }
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(count_) + "\n";
  out += name + "_sum " + number(sum_) + "\n" + name + "_count " + std::to_string(count_) + "\n";
}

Metrics::Metrics()
    : ttft_({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}),
      itl_({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}),
      request_({0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}) {}

void Metrics::request(const std::string& endpoint, int status) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{endpoint, status}];
}

void Metrics::finished(const GenerationResult& r) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++finished_[stop_reason_name(r.stop)];
  prompt_tokens_ += static_cast<int64_t>(r.prompt_ids.size());
  generated_tokens_ += static_cast<int64_t>(r.ids.size());
  compressions_ += r.compressions;
  if (!r.ids.empty()) ttft_.observe(r.first_token_seconds);
}

void Metrics::inter_token(double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  itl_.observe(seconds);
}

void Metrics::request_seconds(double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  request_.observe(seconds);
}

std::string Metrics::render(const EngineLoad& load, int64_t kv_memory_limit, bool ready) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  header(out, "rkv_http_requests_total", "counter", "HTTP requests answered, by endpoint and status code");
  for (const auto& [key, n] : requests_)
    out += "rkv_http_requests_total{endpoint=\"" + key.first + "\",code=\"" + std::to_string(key.second) + "\"} " +
           std::to_string(n) + "\n";
  header(out, "rkv_sequences_finished_total", "counter", "sequences that ended, by reason (eos, stop, length, cancelled, error)");
  for (const auto& [reason, n] : finished_)
    out += "rkv_sequences_finished_total{reason=\"" + reason + "\"} " + std::to_string(n) + "\n";
  sample(out, "rkv_prompt_tokens_total", static_cast<double>(prompt_tokens_), "counter", "prompt tokens of finished sequences");
  sample(out, "rkv_generation_tokens_total", static_cast<double>(generated_tokens_), "counter", "tokens generated");
  sample(out, "rkv_compressions_total", static_cast<double>(compressions_), "counter", "KV cache compressions");
  sample(out, "rkv_sequences_running", load.running, "gauge", "sequences in the batch");
  sample(out, "rkv_sequences_waiting", load.waiting, "gauge", "sequences waiting for admission");
  sample(out, "rkv_kv_bytes_in_use", static_cast<double>(load.kv_bytes_in_use), "gauge", "KV cache bytes allocated by running sequences");
  sample(out, "rkv_kv_bytes_reserved", static_cast<double>(load.kv_bytes_reserved), "gauge",
         "KV cache bytes running sequences can reach (admission counts these)");
  sample(out, "rkv_kv_memory_limit_bytes", static_cast<double>(kv_memory_limit), "gauge", "--kv-memory (0: unlimited)");
  sample(out, "rkv_model_ready", ready ? 1 : 0, "gauge", "1 once the model is loaded");
  ttft_.render(out, "rkv_time_to_first_token_seconds", "submitted to first generated token");
  itl_.render(out, "rkv_inter_token_latency_seconds", "time between two generated tokens of a sequence");
  request_.render(out, "rkv_request_duration_seconds", "completion request accepted to response end");
  return out;
}

}  // namespace rkv::server
