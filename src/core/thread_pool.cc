#include "rkv/core/thread_pool.h"

#include <sched.h>

#include <cstdlib>
#include <exception>
#include <utility>

#include "rkv/core/error.h"

namespace rkv {
namespace {

// Polls `ready` for up to ThreadPool::kSpin; true once it holds.
template <typename Ready>
bool spin_until(const Ready& ready) {
  const auto deadline = std::chrono::steady_clock::now() + ThreadPool::kSpin;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (ready()) return true;
      __builtin_ia32_pause();
    }
    if (std::chrono::steady_clock::now() >= deadline) return ready();
  }
}

void chunk_of(int64_t n, int parts, int index, int64_t& begin, int64_t& end) {
  begin = n * index / parts;
  end = n * (index + 1) / parts;
}

}  // namespace

int ThreadPool::default_threads() {
  if (const char* env = std::getenv("RKV_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  return available_cpus();
}

int ThreadPool::available_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = default_threads();
  try {
    workers_.reserve(static_cast<size_t>(threads - 1));
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
  } catch (const std::exception& e) {
    const size_t started = workers_.size();
    stop_workers();
    fail("cannot start ", threads, " threads (", started + 1, " running when it failed: ", e.what(),
         "); use fewer threads");
  }
}

ThreadPool::~ThreadPool() { stop_workers(); }

void ThreadPool::stop_workers() noexcept {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_.store(true);
  }
  work_ready_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

// Runs chunks of the current job until none is left. The claim (a CAS on
// the job's generation and next chunk together) happens before the job is
// read, so a thread can never run a chunk of a job that already finished:
// the caller cannot publish the next job while a claimed chunk is running.
void ThreadPool::run_chunks(uint64_t generation) {
  const int parts = size();
  for (;;) {
    uint64_t state = state_.load(std::memory_order_acquire);
    if ((state >> 32) != (generation & 0xffffffffu) || static_cast<int>(state & 0xffffffffu) >= parts) return;
    if (!state_.compare_exchange_weak(state, state + 1, std::memory_order_acq_rel)) continue;
    const int chunk = static_cast<int>(state & 0xffffffffu);
    const std::function<void(int64_t, int64_t)>* job = job_;
    int64_t begin, end;
    chunk_of(job_n_, parts, chunk, begin, end);
    try {
      if (begin < end) (*job)(begin, end);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!worker_error_) worker_error_ = std::current_exception();
    }
    if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == parts) {
      std::lock_guard<std::mutex> lock(mutex_);  // the caller may be between its check and its wait
      work_done_.notify_one();
    }
  }
}

void ThreadPool::worker_loop(int) {
  uint64_t seen = 0;
  for (;;) {
    auto ready = [&] { return stopping_.load(std::memory_order_acquire) || generation_.load(std::memory_order_acquire) != seen; };
    if (!spin_until(ready)) {
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock, ready);
    }
    if (stopping_.load(std::memory_order_acquire)) return;
    seen = generation_.load(std::memory_order_acquire);
    run_chunks(seen);
  }
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  if (workers_.empty() || n == 1) {
    fn(0, n);
    return;
  }
  // Chunk boundaries depend only on n and the pool size; which thread runs
  // a chunk does not matter. The caller runs chunks too, and takes over any
  // a worker has not claimed — a descheduled worker (a busy machine) delays
  // the job by at most the one chunk it holds, never by a time slice per call.
  const uint64_t generation = generation_.load(std::memory_order_relaxed) + 1;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    job_n_ = n;
    done_.store(0, std::memory_order_relaxed);
    state_.store((generation & 0xffffffffu) << 32, std::memory_order_release);
    generation_.store(generation, std::memory_order_release);
  }
  work_ready_.notify_all();
  run_chunks(generation);
  const int parts = size();
  auto done = [&] { return done_.load(std::memory_order_acquire) == parts; };
  std::unique_lock<std::mutex> lock(mutex_, std::defer_lock);
  if (!spin_until(done)) {
    lock.lock();
    work_done_.wait(lock, done);
  } else {
    lock.lock();
  }
  std::exception_ptr error = std::exchange(worker_error_, nullptr);
  if (error) std::rethrow_exception(error);
}

}  // namespace rkv
