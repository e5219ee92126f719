// eval/normalize: the steps of the reference's answer normalisation
// (strip_string and its helpers), shared by extraction and comparison.
#pragma once

#include <string>
#include <string_view>

#include "rkv/eval/grade.h"

namespace rkv::eval::detail {

// "\frac12" -> "\frac{1}{2}", "\frac1{72}" -> "\frac{1}{72}" (the reference's _fix_fracs).
std::string fix_fracs(std::string_view s);
// "3/4" -> "\frac{3}{4}" for canonical integers (or parts containing "sqrt").
std::string fix_a_slash_b(std::string_view s);
// "\sqrt2" -> "\sqrt{2}": \sqrt followed by word characters.
std::string fix_sqrt(std::string_view s);
// w2n.word_to_num(): "two hundred five" -> "205"; the text itself when it
// holds no number word (or the words do not form a number).
std::string convert_number_words(std::string_view s);
// Removes the reference's unit words (MathQA units) standing alone, twice over.
std::string strip_unit_words(std::string_view s);
// Strict rules: unit words only when they follow a number after a space.
std::string strip_trailing_units(std::string_view s);

}  // namespace rkv::eval::detail
