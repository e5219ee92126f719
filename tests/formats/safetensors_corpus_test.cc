// Replays the safetensors fuzzer's corpus (fuzz/corpus/safetensors): every
// input either parses into in-bounds views or is an rkv::Error.
#include <filesystem>
#include <fstream>
#include <iterator>

#include "common/testing.h"
#include "rkv/formats/safetensors.h"

namespace rkv {
namespace {

TEST(SafetensorsCorpus, EveryInputParsesOrIsRejectedCleanly) {
  std::filesystem::path dir = std::filesystem::path(RKV_SOURCE_DIR) / "fuzz" / "corpus" / "safetensors";
  int files = 0, accepted = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ++files;
    try {
      SafetensorsFile f(bytes.data(), bytes.size(), entry.path().filename().string());
      for (const auto& name : f.names()) {
        TensorView v = f.get(name);
        const auto* p = static_cast<const uint8_t*>(v.data);
        bool inside_input = p >= bytes.data() && p + v.nbytes() <= bytes.data() + bytes.size();
        EXPECT_TRUE(inside_input || reinterpret_cast<uintptr_t>(p) % 64 == 0) << entry.path();
      }
      ++accepted;
    } catch (const Error&) {
    }
  }
  EXPECT_GE(files, 5);
  EXPECT_GE(accepted, 2);  // the valid seeds
}

}  // namespace
}  // namespace rkv
