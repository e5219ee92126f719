// tokenizer/unicode: the UTF-8 and Unicode pieces the tokenizer needs —
// decoding/encoding code points, validity, lossy repair (maximal invalid
// subsequences become U+FFFD, as Rust's from_utf8_lossy does), canonical
// normalization (NFC/NFD from generated UCD tables) and the GPT-2 byte-level
// alphabet (every byte <-> one printable code point).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace rkv::tok {

// Length of the valid UTF-8 sequence starting at s[i] (1..4), or 0 if the
// bytes there are not a valid sequence.
int utf8_valid_length(std::string_view s, size_t i);
bool utf8_valid(std::string_view s);
// Decodes the valid sequence at s[i] (caller checked it with utf8_valid_length).
uint32_t utf8_decode(std::string_view s, size_t i, int len);
void utf8_append(std::string& out, uint32_t cp);
// Invalid sequences replaced by U+FFFD (one per maximal invalid subpart).
std::string utf8_lossy(std::string_view bytes);
// Length of the longest prefix of s that does not end inside an incomplete
// (but so far valid) multi-byte sequence.
size_t utf8_complete_prefix(std::string_view s);

// Canonical normalization of valid UTF-8.
std::string nfc(std::string_view s);
std::string nfd(std::string_view s);
// True when nfc(s) == s is guaranteed without work (quick check).
bool nfc_quick_yes(std::string_view s);
const char* unicode_version();

// GPT-2 byte-level alphabet: byte -> its code point's UTF-8, and back.
const std::array<std::string, 256>& byte_to_unicode();
// The byte a code point stands for, or -1 if it is not in the alphabet.
int unicode_to_byte(uint32_t cp);

}  // namespace rkv::tok
