// The authors' monkeypatched Transformers generating with compression on the
// tiny models of ../shared/golden/hf (golden/decode): our greedy tokens must be
// identical, and so must every compression's step, cache length and the
// kept positions per layer and KV head, in the reference's order.
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/testing.h"
#include "rkv/engine/engine.h"
#include "rkv/engine/model_lm.h"
#include "rkv/formats/safetensors.h"

namespace rkv {
namespace {

using nlohmann::json;

std::vector<int64_t> ints(const SafetensorsFile& f, const std::string& name) {
  TensorView v = f.get(name);
  std::vector<int64_t> out(static_cast<size_t>(v.numel()));
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<const int64_t*>(v.data)[i];
  return out;
}

TEST(GoldenDecode, CompressedGreedyGenerationMatchesTheReference) {
  RKV_REQUIRE_ASSET("golden/decode/manifest.json");
  std::ifstream in(test::asset("golden/decode/manifest.json"));
  const json manifest = json::parse(in);
  ASSERT_GE(manifest["cases"].size(), 3u);
  ThreadPool pool(2);
  for (const auto& c : manifest["cases"]) {
    const std::string name = c["case"];
    SCOPED_TRACE(name);
    json config = c["compression_config"];
    config.update(c["model_config"]);
    KvPolicy policy = parse_kv_policy(config);
    if (policy.method.method == Method::RKV) policy.method.first_tokens = 0;  // the reference R-KV ignores sinks
    auto model = Model::load(test::asset("golden/hf/" + c["model"].get<std::string>()));
    SafetensorsFile golden(test::asset("golden/decode/" + name + "/golden.safetensors"));
    std::vector<int64_t> prompt = ints(golden, "prompt_ids"), expected = ints(golden, "greedy_ids");

    ModelLM lm(*model, pool);
    EngineOptions options;
    options.policy = policy;
    std::ostringstream trace;
    options.trace = &trace;
    GenerationRequest request;
    request.prompt.assign(prompt.begin(), prompt.end());
    request.stop.max_new_tokens = static_cast<int64_t>(expected.size());
    request.stop.ignore_eos = true;
    GenerationResult r = generate_one(lm, options, request, pool);
    ASSERT_EQ(std::vector<int64_t>(r.ids.begin(), r.ids.end()), expected);

    // Compression events: step, cache length in, kept positions [E][layers][Hkv][budget].
    std::vector<int64_t> steps = ints(golden, "event_steps"), kv_in = ints(golden, "event_kv_in");
    std::vector<int64_t> kept = ints(golden, "kept_positions");
    TensorView kept_view = golden.get("kept_positions");
    const int64_t layers = kept_view.dim(1), heads = kept_view.dim(2), budget = kept_view.dim(3);
    std::istringstream lines(trace.str());
    std::string line;
    int64_t records = 0;
    while (std::getline(lines, line)) {
      json e = json::parse(line);
      const int64_t event = e["event"], layer = e["layer"];
      ASSERT_LT(event, static_cast<int64_t>(steps.size())) << "more compressions than the reference";
      EXPECT_EQ(e["step"].get<int64_t>(), steps[event]) << "event " << event;
      EXPECT_EQ(e["kv_in"].get<int64_t>(), kv_in[event]) << "event " << event;
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t i = 0; i < budget; ++i)
          ASSERT_EQ(e["kept_positions"][h][i].get<int64_t>(), kept[((event * layers + layer) * heads + h) * budget + i])
              << "event " << event << " layer " << layer << " head " << h << " index " << i;
      ++records;
    }
    EXPECT_EQ(records, static_cast<int64_t>(steps.size()) * layers);
  }
}

}  // namespace
}  // namespace rkv
