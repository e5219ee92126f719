#include "rkv/eval/summary.h"
#include "rkv/core/output_file.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "rkv/core/buffer.h"

namespace rkv::eval {

namespace {

constexpr double kZ95 = 1.959963984540054;

// 95% interval of a mean of per-problem scores: Wilson's score interval
// when every problem has one 0/1 sample (exact at 0% and 100% too), else the
// normal approximation over problems.
void confidence_interval(const std::vector<double>& per_problem, bool binary, double& low, double& high) {
  const double n = static_cast<double>(per_problem.size());
  double mean = 0;
  for (double x : per_problem) mean += x;
  mean /= n;
  if (binary) {
    const double z2 = kZ95 * kZ95, denom = 1 + z2 / n;
    const double center = (mean + z2 / (2 * n)) / denom;
    const double half = kZ95 * std::sqrt(mean * (1 - mean) / n + z2 / (4 * n * n)) / denom;
    low = center - half;
    high = center + half;
  } else {
    double var = 0;
    for (double x : per_problem) var += (x - mean) * (x - mean);
    var = n > 1 ? var / (n - 1) : 0;
    const double half = kZ95 * std::sqrt(var / n);
    low = mean - half;
    high = mean + half;
  }
  low = std::clamp(low, 0.0, 1.0);
  high = std::clamp(high, 0.0, 1.0);
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

PointSummary summarize_point(const std::string& label, const std::vector<const SampleRecord*>& recs) {
  PointSummary p;
  p.label = label;
  if (recs.empty()) return p;
  p.method = recs[0]->method;
  p.budget = recs[0]->budget;
  std::map<int64_t, std::vector<const SampleRecord*>> by_problem;  // samples of each problem, by sample index
  for (const SampleRecord* r : recs) by_problem[r->problem].push_back(r);
  std::vector<double> pass, pass_strict, tokens, first;
  bool binary = true;
  double decode_tps = 0, kv = 0;
  int64_t decode_n = 0, truncated = 0;
  for (auto& [problem, samples] : by_problem) {
    std::sort(samples.begin(), samples.end(), [](auto* a, auto* b) { return a->sample < b->sample; });
    double c = 0, cs = 0;
    for (const SampleRecord* r : samples) {
      c += r->correct;
      cs += r->correct_strict;
    }
    binary = binary && samples.size() == 1;
    pass.push_back(c / static_cast<double>(samples.size()));
    pass_strict.push_back(cs / static_cast<double>(samples.size()));
    first.push_back(samples.front()->sample == 0 && samples.front()->correct ? 1.0 : 0.0);
  }
  for (const SampleRecord* r : recs) {
    tokens.push_back(static_cast<double>(r->output_tokens));
    p.errors += r->stop == "error";
    truncated += r->stop == "length";
    kv += static_cast<double>(r->kv_peak_bytes);
    p.max_kv_peak_bytes = std::max(p.max_kv_peak_bytes, r->kv_peak_bytes);
    if (r->decode_seconds > 0 && r->output_tokens > 1) {
      decode_tps += static_cast<double>(r->output_tokens - 1) / r->decode_seconds;
      ++decode_n;
    }
  }
  const double n = static_cast<double>(pass.size()), samples = static_cast<double>(recs.size());
  p.problems = static_cast<int64_t>(pass.size());
  p.samples = static_cast<int64_t>(recs.size());
  double acc = 0, strict = 0, first_acc = 0, total_tokens = 0;
  for (size_t i = 0; i < pass.size(); ++i) {
    acc += pass[i];
    strict += pass_strict[i];
    first_acc += first[i];
  }
  for (double t : tokens) total_tokens += t;
  p.accuracy = 100 * acc / n;
  p.strict_accuracy = 100 * strict / n;
  p.first_sample_accuracy = std::round(1000 * first_acc / n) / 10;
  confidence_interval(pass, binary, p.ci_low, p.ci_high);
  p.ci_low *= 100;
  p.ci_high *= 100;
  p.mean_output_tokens = total_tokens / samples;
  p.median_output_tokens = median(tokens);
  p.truncation_rate = static_cast<double>(truncated) / samples;
  p.decode_tokens_per_second = decode_n ? decode_tps / static_cast<double>(decode_n) : 0;
  p.mean_kv_peak_bytes = kv / samples;
  return p;
}

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

const char* method_color(const std::string& method) {
  if (method == "rkv") return "#d62728";
  if (method == "snapkv") return "#1f77b4";
  if (method == "h2o") return "#2ca02c";
  if (method == "streamingllm") return "#9467bd";
  return "#8c564b";
}

}  // namespace

std::vector<PointSummary> summarize(const std::vector<SampleRecord>& records, const std::vector<std::string>& labels) {
  std::map<std::string, std::vector<const SampleRecord*>> by_label;
  for (const SampleRecord& r : records) by_label[r.label].push_back(&r);
  std::vector<PointSummary> out;
  for (const std::string& label : labels) out.push_back(summarize_point(label, by_label[label]));
  const PointSummary* full = nullptr;
  for (const PointSummary& p : out)
    if (p.method == "fullkv" && p.samples > 0) full = &p;
  if (full && full->mean_kv_peak_bytes > 0)
    for (PointSummary& p : out)
      if (p.samples > 0) p.kv_saved_vs_fullkv = 1 - p.mean_kv_peak_bytes / full->mean_kv_peak_bytes;
  return out;
}

nlohmann::ordered_json summary_json(const std::vector<PointSummary>& points, const nlohmann::ordered_json& config) {
  nlohmann::ordered_json out;
  out["config"] = config;
  out["confidence_interval"] = "95%: Wilson score interval with one sample per problem, else normal approximation over problems";
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const PointSummary& p : points) {
    nlohmann::ordered_json j;
    j["label"] = p.label;
    j["method"] = p.method;
    j["budget"] = p.budget;
    j["problems"] = p.problems;
    j["samples"] = p.samples;
    j["accuracy"] = p.accuracy;
    j["accuracy_ci95"] = {p.ci_low, p.ci_high};
    j["first_sample_accuracy"] = p.first_sample_accuracy;
    j["strict_accuracy"] = p.strict_accuracy;
    j["mean_output_tokens"] = p.mean_output_tokens;
    j["median_output_tokens"] = p.median_output_tokens;
    j["truncation_rate"] = p.truncation_rate;
    j["decode_tokens_per_second"] = p.decode_tokens_per_second;
    j["mean_kv_peak_bytes"] = p.mean_kv_peak_bytes;
    j["max_kv_peak_bytes"] = p.max_kv_peak_bytes;
    if (p.kv_saved_vs_fullkv >= -0.5) j["kv_saved_vs_fullkv"] = p.kv_saved_vs_fullkv;
    else j["kv_saved_vs_fullkv"] = nullptr;
    j["errors"] = p.errors;
    list.push_back(std::move(j));
  }
  out["points"] = std::move(list);
  return out;
}

std::string summary_markdown(const std::vector<PointSummary>& points, const nlohmann::ordered_json& config) {
  std::ostringstream md;
  md << "# rkv eval: " << config.value("model", std::string("?")) << " on " << config.value("data", std::string("?"))
     << "\n\n";
  md << "Accuracy is pass@1 (reference grading rules) with its 95% confidence interval; *first* is the first-sample "
        "accuracy the R-KV repository reports; *strict* uses `--rules strict`. KV is the peak K+V bytes of one "
        "sequence.\n\n";
  md << "| method | budget | problems | samples | accuracy % | 95% CI | first % | strict % | mean tokens | median tokens "
        "| truncated | decode tok/s | peak KV (MiB) | KV saved | errors |\n";
  md << "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const PointSummary& p : points) {
    md << "| " << (p.method.empty() ? p.label : p.method) << " | " << (p.budget ? std::to_string(p.budget) : "-") << " | "
       << p.problems << " | " << p.samples << " | " << fmt("%.1f", p.accuracy) << " | "
       << fmt("%.1f", p.ci_low) << "–" << fmt("%.1f", p.ci_high) << " | " << fmt("%.1f", p.first_sample_accuracy)
       << " | " << fmt("%.1f", p.strict_accuracy) << " | " << fmt("%.0f", p.mean_output_tokens) << " | "
       << fmt("%.0f", p.median_output_tokens) << " | " << fmt("%.1f%%", 100 * p.truncation_rate) << " | "
       << fmt("%.1f", p.decode_tokens_per_second) << " | " << fmt("%.2f", p.mean_kv_peak_bytes / 1048576.0) << " | "
       << (p.kv_saved_vs_fullkv >= -0.5 ? fmt("%.0f%%", 100 * p.kv_saved_vs_fullkv) : std::string("-")) << " | "
       << p.errors << " |\n";
  }
  return md.str();
}

