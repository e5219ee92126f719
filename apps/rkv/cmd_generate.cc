// rkv generate: prompt in (text through the model's tokenizer, or --ids),
// tokens out, streamed as they come, with the KV cache compressed by the
// chosen method (R-KV by default is off: --kv fullkv unless asked). A
// one-line summary ends the run (prompt tokens and prefill tok/s, generated
// tokens and decode tok/s, peak KV bytes); --json prints one JSON object
// instead. --prompts FILE.jsonl decodes many prompts together (continuous
// batching) and prints one JSON line per prompt; a prompt that cannot be
// served gets its own error line and the others complete (exit 1).
// SIGINT stops every sequence: what was generated is printed with stop
// reason "interrupted", exit 130.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "rkv/command.h"
#include "rkv/core/buffer.h"
#include "rkv/core/interrupt.h"
#include "rkv/core/json.h"
#include "rkv/core/output_file.h"
#include "rkv/engine/loaded_model.h"
#include "rkv/flags.h"
#include "rkv/generation_flags.h"
#include "rkv/tokenizer/tokenizer.h"

namespace rkv::cli {
namespace {

void declare_flags(Flags& f) {
  f.option("-m,--model", "Hugging Face model folder or .gguf file")
      .option("-p,--prompt", "prompt text")
      .option("-f,--file", "read the prompt text from this file")
      .option("--ids", "prompt as comma-separated token ids (no tokenizer needed)")
      .option("--prompts", "JSONL file, one {\"prompt\": ...}, {\"messages\": [...]} or {\"ids\": [...]} per line, decoded together")
      .toggle("--chat", "format the prompt with the model's chat template")
      .option("--system", "system message for --chat");
  declare_sampling_flags(f);
  declare_engine_flags(f);
  f.option("--trace-kept", "write the kept positions of every compression to this JSONL file")
      .toggle("--trace-scores", "add the scores to --trace-kept")
      .toggle("--kv-stats", "print each layer's cache length after every compression (stderr)")
      .toggle("--verify-fullkv", "check mode: the method with a budget above prompt + max-new must give FullKV's tokens")
      .toggle("--json", "print one JSON object at the end instead of streaming text");
}

// One line of --prompts: its input and optional per-line max_new_tokens. A
// line that is not a JSON object with one of the inputs is a named error
// before anything runs.
RequestSpec spec_from_line(const std::string& line, const std::string& where, const RequestSpec& base) {
  check_json_depth(line, where);
  auto j = nlohmann::ordered_json::parse(line, nullptr, false);
  RKV_CHECK(!j.is_discarded() && j.is_object(), where, ": not a JSON object");
  RequestSpec spec = base;
  spec.text.reset();
  if (j.contains("ids")) {
    RKV_CHECK(j["ids"].is_array(), where, ": 'ids' must be an array of token ids");
    std::vector<int64_t> ids;
    for (const auto& x : j["ids"]) {
      RKV_CHECK(x.is_number_integer(), where, ": 'ids' must hold integers");
      ids.push_back(x.get<int64_t>());
    }
    spec.ids = std::move(ids);
    spec.chat = false;
  } else if (j.contains("messages")) {
    RKV_CHECK(j["messages"].is_array(), where, ": 'messages' must be an array of {\"role\", \"content\"} objects");
    spec.messages = j["messages"];
    spec.chat = false;
  } else if (j.contains("prompt")) {
    RKV_CHECK(j["prompt"].is_string(), where, ": 'prompt' must be a string");
    spec.text = j["prompt"].get<std::string>();
  } else {
    fail(where, ": expected {\"prompt\": \"...\"}, {\"messages\": [...]} or {\"ids\": [...]}");
  }
  if (j.contains("max_new_tokens")) {
    RKV_CHECK(j["max_new_tokens"].is_number_integer() && j["max_new_tokens"].get<int64_t>() >= 1 &&
                  j["max_new_tokens"].get<int64_t>() <= kMaxTokens,
              where, ": 'max_new_tokens' must be an integer in [1, ", kMaxTokens, "]");
    spec.max_new_tokens = j["max_new_tokens"].get<int64_t>();
  }
  return spec;
}

std::vector<RequestSpec> read_prompts_file(const std::string& path, const RequestSpec& base) {
  const std::string text = read_text_file(path);
  std::vector<RequestSpec> specs;
  size_t at = 0;
  for (int line_no = 1; at < text.size(); ++line_no) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(at, end - at);
    at = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    specs.push_back(spec_from_line(line, path + ":" + std::to_string(line_no), base));
  }
  RKV_CHECK(!specs.empty(), path, ": no prompts");
  return specs;
}

nlohmann::ordered_json result_json(const GenerationResult& r, bool has_text) {
  nlohmann::ordered_json out;
  out["prompt_ids"] = r.prompt_ids;
  out["ids"] = r.ids;
  if (has_text) out["text"] = r.text;
  else out["text"] = nullptr;
  out["stop"] = stop_reason_name(r.stop);
  if (r.stop == StopReason::Error) out["error"] = r.error;
  out["prompt_tokens"] = r.prompt_ids.size();
  out["generated_tokens"] = r.ids.size();
  out["prefill_tps"] = r.prefill_seconds > 0 ? static_cast<double>(r.prompt_ids.size()) / r.prefill_seconds : 0.0;
  // the first generated token comes from the prefill's logits
  out["decode_tps"] = r.decode_seconds > 0 ? static_cast<double>(r.ids.size() > 0 ? r.ids.size() - 1 : 0) / r.decode_seconds : 0.0;
  out["kv_peak_bytes"] = r.kv_peak_bytes;
  out["compressions"] = r.compressions;
  return out;
}

// A reader that went away (closed pipe, full disk) ends the run now, not
// after generating everything for nobody.
void flush_stdout() {
  if (std::fflush(stdout) != 0)
    throw Error("cannot write the output (standard output): " + std::string(std::strerror(errno)));
}

void print_json_line(const nlohmann::ordered_json& j) {
  std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  flush_stdout();
}

// The debugging check the reference guide recommends: compression that never
// triggers must not change a single token.
int verify_fullkv(LoadedModel& lm, const EngineOptions& options, const std::vector<GenerationRequest>& requests) {
  int failures = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    EngineOptions full = options, never = options;
    full.policy.method = default_config(Method::FullKV);
    never.trace = nullptr;
    never.policy.method.budget = static_cast<int64_t>(requests[i].prompt.size()) + requests[i].stop.max_new_tokens + 1;
    never.policy.method.first_tokens = 0;
    never.policy.validate();
    auto a = generate_one(lm.lm(), full, requests[i], lm.pool()), b = generate_one(lm.lm(), never, requests[i], lm.pool());
    size_t same = 0;
    while (same < a.ids.size() && same < b.ids.size() && a.ids[same] == b.ids[same]) ++same;
    const bool ok = a.ids == b.ids;
    failures += ok ? 0 : 1;
    std::printf("verify-fullkv: prompt %zu: %s with budget %lld: %s (%zu tokens)\n", i,
                method_name(options.policy.method.method).c_str(), static_cast<long long>(never.policy.method.budget),
                ok ? "identical to fullkv" : ("differs at token " + std::to_string(same)).c_str(), a.ids.size());
  }
  return failures == 0 ? 0 : 1;
}

