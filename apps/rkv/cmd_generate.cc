// rkv generate: prompt in (text through the model's tokenizer, or --ids),
// tokens out, streamed as they come; a one-line summary at the end (prompt
// tokens and prefill tok/s, generated tokens and decode tok/s, peak KV bytes)
// or, with --json, one JSON object instead of the streamed text.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "rkv/command.h"
#include "rkv/core/buffer.h"
#include "rkv/flags.h"
#include "rkv/model/model.h"
#include "rkv/sampling/sampler.h"
#include "rkv/tokenizer/tokenizer.h"

namespace rkv::cli {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::unique_ptr<Tokenizer> try_tokenizer(const std::string& model_path, std::string& why) {
  try {
    return std::make_unique<Tokenizer>(Tokenizer::load(model_path));
  } catch (const Error& e) {
    why = e.what();
    return nullptr;
  }
}

int run_generate(const Args& args) {
  Flags f("generate", "-m MODEL (-p TEXT | -f FILE | --ids 1,2,3) [-n MAX_NEW] [--temp T --top-p P --top-k K --min-p M --seed S] [--json]");
  f.option("-m,--model", "Hugging Face model folder or .gguf file")
      .option("-p,--prompt", "prompt text")
      .option("-f,--file", "read the prompt text from this file")
      .option("--ids", "prompt as comma-separated token ids (no tokenizer needed)")
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
      .option("--batch", "prefill batch size in tokens", "512")
      .option("--kv-type", "KV cache storage: f32 | f16 | bf16", "f32")
      .toggle("--json", "print one JSON object at the end instead of streaming text");
  if (!f.parse(args)) return 0;
  RKV_CHECK(f.given("--model"), "missing -m MODEL");
  RKV_CHECK(f.positional().empty(), "unexpected argument '", f.positional().front(), "'");
  const int given_inputs = int(f.given("--prompt")) + int(f.given("--file")) + int(f.given("--ids"));
  RKV_CHECK(given_inputs == 1, "give exactly one of -p TEXT, -f FILE, --ids 1,2,3");
  const int64_t max_new = f.integer("--max-new");
  RKV_CHECK(max_new >= 0, "--max-new must be >= 0");
  const int64_t batch = f.integer("--batch");
  RKV_CHECK(batch > 0, "--batch must be > 0");
  const DType kv_type = parse_float_dtype(f.str("--kv-type"));
  RKV_CHECK(kv_type != DType::F64, "--kv-type must be f32, f16 or bf16");

  const std::string model_path = f.str("--model");
  auto model = Model::load(model_path);
  const ModelConfig& cfg = model->config();
  std::string tok_error;
  std::unique_ptr<Tokenizer> tok = try_tokenizer(model_path, tok_error);

  std::vector<int32_t> prompt;
  if (f.given("--ids")) {
    RKV_CHECK(!f.on("--chat"), "--chat needs a text prompt (-p or -f), not --ids");
    for (int64_t id : parse_int_list(f.str("--ids"), "--ids")) {
      RKV_CHECK(id >= 0 && id < cfg.vocab_size, "--ids: token id ", id, " is outside the vocabulary [0, ", cfg.vocab_size, ")");
      prompt.push_back(static_cast<int32_t>(id));
    }
  } else {
    std::string text = f.given("--prompt") ? f.str("--prompt") : read_text_file(f.str("--file"));
    RKV_CHECK(tok, "a text prompt needs the model's tokenizer, and none could be loaded from ", model_path, " (",
              tok_error, "); give the prompt as --ids 1,2,3 instead");
    RKV_CHECK(!f.on("--chat"), "--chat: chat templates are not supported yet; give the formatted prompt with -p");
    for (TokenId id : tok->encode(text, true)) prompt.push_back(id);
  }
  RKV_CHECK(!prompt.empty(), "the prompt is empty");

  SamplingParams sp;
  sp.temperature = f.given("--temp") ? f.number("--temp") : (cfg.default_temperature > 0 ? cfg.default_temperature : 0.0);
  sp.top_p = f.given("--top-p") ? f.number("--top-p") : (cfg.default_top_p > 0 ? cfg.default_top_p : 1.0);
  sp.top_k = f.given("--top-k") ? f.integer("--top-k") : (cfg.default_top_k > 0 ? cfg.default_top_k : 0);
  sp.min_p = f.number("--min-p");
  sp.repetition_penalty = f.number("--repeat-penalty");
  sp.presence_penalty = f.number("--presence-penalty");
  sp.frequency_penalty = f.number("--frequency-penalty");
  sp.seed = static_cast<uint64_t>(f.integer("--seed"));
  Sampler sampler(sp);
  std::vector<int64_t> eos = cfg.eos_ids;
  if (tok && tok->eos_id() && std::find(eos.begin(), eos.end(), *tok->eos_id()) == eos.end()) eos.push_back(*tok->eos_id());
  const std::string stop_text = f.given("--stop") ? f.str("--stop") : "";
  const bool json_out = f.on("--json");

  ThreadPool pool(static_cast<int>(f.integer("--threads")));
  const int64_t P = static_cast<int64_t>(prompt.size());
  auto caches = model->make_caches(std::min<int64_t>(P + max_new, 1 << 20), kv_type, 256);
  auto kv_bytes = [&] {
    int64_t b = 0;
    for (const auto& c : caches) b += static_cast<int64_t>(c.bytes());
    return b;
  };
  std::vector<float> logits(static_cast<size_t>(cfg.vocab_size));

  // Prefill in batches.
  auto t0 = Clock::now();
  for (int64_t s = 0; s < P; s += batch) {
    const int64_t n = std::min(batch, P - s);
    std::vector<int32_t> pos(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) pos[i] = static_cast<int32_t>(s + i);
    model->forward(prompt.data() + s, pos.data(), n, caches, logits.data(), false, pool);
  }
  const double prefill_s = seconds_since(t0);
  int64_t kv_peak = kv_bytes();

  std::vector<int32_t> history = prompt, generated;
  std::optional<StreamDecoder> stream;
  if (tok) stream.emplace(*tok, false);
  std::string text;
  std::string stop = "length";
  double decode_s = 0;
  int64_t decode_steps = 0;
  for (int64_t step = 0; step < max_new; ++step) {
    const int32_t next = sampler.sample(logits.data(), cfg.vocab_size, history);
    const bool is_eos = std::find(eos.begin(), eos.end(), next) != eos.end();
    if (is_eos && !f.on("--ignore-eos")) {
      stop = "eos";
      break;
    }
    generated.push_back(next);
    history.push_back(next);
    if (stream) {
      std::string piece = stream->push(next);
      text += piece;
      if (!stop_text.empty() && text.find(stop_text) != std::string::npos) {
        size_t cut = text.find(stop_text);
        if (!json_out) {
          size_t already = text.size() - piece.size();
          if (cut > already) std::fwrite(text.data() + already, 1, cut - already, stdout);
        }
        text.resize(cut);
        stop = "stop";
        break;
      }
      if (!json_out) {
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
      }
    } else if (!json_out) {
      std::printf("%s%d", generated.size() > 1 ? " " : "", next);
      std::fflush(stdout);
    }
    if (step + 1 == max_new) break;
    const int32_t pos = static_cast<int32_t>(P + step);
    auto t1 = Clock::now();
    model->forward(&next, &pos, 1, caches, logits.data(), false, pool);
    decode_s += seconds_since(t1);
    ++decode_steps;
    kv_peak = std::max(kv_peak, kv_bytes());
  }
  if (stream && stop != "stop") {
    std::string rest = stream->finish();
    text += rest;
    if (!json_out) std::fwrite(rest.data(), 1, rest.size(), stdout);
  }
  const double prefill_tps = prefill_s > 0 ? static_cast<double>(P) / prefill_s : 0.0;
  const double decode_tps = decode_s > 0 ? static_cast<double>(decode_steps) / decode_s : 0.0;
  if (json_out) {
    nlohmann::ordered_json out;
    out["prompt_ids"] = prompt;
    out["ids"] = generated;
    if (tok)
      out["text"] = text;
    else
      out["text"] = nullptr;
    out["stop"] = stop;
    out["prompt_tokens"] = P;
    out["generated_tokens"] = generated.size();
    out["prefill_tps"] = prefill_tps;
    out["decode_tps"] = decode_tps;
    out["kv_peak_bytes"] = kv_peak;
    std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::printf("\n");
    std::fprintf(stderr, "prompt %lld tokens, prefill %.1f tok/s | generated %zu tokens, decode %.1f tok/s | peak KV %lld bytes | stop: %s\n",
                 static_cast<long long>(P), prefill_tps, generated.size(), decode_tps, static_cast<long long>(kv_peak),
                 stop.c_str());
  }
  return 0;
}

RKV_COMMAND("generate", "generate text (or ids) from a model folder or .gguf file", run_generate);

}  // namespace
}  // namespace rkv::cli
