// engine/loaded_model: a model made ready to generate — weights, tokenizer,
// chat template, worker threads — and the ONE place where what a user asks
// for (a prompt text, chat messages or token ids; sampling; stops; a KV
// policy) becomes a GenerationRequest. `rkv generate`, `rkv eval` and
// `rkv serve` all build their requests here, so a prompt means the same
// tokens through every door: text is encoded with the tokenizer's own special
// tokens (BOS where the tokenizer adds one); messages go through the model's
// chat template with the generation prompt and are encoded without adding
// specials (the template writes them), as Hugging Face's apply_chat_template
// does. Unset sampling fields take generation_config.json's defaults.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "rkv/core/thread_pool.h"
#include "rkv/engine/engine.h"
#include "rkv/engine/model_lm.h"
#include "rkv/model/model.h"

namespace rkv {

class ChatTemplate;
class Tokenizer;

// What a user asks for, before tokenization. Exactly one input is set.
struct RequestSpec {
  std::optional<std::string> text;                 // a raw prompt
  std::optional<nlohmann::ordered_json> messages;  // [{"role", "content"}, ...] through the chat template
  std::optional<std::vector<int64_t>> ids;         // token ids as given
  bool chat = false;                               // text as one user message through the chat template
  std::optional<std::string> system;               // with chat: a system message first

  // Sampling: unset fields take generation_config.json's defaults (else greedy).
  std::optional<double> temperature, top_p, min_p;
  std::optional<int64_t> top_k;
  double repetition_penalty = 1.0, presence_penalty = 0.0, frequency_penalty = 0.0;
  uint64_t seed = 0;

  int64_t max_new_tokens = 256;
  std::vector<std::string> stop;  // stop strings (not part of the output)
  bool ignore_eos = false;
  std::optional<KvPolicy> policy;  // else the engine's
};

class LoadedModel {
 public:
  // path: a Hugging Face folder or a .gguf file. threads: 0 = all cores.
  // prefill_chunk: prompt tokens per forward. chat_template_file: a Jinja
  // file used instead of the model's own template (as llama-server's
  // --chat-template-file); an unreadable or invalid one is an error here.
  static std::unique_ptr<LoadedModel> load(const std::string& path, int threads = 0, int64_t prefill_chunk = 512,
                                           const std::string& chat_template_file = "");
  ~LoadedModel();

  const std::string& path() const { return path_; }
  const Model& model() const { return *model_; }
  const ModelConfig& config() const { return model_->config(); }
  CausalLM& lm() { return *lm_; }
  ThreadPool& pool() { return *pool_; }
  int64_t prefill_chunk() const { return prefill_chunk_; }

  // nullptr when no tokenizer could be loaded; tokenizer_error() says why.
  const Tokenizer* tokenizer() const { return tokenizer_.get(); }
  const std::string& tokenizer_error() const { return tokenizer_error_; }
  bool has_chat_template() const { return chat_ != nullptr; }
  // The model's chat template (tokenizer_config.json, or the GGUF's
  // tokenizer.chat_template), read at load; rkv::Error when it has none.
  const ChatTemplate& chat_template() const;

  // Engine options that belong to this model (tokenizer, newline tokens for
  // divide_method newline, </think> for compression_content think); checks
  // that the policy can run on it.
  EngineOptions engine_options(const KvPolicy& policy, DType kv_type = DType::F32) const;

  // The one request builder (see the top of this file). rkv::Error names
  // what is wrong: no tokenizer for a text prompt, no chat template, ids
  // outside the vocabulary, an empty prompt, bad sampling values.
  GenerationRequest build(const RequestSpec& spec) const;
  // The text a chat request renders to (what the model is given).
  std::string render_chat(const nlohmann::ordered_json& messages) const;
  std::vector<int32_t> encode(const std::string& text, bool add_special_tokens) const;
  // The messages of a `chat` spec: optional system message, then the user text.
  static nlohmann::ordered_json chat_messages(const std::string& user, const std::optional<std::string>& system);

 private:
  LoadedModel() = default;
  const Tokenizer& require_tokenizer(const char* what) const;

  std::string path_;
  int64_t prefill_chunk_ = 512;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<ModelLM> lm_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::string tokenizer_error_;
  std::unique_ptr<ChatTemplate> chat_;  // nullptr when the model has none; chat_error_ says why
  std::string chat_error_;
  std::set<int32_t> newline_tokens_;
  int32_t think_end_token_ = -1;
};

}  // namespace rkv
