// eval/python_expr: sympy's parse_expr() reading of an answer as Python
// arithmetic, the reference's fallback when its LaTeX parser fails.
#pragma once

#include <optional>
#include <string_view>

#include "eval/latex_tree.h"

namespace rkv::eval {

// nullopt unless all of s is Python arithmetic this reads.
std::optional<LatexExpr> parse_python_expr(std::string_view s);

}  // namespace rkv::eval
