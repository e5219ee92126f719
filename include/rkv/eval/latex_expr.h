// eval/latex_expr: a small LaTeX math-expression parser and evaluator, the
// grader's symbolic layer.
//
// It reads what final answers are made of — numbers, + - * \cdot \times /
// \div : ^, implicit multiplication, \frac \dfrac \tfrac, \sqrt[n]{}, |x|,
// \lfloor \rceil, !, \binom, \sin \cos \tan \sec \csc \cot and inverses,
// hyperbolic functions, \exp \log \ln \lg (with a base: \log_2), \infty,
// symbols with subscripts and primes, f(x) for unknown functions, and
// relations = < > \le \ge — into a tree, and evaluates the tree in complex
// arithmetic (principal branches) with free symbols bound to numbers.
//
// Two dialects:
//   kSympy   the grammar and quirks of sympy's parse_latex(), which the
//            reference harness uses: the longest valid prefix is the value
//            ("1,2" reads as 1), \pi, e and i are plain symbols, "2x3" is 6.
//   kStrict  the whole input must parse; \pi, e and i are the constants.
//
// symbolic_equal() decides whether two answers are the same expression:
// equal values (within relative 1e-4 for real constants, as the reference's
// numeric check) or, with free symbols, equal at several seeded random
// complex points. Input is untrusted: nesting is bounded, parsing takes
// bounded time, and nothing throws.
#pragma once

#include <complex>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rkv::eval {

enum class LatexDialect { kSympy, kStrict };

class LatexExpr {
 public:
  // nullopt when the text does not parse (in kSympy: not even a prefix).
  static std::optional<LatexExpr> parse(std::string_view latex, LatexDialect dialect);

  bool is_relation() const;
  std::vector<std::string> free_symbols() const;  // sorted names
  // The value with each free symbol bound (missing ones are 0); non-finite
  // (inf or nan parts) where the expression is undefined. A relation
  // evaluates to left - right.
  std::complex<double> evaluate(const std::map<std::string, std::complex<double>>& values) const;
  // A canonical printing of the tree, for tests and debugging.
  std::string to_string() const;

  struct Tree;
  explicit LatexExpr(std::shared_ptr<const Tree> tree) : tree_(std::move(tree)) {}
  const Tree& tree() const { return *tree_; }

 private:
  std::shared_ptr<const Tree> tree_;
};

// The reference's symbolic_equal(a, b) (strict = false) or its strict-rules
// counterpart on two normalised answers.
bool symbolic_equal(std::string_view a, std::string_view b, bool strict);

}  // namespace rkv::eval
