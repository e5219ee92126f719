// core/cpu: what this CPU can do, read once with cpuid, and which kernel
// family to use.
//
// Kernels exist as a portable path, an AVX2+FMA path and an AVX-512 path
// (using AVX512-BF16 / VNNI where present), and on CPUs with AMX an AMX
// tile path for prefill matrix products on top of the AVX-512 one.
// `active_isa()` picks the best the CPU and OS support; the environment
// variable RKV_ISA=scalar|avx2|avx512|amx lowers it (for tests that compare
// paths, and for users chasing a bug): anything below amx turns AMX off.
#pragma once

#include <string>

namespace rkv {

struct CpuFeatures {
  bool sse42 = false, avx = false, avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512_bf16 = false, avx512_vnni = false, avx512_vbmi = false, avx_vnni = false;
  bool amx_tile = false, amx_int8 = false, amx_bf16 = false;  // CPU and OS (XCR0) support
};

const CpuFeatures& cpu_features();

enum class Isa { Scalar = 0, Avx2 = 1, Avx512 = 2 };

Isa best_isa();       // what the hardware supports
Isa active_isa();     // best_isa() lowered by RKV_ISA (read once)
const char* isa_name(Isa isa);

// AMX tiles (int8 and bf16) usable by this process: the CPU and OS support
// them, Linux granted the tile state (arch_prctl ARCH_REQ_XCOMP_PERM, asked
// once, on the first call) and RKV_ISA is unset or amx.
bool amx_available();  // hardware, OS and permission only
bool amx_active();     // amx_available() and not lowered by RKV_ISA
std::string cpu_summary();  // e.g. "avx2 fma f16c avx512f avx512bw avx512_bf16 avx512_vnni"

}  // namespace rkv
