// eval/equal: the reference's math_equal() on normalised answers, layer by
// layer, and its multiple-choice clean-up.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace rkv::eval::detail {

bool math_equal(std::string_view pred, std::string_view gold, bool strict);

// parser.py's choice_answer_clean(): the choice letter a text names.
std::string clean_choice_answer(std::string_view text);

// grader.py's parse_digits(): float() after removing commas, or a percentage
// "12%" / "12\%" as 0.12.
std::optional<double> parse_digits(std::string_view s);

}  // namespace rkv::eval::detail
