// Tokenizer throughput: encode MB/s on one core over a few MB of mixed text
// (English prose, LaTeX math, code, Chinese/Japanese/Korean, emoji) built
// from ../shared: the tokenizer vectors' texts and the MATH / GSM8K problems.
// Run: build/bench/bench_tokenizer [--benchmark_filter=qwen3]
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rkv/tokenizer/tokenizer.h"

namespace {

namespace fs = std::filesystem;

fs::path assets() {
  if (const char* env = std::getenv("RKV_ASSETS")) return env;
  return fs::path(__FILE__).parent_path().parent_path().parent_path() / "shared";
}

std::vector<std::string> jsonl_field(const fs::path& path, const std::vector<std::string>& fields) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) continue;
    for (const auto& f : fields)
      if (j.contains(f) && j[f].is_string()) out.push_back(j[f].get<std::string>());
  }
  return out;
}

// ~4 MB: math problems and solutions (English + LaTeX + Asymptote code),
// GSM8K word problems, interleaved with every vectors.jsonl text (CJK, emoji,
// code, whitespace runs) so that about a tenth of the bytes are non-ASCII.
const std::string& corpus() {
  static const std::string text = [] {
    fs::path a = assets();
    std::vector<std::string> prose = jsonl_field(a / "data/math/math.jsonl", {"problem", "solution"});
    for (auto& s : jsonl_field(a / "data/math/gsm8k_test.jsonl", {"question", "answer"})) prose.push_back(std::move(s));
    for (auto& s : jsonl_field(a / "data/math/aime24.jsonl", {"problem", "solution"})) prose.push_back(std::move(s));
    std::vector<std::string> mixed;
    for (const char* name : {"qwen3", "llama3", "deepseek_v3", "mistral7b_v0.1"})
      for (auto& s : jsonl_field(a / "tokenizers" / name / "vectors.jsonl", {"text"})) mixed.push_back(std::move(s));
    std::string out;
    if (prose.empty() || mixed.empty()) return out;
    size_t m = 0;
    while (out.size() < (4u << 20)) {
      for (size_t i = 0; i < prose.size() && out.size() < (4u << 20); ++i) {
        out += prose[i];
        out += "\n\n";
        if (i % 3 == 0) {
          out += mixed[m++ % mixed.size()];
          out += "\n";
        }
      }
    }
    return out;
  }();
  return text;
}

void encode(benchmark::State& state, const std::string& name) {
  fs::path path = assets() / "tokenizers" / name / "tokenizer.json";
  if (!fs::exists(path) || corpus().empty()) {
    state.SkipWithError("assets not found (set RKV_ASSETS)");
    return;
  }
  static std::map<std::string, std::unique_ptr<rkv::Tokenizer>> loaded;
  auto& tok = loaded[name];
  if (!tok) tok = std::make_unique<rkv::Tokenizer>(rkv::Tokenizer::from_json_file(path.string()));
  const std::string& text = corpus();
  size_t tokens = 0;
  for (auto _ : state) {
    std::vector<rkv::TokenId> ids = tok->encode(text);
    tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(text.size()));
  state.counters["tokens"] = static_cast<double>(tokens);
  state.counters["MB"] = static_cast<double>(text.size()) / 1e6;
}

void decode(benchmark::State& state, const std::string& name) {
  fs::path path = assets() / "tokenizers" / name / "tokenizer.json";
  if (!fs::exists(path) || corpus().empty()) {
    state.SkipWithError("assets not found (set RKV_ASSETS)");
    return;
  }
  rkv::Tokenizer tok = rkv::Tokenizer::from_json_file(path.string());
  std::vector<rkv::TokenId> ids = tok.encode(corpus());
  for (auto _ : state) {
    std::string text = tok.decode(ids);
    benchmark::DoNotOptimize(text.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(corpus().size()));
}

void load(benchmark::State& state, const std::string& name) {
  fs::path path = assets() / "tokenizers" / name / "tokenizer.json";
  if (!fs::exists(path)) {
    state.SkipWithError("assets not found (set RKV_ASSETS)");
    return;
  }
  for (auto _ : state) {
    rkv::Tokenizer tok = rkv::Tokenizer::from_json_file(path.string());
    benchmark::DoNotOptimize(&tok);
  }
}

BENCHMARK_CAPTURE(encode, qwen3, std::string("qwen3"))->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK_CAPTURE(encode, llama3, std::string("llama3"))->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK_CAPTURE(encode, deepseek_v3, std::string("deepseek_v3"))->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK_CAPTURE(encode, mistral, std::string("mistral7b_v0.1"))->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK_CAPTURE(decode, qwen3, std::string("qwen3"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(load, qwen3, std::string("qwen3"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(load, llama3, std::string("llama3"))->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
