// eval/eval_run: one `rkv eval` run — every (problem, sample, sweep point)
// of a dataset that the run folder does not hold yet goes through ONE Engine
// (continuous batching, KV-memory admission, each request carrying its sweep
// point's KV policy); each finished sample is graded with both rule sets and
// appended to results.jsonl at once. Progress goes to stderr: a bar with
// done/total, accuracy so far per point, tokens/s and ETA on a terminal, a
// line every few samples otherwise.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "rkv/engine/loaded_model.h"
#include "rkv/eval/dataset.h"
#include "rkv/eval/results.h"
#include "rkv/eval/sweep.h"

namespace rkv::eval {

struct EvalPlan {
  Dataset dataset;                 // the problems this run may cover (after --limit)
  std::vector<SweepPoint> sweep;
  std::vector<KvPolicy> policies;  // [sweep.size()]
  PromptFormat prompt = PromptFormat::parse("rkv");
  RequestSpec sampling;            // sampling, stops, max_new_tokens; the input is set per problem
  int samples = 1;
  Shard shard;
};

struct EvalStats {
  int64_t planned = 0, already_done = 0, finished = 0;
  double wall_seconds = 0;    // the whole run, model load excluded
  double engine_seconds = 0;  // inside Engine::step
  double grading_seconds = 0; // grading + writing results
  bool interrupted = false;
};

// The seed of sample k of a problem: the same for every sweep point, so the
// methods are compared on the same draws.
uint64_t sample_seed(uint64_t base, int64_t problem, int sample);

EvalStats run_eval(LoadedModel& lm, const EngineOptions& engine_options, const EvalPlan& plan, const std::string& run_dir,
                   bool quiet, const std::atomic<bool>* interrupt);

}  // namespace rkv::eval
