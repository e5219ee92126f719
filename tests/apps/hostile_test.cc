// The hostile-input suite (issue 12): variants of each class of bad input and
// fault, tried against every command the class reaches, through the binary.
// Every run is checked for the same things, whatever the case expects:
//   - no death by a signal, no hang (each run has a timeout);
//   - the exit status and error the case names (a failed write is never 0);
//   - no file other than the case's declared outputs created, changed or
//     removed in the working directory (types, sizes, times and link
//     targets compared before and after);
//   - bounded memory for small inputs: outside sanitizer builds every run
//     has a 1 GiB address-space limit (ulimit -v), and "out of memory"
//     never appears.
// Inputs: models made with `rkv make-model --shape tiny` (GGUF and
// safetensors), ../shared/models/stories260K.gguf, and files written here.
// Each TEST is one class.
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "common/testing.h"
#include "rkv/formats/gguf.h"
#include "rkv/formats/safetensors.h"

namespace rkv {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr uint64_t kAddressSpace = uint64_t{1} << 30;

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

std::string chain(const std::string& head, const std::string& term, int terms) {
  std::string t = "{{ " + head;
  for (int k = 0; k < terms; ++k) t += term;
  return t + " }}";
}

// The working directory of every run, with the inputs the cases use.
class Workspace {
 public:
  Workspace() {
    made_ = run({"make-model", "--shape", "tiny", "-o", "tiny.gguf"}).exit_code == 0 &&
            run({"make-model", "--shape", "tiny", "--format", "safetensors", "--type", "f32", "-o", "tiny_hf"}).exit_code == 0;
    if (!made_) return;
    write(path("messages.json"), R"([{"role": "user", "content": "hi"}])");
    // JSON nested a million levels deep, where each command reads JSON.
    const std::string deep = std::string(1000000, '[') + std::string(1000000, ']');
    write(path("deep_messages.json"), deep);
    write(path("deep_prompts.jsonl"), "{\"messages\": " + deep + "}\n");
    write(path("deep_kv.json"), "{\"method\": \"rkv\", \"method_config\": " + deep + "}");
    write(path("deep_trace.jsonl"), "{\"event\": " + deep + "}\n");
    write(path("deep_tokens.json"), deep);
    copy_model("deep_hf");
    write(path("deep_hf/config.json"), "{\"architectures\": " + deep + "}");
    write(path("deep_tok/tokenizer.json"), "{\"model\": " + deep + "}");
    {
      std::string header = "{\"x\": " + deep + "}";
      std::string bytes(8, '\0');
      for (int i = 0; i < 8; ++i) bytes[static_cast<size_t>(i)] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
      write(path("deep.safetensors"), bytes + header);
    }
    write(path("prompt.txt"), "hello");
    write(path("ids.jsonl"), "{\"ids\": [1, 2, 3]}\n{\"ids\": [4, 5]}\n");
    write(path("chat.jsonl"), R"({"messages": [{"role": "user", "content": "hi"}]})" "\n");
    write(path("problems.jsonl"), R"({"problem": "What is 1 + 1?", "answer": "2"})" "\n");
    write(path("cut.jsonl"), R"({"problem": "What is 1 + 1?", "answer": )" "\n");
    write(path("deep_problems.jsonl"), "{\"problem\": " + deep + "}\n");
    write(path("grades.jsonl"), R"({"output": "\\boxed{2}", "answer": "2", "data_name": "math"})" "\n" R"({"output": 7})" "\n");
    fs::create_directory(path("adir"));
    ::mkfifo(path("pipe").c_str(), 0644);
    write(path("target.st"), "old");
    fs::create_symlink("target.st", path("link.st"));
    fs::create_symlink("absent.st", path("dangling.st"));
    write(path("foreign_model/notes.txt"), "mine");

    // Chat templates: a 100k-term left-associative chain (the crash), a
    // template over the size limit, and a plain one.
    const std::string long_chain = chain("1", "+1", 100000);
    write(path("chain_tok/tokenizer_config.json"), json{{"chat_template", long_chain}}.dump());
    write(path("huge_tok/tokenizer_config.json"), json{{"chat_template", chain("'a'", "~'a'", 600000)}}.dump());
    write(path("plain_tok/tokenizer_config.json"), json{{"chat_template", "{{ messages }}"}}.dump());
    copy_model("chain_hf");
    write(path("chain_hf/tokenizer_config.json"), json{{"chat_template", long_chain}, {"eos_token", "</s>"}}.dump());
    {
      GgufWriter w;
      w.set_string("tokenizer.ggml.model", "llama");
      w.set("tokenizer.ggml.tokens", GgufValue::of_strings({"<unk>", "<s>", "</s>", "\xe2\x96\x81hi", "h", "i"}));
      w.set_string("tokenizer.chat_template", long_chain);
      w.write(path("chain.gguf"));
    }

    // Counts far beyond the file: a billion layers.
    copy_model("layers_hf");
    json config = json::parse(read(path("layers_hf/config.json")));
    config["num_hidden_layers"] = 1000000000;
    write(path("layers_hf/config.json"), config.dump());
    {
      GgufWriter w;
      w.set_string("general.architecture", "qwen2");
      w.set_u32("qwen2.embedding_length", 64);
      w.set_u32("qwen2.block_count", 1000000000);
      w.set_u32("qwen2.feed_forward_length", 128);
      w.set_u32("qwen2.attention.head_count", 4);
      std::vector<float> embedding(64 * 300);
      w.add_tensor("token_embd.weight", DType::F32, {64, 300}, embedding.data(), embedding.size() * 4);
      w.write(path("blocks.gguf"));
    }
    json tokenizer = json::parse(read(path("tiny_hf/tokenizer.json")));
    tokenizer["model"]["vocab"]["far"] = 1000000000;
    write(path("far_tok/tokenizer.json"), tokenizer.dump());
    copy_model("gen_bad");
    write(path("gen_bad/generation_config.json"), "[1");

    write(path("kv_fraction.json"), R"({"method": "rkv", "method_config": {"budget": 16.7}})");
    write(path("kv_wrap.json"), R"({"method": "rkv", "method_config": {"kernel_size": 4294967297}})");

    // rkv compress inputs: ordinary keys, and finite keys whose products overflow float32.
    for (const auto& [name, scale] : {std::pair<const char*, float>{"dump.safetensors", 1.0f}, {"overflow.safetensors", 1e20f}}) {
      std::vector<float> k(2 * 40 * 16), q(4 * 8 * 16);
      for (size_t i = 0; i < k.size(); ++i) k[i] = scale * static_cast<float>((i * 7919) % 17) / 17.0f;
      for (size_t i = 0; i < q.size(); ++i) q[i] = scale * static_cast<float>((i * 104729) % 13) / 13.0f;
      SafetensorsWriter w;
      w.add("keys", TensorView(k.data(), DType::F32, {2, 40, 16}));
      w.add("values", TensorView(k.data(), DType::F32, {2, 40, 16}));
      w.add("queries", TensorView(q.data(), DType::F32, {4, 8, 16}));
      w.write(path(name));
    }
    // rkv visualize inputs, with tokens that once blanked the page.
    write(path("trace.jsonl"), R"({"event": 0, "step": 4, "length": 4, "layer": 0, "kept_positions": [[0, 2]]})" "\n");
    write(path("tokens.json"), json({"<!--<script>", "</script>", "a&b", "\xe2\x80\xa8"}).dump());
  }

