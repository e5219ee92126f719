#include "rkv/eval/eval_run.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "rkv/core/error.h"

namespace rkv::eval {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Job {
  int64_t problem;
  int sample;
  size_t point;  // index into the sweep
};

// stderr progress: a redrawn bar on a terminal, else a line every few samples.
class Progress {
 public:
  Progress(int64_t total, const std::vector<SweepPoint>& sweep, bool quiet)
      : total_(total), sweep_(sweep), quiet_(quiet), tty_(isatty(2)), start_(Clock::now()) {
    every_ = std::max<int64_t>(1, total / 50);
  }

  void add(const SampleRecord& r, size_t point) {
    ++done_;
    tokens_ += r.output_tokens;
    auto& [right, count] = acc_[point];
    right += r.correct;
    ++count;
    if (quiet_) return;
    if (tty_) {
      if (seconds_since(last_) > 0.2 || done_ == total_) draw('\r');
    } else if (done_ % every_ == 0 || done_ == total_) {
      draw('\n');
    }
  }

  void finish() {
    if (!quiet_ && tty_ && done_ > 0) std::fputc('\n', stderr);
  }

 private:
  void draw(char end) {
    last_ = Clock::now();
    const double elapsed = seconds_since(start_);
    const double eta = done_ > 0 ? elapsed / static_cast<double>(done_) * static_cast<double>(total_ - done_) : 0;
    std::string line;
    if (tty_) {
      const int width = 24, filled = total_ > 0 ? static_cast<int>(width * done_ / total_) : width;
      line = "[" + std::string(static_cast<size_t>(filled), '=') + std::string(static_cast<size_t>(width - filled), ' ') + "] ";
    }
    char buf[160];
    std::snprintf(buf, sizeof buf, "eval %lld/%lld | %.1f tok/s | ETA %s |", static_cast<long long>(done_),
                  static_cast<long long>(total_), elapsed > 0 ? static_cast<double>(tokens_) / elapsed : 0.0,
                  duration(eta).c_str());
    line += buf;
    for (const auto& [point, rc] : acc_) {
      std::snprintf(buf, sizeof buf, " %s %.1f%%", sweep_[point].label.c_str(), 100.0 * rc.first / rc.second);
      line += buf;
    }
    std::fprintf(stderr, "%s%s%c", line.c_str(), tty_ ? "\x1b[K" : "", end);
    std::fflush(stderr);
  }

  static std::string duration(double s) {
    char buf[32];
    const long long t = static_cast<long long>(s);
    if (t >= 3600) std::snprintf(buf, sizeof buf, "%lldh%02lldm", t / 3600, t % 3600 / 60);
    else std::snprintf(buf, sizeof buf, "%lldm%02llds", t / 60, t % 60);
    return buf;
  }

  int64_t total_, done_ = 0, tokens_ = 0, every_;
  const std::vector<SweepPoint>& sweep_;
  bool quiet_, tty_;
  Clock::time_point start_, last_;
  std::map<size_t, std::pair<int64_t, int64_t>> acc_;  // point -> (correct, finished)
};

SampleRecord record_for(const Job& job, const SweepPoint& point) {
  SampleRecord r;
  r.problem = job.problem;
  r.sample = job.sample;
  r.label = point.label;
  r.method = method_name(point.method);
  r.budget = point.budget;
  return r;
}

void grade_into(SampleRecord& r, const Problem& problem, DataName data) {
  const GradeResult ref = grade(r.output, problem.gold, data, Rules::kReference);
  const GradeResult strict = grade(r.output, problem.gold, data, Rules::kStrict);
  r.extracted = ref.extracted;
  r.correct = ref.correct;
  r.extracted_strict = strict.extracted;
  r.correct_strict = strict.correct;
}

}  // namespace

