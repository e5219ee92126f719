// server/chat_page: the chat page `rkv serve` answers at "/": one
// self-contained HTML file (no CDN, works offline) that talks to
// /v1/chat/completions with streaming — the answer as it comes, the thinking
// collapsed under it, per-response figures (tokens, tokens/s, KV held
// against what FullKV would hold) and a live view of which generated tokens
// the compressed cache keeps after each compression (the kv_view extension).
// URL parameters preset the form (prompt, max_tokens, temperature, method,
// budget, divide_length) and autosend=1 sends at once (tests, links).
#pragma once

#include <string_view>

namespace rkv::server {

std::string_view chat_page_html();

}  // namespace rkv::server
