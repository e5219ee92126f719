// libFuzzer target: the grader's LaTeX expression parser and evaluator, and
// the whole grading path (model output is untrusted). The input is split at
// the first newline into an output and a gold answer; nothing may crash,
// hang or throw. Seeds: fuzz/corpus/latex_expr (replayed by
// tests/eval/fuzz_corpus_test.cc).
#include <cstddef>
#include <cstdint>
#include <string>

#include "rkv/eval/grade.h"
#include "rkv/eval/latex_expr.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  for (auto dialect : {rkv::eval::LatexDialect::kSympy, rkv::eval::LatexDialect::kStrict}) {
    if (auto e = rkv::eval::LatexExpr::parse(text, dialect)) {
      (void)e->evaluate({{"x", {0.5, 0.25}}});
      (void)e->to_string();
    }
  }
  size_t split = text.find('\n');
  std::string output = text.substr(0, split), gold = split == std::string::npos ? text : text.substr(split + 1);
  for (auto rules : {rkv::eval::Rules::kReference, rkv::eval::Rules::kStrict})
    (void)rkv::eval::grade(output, gold, rkv::eval::DataName::kMath, rules);
  return 0;
}
