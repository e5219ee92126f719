// rkv logits: the written [n, vocab] tensor equals Transformers' prompt logits.
#include <cmath>

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

}  // namespace
}  // namespace rkv
