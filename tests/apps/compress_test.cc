// rkv compress end to end: the golden cases through the binary, output files,
// and a one-line error with exit code 2 for each kind of bad input.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "common/testing.h"
#include "rkv/formats/safetensors.h"
#include "rkv/ops/kv_row.h"

namespace rkv {
namespace {

using nlohmann::json;

TEST(CompressCli, GoldenCasesGiveTheReferenceKeptSlots) {
  RKV_REQUIRE_ASSET("golden/rkv/manifest.json");
  std::ifstream in(test::asset("golden/rkv/manifest.json"));
  json m = json::parse(in);
  int checked = 0;
  for (const auto& c : m["cases"]) {
    if (!c["flags"].empty()) continue;  // tie cases are covered by the library test
    std::string method = c["method"] == "r1kv" ? "rkv" : c["method"].get<std::string>();
    std::vector<std::string> args = {"compress", "--input", test::asset("golden/rkv/" + c["file"].get<std::string>()),
                                     "--method", method, "--budget", std::to_string(c["budget"].get<int>()),
                                     "--first-tokens", std::to_string(c.value("first_tokens", 0))};
    if (c.contains("window_size")) args.insert(args.end(), {"--window", std::to_string(c["window_size"].get<int>())});
    if (c.contains("kernel_size")) args.insert(args.end(), {"--kernel", std::to_string(c["kernel_size"].get<int>())});
    if (c.contains("mix_lambda")) args.insert(args.end(), {"--lambda", c["mix_lambda"].dump()});
    if (c.contains("retain_direction")) args.insert(args.end(), {"--retain-direction", c["retain_direction"].get<std::string>()});
    auto r = test::run_rkv(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json out = json::parse(r.out);
    SafetensorsFile golden(test::asset("golden/rkv/" + c["file"].get<std::string>()));
    TensorView kept = golden.get("kept_indices");
    ASSERT_EQ(out["kept"].size(), static_cast<size_t>(kept.dim(0))) << c["name"];
    for (int64_t h = 0; h < kept.dim(0); ++h)
      for (int64_t i = 0; i < kept.dim(1); ++i)
        ASSERT_EQ(out["kept"][h][i].get<int64_t>(), static_cast<const int64_t*>(kept.data)[h * kept.dim(1) + i])
            << c["name"] << " head " << h << " index " << i;
    ++checked;
  }
  EXPECT_GE(checked, 9);
}

struct Dump {
  int hkv = 2, hq = 4, n = 40, m = 8, d = 16;
  DType type = DType::F32;
  bool with_queries = true, with_positions = false;
  float poison = 0;  // NaN to poison a key
  float scale = 1;   // keys and queries multiplied by this (1e20: finite values whose products overflow)
};

std::string write_dump(const test::TempDir& dir, const Dump& s, const std::string& name = "in.safetensors") {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0, 1);
  auto make = [&](int64_t count) {
    std::vector<float> v(static_cast<size_t>(count));
    for (auto& x : v) x = normal(rng);
    return v;
  };
  std::vector<float> k = make(s.hkv * s.n * s.d), v = make(s.hkv * s.n * s.d), q = make(s.hq * s.m * s.d);
  if (s.poison != 0 || std::isnan(s.poison)) k[5] = s.poison;
  for (auto* values : {&k, &q})
    for (auto& x : *values) x *= s.scale;
  SafetensorsWriter w;
  auto add = [&](const std::string& tname, std::vector<float>& data, Shape shape) {
    if (s.type == DType::F32) return w.add(tname, TensorView(data.data(), DType::F32, shape));
    std::vector<uint16_t> half(data.size());
    convert_from_f32(data.data(), s.type, half.data(), data.size());
    w.add(tname, TensorView(half.data(), s.type, shape));
  };
  add("keys", k, {s.hkv, s.n, s.d});
  add("values", v, {s.hkv, s.n, s.d});
  if (s.with_queries) add("queries", q, {s.hq, s.m, s.d});
  std::vector<int32_t> pos(static_cast<size_t>(s.hkv * s.n));
  for (size_t i = 0; i < pos.size(); ++i) pos[i] = static_cast<int32_t>(2 * (i % s.n));  // gaps, as after a compression
  if (s.with_positions) w.add("positions", TensorView(pos.data(), DType::I32, {s.hkv, s.n}));
  w.write(dir.path(name));
  return dir.path(name);
}

TEST(CompressCli, OutputHoldsTheGatheredRowsInKeptOrder) {
  for (DType type : {DType::F32, DType::BF16, DType::F16}) {
    test::TempDir dir;
    Dump s;
    s.type = type;
    s.with_positions = true;
    std::string in = write_dump(dir, s), out = dir.path("out.safetensors");
    auto r = test::run_rkv({"compress", "-i", in, "--budget", "24", "--first-tokens", "2", "-o", out, "--scores"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json j = json::parse(r.out);
    EXPECT_EQ(j["method"], "rkv");
    EXPECT_EQ(j["n"], 40);
    ASSERT_EQ(j["score"].size(), 2u);
    EXPECT_EQ(j["score"][0].size(), 32u);  // n - window
    EXPECT_EQ(j["redundancy"][0].size(), 32u);
    SafetensorsFile input(in), output(out);
    TensorView ok = output.get("keys"), ov = output.get("values"), op = output.get("positions");
    ASSERT_EQ(ok.shape, (Shape{2, 24, 16}));
    ASSERT_EQ(ok.dtype, type);
    const size_t e = dtype_size(type);
    for (int h = 0; h < 2; ++h)
      for (int i = 0; i < 24; ++i) {
        int slot = j["kept"][h][i];
        EXPECT_EQ(static_cast<const int32_t*>(op.data)[h * 24 + i], 2 * slot);
        EXPECT_EQ(std::memcmp(static_cast<const char*>(ok.data) + (h * 24 + i) * 16 * e,
                              static_cast<const char*>(input.get("keys").data) + (h * 40 + slot) * 16 * e, 16 * e), 0);
        EXPECT_EQ(std::memcmp(static_cast<const char*>(ov.data) + (h * 24 + i) * 16 * e,
                              static_cast<const char*>(input.get("values").data) + (h * 40 + slot) * 16 * e, 16 * e), 0);
      }
    // sinks are original positions: positions 0 and 2 (slots 0, 1) are < 4
    auto pinned = test::run_rkv({"compress", "-i", in, "--budget", "24", "--first-tokens", "4", "--keep-order", "position"});
    ASSERT_EQ(pinned.exit_code, 0) << pinned.err;
    json p = json::parse(pinned.out);
    EXPECT_EQ(p["kept"][0][0], 0);
    EXPECT_EQ(p["kept"][0][1], 1);
  }
}

// --kv-type q8_0 / q4_0: the step scores the quantized cache, and the output
// holds the kept rows as the cache stores them (dequantized, no requantization).
TEST(CompressCli, QuantizedCacheOutputsTheStoredRows) {
  for (DType type : {DType::Q8_0, DType::Q4_0}) {
    test::TempDir dir;
    std::string in = write_dump(dir, Dump{}), out = dir.path("out.safetensors");
    auto r = test::run_rkv({"compress", "-i", in, "--budget", "24", "--kv-type", std::string(dtype_name(type)), "-o", out});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json j = json::parse(r.out);
    SafetensorsFile input(in), output(out);
    const auto* keys = static_cast<const float*>(input.get("keys").data);   // [2][40][16]
    const auto* kept_keys = static_cast<const float*>(output.get("keys").data);  // [2][24][16]
    std::vector<uint8_t> row(kv_row_bytes(type, 16));
    std::vector<float> stored(16);
    for (int h = 0; h < 2; ++h)
      for (int i = 0; i < 24; ++i) {
        const int slot = j["kept"][h][i];
        kv_rows_from_f32(keys + (h * 40 + slot) * 16, 1, 16, type, row.data());
        kv_rows_to_f32(type, row.data(), 1, 16, stored.data());
        for (int c = 0; c < 16; ++c) ASSERT_EQ(kept_keys[(h * 24 + i) * 16 + c], stored[c]) << dtype_name(type);
      }
  }
}

TEST(CompressCli, BelowBudgetKeepsEverySlotInOrder) {
  test::TempDir dir;
  std::string in = write_dump(dir, Dump{});
  auto r = test::run_rkv({"compress", "-i", in, "--budget", "64"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  for (int i = 0; i < 40; ++i) EXPECT_EQ(j["kept"][1][i], i);
}

TEST(CompressCli, BadInputIsOneLineErrorAndExitTwo) {
  test::TempDir dir;
  struct Case {
    std::vector<std::string> args;
    std::string fragment;
  };
  Dump no_queries;
  no_queries.with_queries = false;
  Dump odd_heads;
  odd_heads.hq = 3;
  Dump short_window;
  short_window.m = 4;
  Dump nan;
  nan.poison = NAN;
  Dump overflowing;
  overflowing.scale = 1e20f;
  std::string good = write_dump(dir, Dump{}, "good.safetensors");
  std::vector<Case> cases = {
      {{"compress", "-i", write_dump(dir, no_queries, "nq.safetensors"), "--budget", "24"}, "missing tensor 'queries'"},
      {{"compress", "-i", write_dump(dir, odd_heads, "oh.safetensors"), "--budget", "24"}, "not a multiple"},
      {{"compress", "-i", write_dump(dir, short_window, "sw.safetensors"), "--budget", "24"}, "larger than the 4 query rows"},
      {{"compress", "-i", write_dump(dir, nan, "nan.safetensors"), "--budget", "24"}, "non-finite"},
      {{"compress", "-i", write_dump(dir, overflowing, "big.safetensors"), "--budget", "24", "-o", dir.path("never")},
       "compression: KV head 0: the importance of slot 0 is NaN (keys or queries too large for float32 scores)"},
      {{"compress", "-i", write_dump(dir, overflowing, "big.safetensors"), "--method", "snapkv", "--budget", "24"},
       "KV head 0"},
      {{"compress", "-i", dir.path("absent.safetensors")}, "cannot open"},
      {{"compress", "-i", good, "--budget", "8", "--window", "8"}, "must be larger than window_size"},
      {{"compress", "-i", good, "--kernel", "4"}, "kernel_size must be odd"},
      {{"compress", "-i", good, "--lambda", "2"}, "mix_lambda must be in [0, 1]"},
      {{"compress", "-i", good, "--method", "magic"}, "unknown method"},
      {{"compress", "-i", good, "--budget", "ten"}, "not an integer"},
      {{"compress", "-i", good, "--bogus"}, "unknown option"},
      {{"compress"}, "missing --input"},
      {{"compress", "-i", good, "--kv-type", "q4_k"}, "unknown KV cache type"},
  };
  {
    std::ofstream bad(dir.path("bad.safetensors"), std::ios::binary);
    bad << "\x10\0\0\0\0\0\0\0{\"keys\": 5}     ";
  }
  cases.push_back({{"compress", "-i", dir.path("bad.safetensors")}, "bad.safetensors"});
  for (const auto& c : cases) {
    auto r = test::run_rkv(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.fragment;
    EXPECT_NE(r.err.find(c.fragment), std::string::npos) << "stderr: " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_TRUE(r.out.empty());
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path("never"))) << "no output after non-finite scores";
  // wrong rank
  {
    SafetensorsWriter w;
    std::vector<float> x(40 * 16);
    w.add("keys", TensorView(x.data(), DType::F32, {40, 16}));
    w.add("values", TensorView(x.data(), DType::F32, {40, 16}));
    w.write(dir.path("rank.safetensors"));
    auto r = test::run_rkv({"compress", "-i", dir.path("rank.safetensors"), "--out", dir.path("o.safetensors")});
    EXPECT_EQ(r.exit_code, 2);
    r = test::run_rkv({"compress", "-i", dir.path("rank.safetensors"), "-o", dir.path("o.safetensors")});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("expected rank 3"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir.path("o.safetensors"))) << "no partial output on error";
  }
}

}  // namespace
}  // namespace rkv
