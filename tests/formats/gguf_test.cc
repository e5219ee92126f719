// GGUF reader/writer: round trips of every metadata type and tensor type,
// the real stories260K file, and rejection of every kind of malformed input.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "common/testing.h"
#include "rkv/core/error.h"
#include "rkv/formats/gguf.h"

namespace rkv {
namespace {

std::vector<uint8_t> sample_file(uint32_t alignment = 32) {
  GgufWriter w;
  if (alignment != 32) w.set_alignment(alignment);
  w.set_string("general.architecture", "llama");
  w.set_u32("llama.block_count", 2);
  w.set_i32("neg", -7);
  w.set_f32("llama.rope.freq_base", 10000.5f);
  w.set_bool("flag", true);
  w.set("u8", GgufValue::of_uint(GgufType::U8, 200));
  w.set("i8", GgufValue::of_int(GgufType::I8, -100));
  w.set("u16", GgufValue::of_uint(GgufType::U16, 65000));
  w.set("i16", GgufValue::of_int(GgufType::I16, -30000));
  w.set("u64", GgufValue::of_uint(GgufType::U64, 1ull << 40));
  w.set("i64", GgufValue::of_int(GgufType::I64, -(1ll << 40)));
  w.set("f64", GgufValue::of_float(GgufType::F64, 0.1));
  w.set("tokenizer.ggml.tokens", GgufValue::of_strings({"<unk>", "<s>", "</s>", "\xe2\x96\x81hello", ""}));
  w.set("tokenizer.ggml.scores", GgufValue::of_floats(GgufType::F32, {0, 0, 0, -1.5, -2.25}));
  w.set("tokenizer.ggml.token_type", GgufValue::of_ints(GgufType::I32, {2, 3, 3, 1, -1}));
  w.set("nested", GgufValue::of_arrays({GgufValue::of_ints(GgufType::U8, {1, 2}), GgufValue::of_strings({"x"})}));
  w.set_string("tokenizer.chat_template", "{{ bos_token }}");
  std::vector<float> a(6);
  for (int i = 0; i < 6; ++i) a[i] = static_cast<float>(i) * 0.5f;
  w.add_tensor("a", DType::F32, {3, 2}, a.data(), a.size() * 4);
  std::vector<uint16_t> b(32, 0x3c00);
  w.add_tensor("b", DType::F16, {32}, b.data(), b.size() * 2);
  std::vector<uint8_t> q(dtype_row_bytes(DType::Q4_K, 256) * 2, 7);
  w.add_tensor("q", DType::Q4_K, {256, 2}, q.data(), q.size());
  return w.serialize();
}

TEST(Gguf, RoundTripMetadataAndTensors) {
  for (uint32_t alignment : {32u, 64u, 8u}) {
    auto bytes = sample_file(alignment);
    GgufFile f(bytes.data(), bytes.size(), "mem");
    EXPECT_EQ(f.version(), 3u);
    EXPECT_EQ(f.alignment(), alignment);
    EXPECT_EQ(f.get("general.architecture").as_string(), "llama");
    EXPECT_EQ(f.get_int("llama.block_count", 0), 2);
    EXPECT_EQ(f.get("neg").as_int(), -7);
    EXPECT_FLOAT_EQ(static_cast<float>(f.get_float("llama.rope.freq_base", 0)), 10000.5f);
    EXPECT_TRUE(f.get("flag").as_bool());
    EXPECT_EQ(f.get("u8").as_int(), 200);
    EXPECT_EQ(f.get("i8").as_int(), -100);
    EXPECT_EQ(f.get("u16").as_int(), 65000);
    EXPECT_EQ(f.get("i16").as_int(), -30000);
    EXPECT_EQ(f.get("u64").as_uint(), 1ull << 40);
    EXPECT_EQ(f.get("i64").as_int(), -(1ll << 40));
    EXPECT_DOUBLE_EQ(f.get("f64").as_float(), 0.1);
    EXPECT_EQ(f.get("tokenizer.ggml.tokens").strings(),
              (std::vector<std::string>{"<unk>", "<s>", "</s>", "\xe2\x96\x81hello", ""}));
    EXPECT_EQ(f.get("tokenizer.ggml.scores").floats(), (std::vector<float>{0, 0, 0, -1.5f, -2.25f}));
    EXPECT_EQ(f.get("tokenizer.ggml.token_type").ints(), (std::vector<int64_t>{2, 3, 3, 1, -1}));
    const auto& nested = f.get("nested").arrays();
    ASSERT_EQ(nested.size(), 2u);
    EXPECT_EQ(nested[0].ints(), (std::vector<int64_t>{1, 2}));
    EXPECT_EQ(nested[1].strings(), (std::vector<std::string>{"x"}));
    EXPECT_EQ(f.get_string("tokenizer.chat_template", ""), "{{ bos_token }}");
    EXPECT_EQ(f.get_string("missing", "dflt"), "dflt");
    EXPECT_THROW(f.get("missing"), Error);
    EXPECT_THROW(f.get("general.architecture").as_int(), Error);
    EXPECT_THROW(f.get("neg").as_uint(), Error);

    ASSERT_EQ(f.tensors().size(), 3u);
    const auto& a = f.tensor("a");
    EXPECT_EQ(a.ne, (std::vector<int64_t>{3, 2}));
    EXPECT_EQ(a.shape(), (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(a.dtype, DType::F32);
    EXPECT_EQ(a.nbytes, 24u);
    float a5;
    std::memcpy(&a5, a.data + 20, 4);
    EXPECT_EQ(a5, 2.5f);
    EXPECT_EQ(f.tensor("b").dtype, DType::F16);
    EXPECT_EQ(f.tensor("q").dtype, DType::Q4_K);
    EXPECT_EQ(f.tensor("q").nbytes, 288u);
    for (const auto& t : f.tensors()) {
      EXPECT_EQ((t.data - bytes.data()) % alignment, 0u) << t.name;
      EXPECT_LE(t.data + t.nbytes, bytes.data() + bytes.size());
    }
    EXPECT_THROW(f.tensor("nope"), Error);
  }
}

TEST(Gguf, AllTensorTypesMapToDTypes) {
  struct Case {
    uint32_t id;
    DType t;
  } cases[] = {{0, DType::F32}, {1, DType::F16}, {30, DType::BF16}, {8, DType::Q8_0},
               {2, DType::Q4_0}, {12, DType::Q4_K}, {13, DType::Q5_K}, {14, DType::Q6_K}};
  for (auto c : cases) {
    EXPECT_EQ(dtype_from_ggml_type(c.id), c.t);
    EXPECT_EQ(ggml_type_from_dtype(c.t), c.id);
  }
  try {
    dtype_from_ggml_type(10);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Q2_K"), std::string::npos) << e.what();
  }
}

// Every strict prefix of a valid file is rejected with rkv::Error (never a crash).
TEST(Gguf, EveryTruncationIsAnError) {
  auto bytes = sample_file();
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<long>(n));
    EXPECT_THROW(GgufFile(cut.data(), cut.size(), "cut"), Error) << n;
  }
}

// Random byte corruption: parse or rkv::Error, and accepted tensors stay inside the input.
TEST(Gguf, RandomCorruptionParsesOrIsRejected) {
  auto good = sample_file();
  std::mt19937 rng(1234);
  for (int iter = 0; iter < 3000; ++iter) {
    auto bytes = good;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) bytes[rng() % bytes.size()] = static_cast<uint8_t>(rng());
    try {
      GgufFile f(bytes.data(), bytes.size(), "corrupt");
      for (const auto& t : f.tensors()) {
        EXPECT_GE(t.data, bytes.data());
        EXPECT_LE(t.data + t.nbytes, bytes.data() + bytes.size());
      }
    } catch (const Error&) {
    }
  }
}

void put_u32(std::vector<uint8_t>& b, size_t at, uint32_t v) { std::memcpy(&b[at], &v, 4); }
void put_u64(std::vector<uint8_t>& b, size_t at, uint64_t v) { std::memcpy(&b[at], &v, 8); }

std::string error_of(const std::vector<uint8_t>& bytes) {
  return test::error_of([&] { GgufFile f(bytes.data(), bytes.size(), "bad.gguf"); });
}

// A one-tensor file: header 24 bytes, then tensor info "t" at a known place.
std::vector<uint8_t> one_tensor(DType type, std::vector<int64_t> ne, size_t bytes) {
  GgufWriter w;
  std::vector<uint8_t> data(bytes, 1);
  w.add_tensor("t", type, ne, data.data(), data.size());
  return w.serialize();
}

TEST(Gguf, NamedErrors) {
  auto good = one_tensor(DType::F32, {4}, 16);
  // Layout: magic(4) version(4) n_tensors(8) n_kv(8) | name len(8) "t" n_dims(4) ne(8) type(4) offset(8)
  const size_t n_dims_at = 24 + 8 + 1, ne_at = n_dims_at + 4, type_at = ne_at + 8, offset_at = type_at + 4;
  {
    auto b = good;
    b[0] = 'X';
    EXPECT_NE(error_of(b).find("bad magic"), std::string::npos);
  }
  {
    auto b = good;
    put_u32(b, 4, 1);
    EXPECT_NE(error_of(b).find("version 1"), std::string::npos);
  }
  {
    auto b = good;
    put_u32(b, type_at, 10);  // Q2_K
    auto e = error_of(b);
    EXPECT_NE(e.find("Q2_K"), std::string::npos) << e;
    EXPECT_NE(e.find("'t'"), std::string::npos) << e;
  }
  {
    auto b = good;
    put_u64(b, ne_at, 1000);
    EXPECT_NE(error_of(b).find("runs past the end"), std::string::npos) << error_of(b);
  }
  {
    auto b = good;
    put_u64(b, offset_at, 8);
    EXPECT_NE(error_of(b).find("alignment"), std::string::npos) << error_of(b);
  }
  {
    auto b = good;
    put_u32(b, n_dims_at, 5);
    EXPECT_NE(error_of(b).find("dimensions"), std::string::npos) << error_of(b);
  }
  {
    auto b = good;
    put_u64(b, 8, 1ull << 60);
    EXPECT_NE(error_of(b).find("tensor count"), std::string::npos) << error_of(b);
  }
  {
    auto b = one_tensor(DType::Q8_0, {32}, 34);
    put_u64(b, ne_at, 33);
    EXPECT_NE(error_of(b).find("block size"), std::string::npos) << error_of(b);
  }
  {  // two tensors at the same offset overlap
    GgufWriter w;
    std::vector<float> d(8, 1.0f);
    w.add_tensor("x", DType::F32, {8}, d.data(), 32);
    w.add_tensor("y", DType::F32, {8}, d.data(), 32);
    auto b = w.serialize();
    // second tensor's offset is the last 8 bytes of its info; find it by value 32.
    size_t pos = 0;
    for (size_t i = 24; i + 8 <= b.size(); ++i) {
      uint64_t v;
      std::memcpy(&v, &b[i], 8);
      if (v == 32) pos = i;
      if (pos) break;
    }
    ASSERT_GT(pos, 0u);
    put_u64(b, pos, 0);
    EXPECT_NE(error_of(b).find("overlap"), std::string::npos) << error_of(b);
  }
  {  // bad alignment value
    GgufWriter w;
    w.set_u32("general.alignment", 3);
    auto b = w.serialize();
    EXPECT_NE(error_of(b).find("power of two"), std::string::npos);
  }
  {  // huge string length
    GgufWriter w;
    w.set_string("k", "v");
    auto b = w.serialize();
    put_u64(b, 24 + 8 + 1 + 4, 1ull << 62);
    EXPECT_NE(error_of(b).find("'k'"), std::string::npos) << error_of(b);
  }
}

TEST(Gguf, Stories260K) {
  RKV_REQUIRE_ASSET("models/stories260K.gguf");
  GgufFile f(test::asset("models/stories260K.gguf"));
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.get("general.architecture").as_string(), "llama");
  EXPECT_EQ(f.get_int("llama.block_count", 0), 5);
  EXPECT_EQ(f.get_int("llama.embedding_length", 0), 64);
  EXPECT_EQ(f.get_int("llama.feed_forward_length", 0), 172);
  EXPECT_EQ(f.get_int("llama.attention.head_count", 0), 8);
  EXPECT_EQ(f.get_int("llama.attention.head_count_kv", 0), 4);
  EXPECT_EQ(f.get_int("llama.context_length", 0), 2048);
  EXPECT_FALSE(f.has("llama.rope.freq_base"));
  EXPECT_EQ(f.get("tokenizer.ggml.tokens").strings().size(), 512u);
  EXPECT_EQ(f.get("tokenizer.ggml.scores").floats().size(), 512u);
  const auto& emb = f.tensor("token_embd.weight");
  EXPECT_EQ(emb.ne, (std::vector<int64_t>{64, 512}));
  EXPECT_EQ(emb.dtype, DType::F32);
  EXPECT_TRUE(f.has_tensor("output.weight"));
  EXPECT_TRUE(f.has_tensor("blk.4.ffn_down.weight"));
  EXPECT_EQ(f.tensor("blk.0.ffn_down.weight").ne, (std::vector<int64_t>{172, 64}));
}

