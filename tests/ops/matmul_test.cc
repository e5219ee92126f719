// matmul: every weight type x every kernel family against the plain
// reference (dequantize, double accumulation); hand-built blocks against the
// format description; quantize -> dequantize stays within each type's error.
#include <cmath>
#include <cstring>
#include <random>

#include "common/testing.h"
#include "ops/packed_kernels.h"
#include "rkv/core/buffer.h"
#include "rkv/core/cpu.h"
#include "rkv/core/error.h"
#include "rkv/ops/attention.h"
#include "rkv/ops/matmul.h"
#include "rkv/ops/norm.h"
#include "rkv/ops/rope.h"

namespace rkv {
namespace {

const DType kTypes[] = {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K};

std::vector<float> randn(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// x rounded as an int8-activation kernel sees it: per 32 (or 256) elements, scale
// amax / 127 and round to nearest (the Q8_0 activation scheme).
std::vector<float> round_like_q8(const std::vector<float>& x, size_t block) {
  std::vector<float> out(x.size());
  for (size_t b = 0; b < x.size(); b += block) {
    float amax = 0;
    for (size_t i = b; i < b + block; ++i) amax = std::max(amax, std::fabs(x[i]));
    const float d = amax / 127.0f;
    for (size_t i = b; i < b + block; ++i) out[i] = d > 0 ? std::nearbyint(x[i] * (1.0f / d)) * d : 0.0f;
  }
  return out;
}

TEST(Matmul, FastMatchesReferenceForEveryTypeAndIsa) {
  ThreadPool pool(2);
  for (DType t : kTypes) {
    const int64_t rows = 13, cols = 512;
    auto w = randn(static_cast<size_t>(rows * cols), 1);
    std::vector<uint8_t> q(dtype_row_bytes(t, cols) * rows);
    quantize_matrix(w.data(), rows, cols, t, q.data());
    WeightMatrix m{q.data(), t, rows, cols};
    for (int64_t n : {1, 3, 8}) {
      auto x = randn(static_cast<size_t>(n * cols), 2);
      std::vector<float> ref_exact(static_cast<size_t>(n * rows)), ref_q8(ref_exact.size());
      matmul_reference(m, x.data(), ref_exact.data(), n);
      auto xr = round_like_q8(x, (t == DType::Q4_K || t == DType::Q5_K || t == DType::Q6_K) ? 256 : 32);  // K-quants: one activation scale per 256
      matmul_reference(m, xr.data(), ref_q8.data(), n);
      for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
        if (isa > best_isa()) continue;
        // The AVX2+ kernels of Q8_0 / Q4_0 / Q4_K / Q5_K / Q6_K quantize the activations to int8.
        const bool int8_path = isa != Isa::Scalar && (t == DType::Q8_0 || t == DType::Q4_0 || t == DType::Q4_K || t == DType::Q5_K || t == DType::Q6_K);
        const auto& ref = int8_path ? ref_q8 : ref_exact;
        std::vector<float> y(ref.size(), -1.0f);
        matmul_isa(isa, m, x.data(), y.data(), n, pool);
        for (size_t i = 0; i < y.size(); ++i)
          ASSERT_NEAR(y[i], ref[i], 1e-4 * (1 + std::fabs(ref[i])))
              << dtype_name(t) << " isa " << isa_name(isa) << " n " << n << " i " << i;
      }
    }
  }
}

// Prefill shapes: several register tiles of rows and tokens, short last tiles,
// several column blocks (the blocked GEMM path adds partial sums into y).
TEST(Matmul, PrefillTilesMatchReferenceForEveryTypeAndIsa) {
  ThreadPool pool(2);
  for (DType t : kTypes) {
    const bool k_quant = t == DType::Q4_K || t == DType::Q5_K || t == DType::Q6_K;
    const bool q32 = t == DType::Q8_0 || t == DType::Q4_0;
    for (int64_t cols : {int64_t{600}, int64_t{768}}) {
      if ((k_quant || q32) && cols == 600) continue;  // whole blocks only
      const int64_t rows = 70;
      auto w = randn(static_cast<size_t>(rows * cols), 3);
      std::vector<uint8_t> q(dtype_row_bytes(t, cols) * rows);
      quantize_matrix(w.data(), rows, cols, t, q.data());
      WeightMatrix m{q.data(), t, rows, cols};
      for (int64_t n : {4, 5, 13, 29}) {  // 29: the int8 GEMM (>= 24 tokens), 3 full register tiles + 5
        auto x = randn(static_cast<size_t>(n * cols), 4);
        std::vector<float> ref_exact(static_cast<size_t>(n * rows)), ref_q8(ref_exact.size());
        matmul_reference(m, x.data(), ref_exact.data(), n);
        if (cols % 256 == 0) {  // (only the block-quantized types take the int8 path)
          auto xr = round_like_q8(x, (t == DType::Q4_K || t == DType::Q5_K || t == DType::Q6_K) ? 256 : 32);
          matmul_reference(m, xr.data(), ref_q8.data(), n);
        }
        for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
          if (isa > best_isa()) continue;
          const bool int8_path = isa != Isa::Scalar && (t == DType::Q8_0 || t == DType::Q4_0 || t == DType::Q4_K || t == DType::Q5_K || t == DType::Q6_K);
          const auto& ref = int8_path ? ref_q8 : ref_exact;
          std::vector<float> y(ref.size(), -1.0f);
          matmul_isa(isa, m, x.data(), y.data(), n, pool);
          for (size_t i = 0; i < y.size(); ++i)
            ASSERT_NEAR(y[i], ref[i], 1e-4 * (1 + std::fabs(ref[i])))
                << dtype_name(t) << " isa " << isa_name(isa) << " cols " << cols << " n " << n << " i " << i;
        }
      }
    }
  }
}

// Weights packed once (pack_weights), the original dropped: every packable
// type on every path that reads the packed form -- the register kernels (1-8
// tokens per pass, 9 and 17 leave short passes), the AVX-512 VNNI GEMM (from
// 24 tokens) and the AMX tiles (16-token tiles; 17 and 40 leave short ones),
// short panels (13 and 40 rows: 16-row panels), an odd number of 32-column
// groups (288 columns), and the lower paths, which unpack row by row.
TEST(Matmul, PackedWeightsMatchReferenceOnEveryPath) {
  ThreadPool pool(2);
  int packed_types = 0;
  for (DType t : {DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::BF16}) {
    const bool k_quant = t == DType::Q4_K || t == DType::Q5_K || t == DType::Q6_K;
    for (int64_t rows : {int64_t{13}, int64_t{40}})
      for (int64_t cols : {int64_t{k_quant ? 256 : 288}, int64_t{512}}) {
        const size_t packed_bytes = packed_weight_bytes(t, rows, cols);
        if (packed_bytes == 0) continue;  // no packed layout on this CPU
        ++packed_types;
        const auto w = randn(static_cast<size_t>(rows * cols), 5);
        std::vector<uint8_t> q(dtype_row_bytes(t, cols) * rows);
        quantize_matrix(w.data(), rows, cols, t, q.data());
        const WeightMatrix original{q.data(), t, rows, cols};
        AlignedBuffer buf(packed_bytes);
        pack_weights(original, buf.data(), pool);
        const WeightMatrix m{nullptr, t, rows, cols, buf.data()};
        // (the packed copy is as big as the original, within 3%)
        EXPECT_LE(packed_bytes, dtype_row_bytes(t, cols) * static_cast<size_t>((rows + 15) / 16 * 16) * 103 / 100)
            << dtype_name(t);
        std::vector<float> row0(static_cast<size_t>(cols)), row1(row0.size());
        for (int64_t r = 0; r < rows; ++r) {
          dequantize_row(original, r, row0.data());
          dequantize_row(m, r, row1.data());
          for (int64_t c = 0; c < cols; ++c) ASSERT_EQ(row1[c], row0[c]) << dtype_name(t) << " row " << r << " col " << c;
        }
        for (int64_t n : {1, 3, 8, 9, 17, 29, 40}) {
          const auto x = randn(static_cast<size_t>(n * cols), 6);
          // block types: int8 activations as the kernels round them; BF16: exact
          const auto xr = t == DType::BF16 ? x : round_like_q8(x, k_quant ? 256 : 32);
          std::vector<float> ref(static_cast<size_t>(n * rows)), ref_exact(ref.size()), mag(ref.size());
          matmul_reference(original, xr.data(), ref.data(), n);
          matmul_reference(original, x.data(), ref_exact.data(), n);
          for (int64_t i = 0; i < n * rows; ++i) {  // sum |w| |x|: the scale of rounding errors
            dequantize_row(original, i % rows, row0.data());
            for (int64_t c = 0; c < cols; ++c) mag[i] += std::fabs(row0[c] * x[(i / rows) * cols + c]);
          }
          for (bool amx : {false, true}) {
            if (amx && !amx_available()) continue;
            // AMX Q8_0 / Q4_0 over 256-column super-blocks: activations rounded per 256, and each
            // weight rescaled to int16 within 2^-15 of its super-block's largest |w| (x2 margin)
            const bool rescaled = amx && n >= packed::kernels::kAmxMinTokens && !k_quant && t != DType::BF16 &&
                                  packed::kernels::amx_super_blocks(t, cols);
            std::vector<float> ref_used = ref, bound(ref.size(), 0.0f);
            if (rescaled) {
              const auto x256 = round_like_q8(x, 256);
              matmul_reference(original, x256.data(), ref_used.data(), n);
              for (int64_t i = 0; i < n * rows; ++i) {
                dequantize_row(original, i % rows, row0.data());
                for (int64_t c0 = 0; c0 < cols; c0 += 256) {
                  float wmax = 0, xsum = 0;
                  for (int64_t c = c0; c < c0 + 256; ++c) {
                    wmax = std::max(wmax, std::fabs(row0[c]));
                    xsum += std::fabs(x256[(i / rows) * cols + c]);
                  }
                  bound[i] += 2.0f * wmax / 32767.0f * xsum;
                }
              }
            }
            std::vector<float> y(ref.size(), -1.0f);
            matmul_isa(Isa::Avx512, m, x.data(), y.data(), n, pool, amx);
            for (int64_t i = 0; i < n * rows; ++i) {
              // AMX bf16 keeps ~16 bits of each activation (hi + lo bf16 parts)
              const double tol = t == DType::BF16 && amx ? 1e-5 * mag[i] + 1e-6
                                                         : 1e-4 * (1 + std::fabs(ref_used[i])) + bound[i];
              const float r = i / rows, o = i % rows;
              ASSERT_NEAR(y[i], ref_used[i], tol) << dtype_name(t) << " amx " << amx << " rows " << rows << " cols " << cols
                                                  << " n " << n << " token " << r << " row " << o;
            }
          }
          std::vector<float> y(ref.size(), -1.0f);
          matmul_isa(Isa::Scalar, m, x.data(), y.data(), n, pool);
          for (int64_t i = 0; i < n * rows; ++i)
            ASSERT_NEAR(y[i], ref_exact[i], 1e-4 * (1 + std::fabs(ref_exact[i]))) << dtype_name(t) << " scalar n " << n;
        }
      }
  }
  if (packed_types == 0) GTEST_SKIP() << "this CPU has no packed-weight kernels (AVX-512 VNNI)";
}

// Matrices sharing one input (q, k, v): one pass over the threads gives
// bit for bit what one matmul per matrix gives -- packed or not, one type or
// mixed, decode sizes and prefill sizes (which take the separate calls).
TEST(Matmul, SharedInputEqualsOneCallPerMatrix) {
  ThreadPool pool(2);
  const int64_t cols = 512;
  for (DType t : {DType::Q8_0, DType::Q4_K, DType::Q6_K, DType::BF16, DType::F32}) {
    for (bool mixed : {false, true}) {
      const int64_t rows[3] = {40, 13, 16};
      std::vector<std::vector<uint8_t>> data;
      std::vector<AlignedBuffer> packed;
      std::vector<WeightMatrix> ws;
      for (int i = 0; i < 3; ++i) {
        const DType ti = mixed && i == 1 ? DType::Q8_0 == t ? DType::Q4_0 : DType::Q8_0 : t;
        const auto w = randn(static_cast<size_t>(rows[i] * cols), 20 + i);
        data.emplace_back(dtype_row_bytes(ti, cols) * rows[i]);
        quantize_matrix(w.data(), rows[i], cols, ti, data.back().data());
        WeightMatrix m{data.back().data(), ti, rows[i], cols};
        if (const size_t bytes = packed_weight_bytes(ti, rows[i], cols)) {
          packed.emplace_back(bytes);
          pack_weights(m, packed.back().data(), pool);
          m = WeightMatrix{nullptr, ti, rows[i], cols, packed.back().data()};
        }
        ws.push_back(m);
      }
      for (int64_t n : {1, 3, 9, 30}) {
        const auto x = randn(static_cast<size_t>(n * cols), 7);
        std::vector<std::vector<float>> separate(3), shared(3);
        for (int i = 0; i < 3; ++i) {
          separate[i].assign(static_cast<size_t>(n * rows[i]), -1.0f);
          shared[i].assign(separate[i].size(), -2.0f);
          matmul(ws[i], x.data(), separate[i].data(), n, pool);
        }
        matmul_shared_input({{&ws[0], shared[0].data()}, {&ws[1], shared[1].data()}, {&ws[2], shared[2].data()}}, x.data(),
                            n, pool);
        for (int i = 0; i < 3; ++i)
          for (size_t j = 0; j < separate[i].size(); ++j)
            ASSERT_EQ(shared[i][j], separate[i][j]) << dtype_name(t) << " mixed " << mixed << " n " << n << " matrix " << i;
      }
    }
  }
}

TEST(Matmul, QuantizeDequantizeErrorIsBounded) {
  // Relative RMS error of a round trip, generous bounds per bit width.
  struct B {
    DType t;
    double max_rel_rms;
  } bounds[] = {{DType::F32, 0}, {DType::F16, 1e-3}, {DType::BF16, 5e-3}, {DType::Q8_0, 0.01},
                {DType::Q6_K, 0.04}, {DType::Q5_K, 0.08}, {DType::Q4_K, 0.15}, {DType::Q4_0, 0.15}};
  for (auto b : bounds) {
    const int64_t rows = 4, cols = 1024;
    auto w = randn(static_cast<size_t>(rows * cols), 7);
    std::vector<uint8_t> q(dtype_row_bytes(b.t, cols) * rows);
    quantize_matrix(w.data(), rows, cols, b.t, q.data());
    WeightMatrix m{q.data(), b.t, rows, cols};
    double err = 0, norm = 0;
    std::vector<float> row(cols);
    for (int64_t r = 0; r < rows; ++r) {
      dequantize_row(m, r, row.data());
      for (int64_t c = 0; c < cols; ++c) {
        double d = row[c] - w[r * cols + c];
        err += d * d;
        norm += static_cast<double>(w[r * cols + c]) * w[r * cols + c];
      }
    }
    EXPECT_LE(std::sqrt(err / norm), b.max_rel_rms) << dtype_name(b.t);
  }
}

// Blocks written by hand from the GGUF format description.
TEST(Matmul, HandBuiltBlocks) {
  {  // Q8_0: f16 d = 0.5 (0x3800), q[i] = i - 16
    uint8_t b[34];
    b[0] = 0x00;
    b[1] = 0x38;
    for (int i = 0; i < 32; ++i) b[2 + i] = static_cast<uint8_t>(static_cast<int8_t>(i - 16));
    std::vector<float> y(32);
    dequantize_row(WeightMatrix{b, DType::Q8_0, 1, 32}, 0, y.data());
    for (int i = 0; i < 32; ++i) EXPECT_EQ(y[i], 0.5f * (i - 16));
  }
  {  // Q4_0: d = 2 (0x4000), byte j = lo (j % 16) | hi ((15 - j) << 4): x[j] = 2 (lo - 8), x[j+16] = 2 (hi - 8)
    uint8_t b[18];
    b[0] = 0x00;
    b[1] = 0x40;
    for (int j = 0; j < 16; ++j) b[2 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
    std::vector<float> y(32);
    dequantize_row(WeightMatrix{b, DType::Q4_0, 1, 32}, 0, y.data());
    for (int j = 0; j < 16; ++j) {
      EXPECT_EQ(y[j], 2.0f * (j - 8));
      EXPECT_EQ(y[j + 16], 2.0f * (15 - j - 8));
    }
  }
  {  // Q4_K: d = 1, dmin = 0.5; sub-block j has scale j+1 and min 2j (6-bit packing); all nibbles 3 (low) / 5 (high)
    uint8_t b[144] = {};
    b[1] = 0x3c;  // d = 1.0
    b[3] = 0x38;  // dmin = 0.5
    int sc[8], mn[8];
    for (int j = 0; j < 8; ++j) {
      sc[j] = j + 1 + (j >= 4 ? 40 : 0);  // high sub-blocks use the upper 2 bits too
      mn[j] = 2 * j + (j >= 4 ? 32 : 0);
    }
    uint8_t* s = b + 4;
    for (int j = 0; j < 4; ++j) {
      s[j] = static_cast<uint8_t>((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
      s[j + 4] = static_cast<uint8_t>((mn[j] & 63) | ((mn[j + 4] >> 4) << 6));
      s[j + 8] = static_cast<uint8_t>((sc[j + 4] & 15) | ((mn[j + 4] & 15) << 4));
    }
    for (int i = 0; i < 128; ++i) b[16 + i] = 0x53;
    std::vector<float> y(256);
    dequantize_row(WeightMatrix{b, DType::Q4_K, 1, 256}, 0, y.data());
    for (int j = 0; j < 8; ++j) {
      // sub-block j covers elements 32j..32j+31; even sub-blocks take low nibbles, odd ones high nibbles
      float q = (j % 2 == 0) ? 3.0f : 5.0f;
      for (int l = 0; l < 32; ++l) EXPECT_EQ(y[32 * j + l], 1.0f * sc[j] * q - 0.5f * mn[j]) << j;
    }
  }
  {  // Q6_K: d = 1 (f16 at byte 208), scales[k] = k + 1, every 6-bit q = 33 (value 1): low 4 bits 1, high 2 bits 2
    uint8_t b[210] = {};
    for (int i = 0; i < 128; ++i) b[i] = 0x11;
    for (int i = 0; i < 64; ++i) b[128 + i] = 0xAA;  // 2 in each 2-bit field
    for (int k = 0; k < 16; ++k) b[192 + k] = static_cast<uint8_t>(k + 1);
    b[209] = 0x3c;
    std::vector<float> y(256);
    dequantize_row(WeightMatrix{b, DType::Q6_K, 1, 256}, 0, y.data());
    // element e belongs to 16-element group e / 16, whose scale is scales[e / 16]
    for (int e = 0; e < 256; ++e) EXPECT_EQ(y[e], static_cast<float>(e / 16 + 1)) << e;
  }
}

TEST(Matmul, PartialBlockIsAnError) {
  std::vector<uint8_t> q(64);
  float x[40] = {}, y[2];
  ThreadPool pool(1);
  EXPECT_THROW(matmul(WeightMatrix{q.data(), DType::Q8_0, 1, 40}, x, y, 1, pool), Error);
}

TEST(Ops, RmsnormSoftmaxRope) {
  float x[4] = {1, 2, 3, 4}, w[4] = {1, 1, 2, 0.5f}, o[4];
  rmsnorm(x, w, o, 1, 4, 0.0f);
  const float inv = 1.0f / std::sqrt(7.5f);
  EXPECT_NEAR(o[2], 6 * inv, 1e-6);
  float s[3] = {0, std::log(3.0f), -INFINITY};
  softmax(s, 3);
  EXPECT_NEAR(s[0], 0.25, 1e-6);
  EXPECT_NEAR(s[1], 0.75, 1e-6);
  EXPECT_EQ(s[2], 0.0f);
  // RoPE: rotating (1, 0) by angle pos * f.
  float half[4] = {1, 0, 0, 0}, adj[4] = {1, 0, 0, 0}, inv_freq[2] = {0.5f, 0.25f};
  rope_apply(half, 1, 4, 4, inv_freq, 2, 1.0f, RopeStyle::RotateHalf);  // pairs (0,2), (1,3)
  EXPECT_NEAR(half[0], std::cos(1.0), 1e-6);
  EXPECT_NEAR(half[2], std::sin(1.0), 1e-6);
  rope_apply(adj, 1, 4, 4, inv_freq, 2, 1.0f, RopeStyle::Adjacent);  // pairs (0,1), (2,3)
  EXPECT_NEAR(adj[0], std::cos(1.0), 1e-6);
  EXPECT_NEAR(adj[1], std::sin(1.0), 1e-6);
}

TEST(Ops, AttentionMasksByPositionAndWindow) {
  // 3 cached rows at positions 0, 5, 2; keys identical so the weights are uniform over visible rows.
  const int hd = 2;
  float k[6] = {1, 0, 1, 0, 1, 0}, v[6] = {1, 0, 0, 1, 3, 3};
  int32_t pos[3] = {0, 5, 2};
  KvHeadView kv{k, v, pos, DType::F32, 3};
  float q[2] = {0.3f, 0.1f}, out[2];
  std::vector<float> scratch;
  attend(q, 1, hd, kv, 2, 0, 1.0f, out, scratch);  // sees rows at 0 and 2
  EXPECT_NEAR(out[0], 2.0f, 1e-6);
  EXPECT_NEAR(out[1], 1.5f, 1e-6);
  attend(q, 1, hd, kv, 2, 1, 1.0f, out, scratch);  // window 1: only position 2
  EXPECT_NEAR(out[0], 3.0f, 1e-6);
}

}  // namespace
}  // namespace rkv