  bool made() const { return made_; }
  std::string path(const std::string& name) const { return dir_.path(name); }
  std::string read(const std::string& file) const {
    std::ifstream in(file, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

  test::CommandResult run(const std::vector<std::string>& args, test::RunOptions options = {}) const {
    options.cwd = dir_.dir().string();
    if (options.timeout_seconds == 0) options.timeout_seconds = test::sanitized_build() ? 120 : 30;
    // Few threads and malloc arenas, so that the address-space limit measures
    // rkv's own allocations on machines with many cores too.
    options.env.push_back({"RKV_THREADS", "2"});
    options.env.push_back({"MALLOC_ARENA_MAX", "2"});
    return test::run_rkv(args, options);
  }

  // Every entry under the workspace: type, size, modification time, link target.
  std::map<std::string, std::string> snapshot() const {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir_.dir(), fs::directory_options::none)) {
      struct stat st {};
      if (::lstat(e.path().c_str(), &st) != 0) continue;
      std::string state = std::to_string(st.st_mode) + " " + std::to_string(st.st_size) + " " +
                          std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
      if (S_ISLNK(st.st_mode)) state += " -> " + fs::read_symlink(e.path()).string();
      out[fs::relative(e.path(), dir_.dir()).string()] = state;
    }
    return out;
  }

