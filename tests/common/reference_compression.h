// tests/common/reference_compression: the plain, slow reading of RKV-SPEC.md
// §1/§3 (full matrices, double precision) that tests hold the fast paths to:
// the compression tests on random layers, the engine's reference loop.
#pragma once

#include <cstdint>
#include <vector>

#include "rkv/compression/config.h"

namespace rkv::test {

struct ReferenceLayer {
  int n_kv = 0, group = 0, d = 0;
  int64_t n = 0, m = 0;
  std::vector<float> keys, values;  // [h][n][d]
  std::vector<float> queries;       // [h*group][m][d]
  std::vector<int32_t> positions;   // [h][n]
};

struct Expected {
  std::vector<int32_t> keep;
  bool ambiguous = false;  // a near tie decides membership or order
};

// Keep list of head h. keys: [n_kv][n][d] as the cache stores them (after
// dtype rounding); l.queries, l.positions as in the layer.
Expected reference_select(const ReferenceLayer& l, const std::vector<float>& keys, int h, const CompressionConfig& c);
std::vector<double> reference_redundancy(const std::vector<float>& keys, int h, int64_t n, int d, const CompressionConfig& c);

}  // namespace rkv::test
