// Attention: the vectorized path (AVX-512, cache rows converted in registers,
// vector exp) against the plain row-by-row version, for every cache type,
// group sizes 1-12 (more than one register block of heads), head sizes that
// take and skip the fast path, masked positions and sliding windows; and
// the mask semantics on a hand-worked case.
#include <cmath>
#include <random>

#include "common/testing.h"
#include "rkv/core/dtype.h"
#include "rkv/ops/attention.h"

namespace rkv {
namespace {

TEST(Attention, FastPathMatchesReference) {
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (DType type : {DType::F32, DType::F16, DType::BF16})
    for (int hd : {16, 64, 80, 128})
      for (int group : {1, 3, 6, 8, 12})
        for (int64_t n : {int64_t{1}, int64_t{17}, int64_t{300}}) {
          std::vector<float> kf(static_cast<size_t>(n * hd)), vf(kf.size()), q(static_cast<size_t>(group * hd));
          for (auto& x : kf) x = nd(rng);
          for (auto& x : vf) x = nd(rng);
          for (auto& x : q) x = 2.0f * nd(rng);
          std::vector<uint8_t> kb(kf.size() * dtype_size(type)), vb(kb.size());
          convert_from_f32(kf.data(), type, kb.data(), kf.size());
          convert_from_f32(vf.data(), type, vb.data(), vf.size());
          std::vector<int32_t> pos(static_cast<size_t>(n));
          for (int64_t j = 0; j < n; ++j) pos[static_cast<size_t>(j)] = static_cast<int32_t>((j * 7) % (n + 5));
          KvHeadView kv{kb.data(), vb.data(), pos.data(), type, n};
          for (int64_t window : {int64_t{0}, int64_t{9}}) {
            const int64_t at = n;  // query position: some rows are in its future, some outside the window
            std::vector<float> fast(q.size()), ref(q.size()), scratch;
            attend(q.data(), group, hd, kv, at, window, 0.125f, fast.data(), scratch);
            attend_reference(q.data(), group, hd, kv, at, window, 0.125f, ref.data(), scratch);
            for (size_t i = 0; i < ref.size(); ++i)
              ASSERT_NEAR(fast[i], ref[i], 2e-5 * (1 + std::fabs(ref[i])))
                  << dtype_name(type) << " hd " << hd << " group " << group << " n " << n << " window " << window;
          }
        }
}

TEST(Attention, NothingVisibleGivesZeros) {
  const int hd = 16;
  std::vector<float> k(hd, 1.0f), v(hd, 5.0f), q(hd, 1.0f), out(hd, -1.0f), scratch;
  int32_t pos[1] = {10};
  KvHeadView kv{k.data(), v.data(), pos, DType::F32, 1};
  attend(q.data(), 1, hd, kv, 3, 0, 1.0f, out.data(), scratch);  // the only row is in the future
  for (float o : out) EXPECT_EQ(o, 0.0f);
}

}  // namespace
}  // namespace rkv
