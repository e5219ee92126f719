// eval/grade: grading a model's final answer against a gold answer, the way
// the math-evaluation harness behind the R-KV paper does it (the Python
// `evaluation/` scripts of the R-KV repository, the Qwen2.5-Math lineage).
//
// Two rule sets:
//   Rules::kReference  reproduces that harness, quirks included, so that
//                      accuracies line up with published numbers;
//   Rules::kStrict     the same minus the harness's known false verdicts
//                      (docs/eval.md lists every deviation with an example).
//
// The pipeline: extract_answer() finds the answer in the output (the last
// \boxed{...}, else "the answer is ...", else the last number) and normalises
// it; normalize_gold() normalises the dataset's answer; answers_equal()
// compares them in layers: strings, numbers (relative tolerance), tuples /
// intervals / matrices element by element, equations, and a symbolic layer
// (eval/latex_expr.h) that evaluates both sides numerically. grade() does
// all of it. Model output is untrusted input: every function here is total
// (no exceptions, bounded time and recursion) except the parsers of names.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace rkv::eval {

// Which benchmark a problem comes from; it selects how the gold answer is read
// (GSM8K's "#### 42") and is part of the reference harness's rules.
enum class DataName { kMath, kAime24, kGsm8k };
enum class Rules { kReference, kStrict };

// "math" (also "math500", "math-500", "MATH"), "aime24" (also "aime",
// "aime2024"), "gsm8k" (also "gsm8k_test", "gsm"). rkv::Error otherwise.
DataName parse_data_name(std::string_view name);
const char* data_name_string(DataName data);
// The data name a file name implies ("…/gsm8k_test.jsonl" -> kGsm8k), if any.
std::optional<DataName> data_name_from_path(std::string_view path);
// "reference" or "strict"; rkv::Error otherwise.
Rules parse_rules(std::string_view name);
const char* rules_string(Rules rules);

// The reference's strip_string(): units, \text{}, \left/\right, \dfrac,
// \frac12, degrees, percent, dollars, number words, "x=", spaces, ...
std::string normalize_answer(std::string_view answer, Rules rules);
// The normalised answer a model output gives (the harness's "pred").
std::string extract_answer(std::string_view output, DataName data, Rules rules);
// The normalised gold answer from a dataset's answer text: GSM8K's text after
// "####", the last \boxed{} of a solution, or the answer itself.
std::string normalize_gold(std::string_view gold, DataName data, Rules rules);
// The harness's math_equal() on two normalised answers.
bool answers_equal(std::string_view pred, std::string_view gold, Rules rules);

struct GradeResult {
  std::string extracted;  // the normalised predicted answer
  bool correct = false;
};
// Extracts, normalises and compares: what `rkv grade` prints for one line.
GradeResult grade(std::string_view output, std::string_view gold, DataName data, Rules rules);

// The gold answer text of one dataset record (one JSONL line), un-normalised:
// record[answer_key] when answer_key is given; otherwise "answer" (GSM8K: the
// text after "####"), else the last \boxed{} of "solution". Numbers are
// written as Python's str() would. rkv::Error naming the keys when absent.
std::string gold_from_record(const nlohmann::json& record, DataName data, std::string_view answer_key = {});

}  // namespace rkv::eval
