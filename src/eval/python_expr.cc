// The reference's second parser, sympy's parse_expr(): Python arithmetic
// (numbers, names, + - * / **, unary signs, parentheses, n!, sqrt(...)),
// tried when parse_latex fails — for instance on "02/4", where the LaTeX
// parser rejects the leading zero and Python's reading gives 1/2.
#include "eval/python_expr.h"

#include "eval/text.h"

namespace rkv::eval {
namespace {

constexpr int kFail = -1;
constexpr int kMaxNesting = 64;

class PythonParser {
 public:
  PythonParser(std::string_view s, LatexExpr::Tree& tree) : s_(s), b_(tree) {}

  int parse() {
    int e = sum();
    skip_space();
    return i_ == s_.size() ? e : kFail;
  }

 private:
  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }
  bool eat(std::string_view token) {
    skip_space();
    if (s_.substr(i_, token.size()) != token) return false;
    i_ += token.size();
    return true;
  }
  char peek() {
    skip_space();
    return i_ < s_.size() ? s_[i_] : '\0';
  }

  int sum() {
    int lhs = product();
    while (lhs != kFail) {
      if (eat("+")) {
        lhs = b_.node(Op::kAdd, {lhs, product()});
      } else if (eat("-")) {
        int rhs = product();
        lhs = rhs == kFail ? kFail : b_.node(Op::kAdd, {lhs, b_.node(Op::kNeg, {rhs})});
      } else {
        break;
      }
    }
    return lhs;
  }

  int product() {
    int lhs = signed_factor();
    while (lhs != kFail) {
      if (peek() == '*' && s_.substr(i_, 2) != "**") {
        ++i_;
        lhs = b_.node(Op::kMul, {lhs, signed_factor()});
      } else if (eat("/")) {
        int rhs = signed_factor();
        lhs = rhs == kFail ? kFail : b_.node(Op::kMul, {lhs, b_.node(Op::kPow, {rhs, b_.number(-1)})});
      } else {
        break;
      }
    }
    return lhs;
  }

  int signed_factor() {
    if (eat("-")) {
      int v = signed_factor();
      return v == kFail ? kFail : b_.node(Op::kNeg, {v});
    }
    if (eat("+")) return signed_factor();
    int base = postfix();
    if (base != kFail && eat("**")) {
      int exponent = signed_factor();  // right-associative, binds tighter than unary minus on the left
      return exponent == kFail ? kFail : b_.node(Op::kPow, {base, exponent});
    }
    return base;
  }

  int postfix() {
    int v = primary();
    while (v != kFail && peek() == '!' && s_.substr(i_, 2) != "!=") {
      ++i_;
      v = b_.node(Op::kFactorial, {v});
    }
    return v;
  }

  int primary() {
    char c = peek();
    if (c == '(') {
      if (++depth_ > kMaxNesting) return kFail;
      ++i_;
      int e = sum();
      --depth_;
      return e != kFail && eat(")") ? e : kFail;
    }
    if (text::is_ascii_digit(c) || c == '.') return number();
    if (text::is_ascii_alpha(c) || c == '_') return name();
    return kFail;
  }

  int number() {
    size_t start = i_;
    while (i_ < s_.size() && (text::is_ascii_digit(s_[i_]) || s_[i_] == '.' || s_[i_] == '_')) ++i_;
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      size_t e = i_ + 1;
      if (e < s_.size() && (s_[e] == '+' || s_[e] == '-')) ++e;
      if (e < s_.size() && text::is_ascii_digit(s_[e])) {
        i_ = e;
        while (i_ < s_.size() && text::is_ascii_digit(s_[i_])) ++i_;
      }
    }
    auto v = text::parse_float(s_.substr(start, i_ - start));
    return v ? b_.number(*v) : kFail;
  }

  int name() {
    size_t start = i_;
    while (i_ < s_.size() && (text::is_ascii_alpha(s_[i_]) || text::is_ascii_digit(s_[i_]) || s_[i_] == '_')) ++i_;
    std::string n(s_.substr(start, i_ - start));
    if (n == "pi") return b_.number(3.14159265358979323846);
    if (n == "E") return b_.number(2.71828182845904523536);
    if (n == "I") return b_.imaginary_unit();
    if (n == "sqrt" && peek() == '(') {
      int arg = primary();
      return arg == kFail ? kFail : b_.func(Fn::kSqrt, arg);
    }
    if (peek() == '(') return kFail;  // other calls are not read
    return b_.symbol(n);
  }

  std::string_view s_;
  TreeBuilder b_;
  size_t i_ = 0;
  int depth_ = 0;
};

}  // namespace

std::optional<LatexExpr> parse_python_expr(std::string_view s) {
  auto tree = std::make_shared<LatexExpr::Tree>();
  tree->root = PythonParser(s, *tree).parse();
  if (tree->root < 0) return std::nullopt;
  return LatexExpr(std::move(tree));
}

}  // namespace rkv::eval
