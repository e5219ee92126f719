// core/cpu: what this CPU can do, read once with cpuid, and which kernel
// family to use.
//
// Kernels exist as a portable path, an AVX2+FMA path and an AVX-512 path
// (using AVX512-BF16 / VNNI where present). `active_isa()` picks the best the
// CPU and OS support; the environment variable RKV_ISA=scalar|avx2|avx512
// lowers it (for tests that compare paths, and for users chasing a bug).
#pragma once

#include <string>

namespace rkv {

struct CpuFeatures {
  bool sse42 = false, avx = false, avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512_bf16 = false, avx512_vnni = false, avx_vnni = false;
};

const CpuFeatures& cpu_features();

enum class Isa { Scalar = 0, Avx2 = 1, Avx512 = 2 };

Isa best_isa();       // what the hardware supports
Isa active_isa();     // best_isa() lowered by RKV_ISA (read once)
const char* isa_name(Isa isa);
std::string cpu_summary();  // e.g. "avx2 fma f16c avx512f avx512bw avx512_bf16 avx512_vnni"

}  // namespace rkv
