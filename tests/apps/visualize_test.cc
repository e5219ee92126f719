// rkv visualize: the page opens in headless Chromium and shows every token
// with the kept / evicted marks the trace says.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "common/testing.h"

namespace rkv {
namespace {

using nlohmann::json;

int count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

std::string chromium_dom(const test::TempDir& dir, const std::string& page) {
  std::string out = dir.path("dom.html");
  std::string cmd = "timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
                    "--disable-background-networking --disable-component-update --disable-sync --user-data-dir=" +
                    dir.path("profile") + " --dump-dom file://" + page + " > " + out + " 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) return "";
  std::ifstream in(out);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(VisualizeCli, PageRendersTokensAndKeptMarksInChromium) {
  if (std::system("command -v chromium > /dev/null 2>&1") != 0) {
    if (test::running_in_ci()) FAIL() << "chromium is not installed (scripts/install-deps.sh installs it)";
    GTEST_SKIP() << "chromium not installed";
  }
  test::TempDir dir;
  std::vector<std::string> tokens = {"Once", " upon", " a", " time", "</script>", " <b>x</b>", "<!--<script>", " &amp;\u2028"};
  for (int i = 0; i < 32; ++i) tokens.push_back(" w" + std::to_string(i));
  std::ofstream(dir.path("tokens.json")) << json(tokens).dump();
  // Two events, two layers, two heads; event 1 layer 1 head 1 keeps positions p % 4 != 2 of 30.
  std::ofstream trace(dir.path("trace.jsonl"));
  int expected_kept = 0;
  for (int event = 0; event < 2; ++event)
    for (int layer = 0; layer < 2; ++layer) {
      json kept = json::array();
      for (int h = 0; h < 2; ++h) {
        json list = json::array();
        for (int p = 0; p < 30; ++p)
          if ((p + h + layer) % 4 != 0) list.push_back(p);
        kept.push_back(list);
      }
      if (event == 1 && layer == 1) expected_kept = static_cast<int>(kept[1].size());
      trace << json{{"event", event}, {"step", 16 * (event + 1)}, {"length", 30}, {"layer", layer}, {"kv_in", 30},
                    {"kept_positions", kept}}.dump()
            << "\n";
    }
  trace.close();
  auto r = test::run_rkv({"visualize", "--trace", dir.path("trace.jsonl"), "--tokens", dir.path("tokens.json"), "-o",
                          dir.path("page.html"), "--event", "1", "--layer", "1", "--head", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string dom = chromium_dom(dir, dir.path("page.html"));
  ASSERT_FALSE(dom.empty()) << "chromium did not render the page";
  EXPECT_EQ(count(dom, "class=\"tok kept\""), expected_kept);
  EXPECT_EQ(count(dom, "class=\"tok evicted\""), 30 - expected_kept);
  EXPECT_EQ(count(dom, "class=\"tok future\""), 10);  // tokens after the trace's length
  EXPECT_NE(dom.find("kept " + std::to_string(expected_kept) + " of 30 tokens"), std::string::npos);
  EXPECT_NE(dom.find("&lt;/script&gt;"), std::string::npos) << "token text must be escaped, not markup";
}

// The embedded JSON holds no '<', '>' or '&' (so no token can end the
// script element or open a comment that hides the rest of the page) and no
// raw U+2028 / U+2029, and still decodes to the tokens.
TEST(VisualizeCli, EmbeddedDataCannotBreakOutOfItsScript) {
  test::TempDir dir;
  const std::vector<std::string> tokens = {"<!--<script>", "</script>", "a&b>c", "line\u2028sep\u2029", "</SCRIPT ", "]]>"};
  std::ofstream(dir.path("tokens.json")) << json(tokens).dump();
  std::ofstream(dir.path("trace.jsonl")) << R"({"event": 0, "step": 4, "length": 6, "layer": 0, "kept_positions": [[0, 2]]})"
                                         << "\n";
  auto r = test::run_rkv({"visualize", "--trace", dir.path("trace.jsonl"), "--tokens", dir.path("tokens.json"), "-o",
                          dir.path("page.html")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(dir.path("page.html"));
  const std::string page((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string open = "<script type=\"application/json\" id=\"data\">";
  const size_t begin = page.find(open), end = page.find("</script>", begin);
  ASSERT_NE(begin, std::string::npos);
  ASSERT_NE(end, std::string::npos);
  const std::string payload = page.substr(begin + open.size(), end - begin - open.size());
  for (const char* bad : {"<", ">", "&", "\u2028", "\u2029"}) EXPECT_EQ(payload.find(bad), std::string::npos) << bad;
  EXPECT_EQ(json::parse(payload)["tokens"].get<std::vector<std::string>>(), tokens);
}

TEST(VisualizeCli, BadTraceIsAClearError) {
  test::TempDir dir;
  std::ofstream(dir.path("tokens.json")) << "[\"a\"]";
  std::ofstream(dir.path("bad.jsonl")) << "{\"event\": 0, \"step\": 1}\n";
  auto r = test::run_rkv({"visualize", "--trace", dir.path("bad.jsonl"), "--tokens", dir.path("tokens.json"), "-o",
                          dir.path("p.html")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("missing 'layer'"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.path("p.html")));
  std::ofstream(dir.path("empty.jsonl")) << "\n";
  r = test::run_rkv({"visualize", "--trace", dir.path("empty.jsonl"), "--tokens", dir.path("tokens.json"), "-o", dir.path("p.html")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no compression events"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace rkv
