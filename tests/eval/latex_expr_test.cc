// The LaTeX expression parser and evaluator: values against hand-computed
// ones, sympy's parse_latex readings (checked against sympy), the strict
// dialect, identities that must hold at random points (and near-identities
// that must not), and bounded behaviour on hostile input.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <random>

#include "rkv/eval/latex_expr.h"

namespace rkv::eval {
namespace {

using C = std::complex<double>;

std::optional<C> value(const char* latex, LatexDialect dialect = LatexDialect::kSympy,
                       std::map<std::string, C> symbols = {}) {
  auto e = LatexExpr::parse(latex, dialect);
  if (!e) return std::nullopt;
  return e->evaluate(symbols);
}

void expect_value(const char* latex, C expected, LatexDialect dialect = LatexDialect::kSympy) {
  auto v = value(latex, dialect);
  ASSERT_TRUE(v.has_value()) << latex;
  EXPECT_NEAR(v->real(), expected.real(), 1e-9 * std::max(1.0, std::abs(expected))) << latex;
  EXPECT_NEAR(v->imag(), expected.imag(), 1e-9 * std::max(1.0, std::abs(expected))) << latex;
}

TEST(LatexExpr, Arithmetic) {
  expect_value("1+2\\cdot3", 7);
  expect_value("2\\times3-4/8", 5.5);
  expect_value("6\\div4", 1.5);
  expect_value("2^{10}", 1024);
  expect_value("2^3^2", 64);  // sympy's exponents associate to the left
  expect_value("-3^2", -9);
  expect_value("\\frac{3}{4}", 0.75);
  expect_value("\\dfrac12+\\tfrac14", 0.75);
  expect_value("\\frac{\\frac{1}{2}}{\\frac{1}{4}}", 2);
  expect_value("1,000", 1000);
  expect_value("0.125", 0.125);
  expect_value("5!", 120);
  expect_value("\\binom{6}{2}", 15);
  expect_value("|-3|", 3);
  expect_value("\\lfloor 2.7 \\rfloor + \\lceil 2.1 \\rceil", 5);
}

TEST(LatexExpr, RootsAndFunctions) {
  expect_value("\\sqrt{16}", 4);
  expect_value("\\sqrt[3]{27}", 3);
  expect_value("\\sqrt{-4}", C(0, 2));
  expect_value("\\sqrt[3]{-8}", C(1, std::sqrt(3.0)));  // principal root, as sympy
  expect_value("\\sqrt[3]{-8}", -2, LatexDialect::kStrict);  // the real root
  expect_value("\\log_2 8", 3);
  expect_value("\\log_28", 3);  // sympy stops the subscript after one digit
  expect_value("\\lg 100", 2);
  expect_value("\\ln(\\exp(2))", 2);
  expect_value("\\sin^2(1)+\\cos^2(1)", 1);
  expect_value("\\sin^{-1}(1)", M_PI / 2);  // an inverse, not a reciprocal
  expect_value("\\arctan 1", M_PI / 4);
  expect_value("\\sec 0 + \\cot(\\frac{\\pi}{4})", 2, LatexDialect::kStrict);
  expect_value("\\overline{3}", 3);
}

TEST(LatexExpr, SympyReadings) {
  expect_value("1,2", 1);            // the longest valid prefix
  expect_value("52_8", 52);
  expect_value("2x3", 6);            // 'x' between two numbers is a times sign
  expect_value("2 3", 23);           // digits separated by space are one number
  expect_value("13.", 1);            // a dangling dot ends the number at its first digit
  expect_value("1+(2", 1);           // a continuation that never completes is dropped
  EXPECT_FALSE(value("2+1.").has_value());  // ... one that did complete is an error
  EXPECT_FALSE(value("(1+)").has_value());
  EXPECT_FALSE(value("x_").has_value());
  EXPECT_FALSE(value("05").has_value());    // Python rejects the leading zero
  EXPECT_FALSE(value("5$").has_value());    // no token for '$' where the parser looks
  EXPECT_FALSE(value("3,\\").has_value());  // (after "3," a number may go on)
  EXPECT_TRUE(value("x,\\").has_value());   // ... but it stops before here
  // \pi, e and i are symbols for sympy's LaTeX parser.
  auto pi = LatexExpr::parse("2\\pi", LatexDialect::kSympy);
  ASSERT_TRUE(pi);
  EXPECT_EQ(pi->free_symbols(), std::vector<std::string>{"pi"});
  expect_value("2\\pi", 2 * M_PI, LatexDialect::kStrict);
  expect_value("e^{i\\pi}", -1, LatexDialect::kStrict);
  // "x(x+1)" applies an unknown function x for sympy; a product in strict.
  auto call = LatexExpr::parse("x(x+1)", LatexDialect::kSympy);
  ASSERT_TRUE(call);
  EXPECT_EQ(call->to_string(), "x((x + 1))");
  expect_value("1\\frac12", 0.5);
  expect_value("1\\frac12", 1.5, LatexDialect::kStrict);  // a mixed number
}

TEST(LatexExpr, StrictNeedsTheWholeInput) {
  EXPECT_FALSE(LatexExpr::parse("1,2", LatexDialect::kStrict).has_value());
  EXPECT_FALSE(LatexExpr::parse("1+", LatexDialect::kStrict).has_value());
  EXPECT_TRUE(LatexExpr::parse("1+x", LatexDialect::kStrict).has_value());
}

TEST(LatexExpr, RelationsAndSymbols) {
  auto eq = LatexExpr::parse("y=2x+1", LatexDialect::kSympy);
  ASSERT_TRUE(eq);
  EXPECT_TRUE(eq->is_relation());
  EXPECT_EQ(eq->free_symbols(), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(eq->evaluate({{"x", 1.0}, {"y", 3.0}}), C(0, 0));  // left - right
  auto sub = LatexExpr::parse("a_1+a_{1}+a'", LatexDialect::kSympy);
  ASSERT_TRUE(sub);
  EXPECT_EQ(sub->free_symbols(), (std::vector<std::string>{"a'", "a_{1}"}));
}

TEST(SymbolicEqual, EquivalentFormsAreEqual) {
  for (auto [a, b] : std::vector<std::pair<const char*, const char*>>{
           {"\\frac{\\sqrt{3}}{3}", "\\frac{1}{\\sqrt{3}}"}, {"2\\sqrt{2}", "\\sqrt{8}"},
           {"(x+1)^2", "x^2+2x+1"}, {"\\frac{x}{2}", "0.5x"}, {"\\frac{1}{3}", "0.3333"},
           {"\\frac{a+b}{c}", "\\frac{a}{c}+\\frac{b}{c}"}, {"2(k+1)", "2k+2"}, {"y=2x+1", "y-2x=1"},
           {"\\sin^2x+\\cos^2x", "1"}}) {
    EXPECT_TRUE(symbolic_equal(a, b, false)) << a << " vs " << b;
    EXPECT_TRUE(symbolic_equal(b, a, true)) << b << " vs " << a;
  }
}

TEST(SymbolicEqual, DifferentValuesAreNot) {
  for (auto [a, b] : std::vector<std::pair<const char*, const char*>>{
           {"\\frac{1}{3}", "0.333"}, {"(x+1)^2", "x^2+x+1"}, {"\\sqrt{x^2}", "x"}, {"x", "y"},
           {"\\frac{1}{0}", "\\infty"}, {"2^{1000}", "2^{1001}"}, {"x+10^{-6}", "x"}}) {
    EXPECT_FALSE(symbolic_equal(a, b, false)) << a << " vs " << b;
    EXPECT_FALSE(symbolic_equal(a, b, true)) << a << " vs " << b;
  }
  EXPECT_FALSE(symbolic_equal("3.1416", "\\pi", false));  // pi is a symbol for the reference
  EXPECT_TRUE(symbolic_equal("3.1416", "\\pi", true));
  EXPECT_TRUE(symbolic_equal("x<3", "x>3", false));        // the reference compares |lhs-rhs|
  EXPECT_FALSE(symbolic_equal("x<3", "x>3", true));
  EXPECT_TRUE(symbolic_equal("x<3", "3>x", true));
}

// A property that can fail: random polynomials equal their expansion, and
// differ from it when one coefficient moves.
TEST(SymbolicEqual, RandomPolynomialIdentities) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> coef(-9, 9);
  for (int trial = 0; trial < 40; ++trial) {
    int a = coef(rng), b = coef(rng), c = coef(rng), d = coef(rng);
    if (a == 0) a = 1;
    if (c == 0) c = 2;
    // (a x + b)(c x + d) = ac x^2 + (ad + bc) x + bd
    std::string product = "(" + std::to_string(a) + "x+" + std::to_string(b) + ")(" + std::to_string(c) + "x+" +
                          std::to_string(d) + ")";
    auto expansion = [&](int shift) {
      return std::to_string(a * c) + "x^2+" + std::to_string(a * d + b * c + shift) + "x+" + std::to_string(b * d);
    };
    for (bool strict : {false, true}) {
      EXPECT_TRUE(symbolic_equal(product, expansion(0), strict)) << product << " vs " << expansion(0);
      EXPECT_FALSE(symbolic_equal(product, expansion(1), strict)) << product << " vs " << expansion(1);
    }
  }
}

TEST(LatexExpr, HostileInputIsBounded) {
  std::string deep = std::string(5000, '(') + "1" + std::string(5000, ')');
  EXPECT_FALSE(LatexExpr::parse(deep, LatexDialect::kSympy).has_value());  // nesting bound, no stack overflow
  std::string sqrts;
  for (int i = 0; i < 3000; ++i) sqrts += "\\sqrt{";
  EXPECT_FALSE(LatexExpr::parse(sqrts + "2" + std::string(3000, '}'), LatexDialect::kStrict).has_value());
  std::string calls;
  for (int i = 0; i < 400; ++i) calls += "x(";  // unknown-function attempts that all fail
  auto start = std::chrono::steady_clock::now();
  auto e = LatexExpr::parse(calls + "1", LatexDialect::kSympy);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));  // not exponential
  EXPECT_TRUE(e.has_value());
  std::string sum = "1";
  for (int i = 0; i < 20000; ++i) sum += "+1";
  auto long_sum = value(sum.c_str());
  ASSERT_TRUE(long_sum);
  EXPECT_EQ(long_sum->real(), 20001);  // long chains are flat, not deep
  EXPECT_FALSE(symbolic_equal(deep, deep + "+1", false));
}

}  // namespace
}  // namespace rkv::eval
