// ChatTemplate: loading a model's chat template and special tokens from
// tokenizer_config.json, and rendering it (see rkv/tokenizer/chat_template.h).
#include "rkv/tokenizer/chat_template.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "rkv/core/error.h"
#include "rkv/core/json.h"
#include "tokenizer/jinja.h"

namespace rkv {
namespace fs = std::filesystem;

namespace {

std::string read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  RKV_CHECK(in, path, ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string special_token_text(const nlohmann::json& entry) {
  if (entry.is_null()) return "";
  if (entry.is_string()) return entry.get<std::string>();
  if (entry.is_object()) {
    auto it = entry.find("content");
    if (it != entry.end() && it->is_string()) return it->get<std::string>();
  }
  fail("special token must be a string or an object with \"content\", got ", entry.dump());
}

ChatTemplateConfig load_chat_template_config(const std::string& path_or_folder) {
  std::error_code ec;
  fs::path path(path_or_folder);
  fs::path config = path, jinja_file;
  if (fs::is_directory(path, ec)) {
    config = path / "tokenizer_config.json";
    if (fs::exists(path / "chat_template.jinja", ec)) jinja_file = path / "chat_template.jinja";
    RKV_CHECK(fs::exists(config, ec) || !jinja_file.empty(), path_or_folder, ": no tokenizer_config.json in this folder");
  } else {
    RKV_CHECK(fs::exists(path, ec), path_or_folder, ": no such file or folder");
  }
  ChatTemplateConfig out;
  out.special_tokens = nlohmann::ordered_json::object();
  if (fs::exists(config, ec)) {
    nlohmann::json c;
    try {
      const std::string text = read_whole(config.string());
      check_json_depth(text, config.string());
      c = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      fail(config.string(), ": not valid JSON: ", e.what());
    }
    RKV_CHECK(c.is_object(), config.string(), ": not a JSON object");
    for (const char* key : {"bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token"}) {
      auto it = c.find(key);
      if (it == c.end() || it->is_null()) continue;
      try {
        out.special_tokens[key] = special_token_text(*it);
      } catch (const Error& e) {
        fail(config.string(), ": ", key, ": ", e.what());
      }
    }
    if (auto it = c.find("chat_template"); it != c.end() && !it->is_null()) {
      if (it->is_string()) {
        out.chat_template = it->get<std::string>();
      } else if (it->is_array()) {
        bool found = false;
        for (const auto& e : *it) {
          if (e.is_object() && e.value("name", "") == "default" && e.contains("template") && e["template"].is_string()) {
            out.chat_template = e["template"].get<std::string>();
            found = true;
          }
        }
        RKV_CHECK(found, config.string(), ": chat_template is a list without a \"default\" template");
      } else {
        fail(config.string(), ": chat_template must be a string or a list of {name, template}");
      }
    }
  }
  if (!jinja_file.empty()) out.chat_template = read_whole(jinja_file.string());
  return out;
}

ChatTemplate::ChatTemplate(std::string source, std::string name, ChatTemplateLimits limits)
    : source_(std::move(source)), name_(std::move(name)), limits_(limits) {
  RKV_CHECK(source_.size() <= limits_.max_source_bytes, name_, ": the template is ", source_.size(),
            " bytes, over the limit of ", limits_.max_source_bytes);
  program_ = jinja::parse(source_, name_, limits_.max_depth);
}

ChatTemplate::~ChatTemplate() = default;

ChatTemplate ChatTemplate::from_tokenizer_config(const std::string& path_or_folder) {
  ChatTemplateConfig c = load_chat_template_config(path_or_folder);
  RKV_CHECK(!c.chat_template.empty(), path_or_folder, ": the tokenizer config has no chat_template");
  ChatTemplate t(std::move(c.chat_template), path_or_folder + " chat_template");
  t.special_tokens_ = std::move(c.special_tokens);
  return t;
}

std::string ChatTemplate::render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                                 const nlohmann::ordered_json& extra) const {
  RKV_CHECK(messages.is_array(), name_, ": messages must be a JSON array");
  RKV_CHECK(extra.is_object() || extra.is_null(), name_, ": extra variables must be a JSON object");
  nlohmann::ordered_json ctx = nlohmann::ordered_json::object();
  ctx["messages"] = messages;
  ctx["add_generation_prompt"] = add_generation_prompt;
  for (auto it = special_tokens_.begin(); it != special_tokens_.end(); ++it) ctx[it.key()] = it.value();
  if (extra.is_object())
    for (auto it = extra.begin(); it != extra.end(); ++it) ctx[it.key()] = it.value();
  return render_context(ctx);
}

std::string ChatTemplate::render_context(const nlohmann::ordered_json& context) const {
  return jinja::render(*program_, context, name_, limits_);
}

}  // namespace rkv
