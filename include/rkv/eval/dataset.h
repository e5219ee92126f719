// eval/dataset: a benchmark as `rkv eval` reads it — JSONL, one problem a
// line. The question is the first of `problem`, `question`, `prompt` a line
// has (or --question-key); the gold answer is `answer` (GSM8K: the text after
// `####`), else the last \boxed{} of `solution` (or --answer-key). The data
// name (math | aime24 | gsm8k), which selects the grading rules, comes from
// --data-name or the file name. Every line is checked before anything is
// generated: a malformed one is an rkv::Error naming the file and line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rkv/eval/grade.h"

namespace rkv::eval {

struct Problem {
  int64_t index = 0;  // 0-based position among the file's problems
  int64_t line = 0;   // 1-based line number in the file
  std::string question;
  std::string gold;   // the gold answer text, un-normalised
};

struct DatasetOptions {
  std::string question_key;     // "" = detect
  std::string answer_key;       // "" = detect
  std::string data_name;        // "" = from the file name
};

struct Dataset {
  std::string path;
  DataName data_name = DataName::kMath;
  std::vector<Problem> problems;
};

Dataset load_dataset(const std::string& path, const DatasetOptions& options);

}  // namespace rkv::eval
