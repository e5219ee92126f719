// Unicode helpers of the chat-template interpreter (see jinja_text.h).
#include "tokenizer/jinja_text.h"

#include "tokenizer/unicode.h"

namespace rkv::jinja {
namespace {

// Decodes one character at s[i]; n = its byte length (1 for an invalid byte).
uint32_t decode_one(std::string_view s, size_t i, size_t& n) {
  auto b = static_cast<unsigned char>(s[i]);
  n = 1;
  if (b < 0x80) return b;
  size_t len = b >= 0xF0 && b <= 0xF4 ? 4 : b >= 0xE0 ? 3 : b >= 0xC2 && b < 0xE0 ? 2 : 0;
  if (len == 0 || b > 0xF4 || i + len > s.size()) return 0xDC00 + b;
  uint32_t cp = b & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
  for (size_t k = 1; k < len; ++k) {
    auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xC0) != 0x80) return 0xDC00 + b;
    cp = (cp << 6) | (c & 0x3F);
  }
  if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
    return 0xDC00 + b;
  n = len;
  return cp;
}

}  // namespace

void append_utf8(std::string& out, uint32_t cp) {
  if (cp >= 0xDC80 && cp <= 0xDCFF) {  // a raw invalid byte
    out += static_cast<char>(cp - 0xDC00);
    return;
  }
  tok::utf8_append(out, cp);
}

std::vector<uint32_t> decode_utf8(std::string_view s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  for (size_t i = 0, n = 0; i < s.size(); i += n) out.push_back(decode_one(s, i, n));
  return out;
}

std::string encode_utf8(const std::vector<uint32_t>& cps, size_t begin, size_t end) {
  std::string out;
  end = end > cps.size() ? cps.size() : end;
  for (size_t k = begin; k < end; ++k) append_utf8(out, cps[k]);
  return out;
}

size_t utf8_length(std::string_view s) {
  size_t count = 0;
  for (size_t i = 0, n = 0; i < s.size(); i += n, ++count) decode_one(s, i, n);
  return count;
}

bool py_isspace(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

size_t ws_len_at(std::string_view s, size_t i) {
  size_t n = 0;
  return py_isspace(decode_one(s, i, n)) ? n : 0;
}

size_t rstrip_ws(std::string_view s) {
  size_t end = s.size();
  while (end > 0) {
    size_t start = end - 1;  // find the start of the last character
    while (start > 0 && end - start < 4 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    size_t n = 0;
    uint32_t cp = decode_one(s, start, n);
    if (start + n != end) {  // not a whole character: a lone byte
      start = end - 1;
      cp = decode_one(s, start, n);
      if (n != 1) cp = 0;
    }
    if (!py_isspace(cp)) break;
    end = start;
  }
  return end;
}

bool all_ws(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = ws_len_at(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

uint32_t ascii_upper(uint32_t c) { return c >= 'a' && c <= 'z' ? c - 32 : c; }
uint32_t ascii_lower(uint32_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

}  // namespace rkv::jinja
