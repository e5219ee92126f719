// rkv grade: grades model outputs against gold answers with the math
// harness's rules (eval/grade.h), one JSON line in, one JSON line out.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "rkv/command.h"
#include "rkv/core/json.h"
#include "rkv/eval/grade.h"
#include "rkv/flags.h"

namespace rkv::cli {
namespace {

struct GradeCase {
  std::string output, gold;
  eval::DataName data = eval::DataName::kMath;
};

std::string read_input(const std::string& path) {
  std::ostringstream ss;
  if (path == "-") {
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::ifstream in(path, std::ios::binary);
  RKV_CHECK(in, "--input ", path, ": cannot open");
  ss << in.rdbuf();
  return ss.str();
}

std::string field_string(const nlohmann::json& line, const char* key, const std::string& where) {
  auto it = line.find(key);
  RKV_CHECK(it != line.end(), where, ": no field \"", key, "\"");
  RKV_CHECK(it->is_string(), where, ": field \"", key, "\" must be a string");
  return it->get<std::string>();
}

GradeCase parse_case(const std::string& text, const std::string& where) {
  nlohmann::json line;
  check_json_depth(text, where);
  try {
    line = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(where, ": not valid JSON: ", e.what());
  }
  RKV_CHECK(line.is_object(), where, ": expected a JSON object with output, answer and data_name");
  GradeCase c;
  c.output = field_string(line, "output", where);
  const std::string data_name = field_string(line, "data_name", where);
  try {
    c.data = eval::parse_data_name(data_name);
  } catch (const Error& e) {
    fail(where, ": ", e.what());
  }
  auto answer = line.find("answer");
  RKV_CHECK(answer != line.end(), where, ": no field \"answer\"");
  RKV_CHECK(answer->is_string() || answer->is_number(), where, ": field \"answer\" must be a string or a number");
  c.gold = eval::gold_from_record(line, c.data, "answer");
  return c;
}

// Every line is checked before anything is printed: a bad line N is an
// error naming it, and no partial output.
std::vector<GradeCase> read_cases(const std::string& path) {
  std::string all = read_input(path);
  std::vector<GradeCase> cases;
  std::istringstream in(all);
  std::string text;
  for (size_t number = 1; std::getline(in, text); ++number) {
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    cases.push_back(parse_case(text, "--input " + path + " line " + std::to_string(number)));
  }
  return cases;
}

int run_grade(const Args& args) {
  Flags f("grade",
          "--input FILE.jsonl [--rules reference|strict]\n\n"
          "Each line of FILE.jsonl (- for stdin) is {\"output\": TEXT, \"answer\": GOLD,\n"
          "\"data_name\": \"math\"|\"aime24\"|\"gsm8k\"}. Prints one line per input, in order:\n"
          "{\"extracted\": STRING, \"correct\": true|false}. The reference rules are the math\n"
          "evaluation harness behind the R-KV paper, quirks included; strict drops its\n"
          "known false verdicts (docs/eval.md).");
  f.option("--input", "JSONL file of cases, or - for stdin").option("--rules", "reference or strict", "reference");
  if (!f.parse(args)) return 0;
  RKV_CHECK(f.positional().empty(), "unexpected argument '", f.positional().front(), "'");
  RKV_CHECK(f.given("--input"), "missing --input FILE.jsonl");
  eval::Rules rules = eval::parse_rules(f.str("--rules"));
  std::vector<GradeCase> cases = read_cases(f.str("--input"));
  std::string out;
  for (const GradeCase& c : cases) {
    eval::GradeResult r = eval::grade(c.output, c.gold, c.data, rules);
    out += "{\"extracted\": " + nlohmann::json(r.extracted).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
           ", \"correct\": " + (r.correct ? "true" : "false") + "}\n";
  }
  RKV_CHECK(std::fwrite(out.data(), 1, out.size(), stdout) == out.size(), "cannot write to stdout");
  return 0;
}

RKV_COMMAND("grade", "grade model outputs against gold answers (math harness rules)", run_grade);

}  // namespace
}  // namespace rkv::cli
