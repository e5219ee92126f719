// rkv template: renders a model's own chat template with a messages file,
// exactly as Hugging Face's apply_chat_template(tokenize=False) does.
#include <cstdio>
#include <optional>
#include <nlohmann/json.hpp>

#include "rkv/command.h"
#include "rkv/core/buffer.h"
#include "rkv/core/json.h"
#include "rkv/flags.h"
#include "rkv/tokenizer/chat_template.h"
#include "rkv/tokenizer/tokenizer.h"

namespace rkv::cli {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

int run_template(const Args& args) {
  Flags f("template",
          "-m MODEL --messages FILE.json [--add-generation-prompt]\n\n"
          "MODEL is a folder with tokenizer_config.json (or chat_template.jinja), a\n"
          "tokenizer_config.json file, or a .gguf file (tokenizer.chat_template).\n"
          "FILE.json holds the messages array (or an object with \"messages\" and other\n"
          "template variables such as \"tools\"). Prints the rendered text exactly.");
  f.option("-m,--model", "model folder, tokenizer_config.json or .gguf")
      .option("--messages", "JSON file with the messages array")
      .toggle("--add-generation-prompt", "end with the assistant's turn header");
  if (!f.parse(args)) return 0;
  RKV_CHECK(f.positional().empty(), "unexpected argument '", f.positional().front(), "'");
  RKV_CHECK(f.given("--model"), "missing -m MODEL");
  RKV_CHECK(f.given("--messages"), "missing --messages FILE.json");

  const std::string path = f.str("--messages");
  nlohmann::ordered_json doc;
  try {
    const std::string text = read_text_file(path);
    check_json_depth(text, "--messages " + path);
    doc = nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail("--messages ", path, ": not valid JSON: ", e.what());
  }
  nlohmann::ordered_json messages, extra = nlohmann::ordered_json::object();
  if (doc.is_array()) {
    messages = doc;
  } else if (doc.is_object() && doc.contains("messages") && doc["messages"].is_array()) {
    messages = doc["messages"];
    for (auto it = doc.begin(); it != doc.end(); ++it)
      if (it.key() != "messages" && it.key() != "add_generation_prompt") extra[it.key()] = it.value();
  } else {
    fail("--messages ", path, ": expected a JSON array of messages (or an object with a \"messages\" array)");
  }

  const std::string model = f.str("--model");
  std::optional<ChatTemplate> tpl;
  if (ends_with(model, ".gguf")) {
    Tokenizer tok = Tokenizer::from_gguf(model);
    RKV_CHECK(!tok.chat_template().empty(), model, ": no tokenizer.chat_template in this GGUF file");
    tpl.emplace(tok.chat_template(), model + " chat_template");
    nlohmann::ordered_json special = nlohmann::ordered_json::object();
    if (!tok.bos_token().empty()) special["bos_token"] = tok.bos_token();
    if (!tok.eos_token().empty()) special["eos_token"] = tok.eos_token();
    tpl->set_special_tokens(special);
  } else {
    tpl.emplace(ChatTemplate::from_tokenizer_config(model));
  }
  std::string text = tpl->render(messages, f.on("--add-generation-prompt"), extra);
  RKV_CHECK(std::fwrite(text.data(), 1, text.size(), stdout) == text.size(), "cannot write to stdout");
  return 0;
}

RKV_COMMAND("template", "render a model's chat template with a messages file", run_template);

}  // namespace
}  // namespace rkv::cli
