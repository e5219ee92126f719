// The official `openai` npm client (tests/server/client, pinned in its
// package-lock.json, installed by scripts/install-node-deps.sh) against two
// servers started here: the scripted model and stories260K.
#include <cstdio>
#include <filesystem>

#include "server/server_fixture.h"

namespace rkv::test {
namespace {

TEST(OpenAiClient, DrivesTheServerEndToEnd) {
  RKV_REQUIRE_ASSET("models/stories260K.gguf");
  const std::filesystem::path client = std::filesystem::path(RKV_SOURCE_DIR) / "tests" / "server" / "client";
  if (!std::filesystem::exists(client / "node_modules" / "openai" / "package.json") ||
      std::system("command -v node > /dev/null 2>&1") != 0) {
    if (running_in_ci()) FAIL() << "node or the openai package is missing (scripts/install-node-deps.sh)";
    GTEST_SKIP() << "node or the openai package is missing (scripts/install-node-deps.sh)";
  }
  ServerSetup scripted_setup;
  scripted_setup.options.api_key = "test-key";
  TestServer scripted(scripted_setup);
  ServerSetup stories_setup;
  stories_setup.model_path = asset("models/stories260K.gguf");
  stories_setup.options.api_key = "test-key";
  TestServer stories(stories_setup);
  const std::string cmd = "timeout 120 node " + (client / "openai_client.mjs").string() + " " + scripted.url() + " " +
                          stories.url() + " test-key 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
  const int status = pclose(pipe);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("all passed"), std::string::npos) << out;
  EXPECT_EQ(out.find("not ok"), std::string::npos) << out;
}

}  // namespace
}  // namespace rkv::test
