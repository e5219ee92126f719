// Packed weights (ops/packed.h): sizes, packing and unpacking (portable
// code, run once per matrix at load), and the choice of kernel per call.
#include "ops/packed.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "ops/matmul_int8.h"
#include "ops/packed_kernels.h"
#include "ops/quant_internal.h"
#include "rkv/core/cpu.h"
#include "rkv/core/error.h"

namespace rkv::packed {
namespace {

uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

// Where the values of sub-block j of a group start, and its S.
size_t values_offset(DType type, int j) {
  switch (type) {
    case DType::Q8_0:
    case DType::Q4_0: return 0;
    case DType::Q4_K: return 320 + 256 * static_cast<size_t>(j);
    case DType::Q5_K: return 320 + 320 * static_cast<size_t>(j);
    case DType::Q6_K: return 288 + 192 * static_cast<size_t>(j);
    default: return 0;
  }
}

// The values u of sub-block j (S of them), row i, into the group's bit fields.
template <DType kType>
void put_values(uint8_t* grp, int j, int i, const uint8_t* u) {
  constexpr int sub = kType == DType::Q6_K ? 16 : 32, groups = sub / 4, half = groups / 2;
  uint8_t* v = grp + values_offset(kType, j);
  if constexpr (kType == DType::Q8_0) {
    for (int g = 0; g < groups; ++g) std::memcpy(v + 64 * g + 4 * i, u + 4 * g, 4);
    return;
  }
  // nibble vector z holds k-groups z (low) and z + half (high)
  for (int z = 0; z < half; ++z)
    for (int e = 0; e < 4; ++e)
      v[64 * z + 4 * i + e] = static_cast<uint8_t>((u[4 * z + e] & 0xF) | ((u[4 * (z + half) + e] & 0xF) << 4));
  if constexpr (kType == DType::Q5_K) {  // bit 4 of k-group g, lane 4i + e: bit (4i + e) of the u64 at 256 + 8g
    for (int g = 0; g < groups; ++g)
      for (int e = 0; e < 4; ++e)
        if (u[4 * g + e] & 16) v[256 + 8 * g + (4 * i + e) / 8] |= static_cast<uint8_t>(1u << ((4 * i + e) % 8));
  }
  if constexpr (kType == DType::Q6_K) {  // bits 4-5 of k-group g at bits 2g..2g+1 of byte 4i + e
    for (int e = 0; e < 4; ++e) {
      int h = 0;
      for (int g = 0; g < groups; ++g) h |= ((u[4 * g + e] >> 4) & 3) << (2 * g);
      v[128 + 4 * i + e] = static_cast<uint8_t>(h);
    }
  }
}

uint8_t get_value(DType type, const uint8_t* grp, int j, int i, int k) {
  const int sub = int8_gemm::sub_block_elems(type), g = k / 4, lane = 4 * i + k % 4;
  const uint8_t* v = grp + values_offset(type, j);
  if (type == DType::Q8_0) return v[64 * g + lane];
  const int half = sub / 8;
  int u = (v[64 * (g % half) + lane] >> (g < half ? 0 : 4)) & 0xF;
  if (type == DType::Q5_K) u |= ((v[256 + 8 * g + lane / 8] >> (lane % 8)) & 1) << 4;
  if (type == DType::Q6_K) u |= ((v[128 + lane] >> (2 * g)) & 3) << 4;
  return static_cast<uint8_t>(u);
}

// Row i of one group from one GGUF block (the block types: a group is one block).
void pack_block(DType type, const uint8_t* blk, int i, uint8_t* grp) {
  uint8_t u[256];
  quant::block_values(type, blk, u);
  const int sub = int8_gemm::sub_block_elems(type), n_sub = static_cast<int>(group_cols(type)) / sub;
  for (int j = 0; j < n_sub; ++j) {
    switch (type) {
      case DType::Q8_0: put_values<DType::Q8_0>(grp, j, i, u + j * sub); break;
      case DType::Q4_0: put_values<DType::Q4_0>(grp, j, i, u + j * sub); break;
      case DType::Q4_K: put_values<DType::Q4_K>(grp, j, i, u + j * sub); break;
      case DType::Q5_K: put_values<DType::Q5_K>(grp, j, i, u + j * sub); break;
      case DType::Q6_K: put_values<DType::Q6_K>(grp, j, i, u + j * sub); break;
      default: fail("internal: pack_block of ", dtype_name(type));
    }
  }
  switch (type) {
    case DType::Q8_0: std::memcpy(grp + 512 + 2 * i, blk, 2); break;
    case DType::Q4_0: std::memcpy(grp + 256 + 2 * i, blk, 2); break;
    case DType::Q4_K:
    case DType::Q5_K:
      std::memcpy(grp + 2 * i, blk, 2);
      std::memcpy(grp + 32 + 2 * i, blk + 2, 2);
      for (int j = 0; j < 8; ++j) {
        int sc, m;
        quant::scale_min_k4(j, blk + 4, sc, m);
        grp[64 + 16 * j + i] = static_cast<uint8_t>(sc);
        grp[192 + 16 * j + i] = static_cast<uint8_t>(m);
      }
      break;
    case DType::Q6_K:
      std::memcpy(grp + 2 * i, blk + 208, 2);
      for (int j = 0; j < 16; ++j) grp[32 + 16 * j + i] = blk[192 + j];
      break;
    default: fail("internal: pack_block of ", dtype_name(type));
  }
}

// a, b of sub-block j, row i (w = a u + b), as the kernels compute them.
void scales(DType type, const uint8_t* grp, int j, int i, float& a, float& b) {
  switch (type) {
    case DType::Q8_0:
      a = f16_to_f32(load_u16(grp + 512 + 2 * i));
      b = -128.0f * a;
      return;
    case DType::Q4_0:
      a = f16_to_f32(load_u16(grp + 256 + 2 * i));
      b = -8.0f * a;
      return;
    case DType::Q4_K:
    case DType::Q5_K:
      a = f16_to_f32(load_u16(grp + 2 * i)) * static_cast<float>(grp[64 + 16 * j + i]);
      b = -(f16_to_f32(load_u16(grp + 32 + 2 * i)) * static_cast<float>(grp[192 + 16 * j + i]));
      return;
    case DType::Q6_K:
      a = f16_to_f32(load_u16(grp + 2 * i)) * static_cast<float>(static_cast<int8_t>(grp[32 + 16 * j + i]));
      b = -32.0f * a;
      return;
    default: fail("internal: packed scales of ", dtype_name(type));
  }
}

}  // namespace

int64_t group_cols(DType type) {
  switch (type) {
    case DType::Q8_0:
    case DType::Q4_0:
    case DType::BF16: return 32;
    case DType::Q4_K:
    case DType::Q5_K:
    case DType::Q6_K: return 256;
    default: return 0;
  }
}

size_t group_bytes(DType type) {
  switch (type) {
    case DType::Q8_0: return 544;
    case DType::Q4_0: return 288;
    case DType::Q4_K: return 320 + 8 * 256;
    case DType::Q5_K: return 320 + 8 * 320;
    case DType::Q6_K: return 288 + 16 * 192;
    case DType::BF16: return 1024;
    default: return 0;
  }
}

bool supported(DType type, int64_t cols) {
  const int64_t gc = group_cols(type);
  if (gc == 0 || cols <= 0 || cols % gc != 0 || active_isa() != Isa::Avx512) return false;
  if (type == DType::BF16) return amx_active();
  return int8_gemm::supports(type);
}

void pack(const WeightMatrix& w, void* dst, ThreadPool& pool) {
  RKV_CHECK(group_cols(w.type) > 0 && w.cols % group_cols(w.type) == 0, "pack_weights: no packed layout for ",
            dtype_name(w.type), " with ", w.cols, " columns");
  const size_t pb = panel_bytes(w.type, w.cols), gb = group_bytes(w.type), rb = dtype_row_bytes(w.type, w.cols);
  const int64_t groups = w.cols / group_cols(w.type);
  const auto* src = static_cast<const uint8_t*>(w.data);
  auto* out = static_cast<uint8_t*>(dst);
  pool.parallel_for(panel_count(w.rows), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      uint8_t* panel = out + pb * static_cast<size_t>(p);
      std::memset(panel, 0, pb);  // padding rows stay zero (a = b = 0)
      const int nv = static_cast<int>(std::min<int64_t>(kRows, w.rows - p * kRows));
      for (int i = 0; i < nv; ++i) {
        const uint8_t* row = src + rb * static_cast<size_t>(p * kRows + i);
        for (int64_t g = 0; g < groups; ++g) {
          uint8_t* grp = panel + gb * static_cast<size_t>(g);
          if (w.type == DType::BF16) {
            for (int k = 0; k < 32; ++k) std::memcpy(grp + 64 * (k / 2) + 4 * i + 2 * (k % 2), row + 2 * (32 * g + k), 2);
          } else {
            pack_block(w.type, row + dtype_block_bytes(w.type) * static_cast<size_t>(g), i, grp);
          }
        }
      }
    }
  });
}