uint64_t sample_seed(uint64_t base, int64_t problem, int sample) {
  uint64_t x = base + 0x9E3779B97F4A7C15ull * (static_cast<uint64_t>(problem) * 1000003ull + static_cast<uint64_t>(sample) + 1);
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;  // splitmix64 finaliser
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

EvalStats run_eval(LoadedModel& lm, const EngineOptions& engine_options, const EvalPlan& plan, const std::string& run_dir,
                   bool quiet, const std::atomic<bool>* interrupt) {
  RKV_CHECK(plan.policies.size() == plan.sweep.size(), "one KV policy per sweep point");
  const auto start = Clock::now();
  EvalStats stats;
  const std::string results_path = (std::filesystem::path(run_dir) / "results.jsonl").string();
  std::set<SampleRecord::Key> done;
  for (const SampleRecord& r : read_records(results_path, true)) done.insert(r.key());

  std::vector<Job> jobs;
  for (const Problem& p : plan.dataset.problems) {
    if (!plan.shard.owns(p.index)) continue;
    for (int k = 0; k < plan.samples; ++k)
      for (size_t i = 0; i < plan.sweep.size(); ++i) {
        ++stats.planned;
        if (done.count({p.index, k, plan.sweep[i].label})) ++stats.already_done;
        else jobs.push_back({p.index, k, i});
      }
  }
  if (jobs.empty()) {
    stats.wall_seconds = seconds_since(start);
    return stats;
  }

  RecordWriter writer(results_path);
  Progress progress(static_cast<int64_t>(jobs.size()), plan.sweep, quiet);
  auto finish = [&](SampleRecord& r, const Job& job) {
    auto t = Clock::now();
    grade_into(r, plan.dataset.problems[static_cast<size_t>(job.problem)], plan.dataset.data_name);
    writer.append(r);
    stats.grading_seconds += seconds_since(t);
    ++stats.finished;
    progress.add(r, job.point);
  };

  Engine engine(lm.lm(), engine_options, lm.pool());
  std::map<int, Job> job_of;               // engine id -> job
  std::map<int64_t, GenerationRequest> built;  // problem -> its request (prompt ids + sampling)
  std::map<int64_t, std::string> build_error;
  for (const Job& job : jobs) {
    const SweepPoint& point = plan.sweep[job.point];
    if (!built.count(job.problem) && !build_error.count(job.problem)) {
      RequestSpec spec = plan.prompt.input_for(plan.dataset.problems[static_cast<size_t>(job.problem)].question);
      RequestSpec s = plan.sampling;
      s.text = spec.text;
      s.chat = spec.chat;
      try {
        built[job.problem] = lm.build(s);
      } catch (const Error& e) {
        build_error[job.problem] = e.what();
      }
    }
    std::string error;
    if (auto it = built.find(job.problem); it != built.end()) {
      GenerationRequest r = it->second;
      r.policy = plan.policies[job.point];
      r.sampling.seed = sample_seed(plan.sampling.seed, job.problem, job.sample);
      try {
        job_of[engine.submit(std::move(r))] = job;
        continue;
      } catch (const Error& e) {
        error = e.what();
      }
    } else {
      error = build_error[job.problem];
    }
    SampleRecord rec = record_for(job, point);  // a request that cannot run is recorded, and the others go on
    rec.stop = "error";
    rec.error = error;
    finish(rec, job);
  }

  EngineCallbacks callbacks;
  callbacks.on_done = [&](const GenerationResult& g) {
    const Job job = job_of.at(g.id);
    if (g.stop == StopReason::Interrupted || g.stop == StopReason::Cancelled) return;  // not finished: a resume reruns it
    SampleRecord r = record_for(job, plan.sweep[job.point]);
    r.output = g.text;
    r.prompt_tokens = static_cast<int64_t>(g.prompt_ids.size());
    r.output_tokens = static_cast<int64_t>(g.ids.size());
    r.stop = stop_reason_name(g.stop);
    r.error = g.error;
    r.kv_peak_bytes = g.kv_peak_bytes;
    r.compressions = g.compressions;
    r.seconds = g.prefill_seconds + g.decode_seconds;
    r.decode_seconds = g.decode_seconds;
    finish(r, job);
  };
  bool interrupted = false;
  const double grading_before_engine = stats.grading_seconds;
  for (;;) {
    auto t = Clock::now();
    const bool more = engine.step(callbacks);
    stats.engine_seconds += seconds_since(t);
    if (!more) break;
    if (interrupt && !interrupted && interrupt->load()) {
      engine.cancel_all(StopReason::Interrupted);
      interrupted = true;
    }
  }
  // grading happens inside step's callbacks: do not count it as engine time
  stats.engine_seconds -= stats.grading_seconds - grading_before_engine;
  progress.finish();
  stats.interrupted = interrupted;
  stats.wall_seconds = seconds_since(start);
  return stats;
}

}  // namespace rkv::eval
