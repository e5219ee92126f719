#include "rkv/ops/kv_row.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "ops/kv_row_internal.h"
#include "rkv/core/cpu.h"
#include "rkv/core/error.h"

namespace rkv {
namespace {

float load_f16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

void store_f16(float x, uint8_t* p) {
  const uint16_t h = f32_to_f16(x);
  std::memcpy(p, &h, 2);
}

// round(x * inverse) clamped to [lo, hi]; the clamp happens in float so that
// huge values never reach the integer conversion.
int code_of(float x, float inverse, float lo, float hi) {
  const float v = x * inverse;
  if (std::isnan(v)) return 0;  // inf * 0 in a non-finite row: its NaN scale carries the news
  return static_cast<int>(std::round(std::clamp(v, lo, hi)));
}

// The stored f16 scale for `d`, and the inverse the codes are computed with
// (from the rounded scale, so that code * scale lands closest to x).
float stored_scale(float d, bool finite, uint8_t* at) {
  store_f16(finite ? d : std::numeric_limits<float>::quiet_NaN(), at);
  const float rounded = load_f16(at);
  return finite && rounded != 0.0f ? 1.0f / rounded : 0.0f;
}

void quantize_q8_row(const float* x, int d, uint8_t* row) {
  float amax = 0;
  bool finite = true;
  for (int i = 0; i < d; ++i) {
    finite = finite && std::isfinite(x[i]);
    amax = std::max(amax, std::fabs(x[i]));
  }
  const float inverse = stored_scale(amax / 127.0f, finite, row + d);
  auto* codes = reinterpret_cast<int8_t*>(row);
  for (int i = 0; i < d; ++i) codes[i] = static_cast<int8_t>(code_of(x[i], inverse, -127.0f, 127.0f));
}

void quantize_q4_row(const float* x, int d, uint8_t* row) {
  const int block = kv_block(DType::Q4_0, d), half = block / 2;
  for (int b0 = 0; b0 < d; b0 += block) {
    const float* v = x + b0;
    float amax = 0, extreme = 0;  // the value of largest magnitude maps to code 0 (-8)
    bool finite = true;
    for (int i = 0; i < block; ++i) {
      finite = finite && std::isfinite(v[i]);
      if (std::fabs(v[i]) > amax) {
        amax = std::fabs(v[i]);
        extreme = v[i];
      }
    }
    const float inverse = stored_scale(extreme / -8.0f, finite, row + d / 2 + 2 * (b0 / block));
    uint8_t* codes = row + b0 / 2;
    for (int j = 0; j < half; ++j) {
      const int lo = code_of(v[j], inverse, -8.0f, 7.0f) + 8, hi = code_of(v[j + half], inverse, -8.0f, 7.0f) + 8;
      codes[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

void dequantize_q8_row(const uint8_t* row, int d, float* out) {
  const float scale = load_f16(row + d);
  const auto* codes = reinterpret_cast<const int8_t*>(row);
  for (int i = 0; i < d; ++i) out[i] = static_cast<float>(codes[i]) * scale;
}

// The same 8 values at a time (the scorers dequantize every key of a layer
// per compression step); code * scale is exact, so the results are identical.
__attribute__((target("avx2,f16c"))) void dequantize_q8_rows_avx2(const uint8_t* rows, int64_t n, int d, size_t row_bytes,
                                                                  float* out) {
  for (int64_t r = 0; r < n; ++r) {
    const uint8_t* row = rows + static_cast<size_t>(r) * row_bytes;
    float* o = out + r * d;
    uint16_t h;
    std::memcpy(&h, row + d, 2);
    const __m256 scale = _mm256_set1_ps(_cvtsh_ss(h));
    int i = 0;
    for (; i + 8 <= d; i += 8) {
      const __m256i codes = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(row + i)));
      _mm256_storeu_ps(o + i, _mm256_mul_ps(_mm256_cvtepi32_ps(codes), scale));
    }
    for (; i < d; ++i) o[i] = static_cast<float>(static_cast<int8_t>(row[i])) * _mm256_cvtss_f32(scale);
  }
}

void dequantize_q4_row(const uint8_t* row, int d, float* out) {
  const int block = kv_block(DType::Q4_0, d), half = block / 2;
  for (int b0 = 0; b0 < d; b0 += block) {
    const float scale = load_f16(row + d / 2 + 2 * (b0 / block));
    const uint8_t* codes = row + b0 / 2;
    for (int j = 0; j < half; ++j) {
      out[b0 + j] = static_cast<float>((codes[j] & 15) - 8) * scale;
      out[b0 + j + half] = static_cast<float>((codes[j] >> 4) - 8) * scale;
    }
  }
}

}  // namespace

bool is_kv_type(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::BF16 || t == DType::Q8_0 || t == DType::Q4_0;
}

DType parse_kv_type(std::string_view name) {
  if (name == "q8_0") return DType::Q8_0;
  if (name == "q4_0") return DType::Q4_0;
  if (name == "f32" || name == "float32") return DType::F32;
  if (name == "f16" || name == "float16") return DType::F16;
  if (name == "bf16" || name == "bfloat16") return DType::BF16;
  fail("unknown KV cache type '", name, "' (expected f32, f16, bf16, q8_0 or q4_0)");
}

int kv_block(DType t, int head_dim) {
  if (t == DType::Q4_0 && head_dim % 32 == 0) return 32;
  return head_dim;
}

size_t kv_row_bytes(DType t, int head_dim) {
  RKV_CHECK(is_kv_type(t), "kv cache: storage type ", dtype_name(t), " is not f32, f16, bf16, q8_0 or q4_0");
  RKV_CHECK(head_dim > 0, "kv cache: head_dim ", head_dim, " must be positive");
  const auto d = static_cast<size_t>(head_dim);
  switch (t) {
    case DType::Q8_0: return d + 2;
    case DType::Q4_0:
      RKV_CHECK(head_dim % 2 == 0, "kv cache: q4_0 packs two values per byte; head_dim ", head_dim, " is odd");
      return d / 2 + 2 * d / static_cast<size_t>(kv_block(t, head_dim));
    default: return d * dtype_size(t);
  }
}

void kv_rows_from_f32(const float* src, int64_t rows, int head_dim, DType t, void* dst) {
  const size_t row_bytes = kv_row_bytes(t, head_dim);
  auto* out = static_cast<uint8_t*>(dst);
  if (!is_quantized(t)) return convert_from_f32(src, t, dst, static_cast<size_t>(rows) * head_dim);
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = src + r * head_dim;
    if (t == DType::Q8_0) quantize_q8_row(x, head_dim, out + static_cast<size_t>(r) * row_bytes);
    else quantize_q4_row(x, head_dim, out + static_cast<size_t>(r) * row_bytes);
  }
}

void internal::kv_rows_to_f32_isa(Isa isa, DType t, const void* src, int64_t rows, int head_dim, float* dst) {
  const size_t row_bytes = kv_row_bytes(t, head_dim);
  const auto* in = static_cast<const uint8_t*>(src);
  if (!is_quantized(t)) return convert_to_f32(t, src, dst, static_cast<size_t>(rows) * head_dim);
  if (t == DType::Q8_0 && isa >= Isa::Avx2 && cpu_features().f16c)
    return dequantize_q8_rows_avx2(in, rows, head_dim, row_bytes, dst);
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* row = in + static_cast<size_t>(r) * row_bytes;
    if (t == DType::Q8_0) dequantize_q8_row(row, head_dim, dst + r * head_dim);
    else dequantize_q4_row(row, head_dim, dst + r * head_dim);
  }
}

void kv_rows_to_f32(DType t, const void* src, int64_t rows, int head_dim, float* dst) {
  internal::kv_rows_to_f32_isa(active_isa(), t, src, rows, head_dim, dst);
}

}  // namespace rkv
