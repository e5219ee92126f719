// tokenizer/chat_template: renders a model's own Jinja chat template.
//
// A Jinja subset interpreter with the semantics Hugging Face uses for chat
// templates (jinja2 with trim_blocks and lstrip_blocks, tojson as Python's
// json.dumps with ensure_ascii=False, raise_exception, namespace(), loop
// variables, string/dict methods). Large enough for the templates of
// DeepSeek-R1-Distill, DeepSeek-V3, Llama-3/3.1, Qwen2.5/3 and Mistral. A
// construct outside the subset, a template error or bad input is rkv::Error
// naming the construct and the template line; rendering is bounded in depth,
// steps and output size, so arbitrary template text never crashes or hangs.
#pragma once

#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace rkv {

namespace jinja {
struct Program;
}

struct ChatTemplateLimits {
  size_t max_output_bytes = size_t(64) << 20;  // also bounds every string / list built
  size_t max_steps = 20'000'000;                // loop iterations + statements + calls
  int max_depth = 200;                          // template nesting and macro recursion
  size_t max_source_bytes = size_t(1) << 20;    // the template text (real ones are a few KiB)
};

// What tokenizer_config.json (or chat_template.jinja beside it) says about
// chat rendering.
struct ChatTemplateConfig {
  std::string chat_template;             // the Jinja source ("" if none)
  nlohmann::ordered_json special_tokens;  // {"bos_token": "...", "eos_token": "...", ...}; null tokens left out
};

// A special-token entry of tokenizer_config.json: a string, an
// {"content": ...} object (AddedToken), or null (-> "").
std::string special_token_text(const nlohmann::json& entry);

// path_or_folder: a tokenizer_config.json file or a folder holding one.
// A folder's chat_template.jinja, when present, wins over the config's
// chat_template (as recent transformers do). A list of named templates
// picks "default".
ChatTemplateConfig load_chat_template_config(const std::string& path_or_folder);

class ChatTemplate {
 public:
  // Parses the template now: syntax errors and unsupported constructs are
  // rkv::Error here. `name` is used in messages.
  explicit ChatTemplate(std::string source, std::string name = "chat template", ChatTemplateLimits limits = {});
  ChatTemplate(const ChatTemplate&) = default;
  ChatTemplate& operator=(const ChatTemplate&) = default;
  ChatTemplate(ChatTemplate&&) noexcept = default;
  ChatTemplate& operator=(ChatTemplate&&) noexcept = default;
  ~ChatTemplate();

  // The template and the special tokens of tokenizer_config.json.
  static ChatTemplate from_tokenizer_config(const std::string& path_or_folder);

  // Renders with `messages` (an array), `add_generation_prompt`, the special
  // tokens loaded with from_tokenizer_config, and `extra` (an object: e.g.
  // bos_token, eos_token, tools, enable_thinking), which wins over them.
  std::string render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                     const nlohmann::ordered_json& extra = nlohmann::ordered_json::object()) const;
  // Renders with a whole context object (every key a template variable).
  std::string render_context(const nlohmann::ordered_json& context) const;

  const std::string& source() const { return source_; }
  const nlohmann::ordered_json& special_tokens() const { return special_tokens_; }
  void set_special_tokens(nlohmann::ordered_json tokens) { special_tokens_ = std::move(tokens); }
  // Render-time limits (parse depth is fixed by the constructor's limits).
  void set_limits(const ChatTemplateLimits& limits) { limits_ = limits; }

 private:
  std::string source_, name_;
  std::shared_ptr<const jinja::Program> program_;
  nlohmann::ordered_json special_tokens_ = nlohmann::ordered_json::object();
  ChatTemplateLimits limits_;
};

}  // namespace rkv
