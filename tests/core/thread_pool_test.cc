#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <numeric>
#include <vector>

#include "common/testing.h"
#include "rkv/core/error.h"
#include "rkv/core/thread_pool.h"
#include "rkv/core/tensor.h"

namespace rkv {
namespace {

TEST(ThreadPool, CoversEveryIndexExactlyOnce) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    for (int64_t n : {0, 1, 2, 7, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      pool.parallel_for(n, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
      });
      for (auto& h : hits) ASSERT_EQ(h.load(), 1);
    }
  }
}

TEST(ThreadPool, PropagatesExceptionsFromAnyChunk) {
  ThreadPool pool(3);
  for (int64_t thrower : {0, 5, 9}) {
    EXPECT_THROW(pool.parallel_for(10, [&](int64_t b, int64_t e) {
      if (thrower >= b && thrower < e) throw Error("boom");
    }), Error);
  }
  int64_t sum = 0;  // the pool stays usable
  std::mutex m;
  pool.parallel_for(10, [&](int64_t b, int64_t e) {
    std::lock_guard<std::mutex> lock(m);
    for (int64_t i = b; i < e; ++i) sum += i;
  });
  EXPECT_EQ(sum, 45);
}

// Many short jobs on more threads than cores: every chunk runs exactly once
// per job even when workers wake late and the caller takes their chunks.
TEST(ThreadPool, ManyShortJobsOnAnOversubscribedPool) {
  ThreadPool pool(6);
  std::vector<int64_t> out(64);
  for (int job = 0; job < 20000; ++job) {
    const int64_t n = 1 + job % 64;
    pool.parallel_for(n, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) out[static_cast<size_t>(i)] += job;
    });
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(out[static_cast<size_t>(i)], job) << "job " << job << " index " << i;
    for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = 0;
  }
}

// Threads that cannot be started (here: an address-space limit that holds
// only a few thread stacks) are an rkv::Error from the constructor, and the
// threads already running are stopped: no hang, no std::terminate.
TEST(ThreadPool, ThreadsThatCannotStartAreANamedError) {
  if (test::sanitized_build()) GTEST_SKIP() << "AddressSanitizer needs an unlimited address space";
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::alarm(20);  // a hang ends the child with SIGALRM, which the parent reports
    uint64_t mapped_pages = 0;
    if (std::FILE* statm = std::fopen("/proc/self/statm", "r")) {
      unsigned long long pages = 0;
      if (std::fscanf(statm, "%llu", &pages) == 1) mapped_pages = pages;
      std::fclose(statm);
    }
    const rlim_t limit = static_cast<rlim_t>(mapped_pages * ::getpagesize() + (size_t{64} << 20));
    struct rlimit as {limit, limit};
    if (::setrlimit(RLIMIT_AS, &as) != 0) ::_exit(3);
    try {
      ThreadPool pool(1000);  // 8 MiB of stack each: far more than 64 MiB
      ::_exit(4);
    } catch (const Error& e) {
      ::_exit(std::string(e.what()).find("cannot start 1000 threads") != std::string::npos ? 0 : 5);
    } catch (...) {
      ::_exit(6);
    }
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "ended by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "3: setrlimit failed, 4: no error, 5: wrong message, 6: not rkv::Error";
}

TEST(ThreadPool, AvailableCpusIsPositiveAndTheDefault) {
  EXPECT_GE(ThreadPool::available_cpus(), 1);
  if (!std::getenv("RKV_THREADS")) {
    EXPECT_EQ(ThreadPool(0).size(), ThreadPool::available_cpus());
  }
}

TEST(Tensor, ShapesAndSlices) {
  Tensor t(DType::F32, {2, 3, 4});
  EXPECT_EQ(t.numel(), 24);
  EXPECT_TRUE(t.view().is_contiguous());
  float* p = t.data<float>();
  std::iota(p, p + 24, 0.0f);
  TensorView s = t.view().slice0(1);
  EXPECT_EQ(s.shape, (Shape{3, 4}));
  EXPECT_EQ(static_cast<float*>(s.data)[0], 12.0f);
  EXPECT_THROW(t.view().slice0(2), Error);
  EXPECT_NO_THROW(expect_shape(t.view(), {2, -1, 4}, "x"));
  try {
    expect_shape(t.view(), {2, 4}, "keys");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("keys: expected shape [2, 4], got [2, 3, 4]"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rkv
