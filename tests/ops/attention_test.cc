// Attention: the vectorized paths (AVX-512 and AVX2, cache rows converted in
// registers, vector exp) against the plain row-by-row version, for every
// cache type — q8_0 / q4_0 against f32 attention over the dequantized rows —
// group sizes 1-12 (more than one register block of heads), head sizes that
// take and skip the fast paths, masked positions and sliding windows; and
// the mask semantics on a hand-worked case.
#include <cmath>
#include <random>

#include "common/testing.h"
#include "rkv/core/dtype.h"
#include "ops/attention_internal.h"
#include "rkv/core/cpu.h"
#include "rkv/ops/attention.h"
#include "rkv/ops/kv_row.h"

namespace rkv {
namespace {

TEST(Attention, FastPathMatchesReference) {
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (DType type : {DType::F32, DType::F16, DType::BF16})
    for (int hd : {8, 16, 24, 64, 80, 128})  // 8, 24: AVX2 only
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
            attend_reference(q.data(), group, hd, kv, at, window, 0.125f, ref.data(), scratch);
            for (Isa isa : {Isa::Avx2, Isa::Avx512}) {
              if (isa > best_isa()) continue;
              internal::attend_isa(isa, q.data(), group, hd, kv, at, window, 0.125f, fast.data(), scratch);
              for (size_t i = 0; i < ref.size(); ++i)
                ASSERT_NEAR(fast[i], ref[i], 2e-5 * (1 + std::fabs(ref[i])))
                    << dtype_name(type) << " " << isa_name(isa) << " hd " << hd << " group " << group << " n " << n
                    << " window " << window;
            }
          }
        }
}

// Every path over a quantized cache equals f32 attention over its dequantized
// rows up to float rounding (the rows dequantize exactly; only summation
// order and the vector exp differ).
TEST(Attention, QuantizedCacheMatchesDequantizedF32OnEveryPath) {
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (DType type : {DType::Q8_0, DType::Q4_0, DType::BF16})
    for (int hd : {8, 16, 64, 80, 128})  // 8, 80 with q4_0: one block per row (portable path for 80)
      for (int group : {1, 6, 12})
        for (int64_t n : {int64_t{1}, int64_t{45}, int64_t{300}}) {
          std::vector<float> kf(static_cast<size_t>(n * hd)), vf(kf.size()), q(static_cast<size_t>(group * hd));
          for (auto& x : kf) x = nd(rng);
          for (auto& x : vf) x = nd(rng);
          for (int64_t j = 0; j < n; j += 7) kf[static_cast<size_t>(j * hd)] = 9.0f;  // outlier channel
          for (auto& x : q) x = 2.0f * nd(rng);
          const size_t rb = kv_row_bytes(type, hd);
          std::vector<uint8_t> kb(rb * static_cast<size_t>(n)), vb(kb.size());
          kv_rows_from_f32(kf.data(), n, hd, type, kb.data());
          kv_rows_from_f32(vf.data(), n, hd, type, vb.data());
          std::vector<float> kd(kf.size()), vd(vf.size());  // the dequantized cache, f32
          kv_rows_to_f32(type, kb.data(), n, hd, kd.data());
          kv_rows_to_f32(type, vb.data(), n, hd, vd.data());
          std::vector<int32_t> pos(static_cast<size_t>(n));
          for (int64_t j = 0; j < n; ++j) pos[static_cast<size_t>(j)] = static_cast<int32_t>((j * 7) % (n + 5));
          KvHeadView quantized{kb.data(), vb.data(), pos.data(), type, n};
          KvHeadView dequantized{kd.data(), vd.data(), pos.data(), DType::F32, n};
          for (int64_t window : {int64_t{0}, int64_t{9}}) {
            std::vector<float> ref(q.size()), scratch;
            attend_reference(q.data(), group, hd, dequantized, n, window, 0.125f, ref.data(), scratch);
            for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
              if (isa > best_isa()) continue;
              std::vector<float> out(q.size(), -7.0f);
              internal::attend_isa(isa, q.data(), group, hd, quantized, n, window, 0.125f, out.data(), scratch);
              for (size_t i = 0; i < ref.size(); ++i)
                ASSERT_NEAR(out[i], ref[i], 2e-5 * (1 + std::fabs(ref[i])))
                    << dtype_name(type) << " " << isa_name(isa) << " hd " << hd << " group " << group << " n " << n
                    << " window " << window << " i " << i;
            }
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
