// The text a sequence streams (on_token pieces) adds up to its final text,
// even when a stop string spans tokens: a tail that may still become a stop
// string is held back, never shown and then taken away.
#include "common/testing.h"
#include "rkv/engine/loaded_model.h"

namespace rkv {
namespace {

TEST(StreamedText, PiecesAddUpToTheFinalTextAcrossAStopStringSpanningTokens) {
  RKV_REQUIRE_ASSET("models/stories260K.gguf");
  auto lm = LoadedModel::load(test::asset("models/stories260K.gguf"), 1);
  RequestSpec spec;
  spec.text = "Once upon a time";
  spec.max_new_tokens = 40;
  const GenerationResult free_run = generate_one(lm->lm(), lm->engine_options(KvPolicy{}), lm->build(spec), lm->pool());
  // A stop string that starts inside one token and ends in a later one.
  const size_t at = free_run.text.find(" the park");
  ASSERT_NE(at, std::string::npos) << free_run.text;
  spec.stop = {"zzz", "e park"};
  std::string streamed;
  EngineCallbacks callbacks;
  callbacks.on_token = [&](int, int32_t, const std::string& text) { streamed += text; };
  const GenerationResult r = generate_one(lm->lm(), lm->engine_options(KvPolicy{}), lm->build(spec), lm->pool(), callbacks);
  EXPECT_EQ(r.stop, StopReason::StopString);
  EXPECT_EQ(r.text, free_run.text.substr(0, at + 3));  // up to " th"
  EXPECT_EQ(streamed, r.text);
}

}  // namespace
}  // namespace rkv
