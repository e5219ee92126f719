// rkv tokenize: text -> token ids (or ids -> text with --decode) with the
// model's own tokenizer: a folder with tokenizer.json, a tokenizer.json file,
// or a .gguf vocabulary.
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "rkv/command.h"
#include "rkv/core/buffer.h"
#include "rkv/flags.h"
#include "rkv/tokenizer/chat_template.h"
#include "rkv/tokenizer/tokenizer.h"

namespace rkv::cli {
namespace {

// The model's chat template with `text` as the one user message and the
// generation prompt (Hugging Face apply_chat_template(add_generation_prompt=True)).
std::string render_chat(const std::string& model, const Tokenizer& tok, const std::string& text) {
  namespace fs = std::filesystem;
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  messages.push_back({{"role", "user"}, {"content", text}});
  if (fs::path(model).extension() == ".gguf") {
    RKV_CHECK(!tok.chat_template().empty(), model, ": --chat needs tokenizer.chat_template, which this GGUF lacks");
    ChatTemplate tpl(tok.chat_template(), model + " chat_template");
    nlohmann::ordered_json special = nlohmann::ordered_json::object();
    if (!tok.bos_token().empty()) special["bos_token"] = tok.bos_token();
    if (!tok.eos_token().empty()) special["eos_token"] = tok.eos_token();
    tpl.set_special_tokens(special);
    return tpl.render(messages, true);
  }
  std::error_code ec;
  std::string folder = fs::is_directory(model, ec) ? model : fs::path(model).parent_path().string();
  if (folder.empty()) folder = ".";
  return ChatTemplate::from_tokenizer_config(folder).render(messages, true);
}

void write_all(const std::string& s) {
  RKV_CHECK(std::fwrite(s.data(), 1, s.size(), stdout) == s.size(), "cannot write to stdout");
}

int run_tokenize(const Args& args) {
  Flags f("tokenize",
          "-m MODEL (-p TEXT | -f FILE) [--add-special-tokens] [--chat] [--pieces] [--json]\n"
          "       rkv tokenize -m MODEL --decode 1,2,3 [--skip-special-tokens]\n\n"
          "MODEL is a folder with tokenizer.json, a tokenizer.json file, or a .gguf file.\n"
          "Prints the ids space-separated on one line; --pieces adds one line per token\n"
          "(id, a tab, the token string as JSON); --json prints {\"ids\": [...]} (and \"pieces\").\n"
          "--decode prints the decoded text exactly, with no newline added.");
  f.option("-m,--model", "tokenizer folder, tokenizer.json or .gguf")
      .option("-p,--prompt", "text to tokenize")
      .option("-f,--file", "read the text to tokenize from this file (bytes as they are)")
      .toggle("--add-special-tokens", "apply the post-processor / BOS-EOS rules (Hugging Face add_special_tokens=True)")
      .toggle("--chat", "treat the text as a user message and render the chat template with the generation prompt")
      .toggle("--pieces", "also print each token's string")
      .toggle("--json", "print one JSON line")
      .option("--decode", "comma-separated ids to decode instead")
      .toggle("--skip-special-tokens", "with --decode: leave special tokens out");
  if (!f.parse(args)) return 0;
  RKV_CHECK(f.positional().empty(), "unexpected argument '", f.positional().front(), "'");
  RKV_CHECK(f.given("--model"), "missing -m MODEL");
  const bool decode = f.given("--decode");
  RKV_CHECK(decode || f.given("--prompt") || f.given("--file"), "give the text with -p TEXT or -f FILE (or --decode IDS)");
  RKV_CHECK(!(f.given("--prompt") && f.given("--file")), "give either -p or -f, not both");
  RKV_CHECK(!decode || (!f.given("--prompt") && !f.given("--file")), "--decode takes no -p / -f");
  RKV_CHECK(!f.on("--skip-special-tokens") || decode, "--skip-special-tokens goes with --decode");

  Tokenizer tok = Tokenizer::load(f.str("--model"));

  if (decode) {
    std::vector<TokenId> ids;
    for (int64_t v : parse_int_list(f.str("--decode"), "--decode")) {
      RKV_CHECK(v >= 0 && v < tok.vocab_size() && tok.valid_id(static_cast<TokenId>(v)), "--decode: id ", v,
                " is not in the vocabulary of ", tok.source(), " (size ", tok.vocab_size(), ")");
      ids.push_back(static_cast<TokenId>(v));
    }
    write_all(tok.decode(ids, f.on("--skip-special-tokens")));
    return 0;
  }

  std::string text = f.given("--prompt") ? f.str("--prompt") : read_text_file(f.str("--file"));
  if (f.on("--chat")) text = render_chat(f.str("--model"), tok, text);
  std::vector<TokenId> ids = tok.encode(text, f.on("--add-special-tokens"));

  if (f.on("--json")) {
    nlohmann::ordered_json out;
    out["ids"] = ids;
    if (f.on("--pieces")) {
      nlohmann::json pieces = nlohmann::json::array();
      for (TokenId id : ids) pieces.push_back(tok.token(id));
      out["pieces"] = pieces;
    }
    write_all(out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    return 0;
  }
  std::string line;
  for (size_t i = 0; i < ids.size(); ++i) line += (i ? " " : "") + std::to_string(ids[i]);
  line += "\n";
  if (f.on("--pieces"))
    for (TokenId id : ids)
      line += std::to_string(id) + "\t" +
              nlohmann::json(tok.token(id)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  write_all(line);
  return 0;
}

RKV_COMMAND("tokenize", "text -> token ids (or --decode ids -> text) with a model's tokenizer", run_tokenize);

}  // namespace
}  // namespace rkv::cli
