// Replays the LaTeX fuzzer's seed corpus (fuzz/corpus/latex_expr) through
// what the fuzzer runs: both parser dialects, evaluation, and grading with
// both rule sets. Every seed must finish without crashing or throwing; the
// well-formed seeds must parse.
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/testing.h"
#include "rkv/eval/grade.h"
#include "rkv/eval/latex_expr.h"

namespace rkv::eval {
namespace {

TEST(LatexExprCorpus, EverySeedRunsCleanly) {
  std::filesystem::path dir = std::filesystem::path(RKV_SOURCE_DIR) / "fuzz" / "corpus" / "latex_expr";
  ASSERT_TRUE(std::filesystem::exists(dir));
  const std::set<std::string> well_formed = {"fraction_root", "log_digits", "equation", "functions"};
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str(), name = entry.path().filename().string();
    ++files;
    for (auto dialect : {LatexDialect::kSympy, LatexDialect::kStrict}) {
      auto e = LatexExpr::parse(text, dialect);
      if (well_formed.count(name)) {
        EXPECT_TRUE(e.has_value()) << name;
      }
      if (e) {
        EXPECT_FALSE(e->to_string().empty()) << name;
      }
    }
    for (auto rules : {Rules::kReference, Rules::kStrict})
      EXPECT_NO_THROW(grade(text, text, DataName::kMath, rules)) << name;
  }
  EXPECT_GE(files, 10);
}

}  // namespace
}  // namespace rkv::eval