void print_summary(const GenerationResult& r, const nlohmann::ordered_json& j, const EngineOptions& options) {
  std::fprintf(stderr,
               "prompt %zu tokens, prefill %.1f tok/s | generated %zu tokens, decode %.1f tok/s | peak KV %lld bytes | "
               "%s, %d compressions | stop: %s\n",
               r.prompt_ids.size(), j["prefill_tps"].get<double>(), r.ids.size(), j["decode_tps"].get<double>(),
               static_cast<long long>(r.kv_peak_bytes), method_name(options.policy.method.method).c_str(), r.compressions,
               stop_reason_name(r.stop));
  const KvPolicy& p = options.policy;
  const int64_t total = static_cast<int64_t>(r.prompt_ids.size() + r.ids.size());
  if (p.method.method != Method::FullKV && r.compressions > 0)
    std::fprintf(stderr, "KV cache held at <= %lld tokens per layer (budget %lld + buffer %lld) while the sequence grew to %lld tokens (%.1fx)\n",
                 static_cast<long long>(p.steady_capacity()), static_cast<long long>(p.method.budget),
                 static_cast<long long>(p.divide_length), static_cast<long long>(total),
                 static_cast<double>(total) / static_cast<double>(p.steady_capacity()));
  if (r.stop == StopReason::Error) std::fprintf(stderr, "error: %s\n", r.error.c_str());
}

