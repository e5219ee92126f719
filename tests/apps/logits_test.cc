// rkv logits: the written [n, vocab] tensor equals Transformers' prompt logits.
#include <cmath>
#include <cstdlib>
#include <vector>

#include "common/testing.h"
#include "rkv/formats/safetensors.h"

namespace rkv {
namespace {

TEST(LogitsCli, MatchesGoldenPromptLogits) {
  RKV_REQUIRE_ASSET("golden/hf/pub_llama_llama3rope/golden.safetensors");
  SafetensorsFile g(test::asset("golden/hf/pub_llama_llama3rope/golden.safetensors"));
  TensorView p = g.get("prompt_ids");
  std::string ids;
  for (int64_t i = 0; i < p.numel(); ++i) ids += (i ? "," : "") + std::to_string(static_cast<const int64_t*>(p.data)[i]);
  test::TempDir dir;
  auto r = test::run_rkv({"logits", "-m", test::asset("golden/hf/pub_llama_llama3rope"), "--ids", ids, "-o",
                          dir.path("l.safetensors"), "--batch", "5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  SafetensorsFile out(dir.path("l.safetensors"));
  TensorView l = out.get("logits"), ref = g.get("logits");
  ASSERT_EQ(l.shape, ref.shape);
  const float* a = l.as<const float>(DType::F32);
  const float* b = ref.as<const float>(DType::F32);
  double worst = 0;
  for (int64_t i = 0; i < l.numel(); ++i) worst = std::max(worst, static_cast<double>(std::fabs(a[i] - b[i])));
  EXPECT_LE(worst, 1e-4);
  auto bad = test::run_rkv({"logits", "-m", test::asset("golden/hf/pub_llama_llama3rope"), "--ids", "1,x", "-o",
                            dir.path("x.safetensors")});
  EXPECT_EQ(bad.exit_code, 2);
}

// Weights packed at load for this machine's kernels (RKV_MMAP=0: AVX-512
// VNNI register kernels, AMX tiles for a 40-token prefill) are as close to
// the exact f32 logits (RKV_ISA=scalar) as the weights used in place from
// the file (RKV_MMAP=1: the GGUF-row kernels), prefilled at once and token
// by token. Both round activations to int8 for the block types, and a
// rounding that flips in one layer moves the next layer's inputs, so the
// two differ from each other by about as much as from the exact logits;
// a wrong kernel is far off. (On a CPU without packed layouts both runs
// take the same path.)
TEST(LogitsCli, PackedWeightsAreAsAccurateAsInPlace) {
  test::TempDir dir;
  std::string ids;
  for (int i = 0; i < 40; ++i) ids += (i ? "," : "") + std::to_string((i * 37 + 11) % 400);
  auto logits = [&](const std::string& model, const char* env, const char* value, const char* batch) {
    ::setenv(env, value, 1);
    const std::string out = dir.path("l.safetensors");
    auto l = test::run_rkv({"logits", "-m", model, "--ids", ids, "-o", out, "--batch", batch});
    ::unsetenv(env);
    EXPECT_EQ(l.exit_code, 0) << l.err;
    SafetensorsFile f(out);
    TensorView v = f.get("logits");
    const float* p = v.as<const float>(DType::F32);
    return std::vector<float>(p, p + v.numel());
  };
  auto max_diff = [](const std::vector<float>& a, const std::vector<float>& b) {
    double m = 0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, static_cast<double>(std::fabs(a[i] - b[i])));
    return m;
  };
  for (const char* type : {"q8_0", "q4_0", "q4_k", "q5_k", "q6_k", "bf16"}) {
    const std::string model = dir.path(std::string(type) + ".gguf");
    auto r = test::run_rkv({"make-model", "--arch", "qwen2", "--hidden", "256", "--layers", "2", "--heads", "4",
                            "--kv-heads", "2", "--intermediate", "512", "--vocab", "400", "--type", type, "-o", model});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto exact = logits(model, "RKV_ISA", "scalar", "512");
    double scale = 0;
    for (float v : exact) scale = std::max(scale, static_cast<double>(std::fabs(v)));
    for (const char* batch : {"512", "1"}) {
      const auto packed = logits(model, "RKV_MMAP", "0", batch), in_place = logits(model, "RKV_MMAP", "1", batch);
      ASSERT_EQ(packed.size(), exact.size());
      EXPECT_LE(max_diff(packed, exact), 1.25 * max_diff(in_place, exact) + 1e-3 * scale) << type << " batch " << batch;
    }
  }
}

}  // namespace
}  // namespace rkv
