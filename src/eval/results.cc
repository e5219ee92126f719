#include "rkv/eval/results.h"
#include "rkv/core/output_file.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "rkv/core/buffer.h"
#include "rkv/core/error.h"

namespace rkv::eval {

nlohmann::ordered_json SampleRecord::to_json() const {
  nlohmann::ordered_json j;
  j["problem"] = problem;
  j["sample"] = sample;
  j["label"] = label;
  j["method"] = method;
  j["budget"] = budget;
  j["extracted"] = extracted;
  j["correct"] = correct;
  j["extracted_strict"] = extracted_strict;
  j["correct_strict"] = correct_strict;
  j["prompt_tokens"] = prompt_tokens;
  j["output_tokens"] = output_tokens;
  j["stop"] = stop;
  if (!error.empty()) j["error"] = error;
  j["kv_peak_bytes"] = kv_peak_bytes;
  j["compressions"] = compressions;
  j["seconds"] = seconds;
  j["decode_seconds"] = decode_seconds;
  j["output"] = output;
  return j;
}

SampleRecord SampleRecord::from_json(const nlohmann::json& j) {
  SampleRecord r;
  try {
    r.problem = j.at("problem").get<int64_t>();
    r.sample = j.at("sample").get<int>();
    r.label = j.at("label").get<std::string>();
    r.method = j.at("method").get<std::string>();
    r.budget = j.at("budget").get<int64_t>();
    r.extracted = j.at("extracted").get<std::string>();
    r.correct = j.at("correct").get<bool>();
    r.extracted_strict = j.at("extracted_strict").get<std::string>();
    r.correct_strict = j.at("correct_strict").get<bool>();
    r.prompt_tokens = j.at("prompt_tokens").get<int64_t>();
    r.output_tokens = j.at("output_tokens").get<int64_t>();
    r.stop = j.at("stop").get<std::string>();
    if (j.contains("error")) r.error = j.at("error").get<std::string>();
    r.kv_peak_bytes = j.at("kv_peak_bytes").get<int64_t>();
    r.compressions = j.at("compressions").get<int>();
    r.seconds = j.at("seconds").get<double>();
    r.decode_seconds = j.at("decode_seconds").get<double>();
    r.output = j.at("output").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    fail("not an rkv eval record (", e.what(), ")");
  }
  return r;
}

std::vector<SampleRecord> read_records(const std::string& path, bool repair) {
  std::vector<SampleRecord> out;
  if (!std::filesystem::exists(path)) return out;
  const std::string text = read_text_file(path);
  const size_t whole = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
  size_t at = 0;
  for (int64_t line_no = 1; at < whole; ++line_no) {
    const size_t end = text.find('\n', at);
    const std::string_view line(text.data() + at, end - at);
    at = end + 1;
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    RKV_CHECK(!j.is_discarded() && j.is_object(), path, ":", line_no, ": not a JSON object");
    try {
      out.push_back(SampleRecord::from_json(j));
    } catch (const Error& e) {
      fail(path, ":", line_no, ": ", e.what());
    }
  }
  if (repair && whole < text.size()) std::filesystem::resize_file(path, whole);  // a line cut by a kill
  return out;
}

RecordWriter::RecordWriter(const std::string& path) : path_(path) {
  file_ = std::fopen(path.c_str(), "ab");
  RKV_CHECK(file_, path, ": cannot open for appending");
}

RecordWriter::~RecordWriter() {
  if (file_) std::fclose(file_);
}

void RecordWriter::append(const SampleRecord& record) {
  const std::string line = record.to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  const bool ok = std::fwrite(line.data(), 1, line.size(), file_) == line.size() && std::fflush(file_) == 0;
  RKV_CHECK(ok, path_, ": write failed (disk full?)");
}

nlohmann::ordered_json read_config(const std::string& path) {
  auto j = nlohmann::ordered_json::parse(read_text_file(path), nullptr, false);
  RKV_CHECK(!j.is_discarded() && j.is_object(), path, ": not a JSON object");
  return j;
}

void check_or_write_config(const std::string& path, const nlohmann::ordered_json& config) {
  if (!std::filesystem::exists(path)) {
    const std::string text = config.dump(2) + "\n";
    write_file_atomically(path, text.data(), text.size());
    return;
  }
  const nlohmann::ordered_json old = read_config(path);
  std::vector<std::string> differ;
  for (auto it = config.begin(); it != config.end(); ++it)
    if (!old.contains(it.key()) || old[it.key()] != it.value()) differ.push_back(it.key());
  for (auto it = old.begin(); it != old.end(); ++it)
    if (!config.contains(it.key())) differ.push_back(it.key());
  if (differ.empty()) return;
  std::ostringstream keys;
  for (size_t i = 0; i < differ.size(); ++i) keys << (i ? ", " : "") << differ[i];
  fail(path, ": this folder holds a run with another configuration (", keys.str(),
       " differ); use another -o folder, or the same flags to resume it");
}

}  // namespace rkv::eval
