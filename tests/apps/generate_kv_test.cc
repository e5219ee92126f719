// rkv generate with KV compression, --prompts batching, traces, and rkv bench,
// end to end on stories260K.
#include <csignal>
#include <filesystem>
#include <map>
#include <sstream>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/testing.h"

namespace rkv {
namespace {

using nlohmann::json;

std::string stories() { return test::asset("models/stories260K.gguf"); }

TEST(GenerateKv, RkvKeepsTheCacheAtBudgetAndTracesIt) {
  RKV_REQUIRE_ASSET("models/stories260K.gguf");
  test::TempDir dir;
  auto r = test::run_rkv({"generate", "-m", stories(), "--ids", "1,403,407,261,378", "-n", "150", "--ignore-eos", "--kv", "rkv",
                          "--budget", "32", "--window", "8", "--divide-length", "16", "--first-tokens", "0", "--json",
                          "--kv-stats", "--trace-kept", dir.path("trace.jsonl")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["ids"].size(), 150u);
  EXPECT_GT(j["compressions"].get<int>(), 5);
  // stories260K: 5 layers, 4 KV heads, head_dim 8, f32: (32 + 16) slots
  EXPECT_EQ(j["kv_peak_bytes"].get<int64_t>(), 5 * 4 * (32 + 16) * 8 * 2 * 4);
  // --kv-stats: every compression ends at the budget, from at most budget + divide_length
  std::istringstream stats(r.err);
  std::string line;
  int lines = 0;
  while (std::getline(stats, line)) {
    if (line.rfind("kv-stats:", 0) != 0) continue;
    ++lines;
    int from = std::stoi(line.substr(line.find(": ", 10) + 2));
    EXPECT_LE(from, 48) << line;
    EXPECT_NE(line.find("-> 32 "), std::string::npos) << line;
  }
  EXPECT_EQ(lines, 5 * j["compressions"].get<int>());
  std::ifstream trace(dir.path("trace.jsonl"));
  int records = 0;
  while (std::getline(trace, line)) {
    json e = json::parse(line);
    EXPECT_EQ(e["kept_positions"].size(), 4u);
    ++records;
  }
  EXPECT_EQ(records, lines);
  // the trace renders
  std::ofstream(dir.path("tokens.json")) << json{{"prompt_ids", j["prompt_ids"]}, {"ids", j["ids"]}}.dump();
  auto v = test::run_rkv({"visualize", "--trace", dir.path("trace.jsonl"), "--tokens", dir.path("tokens.json"), "-o", dir.path("p.html")});
  EXPECT_EQ(v.exit_code, 0) << v.err;
}

TEST(GenerateKv, ReferenceDictionaryEqualsTheFlags) {
  RKV_REQUIRE_ASSET("models/stories260K.gguf");
  test::TempDir dir;
  std::ofstream(dir.path("kv.json")) << R"({"method": "rkv", "method_config": {"budget": 32, "window_size": 8,
      "mix_lambda": 0.07, "retain_ratio": 0.2, "retain_direction": "last", "first_tokens": 0},
      "divide_method": "step_length", "divide_length": 16, "compression_content": "all"})";
  auto a = test::run_rkv({"generate", "-m", stories(), "-p", "Once upon a time", "-n", "80", "--ignore-eos", "--json",
                          "--kv-config", dir.path("kv.json")});
  auto b = test::run_rkv({"generate", "-m", stories(), "-p", "Once upon a time", "-n", "80", "--ignore-eos", "--json", "--kv",
                          "rkv", "--budget", "32", "--divide-length", "16", "--first-tokens", "0"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(json::parse(a.out)["ids"], json::parse(b.out)["ids"]);
  EXPECT_FALSE(json::parse(a.out)["text"].get<std::string>().empty());
}

TEST(GenerateKv, PromptsFileDecodesTogetherLikeAlone) {
  RKV_REQUIRE_ASSET("models/stories260K.gguf");
  test::TempDir dir;
  std::ofstream(dir.path("p.jsonl")) << "{\"prompt\": \"Once upon a time\"}\n{\"ids\": [1, 300, 301]}\n\n{\"prompt\": \"The cat\", \"max_new_tokens\": 20}\n";
  auto r = test::run_rkv({"generate", "-m", stories(), "--prompts", dir.path("p.jsonl"), "-n", "60", "--ignore-eos", "--kv",
                          "rkv", "--budget", "32", "--divide-length", "16", "--max-batch", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  std::map<int, json> by_index;
  while (std::getline(lines, line)) {
    json j = json::parse(line);
    by_index[j["index"].get<int>()] = j;
  }
  ASSERT_EQ(by_index.size(), 3u);
  EXPECT_EQ(by_index[2]["ids"].size(), 20u);
  auto alone = test::run_rkv({"generate", "-m", stories(), "--ids", "1,300,301", "-n", "60", "--ignore-eos", "--json", "--kv",
                              "rkv", "--budget", "32", "--divide-length", "16"});
  ASSERT_EQ(alone.exit_code, 0) << alone.err;
  EXPECT_EQ(json::parse(alone.out)["ids"], by_index[1]["ids"]);
}

TEST(GenerateKv, InvalidCompressionIsRejectedBeforeLoading) {
  struct Case {
    std::vector<std::string> extra;
    std::string fragment;
  };
  std::vector<Case> cases = {
      {{"--kv", "rkv", "--budget", "8", "--window", "8"}, "must be larger than window_size"},
      {{"--kv", "rkv", "--kernel", "6"}, "kernel_size"},
      {{"--kv", "magic"}, "unknown method"},
      {{"--kv", "rkv", "--divide-method", "sometimes"}, "divide_method"},
      {{"--kv", "rkv", "--divide-length", "0"}, "divide_length"},
      {{"--kv-config", "/nonexistent/kv.json"}, "cannot open"},
      {{"--kv-type", "q5_1"}, "unknown KV cache type 'q5_1' (expected f32, f16, bf16, q8_0 or q4_0)"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"generate", "-m", "/nonexistent/model.gguf", "--ids", "1,2"};
    args.insert(args.end(), c.extra.begin(), c.extra.end());
    auto r = test::run_rkv(args);
    EXPECT_EQ(r.exit_code, 2) << c.fragment;
    EXPECT_NE(r.err.find(c.fragment), std::string::npos) << r.err;  // not "cannot open model": checked first
  }
}

// q8_0 / q4_0 caches through generate and --prompts, every method. stories260K
// has head_dim 8: q8_0 rows are 8 codes + an f16 scale (10 bytes), q4_0 rows
// one block of 8 (4 + 2 bytes).
TEST(GenerateKv, QuantizedCachesForEveryMethod) {
  RKV_REQUIRE_ASSET("models/stories260K.gguf");
  auto f32 = test::run_rkv({"generate", "-m", stories(), "-p", "Once upon a time", "-n", "60", "--ignore-eos", "--json"});
  ASSERT_EQ(f32.exit_code, 0) << f32.err;
  const json f32_ids = json::parse(f32.out)["ids"];
  for (const char* type : {"q8_0", "q4_0"}) {
    const int64_t row = std::string(type) == "q8_0" ? 10 : 6;
    for (const char* method : {"fullkv", "rkv", "snapkv", "h2o", "streamingllm"}) {
      auto r = test::run_rkv({"generate", "-m", stories(), "-p", "Once upon a time", "-n", "60", "--ignore-eos", "--json",
                              "--kv", method, "--budget", "24", "--divide-length", "8", "--kv-type", type});
      ASSERT_EQ(r.exit_code, 0) << type << " " << method << ": " << r.err;
      json j = json::parse(r.out);
      ASSERT_EQ(j["ids"].size(), 60u);
      if (std::string(method) == "fullkv") {
        // 5 layers x 4 KV heads x one 256-slot block x K and V
        EXPECT_EQ(j["kv_peak_bytes"].get<int64_t>(), 5 * 4 * 256 * row * 2) << type;
        if (std::string(type) == "q8_0") {  // (114 of 150 greedy tokens agree with f32 at the time of writing)
          EXPECT_EQ(std::vector<int>(j["ids"].begin(), j["ids"].begin() + 40),
                    std::vector<int>(f32_ids.begin(), f32_ids.begin() + 40));
        }
      } else {
        EXPECT_GT(j["compressions"].get<int>(), 3) << type << " " << method;
        EXPECT_EQ(j["kv_peak_bytes"].get<int64_t>(), 5 * 4 * (24 + 8) * row * 2) << type << " " << method;
      }
    }
  }
  test::TempDir dir;
  std::ofstream(dir.path("p.jsonl")) << "{\"prompt\": \"Once upon a time\"}\n{\"ids\": [1, 300, 301]}\n";
  auto batch = test::run_rkv({"generate", "-m", stories(), "--prompts", dir.path("p.jsonl"), "-n", "30", "--ignore-eos",
                              "--kv", "rkv", "--budget", "16", "--divide-length", "8", "--kv-type", "q8_0", "--max-batch", "2"});
  ASSERT_EQ(batch.exit_code, 0) << batch.err;
  std::istringstream lines(batch.out);
  std::string line;
  int results = 0;
  while (std::getline(lines, line)) results += !line.empty();
  EXPECT_EQ(results, 2) << batch.out;
}

TEST(Bench, PrintsTheEfficiencyTable) {
  RKV_REQUIRE_ASSET("models/stories260K.gguf");
  auto r = test::run_rkv({"bench", "-m", stories(), "--lengths", "64,128", "--methods", "fullkv,rkv:32,rkv:50%", "--batch",
                          "1,2", "--kv-memory", "512K", "--kv-type", "f32", "--json", "--divide-length", "16", "--prompt-tokens", "16",
                          "--segment", "16"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json rows = json::parse(r.out);
  ASSERT_EQ(rows.size(), 3u * 2 * 2);
  for (const auto& row : rows) {
    EXPECT_GT(row["tokens_per_s"].get<double>(), 0.0);
    // decode speed over each sequence's first / last 16 tokens, batches included
    EXPECT_GT(row["first_segment_tps"].get<double>(), 0.0) << row.dump();
    EXPECT_GT(row["last_segment_tps"].get<double>(), 0.0) << row.dump();
    if (row["method"] == "rkv:32") {
      EXPECT_EQ(row["kv_bytes_per_seq"].get<int64_t>(), 5 * 4 * (32 + 16) * 8 * 2 * 4);
    }
    if (row["method"] == "rkv:50%") {
      EXPECT_EQ(row["budget"].get<int64_t>(), row["length"].get<int64_t>() / 2);
    }
  }
  // compression lets more sequences into the same KV memory
  EXPECT_GT(rows[4]["fits_in_kv_memory"].get<int64_t>(), rows[0]["fits_in_kv_memory"].get<int64_t>());
  EXPECT_NE(r.err.find("18/18"), std::string::npos) << "progress bar on stderr";
  // q8_0 rows (8 codes + f16 scale = 10 bytes against 32 in f32): the same memory fits 3.2x the sequences
  auto q8 = test::run_rkv({"bench", "-m", stories(), "--lengths", "64", "--methods", "rkv:32", "--batch", "1", "--kv-memory",
                           "512K", "--kv-type", "q8_0", "--json", "--divide-length", "16", "--prompt-tokens", "16"});
  ASSERT_EQ(q8.exit_code, 0) << q8.err;
  json q8_row = json::parse(q8.out)[0];
  EXPECT_EQ(q8_row["kv_bytes_per_seq"].get<int64_t>(), 5 * 4 * (32 + 16) * 10 * 2);
  EXPECT_EQ(q8_row["fits_in_kv_memory"].get<int64_t>(), 512 * 1024 / (5 * 4 * (32 + 16) * 10 * 2));
  // --fits-only: the admission arithmetic without generating, per KV type
  auto fits = test::run_rkv({"bench", "-m", stories(), "--lengths", "1000", "--methods", "fullkv,rkv:32", "--kv-memory", "1M",
                             "--kv-type", "q4_0", "--json", "--divide-length", "16", "--prompt-tokens", "16", "--fits-only"});
  ASSERT_EQ(fits.exit_code, 0) << fits.err;
  json fit_rows = json::parse(fits.out);
  ASSERT_EQ(fit_rows.size(), 2u);
  const int64_t q4_slot = 5 * 4 * (4 + 2) * 2;  // layers x KV heads x (4 bytes of codes + f16 scale) x K and V
  EXPECT_EQ(fit_rows[0]["kv_bytes_per_seq"].get<int64_t>(), 1024 * q4_slot);  // 1016 tokens in 256-slot blocks
  EXPECT_EQ(fit_rows[1]["kv_bytes_per_seq"].get<int64_t>(), (32 + 16) * q4_slot);
  EXPECT_EQ(fit_rows[1]["fits_in_kv_memory"].get<int64_t>(), (1 << 20) / ((32 + 16) * q4_slot));
  EXPECT_EQ(fit_rows[1]["tokens_per_s"].get<double>(), 0.0);  // nothing ran
  auto bad = test::run_rkv({"bench", "-m", stories(), "--methods", "rkv"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("needs a budget"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace rkv

namespace rkv {
namespace {

// --chat renders the model folder's chat template and feeds exactly the ids
// `rkv tokenize` gives for the rendered text.
TEST(GenerateChat, RendersTheTemplateThenTokenizes) {
  RKV_REQUIRE_ASSET("tokenizers/mistral7b_v0.1/tokenizer.json");
  test::TempDir dir;
  const std::string model = dir.path("model");
  auto made = test::run_rkv({"make-model", "--arch", "llama", "--hidden", "64", "--layers", "2", "--heads", "4", "--kv-heads", "2",
                             "--intermediate", "128", "--vocab", "32000", "--format", "safetensors", "--type", "f32", "-o", model});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  std::filesystem::remove(std::filesystem::path(model) / "tokenizer.json");
  std::filesystem::remove(std::filesystem::path(model) / "tokenizer_config.json");
  std::filesystem::copy_file(test::asset("tokenizers/mistral7b_v0.1/tokenizer.json"), std::filesystem::path(model) / "tokenizer.json");
  std::ofstream(std::filesystem::path(model) / "tokenizer_config.json")
      << R"({"bos_token": "<s>", "eos_token": "</s>", "chat_template": "{{ bos_token }}{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}"})";
  auto r = test::run_rkv({"generate", "-m", model, "--chat", "--system", "Be brief.", "-p", "What is 2+2?", "-n", "3", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto t = test::run_rkv({"tokenize", "-m", model, "-p", "<s>[system] Be brief.\n[user] What is 2+2?\n[assistant]", "--json"});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_EQ(json::parse(r.out)["prompt_ids"], json::parse(t.out)["ids"]);
  EXPECT_EQ(json::parse(r.out)["prompt_ids"][0], 1);  // <s> from the template, once
  auto bad = test::run_rkv({"generate", "-m", model, "--system", "x", "-p", "hi"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--system needs --chat"), std::string::npos) << bad.err;

  // --chat-template FILE replaces the model's template (with its bos_token)
  const std::string tpl = dir.path("other.jinja");
  std::ofstream(tpl) << "{{ bos_token }}{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}{% endfor %}<assistant>";
  auto o = test::run_rkv({"generate", "-m", model, "--chat-template", tpl, "--chat", "-p", "What is 2+2?", "-n", "3", "--json"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  auto ot = test::run_rkv({"tokenize", "-m", model, "-p", "<s><user>What is 2+2?<assistant>", "--json"});
  ASSERT_EQ(ot.exit_code, 0) << ot.err;
  EXPECT_EQ(json::parse(o.out)["prompt_ids"], json::parse(ot.out)["ids"]);
  // a missing or broken template file is refused before anything runs
  for (const std::string& text : {std::string(""), std::string("{% for m in messages %}")}) {
    if (!text.empty()) std::ofstream(dir.path("broken.jinja")) << text;
    const std::string file = text.empty() ? dir.path("missing.jinja") : dir.path("broken.jinja");
    auto e = test::run_rkv({"generate", "-m", model, "--chat-template", file, "--chat", "-p", "hi", "-n", "1"});
    EXPECT_EQ(e.exit_code, 2) << file;
    EXPECT_NE(e.err.find(text.empty() ? "missing.jinja" : "broken.jinja"), std::string::npos) << e.err;
  }
}

}  // namespace
}  // namespace rkv

namespace rkv {
namespace {

TEST(GenerateKv, VerifyFullKvModePassesForEveryMethod) {
  RKV_REQUIRE_ASSET("models/stories260K.gguf");
  for (const char* method : {"rkv", "snapkv", "h2o", "streamingllm"}) {
    auto r = test::run_rkv({"generate", "-m", stories(), "-p", "Once upon a time", "-n", "80", "--kv", method, "--budget",
                            "32", "--verify-fullkv"});
    EXPECT_EQ(r.exit_code, 0) << method << ": " << r.out << r.err;
    EXPECT_NE(r.out.find("identical to fullkv (80 tokens)"), std::string::npos) << r.out;
  }
}

TEST(GenerateKv, AnUnservablePromptFailsAloneAndTheOthersComplete) {
  RKV_REQUIRE_ASSET("models/stories260K.gguf");
  test::TempDir dir;
  // fullkv, f32: 5 layers x 4 KV heads x 8 x 2 x 4 bytes = 1280 bytes a slot, in blocks of 256 slots
  std::ofstream(dir.path("p.jsonl")) << R"({"ids": [1, 403, 407], "max_new_tokens": 20}
{"ids": [1, 403, 407], "max_new_tokens": 1000}
{"ids": [1, 99999]}
{"ids": [1, 261, 378], "max_new_tokens": 20}
)";
  auto r = test::run_rkv({"generate", "-m", stories(), "--prompts", dir.path("p.jsonl"), "--ignore-eos", "--kv-memory",
                          std::to_string(256 * 1280 + 1000), "--max-batch", "1"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  std::map<int, json> by_index;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    json j = json::parse(line);
    by_index[j["index"].get<int>()] = j;
  }
  ASSERT_EQ(by_index.size(), 4u) << r.out;
  EXPECT_EQ(by_index[0]["ids"].size(), 20u);
  EXPECT_EQ(by_index[1]["stop"], "error");
  EXPECT_NE(by_index[1]["error"].get<std::string>().find("KV memory"), std::string::npos) << by_index[1];
  EXPECT_EQ(by_index[2]["stop"], "error");
  EXPECT_NE(by_index[2]["error"].get<std::string>().find("99999"), std::string::npos) << by_index[2];
  EXPECT_EQ(by_index[3]["ids"].size(), 20u);
}

TEST(GenerateKv, InterruptPrintsWhatWasGeneratedAndExits130) {
  RKV_REQUIRE_ASSET("models/stories260K.gguf");
  auto r = test::run_rkv_and_signal({"generate", "-m", stories(), "-p", "Once upon a time", "-n", "2000", "--ignore-eos",
                                     "--threads", "1"},
                                    SIGINT);
  EXPECT_EQ(r.exit_code, 130) << r.err;
  EXPECT_NE(r.err.find("stop: interrupted"), std::string::npos) << r.err;
  const auto at = r.err.find("generated ");
  ASSERT_NE(at, std::string::npos) << r.err;
  const int generated = std::stoi(r.err.substr(at + 10));
  EXPECT_GT(generated, 0);
  EXPECT_LT(generated, 2000);
}

}  // namespace
}  // namespace rkv