TEST(GgufCorpus, EveryInputParsesOrIsRejectedCleanly) {
  std::filesystem::path dir = std::filesystem::path(RKV_SOURCE_DIR) / "fuzz" / "corpus" / "gguf";
  int files = 0, accepted = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ++files;
    try {
      GgufFile f(bytes.data(), bytes.size(), entry.path().filename().string());
      for (const auto& t : f.tensors()) EXPECT_LE(t.data + t.nbytes, bytes.data() + bytes.size());
      ++accepted;
    } catch (const Error&) {
    }
  }
  EXPECT_GE(files, 4);
  EXPECT_GE(accepted, 2);
}

// Writes the seed corpus (run with RKV_WRITE_GGUF_CORPUS=1 to regenerate).
TEST(GgufCorpus, WriteSeeds) {
  if (!std::getenv("RKV_WRITE_GGUF_CORPUS")) GTEST_SKIP() << "set RKV_WRITE_GGUF_CORPUS=1 to regenerate";
  std::filesystem::path dir = std::filesystem::path(RKV_SOURCE_DIR) / "fuzz" / "corpus" / "gguf";
  auto save = [&](const std::string& name, const std::vector<uint8_t>& b) {
    std::ofstream(dir / name, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<long>(b.size()));
  };
  save("sample", sample_file());
  save("sample_align64", sample_file(64));
  save("one_f32", one_tensor(DType::F32, {4}, 16));
  save("one_q8_0", one_tensor(DType::Q8_0, {32, 2}, 68));
  save("one_q6_k", one_tensor(DType::Q6_K, {256}, 210));
  GgufWriter w;
  w.set_string("tokenizer.ggml.model", "llama");
  save("vocab_only", w.serialize());
  auto cut = sample_file();
  cut.resize(cut.size() / 2);
  save("truncated", cut);
}

}  // namespace
}  // namespace rkv

