// rkv inspect: the facts of the golden models' config.json and stories260K.
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/testing.h"

namespace rkv {
namespace {

TEST(InspectCli, GoldenQwen3) {
  RKV_REQUIRE_ASSET("golden/hf/pub_qwen3/config.json");
  auto r = test::run_rkv({"inspect", "-m", test::asset("golden/hf/pub_qwen3"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["architecture"], "qwen3");
  EXPECT_EQ(j["head_dim"], 32);
  EXPECT_EQ(j["qk_norm"], true);
  EXPECT_EQ(j["tied_embeddings"], true);
  // 2 (K, V) x 3 layers x 2 kv heads x 32 x 4 bytes
  EXPECT_EQ(j["kv_bytes_per_token_f32"], 2 * 3 * 2 * 32 * 4);
  auto text = test::run_rkv({"inspect", "-m", test::asset("golden/hf/pub_qwen3")});
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("qwen3"), std::string::npos);
}

TEST(InspectCli, Stories260KAndBadFiles) {
  RKV_REQUIRE_ASSET("models/stories260K.gguf");
  auto r = test::run_rkv({"inspect", "-m", test::asset("models/stories260K.gguf"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["architecture"], "llama");
  EXPECT_EQ(j["layers"], 5);
  EXPECT_EQ(j["context_length"], 2048);
  test::TempDir dir;
  { std::ofstream(dir.path("bad.gguf")) << "GGUF garbage"; }
  auto bad = test::run_rkv({"inspect", "-m", dir.path("bad.gguf")});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("bad.gguf"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace rkv