 private:
  void copy_model(const std::string& name) const {
    fs::copy(path("tiny_hf"), path(name), fs::copy_options::recursive);
  }

  test::TempDir dir_;
  bool made_ = false;
};

const Workspace& workspace() {
  static Workspace ws;
  return ws;
}

struct Case {
  Case(std::vector<std::string> args_, int exit_ = 2, std::string error_ = "", std::vector<std::string> outputs_ = {})
      : args(std::move(args_)), exit(exit_), error(std::move(error_)), outputs(std::move(outputs_)) {}

  std::vector<std::string> args;
  int exit;                          // the expected status; -1: any non-zero
  std::string error;                 // a fragment of stderr ("" = anything)
  std::vector<std::string> outputs;  // files the command may create or change
  std::string stdout_path;           // e.g. /dev/full
  bool stdout_closed_pipe = false;
  bool limit_memory = true;
  int expect_signal = 0;             // sent after signal_after seconds, and what must end the run
  double signal_after = 0;
};

std::string describe(const Case& c) {
  std::string s = "rkv";
  for (const auto& a : c.args) s += " " + (a.size() > 60 ? a.substr(0, 60) + "..." : a);
  if (!c.stdout_path.empty()) s += " > " + c.stdout_path;
  return s;
}

void check(const Case& c) {
  const Workspace& ws = workspace();
  ASSERT_TRUE(ws.made()) << "rkv make-model --shape tiny failed";
  const auto before = ws.snapshot();
  test::RunOptions options;
  options.stdout_path = c.stdout_path;
  options.stdout_closed_pipe = c.stdout_closed_pipe;
  if (c.limit_memory && !test::sanitized_build()) options.address_space_bytes = kAddressSpace;
  if (c.expect_signal) {
    options.signal_to_send = c.expect_signal;
    options.signal_after_seconds = c.signal_after;
  }
  const auto r = ws.run(c.args, options);
  const std::string what = describe(c) + "\nstderr: " + r.err.substr(0, 600);
  EXPECT_FALSE(r.timed_out) << "hung: " << what;
  EXPECT_EQ(r.signal, c.expect_signal) << "ended by signal " << r.signal << ": " << what;
  if (!c.expect_signal) {
    if (c.exit >= 0) EXPECT_EQ(r.exit_code, c.exit) << what;
    else EXPECT_NE(r.exit_code, 0) << "a failed write reported success: " << what;
  }
  EXPECT_NE(r.err.find(c.error), std::string::npos) << "expected '" << c.error << "': " << what;
  EXPECT_EQ(r.err.find("out of memory"), std::string::npos) << what;

  // The declared outputs (and anything under them) may differ; nothing else.
  auto without_outputs = [&](std::map<std::string, std::string> state) {
    for (const auto& output : c.outputs)
      for (auto it = state.begin(); it != state.end();)
        it = it->first == output || it->first.rfind(output + "/", 0) == 0 ? state.erase(it) : std::next(it);
    return state;
  };
  const auto expected = without_outputs(before), after = without_outputs(ws.snapshot());
  for (const auto& [name, state] : after) {
    if (!expected.count(name)) ADD_FAILURE() << "created " << name << ": " << what;
    else if (expected.at(name) != state) ADD_FAILURE() << "changed " << name << ": " << what;
  }
  for (const auto& [name, state] : expected)
    if (!after.count(name)) ADD_FAILURE() << "removed " << name << ": " << what;
  for (const auto& output : c.outputs) {  // new outputs are removed for the next case
    std::error_code ec;
    if (!before.count(output)) fs::remove_all(ws.path(output), ec);
  }
}

void check_all(const std::vector<Case>& cases) {
  for (const auto& c : cases) check(c);
}

const std::vector<std::string> kIds = {"--ids", "1,2,3"};

std::vector<std::string> operator+(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Class 1: a chat template that nests without end must be a named error in
// every command that renders one, never a stack overflow.
TEST(HostileInputs, ChatTemplates) {
  const std::string deep = "nested too deeply";
  check_all({
      {{"template", "-m", "chain_tok", "--messages", "messages.json"}, 2, deep},
      {{"template", "-m", "chain.gguf", "--messages", "messages.json"}, 2, deep},
      {{"tokenize", "-m", "chain_hf", "--chat", "-p", "hi"}, 2, deep},
      {{"generate", "-m", "chain_hf", "--chat", "-p", "hi", "-n", "2"}, 2, deep},
      {{"generate", "-m", "chain_hf", "--prompts", "chat.jsonl", "-n", "2"}, 2, deep},
      {{"template", "-m", "huge_tok", "--messages", "messages.json"}, 2, "over the limit"},
  });
}

// Class 1 (continued): JSON nested without end is refused where it is read,
// before nlohmann::json copies or prints it recursively.
TEST(HostileInputs, DeepJson) {
  const std::string deep = "JSON nested more than 512 levels deep";
  check_all({
      {{"template", "-m", "plain_tok", "--messages", "deep_messages.json"}, 2, deep},
      {{"generate", "-m", "tiny_hf", "--prompts", "deep_prompts.jsonl", "-n", "2"}, 2, deep},
      {{"generate", "-m", "tiny.gguf", "--ids", "1", "--kv-config", "deep_kv.json"}, 2, deep},
      {{"visualize", "--trace", "deep_trace.jsonl", "--tokens", "tokens.json", "-o", "p.html"}, 2, deep},
      {{"visualize", "--trace", "trace.jsonl", "--tokens", "deep_tokens.json", "-o", "p.html"}, 2, deep},
      {{"inspect", "-m", "deep_hf"}, 2, deep},
      {{"tokenize", "-m", "deep_tok", "-p", "hi"}, 2, deep},
      {{"compress", "-i", "deep.safetensors"}, 2, deep},
  });
}

// Class 2: outputs never replace devices, FIFOs, folders or what a symlink
// does not name, and an interrupted run leaves nothing behind.
TEST(HostileInputs, OutputFiles) {
  const std::vector<std::string> logits = {"logits", "-m", "tiny.gguf", "--ids", "1,2,3"};
  check_all({
      {logits + std::vector<std::string>{"-o", "/dev/null"}, 0},
      {logits + std::vector<std::string>{"-o", "pipe"}, 2, "a FIFO with no reader"},
      {logits + std::vector<std::string>{"-o", "adir"}, 2, "is a folder"},
      {logits + std::vector<std::string>{"-o", "link.st"}, 0, "", {"target.st"}},
      {logits + std::vector<std::string>{"-o", "dangling.st"}, 2, "missing"},
      {logits + std::vector<std::string>{"-o", "missing_dir/out.st"}, 2, "cannot create"},
      {{"make-model", "--shape", "tiny", "--format", "safetensors", "-o", "foreign_model"}, 2, "notes.txt"},
      {{"make-model", "--shape", "tiny", "-o", "adir"}, 2, "is a folder"},
      {{"compress", "-i", "dump.safetensors", "--budget", "24", "-o", "pipe"}, 2, "a FIFO with no reader"},
      {{"visualize", "--trace", "trace.jsonl", "--tokens", "tokens.json", "-o", "adir"}, 2, "is a folder"},
      {{"generate", "-m", "tiny.gguf", "--ids", "1,2", "-n", "2", "--trace-kept", "pipe"}, 2, "a FIFO with no reader"},
  });
  struct stat st {};
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode)) << "/dev/null was replaced";
  EXPECT_TRUE(fs::is_symlink(workspace().path("link.st")));
  EXPECT_GT(fs::file_size(workspace().path("target.st")), 3u) << "the symlink's target holds the logits";
  // Interrupted while making the weights (~3 s of work in a release build): no
  // temporary file or folder stays.
  const std::vector<std::string> slow = {"make-model", "--hidden", "512", "--layers", "64", "--heads", "8",
                                         "--intermediate", "2048", "--vocab", "32000", "--threads", "1"};
  Case term{slow + std::vector<std::string>{"-o", "interrupted.gguf"}};
  term.expect_signal = SIGTERM;
  term.signal_after = 0.5;
  Case intr{slow + std::vector<std::string>{"--format", "safetensors", "-o", "interrupted_hf"}};
  intr.expect_signal = SIGINT;
  intr.signal_after = 0.5;
  check_all({term, intr});
}