int run_generate(const Args& args) {
  Flags f("generate", "-m MODEL (-p TEXT | -f FILE | --ids 1,2,3 | --prompts FILE.jsonl) [-n MAX_NEW] [--kv rkv --budget N ...] [--json]");
  declare_flags(f);
  if (!f.parse(args)) return 0;
  RKV_CHECK(f.given("--model"), "missing -m MODEL");
  RKV_CHECK(f.positional().empty(), "unexpected argument '", f.positional().front(), "'");
  const int given_inputs = int(f.given("--prompt")) + int(f.given("--file")) + int(f.given("--ids")) + int(f.given("--prompts"));
  RKV_CHECK(given_inputs == 1, "give exactly one of -p TEXT, -f FILE, --ids 1,2,3, --prompts FILE.jsonl");
  RKV_CHECK(!f.on("--chat") || !f.given("--ids"), "--chat needs a text prompt (-p or -f), not --ids");
  RKV_CHECK(!f.given("--system") || f.on("--chat"), "--system needs --chat");
  // Everything about the request and compression is checked before the model loads.
  RequestSpec base = request_spec_from_flags(f);
  const EngineFlags engine_flags = engine_flags_from(f);
  base.chat = f.on("--chat");
  if (f.given("--system")) base.system = f.str("--system");
  std::vector<RequestSpec> specs;
  if (f.given("--prompts")) {
    specs = read_prompts_file(f.str("--prompts"), base);
  } else {
    RequestSpec spec = base;
    if (f.given("--ids")) spec.ids = parse_int_list(f.str("--ids"), "--ids");
    else spec.text = f.given("--prompt") ? f.str("--prompt") : read_text_file(f.str("--file"));
    specs.push_back(std::move(spec));
  }

  auto lm = load_model(f.str("--model"), engine_flags);
  EngineOptions options = engine_options_from(*lm, engine_flags);
  const bool batch_mode = f.given("--prompts");
  // A request that cannot be built is an error of its own in batch mode
  // (the others still run); alone, it is the command's error.
  // A chat template that is missing or does not parse fails every chat
  // prompt alike: that is the model's error, reported once.
  for (const auto& spec : specs)
    if (spec.messages || spec.chat) {
      lm->chat_template();
      break;
    }
  std::vector<GenerationRequest> requests(specs.size());
  std::map<size_t, std::string> build_errors;
  for (size_t i = 0; i < specs.size(); ++i) {
    try {
      requests[i] = lm->build(specs[i]);
    } catch (const Error& e) {
      if (!batch_mode) throw;
      build_errors[i] = e.what();
    }
  }

  // Before the trace file exists: the output files' own SIGINT cleanup then
  // leaves it to this graceful stop, and the trace is committed at the end.
  install_interrupt_handler();
  std::unique_ptr<OutputStream> trace;  // committed after the run: a failed write is an error
  if (f.given("--trace-kept")) {
    trace = std::make_unique<OutputStream>(f.str("--trace-kept"));
    options.trace = trace.get();
    options.trace_scores = f.on("--trace-scores");
  }
  if (f.on("--kv-stats")) options.kv_stats = &std::cerr;
  if (f.on("--verify-fullkv")) return verify_fullkv(*lm, options, requests);

  Engine engine(lm->lm(), options, lm->pool());
  std::map<int, size_t> index_of;  // engine id -> prompt index
  int failed = 0;
  const bool has_text = lm->tokenizer() != nullptr;
  auto report_error = [&](size_t index, const std::string& message) {
    ++failed;
    print_json_line({{"index", index}, {"stop", "error"}, {"error", message}});
  };
  for (size_t i = 0; i < requests.size(); ++i) {
    if (build_errors.count(i)) {
      report_error(i, build_errors[i]);
      continue;
    }
    try {
      index_of[engine.submit(std::move(requests[i]))] = i;
    } catch (const Error& e) {
      if (!batch_mode) throw;
      report_error(i, e.what());
    }
  }
  const bool json_out = f.on("--json") || batch_mode;
  EngineCallbacks callbacks;
  if (!json_out)
    callbacks.on_token = [&](int, int32_t token, const std::string& text) {
      if (has_text) std::fwrite(text.data(), 1, text.size(), stdout);
      else if (token >= 0) std::printf("%d ", token);
      flush_stdout();
    };
  GenerationResult single;
  callbacks.on_done = [&](const GenerationResult& r) {
    if (r.stop == StopReason::Error) ++failed;
    if (!batch_mode) {
      single = r;
      return;
    }
    auto j = result_json(r, has_text);  // a JSON line per prompt, as each finishes
    j["index"] = index_of.at(r.id);
    print_json_line(j);
  };
  engine.run(callbacks, &interrupt_flag());
  if (trace) trace->commit();
  const int status = interrupt_exit_code() ? interrupt_exit_code() : (failed > 0 ? 1 : 0);
  if (batch_mode) return status;
  auto j = result_json(single, has_text);
  if (json_out) {
    print_json_line(j);
  } else {
    std::printf("\n");
    std::fflush(stdout);
    print_summary(single, j, options);
  }
  return status;
}

RKV_COMMAND("generate", "generate text (or ids) with a compressed KV cache, from a model folder or .gguf file", run_generate);

}  // namespace
}  // namespace rkv::cli
