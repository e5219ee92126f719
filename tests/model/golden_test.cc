// The forward pass against Hugging Face Transformers (../shared/golden/hf):
// full-prompt logits and hidden states, 48 greedy steps through the KV cache
// with their logits, one uncached forward over prompt + continuation, for
// the f32 weights and the bf16 copies.
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "common/testing.h"
#include "rkv/core/buffer.h"
#include "rkv/formats/safetensors.h"
#include "rkv/model/model.h"

namespace rkv {
namespace {

std::vector<int32_t> ids_of(const TensorView& v) {
  std::vector<int32_t> out;
  const int64_t* p = v.as<const int64_t>(DType::I64);
  for (int64_t i = 0; i < v.numel(); ++i) out.push_back(static_cast<int32_t>(p[i]));
  return out;
}

double max_abs_diff(const float* a, const float* b, int64_t n) {
  double m = 0;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, static_cast<double>(std::fabs(a[i] - b[i])));
  return m;
}

int64_t argmax(const float* x, int64_t n) { return std::max_element(x, x + n) - x; }

struct Case {
  std::string name;
  bool bf16;
};

class HfGolden : public ::testing::TestWithParam<Case> {};

TEST_P(HfGolden, MatchesTransformers) {
  const Case& cs = GetParam();
  const std::string dir = "golden/hf/" + cs.name;
  RKV_REQUIRE_ASSET(dir + "/golden.safetensors");
  SafetensorsFile golden(test::asset(dir + "/golden.safetensors"));
  std::string model_dir = test::asset(dir) + (cs.bf16 ? "/bf16" : "");
  auto model = Model::load(model_dir);
  const auto& c = model->config();
  const int64_t V = c.vocab_size;
  const std::string sfx = cs.bf16 ? "_bf16w" : "";
  // f32: 1e-4, or 2.5x the disagreement Transformers itself shows between its
  // uncached and cached paths on this model when that is larger (golden.json;
  // qwen2's logits are large, its own paths differ by 9e-5). Two correct f32
  // orders of summation differ by that much: rkv's AVX2 kernels (8-lane
  // sums) land at 1.9x on qwen2, its AVX-512 ones at 1.2x.
  auto gj = nlohmann::json::parse(read_text_file(test::asset(dir + "/golden.json")));
  const double hf_noise = gj["checks"]["seq_forward_vs_cached_steps_max_abs_logit_diff"].get<double>();
  const double tol = cs.bf16 ? 2e-2 : std::max(1e-4, 2.5 * hf_noise);
  ThreadPool pool(2);

  std::vector<int32_t> prompt = ids_of(golden.get("prompt_ids"));
  const int64_t P = static_cast<int64_t>(prompt.size());
  std::vector<int32_t> pos(static_cast<size_t>(P));
  for (int64_t i = 0; i < P; ++i) pos[i] = static_cast<int32_t>(i);

  // Full prompt forward (prefill), with hidden states.
  {
    auto caches = model->make_caches(P);
    std::vector<float> logits(static_cast<size_t>(P * V));
    std::vector<std::vector<float>> hidden;
    ForwardHooks hooks;
    hooks.on_hidden = [&](int, const float* h, int64_t n) { hidden.emplace_back(h, h + n * c.hidden); };
    model->forward(prompt.data(), pos.data(), P, caches, logits.data(), true, pool, &hooks);
    TensorView ref = golden.get("logits" + sfx);
    expect_shape(ref, {P, V}, "logits");
    double d = max_abs_diff(logits.data(), ref.as<const float>(DType::F32), P * V);
    EXPECT_LE(d, tol) << cs.name << " prompt logits";
    std::printf("[ %s%s ] prompt logits max abs diff %.3g\n", cs.name.c_str(), sfx.c_str(), d);
    if (!cs.bf16) {
      TensorView hs = golden.get("hidden_states");
      ASSERT_EQ(static_cast<int64_t>(hidden.size()), c.n_layers + 1);
      for (int64_t l = 0; l <= c.n_layers; ++l) {
        double dh = max_abs_diff(hidden[l].data(), hs.as<const float>(DType::F32) + l * P * c.hidden, P * c.hidden);
        EXPECT_LE(dh, 1e-4) << "hidden state " << l;
      }
    }
  }
  // Greedy decode through the cache: prefill then one token per step.
  {
    std::vector<int32_t> expect = ids_of(golden.get("greedy_ids" + sfx));
    TensorView step_ref = golden.get("step_logits" + sfx);
    const int64_t N = static_cast<int64_t>(expect.size());
    auto caches = model->make_caches(8, DType::F32, 16);  // grows
    std::vector<float> logits(static_cast<size_t>(V));
    model->forward(prompt.data(), pos.data(), P, caches, logits.data(), false, pool);
    double worst = 0;
    std::vector<int32_t> got;
    for (int64_t s = 0; s < N; ++s) {
      worst = std::max(worst, max_abs_diff(logits.data(), step_ref.as<const float>(DType::F32) + s * V, V));
      int32_t next = static_cast<int32_t>(argmax(logits.data(), V));
      got.push_back(next);
      int32_t p = static_cast<int32_t>(P + s);
      model->forward(&expect[static_cast<size_t>(s)], &p, 1, caches, logits.data(), false, pool);
    }
    EXPECT_EQ(got, expect) << cs.name << " greedy ids";
    EXPECT_LE(worst, tol) << cs.name << " step logits";
    std::printf("[ %s%s ] step logits max abs diff %.3g\n", cs.name.c_str(), sfx.c_str(), worst);
    if (!cs.bf16) {
      // One uncached forward over prompt + continuation.
      std::vector<int32_t> all = prompt;
      all.insert(all.end(), expect.begin(), expect.end());
      const int64_t T = static_cast<int64_t>(all.size());
      std::vector<int32_t> pos_all(static_cast<size_t>(T));
      for (int64_t i = 0; i < T; ++i) pos_all[i] = static_cast<int32_t>(i);
      auto c2 = model->make_caches(T);
      std::vector<float> seq(static_cast<size_t>(T * V));
      model->forward(all.data(), pos_all.data(), T, c2, seq.data(), true, pool);
      TensorView sref = golden.get("seq_logits");
      double ds = max_abs_diff(seq.data(), sref.as<const float>(DType::F32), T * V);
      EXPECT_LE(ds, tol) << "seq logits";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(All, HfGolden,
                         ::testing::Values(Case{"pub_llama_llama3rope", false}, Case{"pub_qwen2", false},
                                           Case{"pub_qwen3", false}, Case{"pub_mistral", false},
                                           Case{"pub_llama_llama3rope", true}, Case{"pub_qwen2", true},
                                           Case{"pub_qwen3", true}, Case{"pub_mistral", true}),
                         [](const auto& info) { return info.param.name + (info.param.bf16 ? "_bf16" : ""); });

}  // namespace
}  // namespace rkv