// Class 3: counts in small files are checked before anything is sized by them.
TEST(HostileInputs, CountsFromFiles) {
  const std::string layers = "layer count 1000000000";
  check_all({
      {{"inspect", "-m", "layers_hf"}, 2, layers},
      {{"inspect", "-m", "blocks.gguf"}, 2, layers},
      {{"generate", "-m", "layers_hf", "--ids", "1", "-n", "1"}, 2, layers},
      {{"logits", "-m", "blocks.gguf", "--ids", "1", "-o", "never.st"}, 2, layers},
      {{"bench", "-m", "blocks.gguf", "--lengths", "4", "--methods", "fullkv"}, 2, layers},
      {{"tokenize", "-m", "far_tok", "-p", "hi"}, 2, "far beyond"},
      {{"inspect", "-m", "gen_bad"}, 2, "gen_bad/generation_config.json: not a JSON object"},
  });
}

// Class 4: thread counts far above the CPUs are capped (with a notice), out
// of range ones refused; thread-start failure is covered in test_core.
TEST(HostileInputs, Threads) {
  Case many{{"generate", "-m", "tiny.gguf", "--ids", "1,2", "-n", "2", "--threads", "100000"}, 0, "CPUs are available"};
  many.limit_memory = false;  // capped at the machine's CPUs, however many
  Case make{{"make-model", "--shape", "tiny", "--threads", "100000", "-o", "threads.gguf"}, 0, "CPUs are available",
            {"threads.gguf"}};
  make.limit_memory = false;
  check_all({
      many,
      make,
      {{"generate", "-m", "tiny.gguf", "--ids", "1,2", "-n", "2", "--threads", "4294967297"}, 2, "out of range"},
      {{"compress", "-i", "dump.safetensors", "--budget", "24", "--threads", "-1"}, 2, "out of range"},
      {{"logits", "-m", "tiny.gguf", "--ids", "1", "-o", "x.st", "--threads", "1e3"}, 2, "not an integer"},
  });
}

