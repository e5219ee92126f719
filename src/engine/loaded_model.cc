#include "rkv/engine/loaded_model.h"

#include <filesystem>

#include "rkv/core/buffer.h"
#include "rkv/core/error.h"
#include "rkv/tokenizer/chat_template.h"
#include "rkv/tokenizer/tokenizer.h"

namespace rkv {

namespace {

// (ChatTemplate refuses sources over 1 MiB with its own message)
constexpr size_t kMaxChatTemplateFileBytes = size_t{2} << 20;

// tokenizer_config.json of a Hugging Face folder, or tokenizer.chat_template
// of a GGUF file (with its BOS / EOS texts).
std::unique_ptr<ChatTemplate> read_chat_template(const std::string& path, const Tokenizer* tok) {
  namespace fs = std::filesystem;
  if (fs::is_directory(path) && fs::exists(fs::path(path) / "tokenizer_config.json"))
    return std::make_unique<ChatTemplate>(ChatTemplate::from_tokenizer_config(path));
  RKV_CHECK(tok && !tok->chat_template().empty(), path,
            ": the model has no chat template (tokenizer_config.json or GGUF tokenizer.chat_template)");
  auto t = std::make_unique<ChatTemplate>(tok->chat_template(), path + " chat template");
  t->set_special_tokens({{"bos_token", tok->bos_token()}, {"eos_token", tok->eos_token()}});
  return t;
}

}  // namespace

std::unique_ptr<LoadedModel> LoadedModel::load(const std::string& path, int threads, int64_t prefill_chunk,
                                               const std::string& chat_template_file) {
  RKV_CHECK(prefill_chunk >= 1, "the prefill chunk must be at least 1 token (got ", prefill_chunk, ")");
  std::unique_ptr<LoadedModel> m(new LoadedModel());
  m->path_ = path;
  m->prefill_chunk_ = prefill_chunk;
  m->model_ = Model::load(path);
  m->pool_ = std::make_unique<ThreadPool>(threads);
  m->lm_ = std::make_unique<ModelLM>(*m->model_, *m->pool_, prefill_chunk);
  try {
    m->tokenizer_ = std::make_unique<Tokenizer>(Tokenizer::load(path));
  } catch (const Error& e) {
    m->tokenizer_error_ = e.what();
  }
  if (const Tokenizer* tok = m->tokenizer_.get()) {
    for (const char* nl : {"\n", ".\n", ")\n", "\n\n", ".\n\n", ")\n\n"}) {
      auto ids = tok->encode(nl, false);
      if (ids.size() == 1) m->newline_tokens_.insert(ids[0]);
    }
    if (auto think = tok->find("</think>")) m->think_end_token_ = *think;
  }
  if (!chat_template_file.empty()) {
    m->chat_ = std::make_unique<ChatTemplate>(read_text_file(chat_template_file, kMaxChatTemplateFileBytes),
                                              "--chat-template " + chat_template_file);
    if (const Tokenizer* tok = m->tokenizer_.get())
      m->chat_->set_special_tokens({{"bos_token", tok->bos_token()}, {"eos_token", tok->eos_token()}});
    return m;
  }
  try {
    m->chat_ = read_chat_template(path, m->tokenizer_.get());
  } catch (const Error& e) {
    m->chat_error_ = e.what();
  }
  return m;
}

LoadedModel::~LoadedModel() = default;

const ChatTemplate& LoadedModel::chat_template() const {
  RKV_CHECK(chat_, chat_error_);
  return *chat_;
}

const Tokenizer& LoadedModel::require_tokenizer(const char* what) const {
  RKV_CHECK(tokenizer_, what, " needs the model's tokenizer, and none could be loaded from ", path_, " (",
            tokenizer_error_, "); give token ids instead");
  return *tokenizer_;
}

EngineOptions LoadedModel::engine_options(const KvPolicy& policy, DType kv_type) const {
  policy.validate();
  RKV_CHECK(policy.divide_method != DivideMethod::Newline || !newline_tokens_.empty(),
            "divide_method newline needs the model's tokenizer to find the newline tokens");
  EngineOptions o;
  o.policy = policy;
  o.kv_type = kv_type;
  o.prefill_chunk = prefill_chunk_;
  o.tokenizer = tokenizer_.get();
  o.newline_tokens = newline_tokens_;
  o.think_end_token = think_end_token_;
  return o;
}

nlohmann::ordered_json LoadedModel::chat_messages(const std::string& user, const std::optional<std::string>& system) {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  if (system) messages.push_back({{"role", "system"}, {"content", *system}});
  messages.push_back({{"role", "user"}, {"content", user}});
  return messages;
}

std::string LoadedModel::render_chat(const nlohmann::ordered_json& messages) const {
  return chat_template().render(messages, true);
}

std::vector<int32_t> LoadedModel::encode(const std::string& text, bool add_special_tokens) const {
  std::vector<int32_t> ids;
  for (TokenId id : require_tokenizer("a text prompt").encode(text, add_special_tokens)) ids.push_back(id);
  return ids;
}

GenerationRequest LoadedModel::build(const RequestSpec& spec) const {
  const int inputs = int(spec.text.has_value()) + int(spec.messages.has_value()) + int(spec.ids.has_value());
  RKV_CHECK(inputs == 1, "a request needs exactly one of a prompt text, chat messages or token ids");
  RKV_CHECK(!spec.chat || spec.text, "a chat request needs a prompt text");
  RKV_CHECK(!spec.system || spec.chat, "a system message needs a chat request");
  const ModelConfig& cfg = config();
  GenerationRequest r;
  if (spec.ids) {
    for (int64_t id : *spec.ids) {
      RKV_CHECK(id >= 0 && id < cfg.vocab_size, "token id ", id, " is outside the vocabulary [0, ", cfg.vocab_size, ")");
      r.prompt.push_back(static_cast<int32_t>(id));
    }
  } else if (spec.messages || spec.chat) {
    require_tokenizer("a chat prompt");
    const std::string text = render_chat(spec.messages ? *spec.messages : chat_messages(*spec.text, spec.system));
    r.prompt = encode(text, false);  // the template wrote BOS itself
  } else {
    r.prompt = encode(*spec.text, true);
  }
  RKV_CHECK(!r.prompt.empty(), "the prompt is empty");

  SamplingParams& sp = r.sampling;
  sp.temperature = spec.temperature.value_or(cfg.default_temperature > 0 ? cfg.default_temperature : 0.0);
  sp.top_p = spec.top_p.value_or(cfg.default_top_p > 0 ? cfg.default_top_p : 1.0);
  sp.top_k = spec.top_k.value_or(cfg.default_top_k > 0 ? cfg.default_top_k : 0);
  sp.min_p = spec.min_p.value_or(0.0);
  sp.repetition_penalty = spec.repetition_penalty;
  sp.presence_penalty = spec.presence_penalty;
  sp.frequency_penalty = spec.frequency_penalty;
  sp.seed = spec.seed;
  sp.validate();

  for (int64_t id : cfg.eos_ids) r.stop.eos_ids.insert(static_cast<int32_t>(id));
  if (tokenizer_ && tokenizer_->eos_id()) r.stop.eos_ids.insert(*tokenizer_->eos_id());
  r.stop.stop_strings = spec.stop;
  RKV_CHECK(spec.max_new_tokens >= 1, "max_new_tokens must be at least 1 (got ", spec.max_new_tokens, ")");
  r.stop.max_new_tokens = spec.max_new_tokens;
  r.stop.ignore_eos = spec.ignore_eos;
  if (spec.policy) {
    spec.policy->validate();
    RKV_CHECK(spec.policy->divide_method != DivideMethod::Newline || !newline_tokens_.empty(),
              "divide_method newline needs the model's tokenizer to find the newline tokens");
    r.policy = spec.policy;
  }
  const int64_t context = cfg.max_position_embeddings;
  RKV_CHECK(context <= 0 || static_cast<int64_t>(r.prompt.size()) < context, "the prompt has ", r.prompt.size(),
            " tokens; the model's context is ", context, " tokens (and one is needed to generate)");
  return r;
}

}  // namespace rkv
