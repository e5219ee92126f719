// tokenizer/jinja_text (internal): the Unicode string helpers of the
// chat-template interpreter — code points with Python's semantics (isspace,
// strip, slicing); invalid UTF-8 bytes are kept as lone units that round-trip.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rkv::jinja {

// Invalid bytes decode to 0xDC00 + byte and encode back to that byte.
std::vector<uint32_t> decode_utf8(std::string_view s);
std::string encode_utf8(const std::vector<uint32_t>& cps, size_t begin = 0, size_t end = SIZE_MAX);
void append_utf8(std::string& out, uint32_t cp);
size_t utf8_length(std::string_view s);

bool py_isspace(uint32_t cp);
// Byte length of the whitespace character at s[i] (0 if none).
size_t ws_len_at(std::string_view s, size_t i);
// Length of s without its trailing whitespace.
size_t rstrip_ws(std::string_view s);
bool all_ws(std::string_view s);

uint32_t ascii_upper(uint32_t c);
uint32_t ascii_lower(uint32_t c);

}  // namespace rkv::jinja