// Class 7: output that cannot be written (a full disk) is never success.
TEST(HostileInputs, FailedWrites) {
  const std::string stdout_failed = "cannot write the output (standard output)";
  auto full = [&](std::vector<std::string> args, const std::string& error) {
    Case c{std::move(args), -1, error};
    c.stdout_path = "/dev/full";
    return c;
  };
  auto closed_pipe = [&](std::vector<std::string> args) {
    Case c{std::move(args), 2, "Broken pipe"};
    c.stdout_closed_pipe = true;
    return c;
  };
  check_all({
      closed_pipe({"generate", "-m", "tiny.gguf", "--ids", "1,2", "-n", "3", "--json"}),
      closed_pipe({"compress", "-i", "dump.safetensors", "--budget", "24"}),
      closed_pipe({"tokenize", "-m", "tiny_hf", "-p", "hello"}),
      closed_pipe({"inspect", "-m", "tiny.gguf"}),
      closed_pipe({"logits", "-m", "tiny.gguf", "--ids", "1,2", "-o", "/dev/stdout"}),
  });
  if (::access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no writable /dev/full";
  check_all({
      full({"generate", "-m", "tiny.gguf", "--ids", "1,2", "-n", "3"}, stdout_failed),
      full({"generate", "-m", "tiny.gguf", "--ids", "1,2", "-n", "3", "--json"}, stdout_failed),
      full({"generate", "-m", "tiny.gguf", "--prompts", "ids.jsonl", "-n", "3"}, stdout_failed),
      full({"compress", "-i", "dump.safetensors", "--budget", "24"}, stdout_failed),
      full({"tokenize", "-m", "tiny_hf", "-p", "hello"}, stdout_failed),
      full({"template", "-m", "plain_tok", "--messages", "messages.json"}, stdout_failed),
      full({"inspect", "-m", "tiny.gguf"}, stdout_failed),
      full({"bench", "-m", "tiny.gguf", "--lengths", "4", "--methods", "fullkv", "--prompt-tokens", "4"}, stdout_failed),
      full({"--help"}, stdout_failed),
      {{"generate", "-m", "tiny.gguf", "--ids", "1,2", "-n", "40", "--kv", "rkv", "--budget", "16", "--divide-length", "8",
        "--trace-kept", "/dev/full"}, -1, "/dev/full: write failed"},
      {{"logits", "-m", "tiny.gguf", "--ids", "1,2", "-o", "/dev/full"}, -1, "/dev/full: write failed"},
      {{"compress", "-i", "dump.safetensors", "--budget", "24", "-o", "/dev/full"}, -1, "/dev/full: write failed"},
      {{"visualize", "--trace", "trace.jsonl", "--tokens", "tokens.json", "-o", "/dev/full"}, -1, "/dev/full: write failed"},
      {{"make-model", "--shape", "tiny", "-o", "/dev/full"}, -1, "/dev/full: write failed"},
  });
}

// Class 8 (rkv compress): finite inputs whose scores overflow are an error.
TEST(HostileInputs, NonFiniteScores) {
  check_all({
      {{"compress", "-i", "overflow.safetensors", "--budget", "24", "-o", "never.st"}, 2, "KV head 0"},
      {{"compress", "-i", "overflow.safetensors", "--method", "h2o", "--budget", "24", "--scores"}, 2, "KV head 0"},
  });
}

// Class 9: one strict parser for numbers and byte sizes in every command.
TEST(HostileInputs, FlagsAndSizes) {
  const std::vector<std::string> bench = {"bench", "-m", "tiny.gguf", "--lengths", "4", "--methods", "fullkv",
                                          "--prompt-tokens", "4", "--max-fit-batch", "2"};
  const std::vector<std::string> gen = {"generate", "-m", "tiny.gguf", "--ids", "1,2", "-n", "2"};
  const std::string size = "is not a byte size";
  check_all({
      {bench + std::vector<std::string>{"--kv-memory", "abc"}, 2, size},
      {bench + std::vector<std::string>{"--kv-memory", "nan"}, 2, size},
      {bench + std::vector<std::string>{"--kv-memory", "-4G"}, 2, size},
      {bench + std::vector<std::string>{"--kv-memory", "4GB"}, 2, size},
      {bench + std::vector<std::string>{"--kv-memory", "99999999999T"}, 2, "out of range"},
      {bench + std::vector<std::string>{"--kv-memory", "4G"}, 0},
      {bench + std::vector<std::string>{"--methods", "rkv:abc"}, 2, "not an integer"},
      {bench + std::vector<std::string>{"--methods", "rkv:nan%"}, 2, "not a number"},
      {gen + std::vector<std::string>{"--kv-memory", "4G"}, 0},
      {gen + std::vector<std::string>{"--kv-memory", "1.5GiB"}, 0},
      {gen + std::vector<std::string>{"--kv-memory", "4 G"}, 2, size},
      {{"generate", "-m", "tiny_hf", "-f", "adir", "-n", "2"}, 2, "adir: is a folder"},
      {{"tokenize", "-m", "tiny_hf", "-f", "adir"}, 2, "adir: is a folder"},
      {{"template", "-m", "plain_tok", "--messages", "adir"}, 2, "adir: is a folder"},
      {gen + std::vector<std::string>{"--kv-config", "kv_fraction.json"}, 2, "'budget' must be an integer (got 16.7)"},
      {gen + std::vector<std::string>{"--kv-config", "kv_wrap.json"}, 2, "'kernel_size' = 4294967297 is out of range"},
      {gen + std::vector<std::string>{"--temp", "nan"}, 2, "is not a number"},
      {gen + std::vector<std::string>{"--top-p", "inf"}, 2, "is not a number"},
      {gen + std::vector<std::string>{"--top-p", "0x1p-1"}, 2, "is not a number"},
      {{"generate", "-m", "tiny.gguf", "--ids", "1,2", "-n", "1e3"}, 2, "is not an integer"},
      {{"generate", "-m", "tiny.gguf", "--ids", "1,2,", "-n", "2"}, 2, "is not an integer"},
      {gen + std::vector<std::string>{"--seed", " 5"}, 2, "is not an integer"},
      {gen + std::vector<std::string>{"--kv", "rkv", "--budget", "99999999999999999999"}, 2, "out of range"},
      {gen + std::vector<std::string>{"--kv", "rkv", "--budget", "9223372036854775807"}, 2, "budget must be in"},
      {gen + std::vector<std::string>{"--max-batch", "4294967297"}, 2, "out of range"},
      {{"tokenize", "-m", "tiny_hf", "--decode", "1,,2"}, 2, "is not an integer"},
      {{"visualize", "--trace", "trace.jsonl", "--tokens", "tokens.json", "-o", "p.html", "--layer", "-1"}, 2, "out of range"},
  });
}

// Class 10: make-model's shapes are bounded and its block types honest.
TEST(HostileInputs, MakeModelShapes) {
  check_all({
      {{"make-model", "--hidden", "64", "--layers", "100000", "--heads", "2", "--intermediate", "64", "-o", "m.gguf"}, 2,
       "--layers: 100000 is out of range"},
      {{"make-model", "--hidden", "64", "--layers", "2", "--heads", "2", "--intermediate", "64", "--type", "q4_k", "-o",
        "m.gguf"}, 2, "blocks of 256"},
      {{"make-model", "--hidden", "1048576", "--layers", "4", "--heads", "4096", "--intermediate", "4194304", "--vocab",
        "16777216", "-o", "m.gguf"}, 2, "of memory needed"},
      {{"make-model", "--hidden", "64", "--layers", "1", "--heads", "2", "--intermediate", "64", "--vocab", "151936",
        "--format", "safetensors", "--type", "f32", "-o", "big_vocab"}, 0, "", {"big_vocab"}},
  });
}

// Class 11: tokens that look like markup cannot break the page.
// The commands that read benchmark files and write run folders or GGUF
// files: eval, grade, convert.
TEST(HostileInputs, EvalGradeConvert) {
  check_all({
      {{"eval", "-m", "tiny_hf", "--data", "cut.jsonl", "--data-name", "math", "-o", "run"}, 2, "cut.jsonl:1"},
      {{"eval", "-m", "tiny_hf", "--data", "deep_problems.jsonl", "--data-name", "math", "-o", "run"}, 2, "nested more than"},
      {{"eval", "-m", "tiny_hf", "--data", "problems.jsonl", "--data-name", "math", "--sweep", "rkv:abc", "-o", "run"}, 2,
       "--sweep"},
      {{"eval", "-m", "tiny_hf", "--data", "problems.jsonl", "--data-name", "math", "--sweep", "rkv:4", "-o", "run"}, 2,
       "budget"},
      {{"eval", "-m", "tiny_hf", "--data", "adir", "--data-name", "math", "-o", "run"}, 2, "adir"},
      {{"eval", "-m", "tiny_hf", "--data", "problems.jsonl", "--data-name", "math", "-n", "2", "-o", "prompt.txt"}, 2,
       "prompt.txt"},
      {{"grade", "--input", "grades.jsonl"}, 2, "grades.jsonl line 2"},
      {{"grade", "--input", "deep_trace.jsonl"}, 2, "nested more than"},
      {{"convert", "-m", "deep_hf", "-o", "out.gguf"}, 2, "nested more than"},
      {{"convert", "-m", "tiny_hf", "-o", "adir"}, 2, "adir"},
      {{"convert", "-m", "tiny_hf", "-o", "out.gguf", "--type", "q9"}, 2, "unknown weight type"},
  });
}

// The server's start: every bad flag, model or file is refused before it
// serves (its requests are fuzzed and tested in tests/server).
TEST(HostileInputs, Serve) {
  const std::vector<std::string> serve = {"serve", "--port", "0", "-m"};
  check_all({
      {serve + std::vector<std::string>{"missing.gguf"}, 2, "missing.gguf"},
      {serve + std::vector<std::string>{"adir"}, 2, "adir"},
      {serve + std::vector<std::string>{"deep_hf"}, 2, "nested more than"},
      {{"serve", "-m", "tiny.gguf", "--port", "65536"}, 2, "--port must be in"},
      {{"serve", "-m", "tiny.gguf", "--port", "80x"}, 2, "is not an integer"},
      {serve + std::vector<std::string>{"tiny.gguf", "--max-queue", "-1"}, 2, "--max-queue must be in"},
      {serve + std::vector<std::string>{"tiny.gguf", "--max-body", "0"}, 2, "--max-body must be in"},
      {serve + std::vector<std::string>{"tiny.gguf", "--kv-config", "deep_kv.json"}, 2, "nested more than"},
      {serve + std::vector<std::string>{"tiny.gguf", "--kv", "rkv", "--budget", "4"}, 2, "budget"},
      {serve + std::vector<std::string>{"tiny.gguf", "--reasoning-format", "xml"}, 2, "--reasoning-format"},
      {serve + std::vector<std::string>{"tiny.gguf", "--api-key-file", "missing.key"}, 2, "missing.key"},
      {serve + std::vector<std::string>{"tiny_hf", "--chat-template", "missing.jinja"}, 2, "missing.jinja"},
      {serve + std::vector<std::string>{"tiny_hf", "--chat-template", "adir"}, 2, "adir"},
      {{"serve", "-m", "tiny.gguf", "--host", "256.1.1.1", "--port", "0"}, 2, "256.1.1.1"},
  });
}

TEST(HostileInputs, VisualizeTokens) {
  check_all({{{"visualize", "--trace", "trace.jsonl", "--tokens", "tokens.json", "-o", "page.html"}, 0, "", {"page.html"}}});
}

// The shared stories260K model (a trained Llama with a SentencePiece
// vocabulary) through the same checks.
TEST(HostileInputs, StoriesModel) {
  RKV_REQUIRE_ASSET("models/stories260K.gguf");
  const std::string model = test::asset("models/stories260K.gguf");
  std::string too_long = "1";
  for (int k = 0; k < 2100; ++k) too_long += ",1";
  Case to_full{{"generate", "-m", model, "-p", "Once upon a time", "-n", "8"}, -1, "cannot write the output"};
  to_full.stdout_path = "/dev/full";
  Case tokens_to_full{{"tokenize", "-m", model, "-p", "Once upon a time"}, -1, "cannot write the output"};
  tokens_to_full.stdout_path = "/dev/full";
  std::vector<Case> cases = {
      {{"generate", "-m", model, "-p", "Once", "-n", "4", "--kv", "rkv", "--budget", "8", "--window", "2", "--divide-length", "2"}, 0},
      {{"generate", "-m", model, "-f", "adir"}, 2, "is a folder"},
      {{"generate", "-m", model, "-p", "Once", "--chat"}, 2, "no chat template"},
      {{"template", "-m", model, "--messages", "messages.json"}, 2, "no tokenizer.chat_template"},
      {{"logits", "-m", model, "--ids", too_long, "-o", "never.st"}, 2, "more than the model's context of 2048"},
      {{"generate", "-m", model, "--ids", "1,2", "-n", "2", "--kv-memory", "1x"}, 2, "is not a byte size"},
  };
  if (::access("/dev/full", W_OK) == 0) cases.insert(cases.end(), {to_full, tokens_to_full});
  check_all(cases);
}

}  // namespace
}  // namespace rkv
