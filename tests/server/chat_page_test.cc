// The chat page in headless Chromium, against a server started here with
// the scripted model: it sends the prompt from its URL, streams the answer,
// puts the thinking in a collapsed section, shows the response's figures,
// and marks which generated tokens the compressed cache keeps.
#include <cstdlib>
#include <fstream>
#include <regex>

#include "server/server_fixture.h"

namespace rkv::test {
namespace {

int count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

std::string chromium_dom(const TempDir& dir, const std::string& url) {
  const std::string out = dir.path("dom.html");
  const std::string cmd =
      "timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
      "--disable-background-networking --disable-component-update --disable-sync --user-data-dir=" +
      dir.path("profile") + " --virtual-time-budget=20000 --dump-dom '" + url + "' > " + out + " 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) return "";
  std::ifstream in(out);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The text inside the first element whose opening tag contains `marker`.
std::string inner(const std::string& dom, const std::string& marker) {
  const size_t at = dom.find(marker);
  if (at == std::string::npos) return "";
  const size_t open_end = dom.find('>', at);
  const size_t close = dom.find("</", open_end);
  return dom.substr(open_end + 1, close - open_end - 1);
}

TEST(ChatPage, StreamsAnAnswerWithItsThinkingFiguresAndTheKeptTokens) {
  if (std::system("command -v chromium > /dev/null 2>&1") != 0) {
    if (running_in_ci()) FAIL() << "chromium is not installed (scripts/install-deps.sh installs it)";
    GTEST_SKIP() << "chromium not installed";
  }
  TestServer s;
  TempDir dir;
  // R-KV with a budget of 16 and a buffer of 8: the prompt (50 tokens) is
  // compressed at once, and again while the 10 answer tokens stream.
  const std::string dom =
      chromium_dom(dir, s.url() + "/?prompt=What%20is%202%2B2%3F&autosend=1&method=rkv&budget=16&divide_length=8");
  ASSERT_FALSE(dom.empty()) << "chromium did not render the page";
  EXPECT_NE(dom.find("data-state=\"idle\""), std::string::npos) << "the request did not finish: " << dom;
  EXPECT_EQ(inner(dom, "class=\"msg user\""), "What is 2+2?");
  EXPECT_EQ(inner(dom, "class=\"content\""), kScriptedAnswer);
  EXPECT_EQ(inner(dom, "class=\"reasoning\""), kScriptedReasoning);
  // the thinking is a <details> that starts closed
  EXPECT_NE(dom.find("<details class=\"thinking\">"), std::string::npos) << dom;
  EXPECT_EQ(dom.find("<details class=\"thinking\" open"), std::string::npos);
  const std::string figures = inner(dom, "class=\"figures\"");
  EXPECT_NE(figures.find("10 tokens (5 thinking)"), std::string::npos) << figures;
  EXPECT_NE(figures.find("tok/s"), std::string::npos) << figures;
  EXPECT_NE(figures.find("with FullKV"), std::string::npos) << figures;
  EXPECT_NE(figures.find("rkv budget 16"), std::string::npos) << figures;
  // one span per generated token, each marked by the last compression
  const int kept = count(dom, "class=\"tok kept\""), partial = count(dom, "class=\"tok partial\""),
            evicted = count(dom, "class=\"tok evicted\""), fresh = count(dom, "class=\"tok new\"");
  EXPECT_EQ(kept + partial + evicted + fresh, kScriptedTokens) << dom;
  EXPECT_GT(kept + partial + evicted, 0) << "no token was covered by a compression";
  EXPECT_NE(inner(dom, "id=\"kv-summary\"").find("the cache holds"), std::string::npos);
  // the server answered the page's request with the kv_view stream
  EXPECT_GE(s.metric("rkv_compressions_total"), 2);
}

}  // namespace
}  // namespace rkv::test
