// Replays the request-parser fuzzer's seeds (fuzz/corpus/openai_request)
// through the fuzzer's own entry point: each parses or is refused with an
// ApiError; nothing else escapes. The well-formed seeds must be accepted
// and the malformed ones refused with a 400.
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "../../fuzz/fuzz_openai_request.cc"
#include "common/testing.h"

namespace rkv::server {
namespace {

TEST(OpenAiRequestCorpus, EverySeedParsesOrIsRefusedCleanly) {
  const std::filesystem::path dir = std::filesystem::path(RKV_SOURCE_DIR) / "fuzz" / "corpus" / "openai_request";
  ASSERT_TRUE(std::filesystem::exists(dir));
  const std::set<std::string> valid = {"chat_full.json",          "chat_parts_flat_policy.json", "chat_nested_policy.json",
                                       "completion_text.json",    "tokenize_messages.json",      "tokenize_text.json",
                                       "detokenize.json",         "think_tags.json"};
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string bytes = ss.str(), name = entry.path().filename().string();
    ++files;
    ASSERT_FALSE(bytes.empty()) << name;
    EXPECT_NO_THROW(LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size())) << name;
    const std::string body = bytes.substr(1);
    bool accepted = true;
    try {
      switch (bytes[0]) {
        case 'c': parse_completion_request(body, Endpoint::ChatCompletions, RequestSpec{}, KvPolicy{}); break;
        case 'p': parse_completion_request(body, Endpoint::Completions, RequestSpec{}, KvPolicy{}); break;
        case 't': parse_tokenize_request(body); break;
        default: parse_detokenize_request(body); break;
      }
    } catch (const ApiError& e) {
      accepted = false;
      EXPECT_EQ(e.status(), 400) << name;
      EXPECT_EQ(valid.count(name), 0u) << name << ": " << e.what();
    }
    if (accepted) {
      EXPECT_EQ(valid.count(name), 1u) << name << " was accepted";
    }
  }
  EXPECT_GE(files, 12);
}

}  // namespace
}  // namespace rkv::server
