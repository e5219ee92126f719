// eval/results: what an eval run leaves in its folder.
//   config.json    what the run is (model, data, prompt, sweep, sampling, KV
//                  parameters, shard); a second run in the same folder must
//                  match it, or it is refused naming the keys that differ.
//   results.jsonl  one line per finished (problem, sample, method), appended
//                  whole and flushed as each finishes: an interrupted run
//                  keeps every finished sample, and a cut last line is dropped
//                  when the file is read back.
#pragma once

#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace rkv::eval {

struct SampleRecord {
  int64_t problem = 0;
  int sample = 0;
  std::string label;  // sweep point: "fullkv", "rkv:128"
  std::string method;
  int64_t budget = 0;
  std::string output;
  std::string extracted, extracted_strict;
  bool correct = false, correct_strict = false;
  int64_t prompt_tokens = 0, output_tokens = 0;
  std::string stop;   // eos | stop | length | error
  std::string error;  // when stop == error
  int64_t kv_peak_bytes = 0;
  int compressions = 0;
  double seconds = 0;         // prefill + decode of this sequence
  double decode_seconds = 0;

  using Key = std::tuple<int64_t, int, std::string>;  // (problem, sample, label)
  Key key() const { return {problem, sample, label}; }
  nlohmann::ordered_json to_json() const;
  static SampleRecord from_json(const nlohmann::json& j);  // rkv::Error on a bad record
};

// Reads results.jsonl (missing file: no records). A last line without its
// newline (a run killed mid-write) is dropped, and the file is cut back to
// the last whole line when `repair` is set. Other bad lines are an error.
std::vector<SampleRecord> read_records(const std::string& path, bool repair);

// Appends records to results.jsonl, one whole line per record, flushed.
class RecordWriter {
 public:
  explicit RecordWriter(const std::string& path);
  ~RecordWriter();
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;
  void append(const SampleRecord& record);  // rkv::Error when the write fails

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

// config.json: writes it when absent; else compares and throws naming the
// keys that differ.
void check_or_write_config(const std::string& path, const nlohmann::ordered_json& config);
nlohmann::ordered_json read_config(const std::string& path);

}  // namespace rkv::eval
