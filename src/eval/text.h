// eval/text: string operations with the semantics of Python 3's str and re
// (the reference grading harness is Python), on UTF-8 text.
//
// Python counts and indexes code points, strips Unicode whitespace and treats
// every Unicode letter or digit as a word character; the grader must do the
// same to reach the same verdicts. Invalid UTF-8 bytes decode as single
// replacement characters (never an error: model output is untrusted).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rkv::eval::text {

// Decodes the code point at s[i] and advances i past it.
char32_t next_code_point(std::string_view s, size_t& i);
// Byte length of the UTF-8 sequence that starts at s[i] (1 for invalid bytes).
size_t code_point_size(std::string_view s, size_t i);
void append_utf8(std::string& out, char32_t c);
size_t code_point_count(std::string_view s);  // Python len()

bool is_space(char32_t c);  // str.isspace(), re \s
bool is_word(char32_t c);   // re \w: str.isalnum() or '_'
int decimal_value(char32_t c);  // re \d (category Nd): 0..9, or -1
inline bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_ascii_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string_view strip(std::string_view s);   // str.strip()
std::string_view rstrip(std::string_view s);  // str.rstrip()
// str.strip(chars) / lstrip / rstrip for an ASCII character set.
std::string_view strip_chars(std::string_view s, std::string_view chars);
std::string_view rstrip_chars(std::string_view s, std::string_view chars);

bool contains(std::string_view s, std::string_view part);
size_t count(std::string_view s, std::string_view part);  // str.count()
std::string replace_all(std::string_view s, std::string_view from, std::string_view to);
std::vector<std::string_view> split(std::string_view s, std::string_view sep);  // str.split(sep)
std::vector<std::string_view> split_whitespace(std::string_view s);            // str.split()
std::string lower(std::string_view s);  // str.lower() for ASCII; other characters unchanged

// float(s): optional sign, digits with single '_' between them, '.', exponent,
// "inf"/"infinity"/"nan" in any case, surrounding whitespace.
std::optional<double> parse_float(std::string_view s);
// repr(float): shortest round-trip digits, scientific below 1e-4 and from 1e16.
std::string float_repr(double v);
// True when s == str(int(s)) in Python: an optional '-' and ASCII digits
// without a leading zero ("0" itself is canonical, "-0" is not).
bool is_canonical_int(std::string_view s);

}  // namespace rkv::eval::text
