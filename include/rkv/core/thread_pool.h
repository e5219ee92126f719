// core/thread_pool: a fixed set of worker threads for data-parallel loops.
//
// parallel_for(n, fn) splits [0, n) into one contiguous chunk per thread and
// calls fn(begin, end) on each; whichever thread is free claims the next
// chunk, the caller included, so a worker that the OS does not schedule
// (another process busy on the machine) costs at most one chunk's delay. The
// split depends only on n and the thread count, so results that are computed
// per index are independent of scheduling. A pool of 1 runs inline. An
// exception thrown by any chunk is rethrown to the caller once all finish.
//
// Decoding one token makes ~200 short parallel_for calls; waking a sleeping
// thread costs tens of microseconds (more in a VM), so idle workers and the
// waiting caller first spin for a short while (kSpin) and only then sleep.
// Threads beyond the CPUs therefore slow everything down: callers that take
// a thread count from users cap it at available_cpus() (apps/rkv/flags.h).
// A thread that cannot be started is rkv::Error (the others are stopped).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace rkv {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);  // threads <= 0: hardware concurrency
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }
  void parallel_for(int64_t n, const std::function<void(int64_t begin, int64_t end)>& fn);

  static int default_threads();  // RKV_THREADS or available_cpus()
  static int available_cpus();   // CPUs this process may run on (its affinity mask)

  // How long an idle thread polls before it sleeps.
  static constexpr std::chrono::microseconds kSpin{200};

 private:
  void worker_loop(int index);
  void run_chunks(uint64_t generation);
  void stop_workers() noexcept;

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable work_ready_, work_done_;
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;  // written before generation_ moves
  int64_t job_n_ = 0;
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> state_{0};  // (generation << 32) | next chunk to claim
  std::atomic<int> done_{0};        // chunks of the current job finished
  std::atomic<bool> stopping_{false};
  std::exception_ptr worker_error_;  // first exception thrown by a worker in the current job (under mutex_)
};

}  // namespace rkv