std::string accuracy_plot_svg(const std::vector<PointSummary>& points, const std::string& title) {
  const double W = 760, H = 460, left = 70, right = 170, top = 50, bottom = 60;
  const double pw = W - left - right, ph = H - top - bottom;
  std::vector<double> budgets;
  for (const PointSummary& p : points)
    if (p.samples > 0 && p.method != "fullkv") budgets.push_back(static_cast<double>(p.budget));
  std::sort(budgets.begin(), budgets.end());
  budgets.erase(std::unique(budgets.begin(), budgets.end()), budgets.end());
  const bool log_x = budgets.size() >= 2 && budgets.back() / budgets.front() >= 4;
  auto xv = [&](double b) { return log_x ? std::log2(b) : b; };
  const double x0 = budgets.empty() ? 0 : xv(budgets.front()), x1 = budgets.empty() ? 1 : xv(budgets.back());
  const double span = x1 > x0 ? x1 - x0 : 1;
  auto px = [&](double b) { return budgets.size() < 2 ? left + pw / 2 : left + 0.05 * pw + 0.9 * pw * (xv(b) - x0) / span; };
  auto py = [&](double acc) { return top + ph * (1 - acc / 100); };

  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H << "\" viewBox=\"0 0 " << W << " "
      << H << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  svg << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg << "<text x=\"" << W / 2 << "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">" << xml_escape(title) << "</text>\n";
  // axes, grid and ticks
  svg << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << pw << "\" height=\"" << ph
      << "\" fill=\"none\" stroke=\"#333\"/>\n";
  for (int acc = 0; acc <= 100; acc += 20) {
    svg << "<line x1=\"" << left << "\" x2=\"" << left + pw << "\" y1=\"" << py(acc) << "\" y2=\"" << py(acc)
        << "\" stroke=\"#ddd\"/>\n";
    svg << "<text x=\"" << left - 8 << "\" y=\"" << py(acc) + 4 << "\" text-anchor=\"end\">" << acc << "</text>\n";
  }
  for (double b : budgets)
    svg << "<text x=\"" << px(b) << "\" y=\"" << top + ph + 18 << "\" text-anchor=\"middle\">" << fmt("%.0f", b)
        << "</text>\n";
  svg << "<text x=\"" << left + pw / 2 << "\" y=\"" << H - 18 << "\" text-anchor=\"middle\">KV budget (tokens per head"
      << (log_x ? ", log scale" : "") << ")</text>\n";
  svg << "<text transform=\"translate(20," << top + ph / 2 << ") rotate(-90)\" text-anchor=\"middle\">accuracy (%, pass@1)</text>\n";

  // FullKV: a horizontal reference line
  double legend_y = top + 10;
  auto legend = [&](const std::string& name, const char* color, bool dashed) {
    svg << "<line x1=\"" << left + pw + 15 << "\" x2=\"" << left + pw + 40 << "\" y1=\"" << legend_y << "\" y2=\"" << legend_y
        << "\" stroke=\"" << color << "\" stroke-width=\"2\"" << (dashed ? " stroke-dasharray=\"6,4\"" : "") << "/>\n";
    svg << "<text x=\"" << left + pw + 46 << "\" y=\"" << legend_y + 4 << "\">" << xml_escape(name) << "</text>\n";
    legend_y += 20;
  };
  for (const PointSummary& p : points)
    if (p.method == "fullkv" && p.samples > 0) {
      svg << "<line x1=\"" << left << "\" x2=\"" << left + pw << "\" y1=\"" << py(p.accuracy) << "\" y2=\"" << py(p.accuracy)
          << "\" stroke=\"#000\" stroke-width=\"2\" stroke-dasharray=\"6,4\"/>\n";
      legend("FullKV " + fmt("%.1f%%", p.accuracy), "#000", true);
    }
  // one line per method, with 95% intervals as error bars
  std::vector<std::string> methods;
  for (const PointSummary& p : points)
    if (p.samples > 0 && p.method != "fullkv" && std::find(methods.begin(), methods.end(), p.method) == methods.end())
      methods.push_back(p.method);
  for (const std::string& m : methods) {
    std::vector<const PointSummary*> line;
    for (const PointSummary& p : points)
      if (p.method == m && p.samples > 0) line.push_back(&p);
    std::sort(line.begin(), line.end(), [](auto* a, auto* b) { return a->budget < b->budget; });
    const char* color = method_color(m);
    svg << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"2\" points=\"";
    for (const PointSummary* p : line) svg << px(static_cast<double>(p->budget)) << "," << py(p->accuracy) << " ";
    svg << "\"/>\n";
    for (const PointSummary* p : line) {
      const double x = px(static_cast<double>(p->budget));
      svg << "<line x1=\"" << x << "\" x2=\"" << x << "\" y1=\"" << py(p->ci_low) << "\" y2=\"" << py(p->ci_high)
          << "\" stroke=\"" << color << "\" stroke-opacity=\"0.5\"/>\n";
      svg << "<circle cx=\"" << x << "\" cy=\"" << py(p->accuracy) << "\" r=\"4\" fill=\"" << color << "\"><title>"
          << xml_escape(p->label) << ": " << fmt("%.1f%%", p->accuracy) << "</title></circle>\n";
    }
    legend(m == "rkv" ? "R-KV" : m == "snapkv" ? "SnapKV" : m == "h2o" ? "H2O" : m == "streamingllm" ? "StreamingLLM" : m,
           color, false);
  }
  svg << "</svg>\n";
  return svg.str();
}

void write_summary_files(const std::string& dir, const std::vector<PointSummary>& points,
                         const nlohmann::ordered_json& config) {
  namespace fs = std::filesystem;
  const std::string json_text = summary_json(points, config).dump(2) + "\n";
  const std::string md = summary_markdown(points, config);
  const std::string title = "Accuracy vs KV budget: " + fs::path(config.value("model", std::string("model"))).filename().string() +
                            " on " + fs::path(config.value("data", std::string("data"))).filename().string();
  const std::string svg = accuracy_plot_svg(points, title);
  write_file_atomically((fs::path(dir) / "summary.json").string(), json_text.data(), json_text.size());
  write_file_atomically((fs::path(dir) / "summary.md").string(), md.data(), md.size());
  write_file_atomically((fs::path(dir) / "plot.svg").string(), svg.data(), svg.size());
}

}  // namespace rkv::eval