void dequantize_row(const WeightMatrix& w, int64_t r, float* out) {
  const size_t pb = panel_bytes(w.type, w.cols), gb = group_bytes(w.type);
  const int64_t gc = group_cols(w.type), groups = w.cols / gc;
  const auto* panel = static_cast<const uint8_t*>(w.packed) + pb * static_cast<size_t>(r / kRows);
  const int i = static_cast<int>(r % kRows);
  for (int64_t g = 0; g < groups; ++g) {
    const uint8_t* grp = panel + gb * static_cast<size_t>(g);
    float* o = out + g * gc;
    if (w.type == DType::BF16) {
      for (int k = 0; k < 32; ++k) o[k] = bf16_to_f32(load_u16(grp + 64 * (k / 2) + 4 * i + 2 * (k % 2)));
      continue;
    }
    const int sub = int8_gemm::sub_block_elems(w.type);
    for (int j = 0; j < gc / sub; ++j) {
      float a, b;
      scales(w.type, grp, j, i, a, b);
      for (int k = 0; k < sub; ++k) {
        const int u = get_value(w.type, grp, j, i, k);
        // Q6_K as dequantize computes it: d sc (q - 32), exact where a u + b would round
        o[j * sub + k] = w.type == DType::Q6_K ? a * static_cast<float>(u - 32) : a * static_cast<float>(u) + b;
      }
    }
  }
}

