// core/json: the nesting limit for JSON that rkv reads from files and users.
//
// nlohmann::json parses iteratively but copies, compares and prints values
// recursively, so a document nested a million levels deep (two megabytes of
// '[') would overflow the stack later. Every JSON text from outside is checked
// with check_json_depth before it is parsed.
#pragma once

#include <string>
#include <string_view>

namespace rkv {

constexpr int kMaxJsonDepth = 512;  // real configs, tokenizers and requests nest under 20

// Throws rkv::Error "<what>: JSON nested more than N levels deep" when an
// array or object opens deeper than `max_depth` (strings are skipped; the
// rest of the syntax is left to the parser).
void check_json_depth(std::string_view text, const std::string& what, int max_depth = kMaxJsonDepth);

}  // namespace rkv
