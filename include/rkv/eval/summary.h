// eval/summary: the figures of a run, recomputed from results.jsonl — per
// sweep point: accuracy (pass@1: mean over problems of the mean correctness
// over samples) with a 95% confidence interval, the first-sample accuracy
// the R-KV repository reports (its `acc`), the strict-rules accuracy, output
// lengths, truncation rate, decode speed, peak KV bytes per sequence and the
// fraction saved against FullKV — written as summary.json, summary.md and
// plot.svg (accuracy against budget, one line per method, FullKV as a
// horizontal reference).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rkv/eval/results.h"

namespace rkv::eval {

struct PointSummary {
  std::string label, method;
  int64_t budget = 0;
  int64_t problems = 0, samples = 0, errors = 0;
  double accuracy = 0, ci_low = 0, ci_high = 0;  // percent
  double first_sample_accuracy = 0;              // percent, rounded to 0.1 as the reference prints it
  double strict_accuracy = 0;                    // percent
  double mean_output_tokens = 0, median_output_tokens = 0;
  double truncation_rate = 0;                    // fraction stopped by the length limit
  double decode_tokens_per_second = 0;           // per sequence, mean
  double mean_kv_peak_bytes = 0;
  int64_t max_kv_peak_bytes = 0;
  double kv_saved_vs_fullkv = -1;                // 1 - mean peak / FullKV's; -1 without a FullKV point
};

// One summary per label, in the order of `labels`; a label without records
// has problems == 0.
std::vector<PointSummary> summarize(const std::vector<SampleRecord>& records, const std::vector<std::string>& labels);

nlohmann::ordered_json summary_json(const std::vector<PointSummary>& points, const nlohmann::ordered_json& config);
std::string summary_markdown(const std::vector<PointSummary>& points, const nlohmann::ordered_json& config);
// Accuracy against budget as a standalone SVG (no scripts, no external files).
std::string accuracy_plot_svg(const std::vector<PointSummary>& points, const std::string& title);

// Writes summary.json, summary.md and plot.svg into `dir`.
void write_summary_files(const std::string& dir, const std::vector<PointSummary>& points,
                         const nlohmann::ordered_json& config);

}  // namespace rkv::eval
