// GGUF-compatible block quantization: dequantize_row / quantize_matrix.
// Block layouts (little-endian, from the ggml format description):
//   Q8_0 (32):  f16 d | i8 q[32]                          x = d * q
//   Q4_0 (32):  f16 d | u8 qs[16]                         x[j] = d * ((qs[j] & 15) - 8), x[j+16] = d * ((qs[j] >> 4) - 8)
//   Q4_K (256): f16 d | f16 dmin | u8 scales[12] | u8 qs[128]
//               8 sub-blocks of 32 with 6-bit scale sc and min m: x = d*sc*q - dmin*m
//   Q5_K (256): f16 d | f16 dmin | u8 scales[12] | u8 qh[32] | u8 qs[128]   (5th bit in qh)
//   Q6_K (256): u8 ql[128] | u8 qh[64] | i8 scales[16] | f16 d              x = d*sc*(q - 32)
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "ops/packed.h"
#include "ops/quant_internal.h"
#include "rkv/core/error.h"
#include "rkv/ops/matmul.h"

namespace rkv {
namespace quant {

// The unsigned value of every element of one GGUF block in natural order
// (Q8_0: q + 128; Q4_0 / Q4_K: 4 bits; Q5_K: 5; Q6_K: 6), as dequantize reads them.
void block_values(DType type, const uint8_t* blk, uint8_t* u) {
  switch (type) {
    case DType::Q8_0:
      for (int i = 0; i < 32; ++i) u[i] = static_cast<uint8_t>(blk[2 + i] ^ 0x80);
      return;
    case DType::Q4_0:
      for (int j = 0; j < 16; ++j) {
        u[j] = blk[2 + j] & 0xF;
        u[j + 16] = blk[2 + j] >> 4;
      }
      return;
    case DType::Q4_K:
    case DType::Q5_K: {
      const bool q5 = type == DType::Q5_K;
      const uint8_t* qh = blk + 16;
      const uint8_t* qs = blk + (q5 ? 48 : 16);
      for (int c = 0; c < 4; ++c)  // 64 elements: low nibbles of qs[32c..], then high
        for (int l = 0; l < 32; ++l) {
          uint8_t lo = qs[32 * c + l] & 0xF, hi = qs[32 * c + l] >> 4;
          if (q5) {
            lo = static_cast<uint8_t>(lo | (((qh[l] >> (2 * c)) & 1) << 4));
            hi = static_cast<uint8_t>(hi | (((qh[l] >> (2 * c + 1)) & 1) << 4));
          }
          u[64 * c + l] = lo;
          u[64 * c + 32 + l] = hi;
        }
      return;
    }
    case DType::Q6_K:
      for (int h = 0; h < 2; ++h) {
        const uint8_t* ql = blk + 64 * h;
        const uint8_t* qh = blk + 128 + 32 * h;
        uint8_t* o = u + 128 * h;
        for (int l = 0; l < 32; ++l) {
          o[l] = static_cast<uint8_t>((ql[l] & 0xF) | ((qh[l] & 3) << 4));
          o[l + 32] = static_cast<uint8_t>((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4));
          o[l + 64] = static_cast<uint8_t>((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
          o[l + 96] = static_cast<uint8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
        }
      }
      return;
    default: fail("internal: block_values of ", dtype_name(type));
  }
}


namespace {
inline float h2f(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}
inline void f2h(float x, uint8_t* p) {
  uint16_t h = f32_to_f16(x);
  std::memcpy(p, &h, 2);
}
inline int nearest(float x) { return static_cast<int>(std::nearbyint(x)); }
}  // namespace

void dequant_q8_0(const uint8_t* b, float* y) {
  float d = h2f(b);
  const int8_t* q = reinterpret_cast<const int8_t*>(b + 2);
  for (int i = 0; i < 32; ++i) y[i] = d * static_cast<float>(q[i]);
}

void dequant_q4_0(const uint8_t* b, float* y) {
  float d = h2f(b);
  const uint8_t* qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    y[j] = d * static_cast<float>((qs[j] & 0xF) - 8);
    y[j + 16] = d * static_cast<float>((qs[j] >> 4) - 8);
  }
}

void dequant_q4_k(const uint8_t* b, float* y) {
  float d = h2f(b), dmin = h2f(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* q = b + 16;
  for (int j = 0; j < 4; ++j) {  // 64 elements per step: low nibbles, then high nibbles
    int sc, m;
    scale_min_k4(2 * j, scales, sc, m);
    float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
    scale_min_k4(2 * j + 1, scales, sc, m);
    float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(m);
    for (int l = 0; l < 32; ++l) y[l] = d1 * static_cast<float>(q[l] & 0xF) - m1;
    for (int l = 0; l < 32; ++l) y[l + 32] = d2 * static_cast<float>(q[l] >> 4) - m2;
    y += 64;
    q += 32;
  }
}

void dequant_q5_k(const uint8_t* b, float* y) {
  float d = h2f(b), dmin = h2f(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* qh = b + 16;
  const uint8_t* ql = b + 48;
  for (int j = 0; j < 4; ++j) {
    int sc, m;
    scale_min_k4(2 * j, scales, sc, m);
    float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
    scale_min_k4(2 * j + 1, scales, sc, m);
    float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(m);
    const int u1 = 1 << (2 * j), u2 = 2 << (2 * j);
    for (int l = 0; l < 32; ++l) y[l] = d1 * static_cast<float>((ql[l] & 0xF) + ((qh[l] & u1) ? 16 : 0)) - m1;
    for (int l = 0; l < 32; ++l) y[l + 32] = d2 * static_cast<float>((ql[l] >> 4) + ((qh[l] & u2) ? 16 : 0)) - m2;
    y += 64;
    ql += 32;
  }
}

void dequant_q6_k(const uint8_t* b, float* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
  float d = h2f(b + 208);
  for (int half = 0; half < 2; ++half) {  // 128 elements each
    for (int l = 0; l < 32; ++l) {
      int is = l / 16;
      int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
      int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
      int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
      y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
      y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
      y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
    }
    y += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

void dequantize(DType type, const uint8_t* src, float* dst, int64_t n) {
  switch (type) {
    case DType::F32: std::memcpy(dst, src, static_cast<size_t>(n) * 4); return;
    case DType::F16:
    case DType::BF16: convert_to_f32(type, src, dst, static_cast<size_t>(n)); return;
    default: break;
  }
  const int64_t be = dtype_block_elems(type);
  const size_t bb = dtype_block_bytes(type);
  RKV_CHECK(n % be == 0, "dequantize: ", n, " elements is not a whole number of ", dtype_name(type), " blocks");
  void (*fn)(const uint8_t*, float*) = nullptr;
  switch (type) {
    case DType::Q8_0: fn = dequant_q8_0; break;
    case DType::Q4_0: fn = dequant_q4_0; break;
    case DType::Q4_K: fn = dequant_q4_k; break;
    case DType::Q5_K: fn = dequant_q5_k; break;
    case DType::Q6_K: fn = dequant_q6_k; break;
    default: fail("dequantize: weight type ", dtype_name(type), " is not supported");
  }
  for (int64_t i = 0; i < n / be; ++i) fn(src + static_cast<size_t>(i) * bb, dst + i * be);
}

// ---------------------------------------------------------------- quantizers

namespace {

void quant_q8_0(const float* x, uint8_t* b) {
  float amax = 0;
  for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[i]));
  float d = amax / 127.0f;
  f2h(d, b);
  float dq = f16_to_f32(f32_to_f16(d));
  float id = dq != 0 ? 1.0f / dq : 0.0f;
  for (int i = 0; i < 32; ++i) b[2 + i] = static_cast<uint8_t>(static_cast<int8_t>(std::clamp(nearest(x[i] * id), -127, 127)));
}

void quant_q4_0(const float* x, uint8_t* b) {
  float amax = 0, maxv = 0;  // the value of largest magnitude maps to -8
  for (int i = 0; i < 32; ++i)
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      maxv = x[i];
    }
  float d = maxv / -8.0f;
  f2h(d, b);
  float dq = f16_to_f32(f32_to_f16(d));
  float id = dq != 0 ? 1.0f / dq : 0.0f;
  for (int j = 0; j < 16; ++j) {
    int lo = std::clamp(nearest(x[j] * id) + 8, 0, 15);
    int hi = std::clamp(nearest(x[j + 16] * id) + 8, 0, 15);
    b[2 + j] = static_cast<uint8_t>(lo | (hi << 4));
  }
}

// Packs eight 6-bit scales and mins into the 12-byte K-quant layout.
void pack_scales_k4(const int* sc, const int* m, uint8_t* s) {
  std::memset(s, 0, 12);
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      s[j] = static_cast<uint8_t>(sc[j] & 63);
      s[j + 4] = static_cast<uint8_t>(m[j] & 63);
    } else {
      s[j + 4] = static_cast<uint8_t>((sc[j] & 0xF) | ((m[j] & 0xF) << 4));
      s[j - 4] |= static_cast<uint8_t>((sc[j] >> 4) << 6);
      s[j] |= static_cast<uint8_t>((m[j] >> 4) << 6);
    }
  }
}

// Q4_K / Q5_K: per sub-block of 32 an affine map x ~ scale*q - min with q in [0, qmax].
void quant_k_affine(const float* x, uint8_t* b, int qmax, bool five_bit) {
  float scale[8], mins[8];
  for (int j = 0; j < 8; ++j) {
    float lo = 0, hi = 0;  // min clamped to <= 0 so the offset is non-negative
    for (int l = 0; l < 32; ++l) {
      lo = std::min(lo, x[32 * j + l]);
      hi = std::max(hi, x[32 * j + l]);
    }
    scale[j] = (hi - lo) / static_cast<float>(qmax);
    mins[j] = -lo;
  }
  float max_scale = *std::max_element(scale, scale + 8), max_min = *std::max_element(mins, mins + 8);
  float d = max_scale / 63.0f, dmin = max_min / 63.0f;
  f2h(d, b);
  f2h(dmin, b + 2);
  float dq = f16_to_f32(f32_to_f16(d)), dminq = f16_to_f32(f32_to_f16(dmin));
  int sc[8], m[8];
  for (int j = 0; j < 8; ++j) {
    sc[j] = dq > 0 ? std::clamp(nearest(scale[j] / dq), 0, 63) : 0;
    m[j] = dminq > 0 ? std::clamp(nearest(mins[j] / dminq), 0, 63) : 0;
  }
  pack_scales_k4(sc, m, b + 4);
  int q[256];
  for (int j = 0; j < 8; ++j) {
    float s = dq * static_cast<float>(sc[j]), mn = dminq * static_cast<float>(m[j]);
    for (int l = 0; l < 32; ++l) q[32 * j + l] = s > 0 ? std::clamp(nearest((x[32 * j + l] + mn) / s), 0, qmax) : 0;
  }
  if (!five_bit) {
    uint8_t* qs = b + 16;
    for (int j = 0; j < 4; ++j)
      for (int l = 0; l < 32; ++l) qs[32 * j + l] = static_cast<uint8_t>(q[64 * j + l] | (q[64 * j + 32 + l] << 4));
  } else {
    uint8_t* qh = b + 16;
    uint8_t* ql = b + 48;
    std::memset(qh, 0, 32);
    for (int j = 0; j < 4; ++j)
      for (int l = 0; l < 32; ++l) {
        int a = q[64 * j + l], c = q[64 * j + 32 + l];
        ql[32 * j + l] = static_cast<uint8_t>((a & 0xF) | ((c & 0xF) << 4));
        if (a & 16) qh[l] |= static_cast<uint8_t>(1 << (2 * j));
        if (c & 16) qh[l] |= static_cast<uint8_t>(2 << (2 * j));
      }
  }
}

void quant_q6_k(const float* x, uint8_t* b) {
  float sub[16];
  for (int j = 0; j < 16; ++j) {
    float amax = 0, maxv = 0;
    for (int l = 0; l < 16; ++l)
      if (std::fabs(x[16 * j + l]) > amax) {
        amax = std::fabs(x[16 * j + l]);
        maxv = x[16 * j + l];
      }
    sub[j] = maxv / -32.0f;
  }
  float amax = 0;
  for (float s : sub) amax = std::max(amax, std::fabs(s));
  float d = amax / 127.0f;
  uint8_t* ql = b;
  uint8_t* qh = b + 128;
  int8_t* sc = reinterpret_cast<int8_t*>(b + 192);
  f2h(d, b + 208);
  float dq = f16_to_f32(f32_to_f16(d));
  int q[256];
  for (int j = 0; j < 16; ++j) {
    sc[j] = static_cast<int8_t>(dq > 0 ? std::clamp(nearest(sub[j] / dq), -127, 127) : 0);
    float s = dq * static_cast<float>(sc[j]);
    for (int l = 0; l < 16; ++l) q[16 * j + l] = s != 0 ? std::clamp(nearest(x[16 * j + l] / s), -32, 31) + 32 : 32;
  }
  std::memset(ql, 0, 128);
  std::memset(qh, 0, 64);
  for (int half = 0; half < 2; ++half) {
    const int* qq = q + 128 * half;
    uint8_t* L = ql + 64 * half;
    uint8_t* H = qh + 32 * half;
    for (int l = 0; l < 32; ++l) {
      L[l] = static_cast<uint8_t>((qq[l] & 0xF) | ((qq[l + 64] & 0xF) << 4));
      L[l + 32] = static_cast<uint8_t>((qq[l + 32] & 0xF) | ((qq[l + 96] & 0xF) << 4));
      H[l] = static_cast<uint8_t>((qq[l] >> 4) | ((qq[l + 32] >> 4) << 2) | ((qq[l + 64] >> 4) << 4) | ((qq[l + 96] >> 4) << 6));
    }
  }
}

}  // namespace

void quantize_row(const float* src, int64_t n, DType type, uint8_t* dst) {
  switch (type) {
    case DType::F32: std::memcpy(dst, src, static_cast<size_t>(n) * 4); return;
    case DType::F16:
    case DType::BF16: convert_from_f32(src, type, dst, static_cast<size_t>(n)); return;
    default: break;
  }
  const int64_t be = dtype_block_elems(type);
  const size_t bb = dtype_block_bytes(type);
  RKV_CHECK(n % be == 0, "quantize: row of ", n, " is not a whole number of ", dtype_name(type), " blocks");
  for (int64_t i = 0; i < n / be; ++i) {
    const float* x = src + i * be;
    uint8_t* b = dst + static_cast<size_t>(i) * bb;
    switch (type) {
      case DType::Q8_0: quant_q8_0(x, b); break;
      case DType::Q4_0: quant_q4_0(x, b); break;
      case DType::Q4_K: quant_k_affine(x, b, 15, false); break;
      case DType::Q5_K: quant_k_affine(x, b, 31, true); break;
      case DType::Q6_K: quant_q6_k(x, b); break;
      default: fail("quantize: weight type ", dtype_name(type), " is not supported");
    }
  }
}

}  // namespace quant

void dequantize_row(const WeightMatrix& w, int64_t r, float* out) {
  RKV_CHECK(r >= 0 && r < w.rows, "dequantize_row: row ", r, " out of range [0, ", w.rows, ")");
  if (!w.data) {
    RKV_CHECK(w.packed, "dequantize_row: weight has no data");
    packed::dequantize_row(w, r, out);
    return;
  }
  const size_t rb = dtype_row_bytes(w.type, w.cols);
  quant::dequantize(w.type, static_cast<const uint8_t*>(w.data) + static_cast<size_t>(r) * rb, out, w.cols);
}

void quantize_matrix(const float* src, int64_t rows, int64_t cols, DType type, void* dst) {
  const size_t rb = dtype_row_bytes(type, cols);
  for (int64_t r = 0; r < rows; ++r) quant::quantize_row(src + r * cols, cols, type, static_cast<uint8_t*>(dst) + static_cast<size_t>(r) * rb);
}

}  // namespace rkv
