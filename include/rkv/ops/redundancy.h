// ops/redundancy: the R-KV redundancy term (RKV-SPEC.md §1 step 4) of one
// KV head, the kernel that dominates the cost of compression.
//
// Given keys [n][d], it forms the cosine-similarity matrix S (diagonal 0),
// zeroes one "retained" entry per row (retain_direction), and returns
// R[b] = softmax_b(mean_a S[a][b]) over all n columns. S is symmetric, so
// only the upper triangle is computed, in register-blocked tiles (AVX-512 /
// AVX2+FMA / portable, chosen at run time); S is never stored. Each S entry
// is a sequential fused multiply-add chain over d, identical on every path.
#pragma once

#include <cstdint>

#include "rkv/core/thread_pool.h"

namespace rkv {

enum class RetainDirection { Last, First, LastPercent, FirstPercent };

struct RedundancyOptions {
  RetainDirection direction = RetainDirection::Last;
  double retain_ratio = 0.2;  // for the *_percent directions
  float threshold = 0.5f;     // "similar" means S > threshold
};

// keys: [n][d] f32 (raw, normalised inside). out: [n] f32.
void key_redundancy(const float* keys, int64_t n, int d, const RedundancyOptions& options, float* out, ThreadPool& pool);

}  // namespace rkv
