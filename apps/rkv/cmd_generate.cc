// rkv generate: prompt in (text through the model's tokenizer, or --ids),
// tokens out, streamed as they come, with the KV cache compressed by the
// chosen method (R-KV by default is off: --kv fullkv unless asked). A
// one-line summary ends the run (prompt tokens and prefill tok/s, generated
// tokens and decode tok/s, peak KV bytes); --json prints one JSON object
// instead. --prompts FILE.jsonl decodes many prompts together (continuous
// batching) and prints one JSON line per prompt.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "rkv/command.h"
#include "rkv/core/buffer.h"
#include "rkv/core/json.h"
#include "rkv/core/output_file.h"
#include "rkv/engine/engine.h"
#include "rkv/engine/model_lm.h"
#include "rkv/flags.h"
#include "rkv/kv_flags.h"
#include "rkv/model/model.h"
#include "rkv/tokenizer/chat_template.h"
#include "rkv/tokenizer/tokenizer.h"

namespace rkv::cli {
namespace {

std::unique_ptr<Tokenizer> try_tokenizer(const std::string& model_path, std::string& why) {
  try {
    return std::make_unique<Tokenizer>(Tokenizer::load(model_path));
  } catch (const Error& e) {
    why = e.what();
    return nullptr;
  }
}

void declare_flags(Flags& f) {
  f.option("-m,--model", "Hugging Face model folder or .gguf file")
      .option("-p,--prompt", "prompt text")
      .option("-f,--file", "read the prompt text from this file")
      .option("--ids", "prompt as comma-separated token ids (no tokenizer needed)")
      .option("--prompts", "JSONL file, one {\"prompt\": ...} or {\"ids\": [...]} per line, decoded together")
      .toggle("--chat", "format the prompt with the model's chat template")
      .option("--system", "system message for --chat")
      .option("-n,--max-new", "maximum number of new tokens", "256")
      .option("--temp", "temperature (0 = greedy; default: generation_config.json or 0)")
      .option("--top-p", "nucleus sampling mass (default: generation_config.json or 1)")
      .option("--top-k", "keep the k most likely tokens (0 = off)")
      .option("--min-p", "drop tokens below min-p x the top probability", "0")
      .option("--repeat-penalty", "repetition penalty (1 = off)", "1")
      .option("--presence-penalty", "presence penalty", "0")
      .option("--frequency-penalty", "frequency penalty", "0")
      .option("--seed", "random seed", "0")
      .option("--stop", "stop when the generated text contains this string")
      .toggle("--ignore-eos", "do not stop on end-of-sequence tokens")
      .option("--threads", "worker threads (default: all cores)", "0")
      .option("--batch", "prefill chunk in tokens", "512")
      .option("--kv-type", "KV cache storage: f32 | f16 | bf16", "f32")
      // KV compression (RKV-SPEC.md; docs/rkv-method.md)
      .option("--kv", "KV method: rkv | snapkv | h2o | streamingllm | fullkv", "fullkv")
      .option("--divide-method", "step_length | newline: when to compress", "step_length")
      .option("--divide-length", "tokens between compressions (the buffer)", "128")
      .option("--compress", "all | think: stop compressing after </think> with think", "all")
      .option("--kv-config", "JSON file with the reference's compression dictionary (overrides the flags above)")
      .option("--max-batch", "sequences decoded together with --prompts", "8")
      .option("--kv-memory", "KV bytes all running sequences may reach, e.g. 4G (0 = unlimited)", "0")
      .option("--trace-kept", "write the kept positions of every compression to this JSONL file")
      .toggle("--trace-scores", "add the scores to --trace-kept")
      .toggle("--kv-stats", "print each layer's cache length after every compression (stderr)")
      .toggle("--verify-fullkv", "check mode: the method with a budget above prompt + max-new must give FullKV's tokens")
      .toggle("--json", "print one JSON object at the end instead of streaming text");
  declare_compression_flags(f);
}

KvPolicy policy_from_flags(const Flags& f) {
  if (f.given("--kv-config")) return load_kv_policy(f.str("--kv-config"));
  KvPolicy p;
  p.method = compression_from_flags(f, parse_method(f.str("--kv")));
  p.divide_method = parse_divide_method(f.str("--divide-method"));
  p.divide_length = f.integer("--divide-length");
  p.content = parse_compression_content(f.str("--compress"));
  p.validate();
  return p;
}

std::vector<int32_t> encode_prompt(const std::string& text, const Tokenizer* tok, const std::string& model_path,
                                   const std::string& tok_error) {
  RKV_CHECK(tok, "a text prompt needs the model's tokenizer, and none could be loaded from ", model_path, " (", tok_error,
            "); give the prompt as --ids 1,2,3 instead");
  std::vector<int32_t> ids;
  for (TokenId id : tok->encode(text, true)) ids.push_back(id);
  return ids;
}

// The model's chat template: tokenizer_config.json of a Hugging Face folder,
// or tokenizer.chat_template of a GGUF file (with its BOS / EOS texts).
std::unique_ptr<ChatTemplate> load_chat_template(const std::string& model_path, const Tokenizer* tok) {
  namespace fs = std::filesystem;
  if (fs::is_directory(model_path) && fs::exists(fs::path(model_path) / "tokenizer_config.json"))
    return std::make_unique<ChatTemplate>(ChatTemplate::from_tokenizer_config(model_path));
  RKV_CHECK(tok && !tok->chat_template().empty(), model_path, ": no chat template (tokenizer_config.json or GGUF tokenizer.chat_template)");
  auto t = std::make_unique<ChatTemplate>(tok->chat_template(), model_path + " chat template");
  t->set_special_tokens({{"bos_token", tok->bos_token()}, {"eos_token", tok->eos_token()}});
  return t;
}

// Renders messages with the generation prompt and encodes the text as
// Hugging Face's apply_chat_template does (the template writes BOS itself).
std::vector<int32_t> encode_chat(const nlohmann::ordered_json& messages, const ChatTemplate& chat, const Tokenizer* tok,
                                 const std::string& model_path, const std::string& tok_error) {
  RKV_CHECK(tok, "--chat needs the model's tokenizer, and none could be loaded from ", model_path, " (", tok_error, ")");
  std::string text = chat.render(messages, true);
  std::vector<int32_t> ids;
  for (TokenId id : tok->encode(text, false)) ids.push_back(id);
  return ids;
}

std::vector<int32_t> checked_ids(const std::vector<int64_t>& ids, int64_t vocab, const std::string& what) {
  std::vector<int32_t> out;
  for (int64_t id : ids) {
    RKV_CHECK(id >= 0 && id < vocab, what, ": token id ", id, " is outside the vocabulary [0, ", vocab, ")");
    out.push_back(static_cast<int32_t>(id));
  }
  return out;
}

nlohmann::ordered_json result_json(const GenerationResult& r, bool has_text) {
  nlohmann::ordered_json out;
  out["prompt_ids"] = r.prompt_ids;
  out["ids"] = r.ids;
  if (has_text) out["text"] = r.text;
  else out["text"] = nullptr;
  out["stop"] = stop_reason_name(r.stop);
  out["prompt_tokens"] = r.prompt_ids.size();
  out["generated_tokens"] = r.ids.size();
  out["prefill_tps"] = r.prefill_seconds > 0 ? static_cast<double>(r.prompt_ids.size()) / r.prefill_seconds : 0.0;
  // the first generated token comes from the prefill's logits
  out["decode_tps"] = r.decode_seconds > 0 ? static_cast<double>(r.ids.size() > 0 ? r.ids.size() - 1 : 0) / r.decode_seconds : 0.0;
  out["kv_peak_bytes"] = r.kv_peak_bytes;
  out["compressions"] = r.compressions;
  return out;
}

int run_generate(const Args& args) {
  Flags f("generate", "-m MODEL (-p TEXT | -f FILE | --ids 1,2,3 | --prompts FILE.jsonl) [-n MAX_NEW] [--kv rkv --budget N ...] [--json]");
  declare_flags(f);
  if (!f.parse(args)) return 0;
  RKV_CHECK(f.given("--model"), "missing -m MODEL");
  RKV_CHECK(f.positional().empty(), "unexpected argument '", f.positional().front(), "'");
  const int given_inputs = int(f.given("--prompt")) + int(f.given("--file")) + int(f.given("--ids")) + int(f.given("--prompts"));
  RKV_CHECK(given_inputs == 1, "give exactly one of -p TEXT, -f FILE, --ids 1,2,3, --prompts FILE.jsonl");
  const int64_t max_new = f.integer("--max-new", 1, kMaxTokens);
  const DType kv_type = parse_float_dtype(f.str("--kv-type"));
  RKV_CHECK(!f.on("--chat") || !f.given("--ids"), "--chat needs a text prompt (-p or -f), not --ids");
  RKV_CHECK(!f.given("--system") || f.on("--chat"), "--system needs --chat");
  // Everything about compression is checked before the model loads.
  EngineOptions options;
  options.policy = policy_from_flags(f);
  options.kv_type = kv_type;
  options.max_batch = static_cast<int>(f.integer("--max-batch", 1, 1 << 16));
  options.kv_memory = f.bytes("--kv-memory");

  const std::string model_path = f.str("--model");
  auto model = Model::load(model_path);
  const ModelConfig& cfg = model->config();
  std::string tok_error;
  std::unique_ptr<Tokenizer> tok = try_tokenizer(model_path, tok_error);
  options.tokenizer = tok.get();
  if (tok) {
    for (const char* nl : {"\n", ".\n", ")\n", "\n\n", ".\n\n", ")\n\n"}) {
      auto ids = tok->encode(nl, false);
      if (ids.size() == 1) options.newline_tokens.insert(ids[0]);
    }
    if (auto think = tok->find("</think>")) options.think_end_token = *think;
  }
  RKV_CHECK(options.policy.divide_method != DivideMethod::Newline || !options.newline_tokens.empty(),
            "--divide-method newline needs the model's tokenizer to find the newline tokens");

  std::unique_ptr<ChatTemplate> chat;
  if (f.on("--chat")) chat = load_chat_template(model_path, tok.get());

  GenerationRequest base;
  SamplingParams& sp = base.sampling;
  sp.temperature = f.given("--temp") ? f.number("--temp") : (cfg.default_temperature > 0 ? cfg.default_temperature : 0.0);
  sp.top_p = f.given("--top-p") ? f.number("--top-p") : (cfg.default_top_p > 0 ? cfg.default_top_p : 1.0);
  sp.top_k = f.given("--top-k") ? f.integer("--top-k") : (cfg.default_top_k > 0 ? cfg.default_top_k : 0);
  sp.min_p = f.number("--min-p");
  sp.repetition_penalty = f.number("--repeat-penalty");
  sp.presence_penalty = f.number("--presence-penalty");
  sp.frequency_penalty = f.number("--frequency-penalty");
  sp.seed = static_cast<uint64_t>(f.integer("--seed"));
  sp.validate();
  for (int64_t id : cfg.eos_ids) base.stop.eos_ids.insert(static_cast<int32_t>(id));
  if (tok && tok->eos_id()) base.stop.eos_ids.insert(*tok->eos_id());
  if (f.given("--stop")) base.stop.stop_strings.push_back(f.str("--stop"));
  base.stop.max_new_tokens = max_new;
  base.stop.ignore_eos = f.on("--ignore-eos");

  std::vector<GenerationRequest> requests;
  if (f.given("--prompts")) {
    std::ifstream in(f.str("--prompts"));
    RKV_CHECK(in.good(), f.str("--prompts"), ": cannot open");
    std::string line;
    int line_no = 0;
    while (std::getline(in, line)) {
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const std::string where = f.str("--prompts") + ":" + std::to_string(line_no);
      check_json_depth(line, where);
      auto j = nlohmann::json::parse(line, nullptr, false);
      RKV_CHECK(!j.is_discarded() && j.is_object(), where, ": not a JSON object");
      GenerationRequest r = base;
      if (j.contains("ids") && j["ids"].is_array()) {
        std::vector<int64_t> ids;
        for (const auto& x : j["ids"]) {
          RKV_CHECK(x.is_number_integer(), where, ": 'ids' must hold integers");
          ids.push_back(x.get<int64_t>());
        }
        r.prompt = checked_ids(ids, cfg.vocab_size, where);
      } else if (j.contains("messages") && j["messages"].is_array()) {
        if (!chat) chat = load_chat_template(model_path, tok.get());
        r.prompt = encode_chat(nlohmann::ordered_json::parse(j["messages"].dump()), *chat, tok.get(), model_path, tok_error);
      } else if (j.contains("prompt") && j["prompt"].is_string() && chat) {
        r.prompt = encode_chat(nlohmann::ordered_json::array({{{"role", "user"}, {"content", j["prompt"].get<std::string>()}}}),
                               *chat, tok.get(), model_path, tok_error);
      } else if (j.contains("prompt") && j["prompt"].is_string()) {
        r.prompt = encode_prompt(j["prompt"].get<std::string>(), tok.get(), model_path, tok_error);
      } else {
        fail(where, ": expected {\"prompt\": \"...\"}, {\"messages\": [...]} or {\"ids\": [...]}");
      }
      if (j.contains("max_new_tokens")) r.stop.max_new_tokens = j["max_new_tokens"].get<int64_t>();
      requests.push_back(std::move(r));
    }
    RKV_CHECK(!requests.empty(), f.str("--prompts"), ": no prompts");
  } else {
    GenerationRequest r = base;
    if (f.given("--ids")) {
      r.prompt = checked_ids(parse_int_list(f.str("--ids"), "--ids"), cfg.vocab_size, "--ids");
    } else if (chat) {
      nlohmann::ordered_json messages = nlohmann::ordered_json::array();
      if (f.given("--system")) messages.push_back({{"role", "system"}, {"content", f.str("--system")}});
      messages.push_back({{"role", "user"}, {"content", f.given("--prompt") ? f.str("--prompt") : read_text_file(f.str("--file"))}});
      r.prompt = encode_chat(messages, *chat, tok.get(), model_path, tok_error);
    } else
      r.prompt = encode_prompt(f.given("--prompt") ? f.str("--prompt") : read_text_file(f.str("--file")), tok.get(),
                               model_path, tok_error);
    requests.push_back(std::move(r));
  }
  for (const auto& r : requests) RKV_CHECK(!r.prompt.empty(), "the prompt is empty");

  std::unique_ptr<OutputStream> trace;  // committed after the run: a failed write is an error
  if (f.given("--trace-kept")) {
    trace = std::make_unique<OutputStream>(f.str("--trace-kept"));
    options.trace = trace.get();
    options.trace_scores = f.on("--trace-scores");
  }
  if (f.on("--kv-stats")) options.kv_stats = &std::cerr;

  ThreadPool pool(thread_count(f));
  ModelLM lm(*model, pool, f.integer("--batch", 1, 1 << 20));
  if (f.on("--verify-fullkv")) {
    // The debugging check the reference guide recommends: compression that
    // never triggers must not change a single token.
    int failures = 0;
    for (size_t i = 0; i < requests.size(); ++i) {
      EngineOptions full = options, never = options;
      full.policy.method = default_config(Method::FullKV);
      never.trace = nullptr;
      never.policy.method.budget = static_cast<int64_t>(requests[i].prompt.size()) + requests[i].stop.max_new_tokens + 1;
      never.policy.method.first_tokens = 0;
      never.policy.validate();
      auto a = generate_one(lm, full, requests[i], pool), b = generate_one(lm, never, requests[i], pool);
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
  Engine engine(lm, options, pool);
  for (auto& r : requests) engine.submit(std::move(r));
  const bool batch_mode = f.given("--prompts");
  const bool json_out = f.on("--json") || batch_mode;
  EngineCallbacks callbacks;
  if (!json_out)
    callbacks.on_token = [&](int, int32_t token, const std::string& text) {
      if (tok) std::fwrite(text.data(), 1, text.size(), stdout);
      else if (token >= 0) std::printf("%d ", token);
      std::fflush(stdout);
    };
  std::vector<GenerationResult> results(requests.size());
  callbacks.on_done = [&](const GenerationResult& r) {
    results[static_cast<size_t>(r.id)] = r;
    if (batch_mode) {  // a JSON line per prompt, as each finishes
      auto j = result_json(r, tok != nullptr);
      j["index"] = r.id;
      std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
      std::fflush(stdout);
    }
  };
  engine.run(callbacks);
  if (trace) trace->commit();
  if (batch_mode) return 0;
  const GenerationResult& r = results[0];
  auto j = result_json(r, tok != nullptr);
  if (json_out) {
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::printf("\n");
    std::fflush(stdout);
    std::fprintf(stderr,
                 "prompt %zu tokens, prefill %.1f tok/s | generated %zu tokens, decode %.1f tok/s | peak KV %lld bytes | "
                 "%s, %d compressions | stop: %s\n",
                 r.prompt_ids.size(), j["prefill_tps"].get<double>(), r.ids.size(), j["decode_tps"].get<double>(),
                 static_cast<long long>(r.kv_peak_bytes), method_name(options.policy.method.method).c_str(), r.compressions,
                 stop_reason_name(r.stop));
  }
  return 0;
}

RKV_COMMAND("generate", "generate text (or ids) with a compressed KV cache, from a model folder or .gguf file", run_generate);

}  // namespace
}  // namespace rkv::cli
