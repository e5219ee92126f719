#include <atomic>
#include <mutex>
#include <numeric>
#include <vector>

#include "common/testing.h"
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
