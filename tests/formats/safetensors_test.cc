#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/testing.h"
#include "rkv/formats/safetensors.h"

namespace rkv {
namespace {

std::vector<uint8_t> with_header(const std::string& header, size_t data_bytes) {
  std::vector<uint8_t> out(8 + header.size() + data_bytes, 0);
  uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  std::memcpy(out.data() + 8, header.data(), header.size());
  return out;
}

std::string error_of(const std::vector<uint8_t>& bytes) {
  return test::error_of([&] { SafetensorsFile f(bytes.data(), bytes.size(), "t.safetensors"); });
}

TEST(Safetensors, WriteThenReadRoundTrips) {
  test::TempDir dir;
  std::vector<float> a = {1, 2, 3, 4, 5, 6};
  std::vector<uint16_t> b = {f32_to_bf16(1.5f), f32_to_bf16(-2.0f)};
  std::vector<int32_t> c = {7, 8, 9};
  SafetensorsWriter w;
  w.add("a", TensorView(a.data(), DType::F32, {2, 3}));
  w.add("b", TensorView(b.data(), DType::BF16, {2}));
  w.add("c", TensorView(c.data(), DType::I32, {3}));
  w.set_metadata("format", "pt");
  w.write(dir.path("x.safetensors"));
  SafetensorsFile f(dir.path("x.safetensors"));
  EXPECT_EQ(f.names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(f.get("a").shape, (Shape{2, 3}));
  EXPECT_EQ(std::memcmp(f.get("a").data, a.data(), 24), 0);
  EXPECT_EQ(bf16_to_f32(static_cast<const uint16_t*>(f.get("b").data)[1]), -2.0f);
  EXPECT_EQ(static_cast<const int32_t*>(f.get("c").data)[2], 9);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_THROW(f.get("missing"), Error);
}

TEST(Safetensors, ReadsTheGoldenFiles) {
  RKV_REQUIRE_ASSET("golden/hf/pub_qwen2/model.safetensors");
  SafetensorsFile f(test::asset("golden/hf/pub_qwen2/model.safetensors"));
  EXPECT_GT(f.names().size(), 5u);
  SafetensorsFile g(test::asset("golden/hf/pub_qwen2/golden.safetensors"));
  EXPECT_EQ(g.get("prompt_ids").rank(), 1);
}

TEST(Safetensors, EveryHeaderViolationIsNamed) {
  auto expect = [](const std::vector<uint8_t>& bytes, const std::string& fragment) {
    std::string e = error_of(bytes);
    EXPECT_NE(e.find(fragment), std::string::npos) << "error was: '" << e << "', expected '" << fragment << "'";
  };
  expect({1, 2, 3}, "at least 8");
  std::vector<uint8_t> huge(8, 0xff);
  expect(huge, "not sane");
  std::vector<uint8_t> past = with_header("{}", 0);
  past[0] = 50;
  expect(past, "past the end");
  expect(with_header("{not json", 0), "not valid JSON");
  expect(with_header("[1,2]", 0), "not a JSON object");
  expect(with_header(R"({"x":{"dtype":"Q9","shape":[1],"data_offsets":[0,4]}})", 4), "unsupported dtype Q9");
  expect(with_header(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 8), "needs 8");
  expect(with_header(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", 8), "reversed");
  expect(with_header(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 2), "past the data section");
  expect(with_header(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8), "overlap");
  expect(with_header(R"({"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4), "non-negative");
  expect(with_header(R"({"x":{"dtype":"F32","data_offsets":[0,4]}})", 4), "missing shape");
  expect(with_header(R"({"x":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,4]}})", 4), "overflows");
  expect(with_header(R"({"__metadata__":{"a":1}})", 0), "not a string");
  EXPECT_EQ(error_of(with_header(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4)), "");
}

TEST(Safetensors, UnalignedDataIsCopiedNotMisread) {
  // header of odd length: data starts unaligned for f32
  std::string header = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  if ((8 + header.size()) % 4 == 0) header += " ";
  std::vector<uint8_t> bytes = with_header(header, 8);
  float v[2] = {3.5f, -1.25f};
  std::memcpy(bytes.data() + 8 + header.size(), v, 8);
  SafetensorsFile f(bytes.data(), bytes.size(), "u");
  const float* p = static_cast<const float*>(f.get("x").data);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 4, 0u);
  EXPECT_EQ(p[0], 3.5f);
  EXPECT_EQ(p[1], -1.25f);
}

TEST(Safetensors, MissingFileIsAClearError) {
  try {
    SafetensorsFile f("/nonexistent/model.safetensors");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.safetensors"), std::string::npos);
  }
}

}  // namespace
}  // namespace rkv
