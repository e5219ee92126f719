// libFuzzer target: arbitrary bytes as a request body of rkv serve. The first
// byte picks the endpoint (chat completions, completions, tokenize,
// detokenize), the rest is the body. Parsing must succeed or throw
// server::ApiError (a 4xx) — never crash, hang or take memory without bound;
// accepted chat messages are rendered through a chat template (the server
// hands them to the model's); the reasoning splitter must give the same
// split for the body cut in pieces as for the whole. Seeds:
// fuzz/corpus/openai_request/ (first byte 'c', 'p', 't' or 'd').
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "rkv/server/api.h"
#include "rkv/server/reasoning.h"
#include "rkv/tokenizer/chat_template.h"

namespace {

// 'c' chat, 'p' completions (prompt), 't' tokenize, 'd' detokenize; other bytes spread over the four.
int endpoint_of(uint8_t b) {
  switch (b) {
    case 'c': return 0;
    case 'p': return 1;
    case 't': return 2;
    case 'd': return 3;
    default: return b % 4;
  }
}

void check_split(const std::string& text, bool thinking) {
  rkv::server::ReasoningSplitter whole(thinking), pieces(thinking);
  auto a = whole.push(text);
  auto a_end = whole.finish();
  std::string reasoning, content;
  for (size_t at = 0; at < text.size(); at += 3) {
    auto d = pieces.push(text.substr(at, 3));
    reasoning += d.reasoning;
    content += d.content;
  }
  auto d = pieces.finish();
  if (reasoning + d.reasoning != a.reasoning + a_end.reasoning || content + d.content != a.content + a_end.content)
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  using namespace rkv::server;
  static const rkv::ChatTemplate chat_template(
      "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}<|User|>{{ m['content'] }}"
      "{% elif m['role'] == 'assistant' %}<|Assistant|>{{ m['content'].split('</think>')[-1] }}<|end|>"
      "{% else %}{{ m['content'] }}{% endif %}{% endfor %}{% if add_generation_prompt %}<|Assistant|><think>\n{% endif %}",
      "fuzz");
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  check_split(body, data[0] & 1);
  try {
    switch (endpoint_of(data[0])) {
      case 0: {
        auto r = parse_completion_request(body, Endpoint::ChatCompletions, rkv::RequestSpec{}, rkv::KvPolicy{});
        try {
          chat_template.render(*r.spec.messages, true, {{"bos_token", "<s>"}});
        } catch (const rkv::Error&) {
        }
        break;
      }
      case 1: parse_completion_request(body, Endpoint::Completions, rkv::RequestSpec{}, rkv::KvPolicy{}); break;
      case 2: parse_tokenize_request(body); break;
      default: parse_detokenize_request(body); break;
    }
  } catch (const ApiError&) {
  }
  return 0;
}
