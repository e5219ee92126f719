// core/cpu: AMX is used only where the CPU, the OS and Linux's permission
// allow it, and RKV_ISA below amx turns it off (checked in fresh processes
// of this binary, since the choice is made once per process).
#include <spawn.h>
#include <sys/wait.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/testing.h"
#include "rkv/core/cpu.h"

extern char** environ;

namespace rkv {
namespace {

TEST(Cpu, AmxNeedsTheHardware) {
  const CpuFeatures& f = cpu_features();
  if (amx_available()) {
    EXPECT_TRUE(f.amx_tile && f.amx_int8 && f.amx_bf16 && f.avx512_vnni && f.avx512_bf16);
    EXPECT_EQ(best_isa(), Isa::Avx512);
  }
  if (!f.amx_int8) {
    EXPECT_FALSE(amx_available());
  }
  if (amx_active()) {
    EXPECT_TRUE(amx_available());
  }
}

// Run by RkvIsaDecidesAmx in a child process: RKV_TEST_EXPECT_AMX=0|1 is
// what amx_active() must say there.
TEST(Cpu, ChildSeesExpectedAmx) {
  const char* expect = std::getenv("RKV_TEST_EXPECT_AMX");
  if (!expect) GTEST_SKIP() << "only run by Cpu.RkvIsaDecidesAmx";
  EXPECT_EQ(amx_active(), std::strcmp(expect, "1") == 0) << "RKV_ISA=" << std::getenv("RKV_ISA");
}

int run_child(const std::string& isa, bool expect_amx) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "RKV_ISA=", 8) != 0 && std::strncmp(*e, "RKV_TEST_EXPECT_AMX=", 20) != 0) env_strings.emplace_back(*e);
  env_strings.push_back("RKV_ISA=" + isa);
  env_strings.push_back(std::string("RKV_TEST_EXPECT_AMX=") + (expect_amx ? "1" : "0"));
  std::vector<char*> env;
  for (auto& s : env_strings) env.push_back(s.data());
  env.push_back(nullptr);
  std::string exe = "/proc/self/exe", filter = "--gtest_filter=Cpu.ChildSeesExpectedAmx";
  char* argv[] = {exe.data(), filter.data(), nullptr};
  pid_t pid;
  if (posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv, env.data()) != 0) return -1;
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(Cpu, RkvIsaDecidesAmx) {
  for (const char* lower : {"avx512", "avx2", "scalar"}) EXPECT_EQ(run_child(lower, false), 0) << "RKV_ISA=" << lower;
  EXPECT_EQ(run_child("amx", amx_available()), 0) << "RKV_ISA=amx";
}

}  // namespace
}  // namespace rkv
