#include "rkv/core/cpu.h"

#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace rkv {
namespace {

uint64_t read_xcr0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

CpuFeatures detect() {
  CpuFeatures f;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  f.sse42 = c & bit_SSE4_2;
  bool osxsave = c & bit_OSXSAVE;
  bool avx_hw = c & bit_AVX;
  f.fma = c & bit_FMA;
  f.f16c = c & bit_F16C;
  uint64_t xcr0 = osxsave ? read_xcr0() : 0;
  bool os_ymm = (xcr0 & 0x6) == 0x6;
  bool os_zmm = (xcr0 & 0xe6) == 0xe6;
  f.avx = avx_hw && os_ymm;
  f.fma = f.fma && f.avx;
  f.f16c = f.f16c && f.avx;
  if (__get_cpuid_max(0, nullptr) < 7) return f;
  __cpuid_count(7, 0, a, b, c, d);
  f.avx2 = f.avx && (b & bit_AVX2);
  f.avx512f = os_zmm && (b & bit_AVX512F);
  f.avx512bw = f.avx512f && (b & bit_AVX512BW);
  f.avx512vl = f.avx512f && (b & bit_AVX512VL);
  f.avx512dq = f.avx512f && (b & bit_AVX512DQ);
  f.avx512_vnni = f.avx512f && (c & bit_AVX512VNNI);
  f.avx512_vbmi = f.avx512f && (c & bit_AVX512VBMI);
  __cpuid_count(7, 1, a, b, c, d);
  f.avx512_bf16 = f.avx512f && (a & (1u << 5));
  f.avx_vnni = f.avx2 && (a & (1u << 4));
  // AMX: CPUID.7.0:EDX bits 24 (tile), 22 (bf16), 25 (int8); the OS must
  // enable XTILECFG and XTILEDATA (XCR0 bits 17 and 18).
  __cpuid_count(7, 0, a, b, c, d);
  const bool os_tiles = (xcr0 & (3ull << 17)) == (3ull << 17);
  f.amx_tile = os_zmm && os_tiles && (d & (1u << 24));
  f.amx_bf16 = f.amx_tile && (d & (1u << 22));
  f.amx_int8 = f.amx_tile && (d & (1u << 25));
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

Isa best_isa() {
  const CpuFeatures& f = cpu_features();
  if (f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.fma) return Isa::Avx512;
  if (f.avx2 && f.fma && f.f16c) return Isa::Avx2;
  return Isa::Scalar;
}

Isa active_isa() {
  static const Isa isa = [] {
    Isa best = best_isa();
    const char* wanted = std::getenv("RKV_ISA");
    if (!wanted) return best;
    Isa asked = best;
    if (std::strcmp(wanted, "scalar") == 0) asked = Isa::Scalar;
    if (std::strcmp(wanted, "avx2") == 0) asked = Isa::Avx2;
    if (std::strcmp(wanted, "avx512") == 0 || std::strcmp(wanted, "amx") == 0) asked = Isa::Avx512;
    return asked < best ? asked : best;
  }();
  return isa;
}

bool amx_available() {
  static const bool ok = [] {
    const CpuFeatures& f = cpu_features();
    // (the AMX weight unpacks use VBMI's byte permutes; every AMX CPU has them)
    if (!(f.amx_tile && f.amx_int8 && f.amx_bf16 && best_isa() == Isa::Avx512 && f.avx512_vnni &&
          f.avx512_bf16 && f.avx512_vbmi))
      return false;
#if defined(__linux__) && defined(SYS_arch_prctl)
    // Linux keeps the 8 KiB tile state off until a process asks for it.
    constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
    return false;
#endif
  }();
  return ok;
}

bool amx_active() {
  static const bool on = [] {
    const char* wanted = std::getenv("RKV_ISA");
    const bool lowered = wanted && (std::strcmp(wanted, "scalar") == 0 || std::strcmp(wanted, "avx2") == 0 ||
                                    std::strcmp(wanted, "avx512") == 0);
    return !lowered && active_isa() == Isa::Avx512 && amx_available();
  }();
  return on;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Scalar: return "scalar";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
  }
  return "?";
}

std::string cpu_summary() {
  const CpuFeatures& f = cpu_features();
  std::string s;
  auto add = [&](bool on, const char* name) {
    if (!on) return;
    if (!s.empty()) s += ' ';
    s += name;
  };
  add(f.avx2, "avx2");
  add(f.fma, "fma");
  add(f.f16c, "f16c");
  add(f.avx512f, "avx512f");
  add(f.avx512bw, "avx512bw");
  add(f.avx512_bf16, "avx512_bf16");
  add(f.avx512_vnni, "avx512_vnni");
  add(f.avx512_vbmi, "avx512_vbmi");
  add(f.avx_vnni, "avx_vnni");
  add(f.amx_int8, "amx_int8");
  add(f.amx_bf16, "amx_bf16");
  return s.empty() ? "baseline x86-64" : s;
}

}  // namespace rkv
