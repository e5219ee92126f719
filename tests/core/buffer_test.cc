// AlignedBuffer: alignment, zero fill and ownership for both page kinds;
// require_memory's named error.
#include <cstdint>
#include <utility>

#include "common/testing.h"
#include "rkv/core/buffer.h"
#include "rkv/core/error.h"

namespace rkv {
namespace {

bool all_zero(const AlignedBuffer& b) {
  const auto* p = b.as<uint8_t>();
  for (size_t i = 0; i < b.size(); ++i)
    if (p[i] != 0) return false;
  return true;
}

TEST(AlignedBuffer, NormalIsAlignedAndZeroed) {
  for (size_t n : {size_t{1}, size_t{63}, size_t{4097}}) {
    AlignedBuffer b(n);
    ASSERT_EQ(b.size(), n);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % AlignedBuffer::kAlignment, 0u);
    EXPECT_TRUE(all_zero(b));
  }
}

TEST(AlignedBuffer, HugeStartsOnA2MiBBoundaryAndIsWritable) {
  const size_t n = (size_t{5} << 20) + 123;  // not a whole number of huge pages
  AlignedBuffer b(n, AlignedBuffer::Pages::Huge);
  ASSERT_EQ(b.size(), n);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % (size_t{2} << 20), 0u);
  EXPECT_TRUE(all_zero(b));
  auto* p = b.as<uint8_t>();
  p[0] = 1;
  p[n - 1] = 2;  // the last byte is inside the mapping
  AlignedBuffer moved(std::move(b));
  EXPECT_EQ(b.data(), nullptr);
  EXPECT_EQ(moved.as<uint8_t>()[n - 1], 2);
  AlignedBuffer other(16);
  other = std::move(moved);  // frees the 16-byte buffer, takes the mapping
  EXPECT_EQ(other.size(), n);
  EXPECT_EQ(other.as<uint8_t>()[0], 1);
}

TEST(RequireMemory, NamesWhatAndHowMuchWhenItCannotFit) {
  EXPECT_GT(available_memory_bytes(), uint64_t{1} << 20);
  EXPECT_NO_THROW(require_memory(1 << 20, "a small buffer"));
  const uint64_t huge = uint64_t{1} << 60;
  try {
    require_memory(huge, "the test's buffer");
    FAIL() << "2^60 bytes fit";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("the test's buffer: 1152921504606846976 bytes (1073741824.0 GiB)"), std::string::npos) << what;
    EXPECT_NE(what.find("available"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace rkv
