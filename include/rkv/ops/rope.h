// ops/rope: rotary position embedding applied in place to the heads of one token.
//
// Two pairings exist: `rotate-half` (Hugging Face weights: element i pairs
// with i + rot_dim/2) and `adjacent` (GGUF llama weights, whose Q/K rows the
// converter permuted: element 2i pairs with 2i+1). Pair i rotates by angle
// pos * inv_freq[i]; cos and sin are multiplied by `mscale` (YaRN's
// attention factor, 1 otherwise). The angle is formed in f32 like the
// reference implementations.
#pragma once

#include <cstdint>

namespace rkv {

enum class RopeStyle { RotateHalf, Adjacent };

// x: [n_heads][head_dim]; the first rot_dim elements of each head rotate.
// inv_freq: [rot_dim / 2].
void rope_apply(float* x, int n_heads, int head_dim, int rot_dim, const float* inv_freq, int64_t pos, float mscale,
                RopeStyle style);

}  // namespace rkv
