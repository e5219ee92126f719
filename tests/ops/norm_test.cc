// SwiGLU: the vector paths (AVX-512, AVX2: e^-|g| by the shared polynomial)
// against silu(g) * up computed in double, over arguments from the
// polynomial's clamp (|g| > 87) to zero, lengths with and without a vector
// tail; and NaN in, NaN out (the engine's non-finite checks rely on it).
#include <cmath>
#include <limits>
#include <random>

#include "common/testing.h"
#include "ops/norm_internal.h"
#include "rkv/core/cpu.h"
#include "rkv/ops/norm.h"

namespace rkv {
namespace {

TEST(SwiGlu, EveryPathMatchesDoubleReference) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> wide(-120.0f, 120.0f), narrow(-6.0f, 6.0f);
  for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
    if (isa > best_isa()) continue;
    for (int64_t n : {int64_t{1}, int64_t{15}, int64_t{16}, int64_t{37}, int64_t{4096}}) {
      std::vector<float> gate(static_cast<size_t>(n)), up(gate.size());
      for (int64_t i = 0; i < n; ++i) {
        gate[i] = i % 3 == 0 ? wide(rng) : narrow(rng);
        up[i] = narrow(rng);
      }
      if (n > 4) gate[1] = 0.0f, gate[2] = -0.0f, gate[3] = 87.5f, gate[4] = -87.5f;
      std::vector<float> out = gate;
      internal::swiglu_isa(isa, out.data(), up.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        const double g = gate[i], want = g / (1.0 + std::exp(-g)) * up[i];
        ASSERT_NEAR(out[i], want, 1e-6 * std::fabs(want) + 1e-30)
            << isa_name(isa) << " n " << n << " g " << g << " up " << up[i];
      }
    }
  }
}

TEST(SwiGlu, NanStaysNan) {
  for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
    if (isa > best_isa()) continue;
    std::vector<float> gate(32, 1.0f), up(32, 1.0f);
    gate[5] = gate[20] = std::numeric_limits<float>::quiet_NaN();
    internal::swiglu_isa(isa, gate.data(), up.data(), 32);
    EXPECT_TRUE(std::isnan(gate[5]) && std::isnan(gate[20])) << isa_name(isa);
    EXPECT_NEAR(gate[0], 1.0 / (1.0 + std::exp(-1.0)), 1e-6) << isa_name(isa);
  }
}

}  // namespace
}  // namespace rkv