namespace rkv {
namespace {

TEST(Gguf, StreamedWriteEqualsSerialize) {
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  std::vector<float> a(40, 0.25f);
  w.add_tensor("a", DType::F32, {40}, a.data(), 160);
  w.add_tensor("b", DType::F32, {8, 2}, std::vector<uint8_t>(64, 3));
  test::TempDir dir;
  w.write(dir.path("m.gguf"));
  std::ifstream in(dir.path("m.gguf"), std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes, w.serialize());
  GgufFile f(dir.path("m.gguf"));
  EXPECT_EQ(f.tensor("b").data[63], 3);
}

}  // namespace
}  // namespace rkv

namespace rkv {
namespace {

// A tensor filled at serialization gives the same file as one given up front,
// and a fill that throws leaves no file behind.
TEST(Gguf, DeferredTensorsEqualEagerOnes) {
  std::vector<float> a(37);
  for (size_t i = 0; i < a.size(); ++i) a[i] = 0.5f * static_cast<float>(i) - 3.0f;
  std::vector<uint8_t> q(2 * 144);
  for (size_t i = 0; i < q.size(); ++i) q[i] = static_cast<uint8_t>(i * 7);
  GgufWriter eager, deferred;
  for (GgufWriter* w : {&eager, &deferred}) w->set_string("general.architecture", "llama");
  eager.add_tensor("a", DType::F32, {37}, a.data(), a.size() * 4);
  eager.add_tensor("q", DType::Q4_K, {256, 2}, q.data(), q.size());
  int calls = 0;
  deferred.add_tensor("a", DType::F32, {37}, [&](uint8_t* dst) {
    ++calls;
    std::memcpy(dst, a.data(), a.size() * 4);
  });
  deferred.add_tensor("q", DType::Q4_K, {256, 2}, [&](uint8_t* dst) {
    ++calls;
    for (size_t i = 0; i < q.size(); ++i) EXPECT_EQ(dst[i], 0) << "the fill buffer starts zeroed";
    std::memcpy(dst, q.data(), q.size());
  });
  EXPECT_EQ(deferred.tensor_count(), 2u);
  EXPECT_EQ(deferred.serialize(), eager.serialize());
  EXPECT_EQ(calls, 2);
  test::TempDir dir;
  deferred.write(dir.path("d.gguf"));
  eager.write(dir.path("e.gguf"));
  auto read = [](const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  EXPECT_EQ(read(dir.path("d.gguf")), read(dir.path("e.gguf")));
  GgufFile f(dir.path("d.gguf"));
  EXPECT_EQ(std::memcmp(f.tensor("a").data, a.data(), a.size() * 4), 0);

  GgufWriter failing;
  failing.add_tensor("x", DType::F32, {4}, [](uint8_t*) { fail("fill failed on purpose"); });
  EXPECT_THROW(failing.write(dir.path("x.gguf")), Error);
  EXPECT_THROW(failing.serialize(), Error);
  size_t left = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.dir())) left += e.path().filename().string().rfind("x.gguf", 0) == 0;
  EXPECT_EQ(left, 0u) << "no partial or temporary file";
  GgufWriter twice;
  twice.add_tensor("x", DType::F32, {4}, [](uint8_t*) {});
  EXPECT_THROW(twice.add_tensor("x", DType::F32, {4}, [](uint8_t*) {}), Error);
  EXPECT_THROW(twice.add_tensor("y", DType::Q8_0, {31}, [](uint8_t*) {}), Error) << "not a whole block";
}

}  // namespace
}  // namespace rkv