namespace {

// Whether n_tokens go through the register kernels (else the tile GEMMs).
bool register_kernels(DType type, int64_t n_tokens, bool amx) {
  if (type == DType::BF16) return !(amx && n_tokens >= kernels::kBf16AmxMinTokens);
  return n_tokens < (amx ? kernels::kAmxMinTokens : kernels::kVnniGemmMinTokens);
}

// The register kernels over every panel of `outputs` (one type and width) in
// one pass over the threads: panels [b, e) of all the matrices in order, each
// clipped to its own range; block types quantize x once.
void register_pass(const MatmulOutput* outputs, size_t count, const float* x, int64_t n_tokens, ThreadPool& pool) {
  const WeightMatrix& first = *outputs[0].w;
  const bool bf16 = first.type == DType::BF16;
  int64_t panels = 0;
  for (size_t i = 0; i < count; ++i) panels += panel_count(outputs[i].w->rows);
  thread_local int8_gemm::Activations act;
  if (!bf16) kernels::quantize(x, n_tokens, first.cols, first.type, act, pool, false);
  const int8_gemm::Activations& a = act;  // (a thread_local name means each worker's own)
  pool.parallel_for(panels, [&](int64_t b, int64_t e) {
    int64_t offset = 0;
    for (size_t i = 0; i < count && offset < e; ++i) {
      const WeightMatrix& w = *outputs[i].w;
      const int64_t n = panel_count(w.rows), p0 = std::max(b - offset, int64_t{0}), p1 = std::min(e - offset, n);
      if (p0 < p1) {
        if (bf16)
          kernels::bf16_rows(w, x, n_tokens, p0, p1, outputs[i].y);
        else
          kernels::int8_rows(w, a, n_tokens, p0, p1, outputs[i].y);
      }
      offset += n;
    }
  });
}

}  // namespace

void matmul(const WeightMatrix& w, const float* x, float* y, int64_t n_tokens, ThreadPool& pool, bool amx) {
  RKV_CHECK(w.packed && supported(w.type, w.cols), "matmul: packed ", dtype_name(w.type), " weights on a machine without their kernels");
  if (register_kernels(w.type, n_tokens, amx)) {
    const MatmulOutput one{&w, y};
    register_pass(&one, 1, x, n_tokens, pool);
    return;
  }
  const int64_t panels = panel_count(w.rows);
  if (w.type == DType::BF16) {  // AMX bf16 tiles
    thread_local kernels::Bf16Activations act;
    kernels::split_bf16(x, n_tokens, w.cols, act, pool);
    const kernels::Bf16Activations& a = act;  // (a thread_local name means each worker's own)
    pool.parallel_for((panels + 1) / 2, [&](int64_t b, int64_t e) {
      kernels::bf16_amx(w, a, n_tokens, 2 * b, std::min(panels, 2 * e), y);
    });
    return;
  }
  thread_local int8_gemm::Activations act;
  kernels::quantize(x, n_tokens, w.cols, w.type, act, pool, amx);
  const int8_gemm::Activations& a = act;  // (a thread_local name means each worker's own)
  pool.parallel_for(panels, [&](int64_t b, int64_t e) { kernels::int8_gemm(w, a, n_tokens, b, e, y, amx); });
}

bool matmul_shared_input(const MatmulOutput* outputs, size_t count, const float* x, int64_t n_tokens, ThreadPool& pool,
                         bool amx) {
  if (count == 0 || !register_kernels(outputs[0].w->type, n_tokens, amx)) return false;
  for (size_t i = 0; i < count; ++i) {
    const WeightMatrix& w = *outputs[i].w;
    if (!w.packed || w.type != outputs[0].w->type || w.cols != outputs[0].w->cols || !supported(w.type, w.cols))
      return false;
  }
  register_pass(outputs, count, x, n_tokens, pool);
  return true;
}

}  // namespace rkv::packed
