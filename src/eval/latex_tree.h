// eval/latex_tree: the expression tree behind LatexExpr, and the lexer's
// tokens (sympy's LaTeX grammar, LaTeX.g4).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rkv/eval/latex_expr.h"

namespace rkv::eval {

enum class Tok : uint8_t {
  kEnd,
  kError,  // a character no token matches: sympy fails when it reads this far
  kAdd, kSub, kMul, kDiv, kLParen, kRParen, kLBrace, kRBrace, kLBraceLit, kRBraceLit, kLBracket, kRBracket,
  kBar, kRBar, kLBar, kLAngle, kRAngle, kLim, kLimApproach, kInt, kSum, kProd,
  kFuncNormal,  // \exp \log \lg \ln \sin ... \artanh (text names the function)
  kLFloor, kRFloor, kLCeil, kRCeil, kSqrt, kOverline, kTimes, kCdot, kCmdDiv, kFrac, kBinom, kMathit,
  kUnderscore, kCaret, kColon, kDifferential, kLetter, kDigit, kEqual, kNeq, kLt, kLte, kGt, kGte, kBang,
  kQuotes, kSymbol, kComma, kDot,
};

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;  // the letters of a command / symbol / differential variable, the digit, ...
};

// Tokens of the input, ending with kEnd; or, at the first character no token
// matches, ending with kError (and false). sympy's lexer runs lazily: the
// error only counts when the parser looks that far.
bool lex_latex(std::string_view s, std::vector<Token>& out);

enum class Op : uint8_t {
  kNumber, kSymbol, kInfinity, kAdd, kMul, kPow, kNeg, kFunc, kUndefFunc, kFactorial, kAbs, kFloor, kCeil,
  kBinom, kConj, kRoot, kLog, kRelation,
};

enum class Fn : uint8_t {
  kSin, kCos, kTan, kCsc, kSec, kCot, kAsin, kAcos, kAtan, kAcsc, kAsec, kAcot,
  kSinh, kCosh, kTanh, kAsinh, kAcosh, kAtanh, kExp, kSqrt,
};

enum class Rel : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe };

struct Node {
  Op op = Op::kNumber;
  Fn fn = Fn::kSin;
  Rel rel = Rel::kEq;
  double number = 0;         // kNumber: real part
  double imag = 0;           // kNumber: imaginary part (strict dialect's i)
  int symbol = -1;           // kSymbol, kUndefFunc: index into Tree::names
  std::vector<int> args;     // children (kLog: value, base; kRoot: value, index)
  int depth = 1;
  bool invalid = false;      // this node or one below cannot be converted
};

struct LatexExpr::Tree {
  std::vector<Node> nodes;
  std::vector<std::string> names;
  int root = -1;
  bool strict = false;
};

// Node builders shared by the parser; they return -1 when the tree would get
// deeper than kMaxTreeDepth (the evaluator recurses over it).
constexpr int kMaxTreeDepth = 200;

std::string print_node(const LatexExpr::Tree& tree, int id);

class TreeBuilder {
 public:
  explicit TreeBuilder(LatexExpr::Tree& tree) : tree_(tree) {}
  int number(double v);
  // A number sympy cannot convert ("05"): the parse fails if the tree keeps it.
  int invalid_number(double v);
  int symbol(const std::string& name);
  int infinity();
  int imaginary_unit();
  int node(Op op, std::vector<int> args);
  int func(Fn fn, int arg);
  int undefined_func(const std::string& name, std::vector<int> args);
  int relation(Rel rel, int lhs, int rhs);
  const Node& at(int id) const { return tree_.nodes[static_cast<size_t>(id)]; }
  bool has_symbols(int id) const;
  std::string print(int id) const;

 private:
  int add(Node n);
  LatexExpr::Tree& tree_;
};

}  // namespace rkv::eval
