// grade(): the reference harness's path from a model output and a gold answer
// to a verdict (eval_math.py -> run_execute -> extract_answer/strip_string ->
// math_equal), and the names and dataset helpers around it.
#include "rkv/eval/grade.h"

#include <filesystem>

#include "eval/equal.h"
#include "eval/extract.h"
#include "eval/text.h"
#include "rkv/core/error.h"

namespace rkv::eval {
namespace {

bool is_strict(Rules rules) { return rules == Rules::kStrict; }

bool is_choice_letter(std::string_view s) { return s.size() == 1 && s[0] >= 'A' && s[0] <= 'E'; }

// eval_math.py's is_multi_choice(): every character is one of A-E (so the
// empty string is one too).
bool is_multi_choice(std::string_view s) {
  for (char c : s)
    if (c < 'A' || c > 'E') return false;
  return true;
}

std::string choice_letters(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c >= 'A' && c <= 'E') out += c;
  return out;
}

// The reference passes output[0] (one character) to choice_answer_clean();
// strict rules pass the whole output.
std::string multi_choice_answer(std::string_view output, bool strict) {
  if (strict || output.empty()) return detail::clean_choice_answer(output);
  return detail::clean_choice_answer(output.substr(0, text::code_point_size(output, 0)));
}

std::string gsm8k_answer_part(std::string_view gold) {
  std::vector<std::string_view> parts = text::split(gold, "####");
  return std::string(parts.size() > 1 ? parts[1] : parts[0]);
}

std::string python_str(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return v.dump();
  if (v.is_number_float()) return text::float_repr(v.get<double>());
  if (v.is_boolean()) return v.get<bool>() ? "True" : "False";
  return v.dump();
}

std::string last_boxed(std::string_view solution) {
  return detail::extract_raw_answer(solution, /*strict=*/false);
}

}  // namespace

DataName parse_data_name(std::string_view name) {
  std::string n = text::lower(name);
  for (const char* m : {"math", "math500", "math-500", "math_500"})
    if (n == m) return DataName::kMath;
  for (const char* a : {"aime24", "aime", "aime2024", "aime_2024", "aime-2024"})
    if (n == a) return DataName::kAime24;
  for (const char* g : {"gsm8k", "gsm8k_test", "gsm"})
    if (n == g) return DataName::kGsm8k;
  fail("unknown data name '", name, "' (expected math, aime24 or gsm8k)");
}

const char* data_name_string(DataName data) {
  switch (data) {
    case DataName::kMath: return "math";
    case DataName::kAime24: return "aime24";
    case DataName::kGsm8k: return "gsm8k";
  }
  return "math";
}

std::optional<DataName> data_name_from_path(std::string_view path) {
  std::string stem = text::lower(std::filesystem::path(path).stem().string());
  if (text::contains(stem, "gsm8k") || text::contains(stem, "gsm")) return DataName::kGsm8k;
  if (text::contains(stem, "aime")) return DataName::kAime24;
  if (text::contains(stem, "math")) return DataName::kMath;
  return std::nullopt;
}

Rules parse_rules(std::string_view name) {
  if (name == "reference") return Rules::kReference;
  if (name == "strict") return Rules::kStrict;
  fail("unknown rules '", name, "' (expected reference or strict)");
}

const char* rules_string(Rules rules) { return is_strict(rules) ? "strict" : "reference"; }

std::string extract_answer(std::string_view output, DataName, Rules rules) {
  std::string cut = detail::cut_at_stop_words(output);
  if (cut.empty() || cut == "error") return {};  // run_execute(): no prediction
  std::string raw = detail::extract_raw_answer(cut, is_strict(rules));
  // extract_answer() normalises, and run_execute() normalises again.
  return normalize_answer(normalize_answer(raw, rules), rules);
}

std::string normalize_gold(std::string_view gold, DataName data, Rules rules) {
  if (data == DataName::kGsm8k) return normalize_answer(gsm8k_answer_part(gold), rules);
  std::string answer = text::contains(gold, "boxed") ? last_boxed(gold) : std::string(gold);
  // MATH golds come from extract_answer() (one normalisation) followed by
  // parse_ground_truth()'s own; AIME golds are normalised once.
  std::string once = normalize_answer(answer, rules);
  return data == DataName::kMath ? normalize_answer(once, rules) : once;
}

bool answers_equal(std::string_view pred, std::string_view gold, Rules rules) {
  return detail::math_equal(pred, gold, is_strict(rules));
}

GradeResult grade(std::string_view output, std::string_view gold, DataName data, Rules rules) {
  GradeResult result;
  std::string g = normalize_gold(gold, data, rules);
  std::string cut = detail::cut_at_stop_words(output);
  if (cut.empty() || cut == "error") return result;
  result.extracted = extract_answer(cut, data, rules);
  // eval_math.py's multiple-choice repairs, keyed on the gold answer.
  if (is_choice_letter(g) && !is_choice_letter(result.extracted)) {
    result.extracted = multi_choice_answer(cut, is_strict(rules));
  } else if (is_multi_choice(g) && !is_multi_choice(result.extracted)) {
    result.extracted = choice_letters(result.extracted);
  }
  result.correct = answers_equal(result.extracted, g, rules);
  return result;
}

std::string gold_from_record(const nlohmann::json& record, DataName data, std::string_view answer_key) {
  RKV_CHECK(record.is_object(), "expected a JSON object");
  if (!answer_key.empty()) {
    auto it = record.find(std::string(answer_key));
    RKV_CHECK(it != record.end(), "no field '", answer_key, "' (given by --answer-key)");
    return python_str(*it);
  }
  if (auto it = record.find("answer"); it != record.end()) {
    std::string answer = python_str(*it);
    if (data == DataName::kGsm8k) return std::string(text::strip(gsm8k_answer_part(answer)));
    return answer;
  }
  if (auto it = record.find("solution"); it != record.end() && it->is_string())
    return last_boxed(it->get<std::string>());
  fail("no gold answer: expected a field 'answer' or 'solution' (or name one with --answer-key)");
}

}  // namespace rkv::eval
