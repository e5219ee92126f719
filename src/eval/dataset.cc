#include "rkv/eval/dataset.h"

#include <nlohmann/json.hpp>

#include "rkv/core/buffer.h"
#include "rkv/core/error.h"
#include "rkv/core/json.h"

namespace rkv::eval {

namespace {

std::string question_of(const nlohmann::json& record, const std::string& key, const std::string& where) {
  if (!key.empty()) {
    RKV_CHECK(record.contains(key), where, ": no '", key, "' field (--question-key)");
    RKV_CHECK(record[key].is_string(), where, ": '", key, "' is not a string");
    return record[key].get<std::string>();
  }
  for (const char* k : {"problem", "question", "prompt"})
    if (record.contains(k) && record[k].is_string()) return record[k].get<std::string>();
  fail(where, ": no question field ('problem', 'question' or 'prompt' holding a string; or give --question-key)");
}

}  // namespace

Dataset load_dataset(const std::string& path, const DatasetOptions& options) {
  Dataset d;
  d.path = path;
  if (!options.data_name.empty()) {
    d.data_name = parse_data_name(options.data_name);
  } else {
    auto from_path = data_name_from_path(path);
    RKV_CHECK(from_path, path, ": cannot tell the benchmark from the file name; give --data-name math|aime24|gsm8k");
    d.data_name = *from_path;
  }
  const std::string text = read_text_file(path);
  size_t at = 0;
  for (int64_t line_no = 1; at < text.size(); ++line_no) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + at, end - at);
    at = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const std::string where = path + ":" + std::to_string(line_no);
    check_json_depth(line, where);
    nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    RKV_CHECK(!record.is_discarded(), where, ": not valid JSON");
    RKV_CHECK(record.is_object(), where, ": not a JSON object");
    Problem p;
    p.index = static_cast<int64_t>(d.problems.size());
    p.line = line_no;
    p.question = question_of(record, options.question_key, where);
    try {
      p.gold = gold_from_record(record, d.data_name, options.answer_key);
    } catch (const Error& e) {
      fail(where, ": ", e.what());
    }
    d.problems.push_back(std::move(p));
  }
  RKV_CHECK(!d.problems.empty(), path, ": no problems");
  return d;
}

}  // namespace rkv::eval
