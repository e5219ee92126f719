// The parser: sympy's LaTeX grammar (LaTeX.g4) by recursive descent, building
// the value tree directly (the conversions of sympy's _parse_latex_antlr).
//
// sympy's parser is ANTLR's adaptive LL(*), started without an end-of-input
// rule, so it stops at the longest prefix it can read; how far it reads, and
// when it gives up with an error instead, follows from how each decision is
// predicted. The kSympy dialect reproduces what was observed of it:
//   - implicit multiplication (another factor after a factor) is taken when
//     the next factor parses, else the product ends: "2x1." reads 2x;
//   - a number before a dangling dot stops after its first digit ("13."
//     reads 1), and a leading zero ("05") fails the whole parse;
//   - a character no token matches fails the parse only if the parser
//     looks that far ("x,\" reads x);
//   - after + - * / ^ the parser commits once the operand is complete (at
//     the top level) or at once (inside brackets): "2+1." and "(1+)" are
//     errors, "1+(2" reads 1;
//   - after a relation sign it commits at once: "2=(1" is an error;
//   - "1." (a dot without digits) and "x_" (a subscript that is not one)
//     are errors where they are read.
// The kStrict dialect reads greedily and requires all of the input.
#include <map>

#include "eval/latex_tree.h"
#include "eval/text.h"

namespace rkv::eval {
namespace {

constexpr int kFail = -1;
constexpr int kMaxClosers = 64;       // bracket nesting
constexpr long kMaxSteps = 200000;    // parse work per input

enum class Step { kExit, kFail };  // after a continuation failed

class Parser {
 public:
  Parser(const std::vector<Token>& toks, LatexExpr::Tree& tree) : t_(toks), tree_(tree), b_(tree) {}

  int parse(size_t& end) {
    size_t p = 0;
    int r = relation(p);
    end = p;
    return aborted_ || read_error_ ? kFail : r;
  }

 private:
  struct Guard {  // counts the nesting of mandatory closing tokens
    explicit Guard(Parser& ps) : p(ps) { ++p.closers_; }
    ~Guard() { --p.closers_; }
    Parser& p;
  };
  struct Lenient {
    explicit Lenient(Parser& ps) : p(ps), saved(ps.lenient_) { p.lenient_ = true; }
    ~Lenient() { p.lenient_ = saved; }
    Parser& p;
    bool saved;
  };

  const Token& at(size_t p) const { return t_[std::min(p, t_.size() - 1)]; }
  Tok kind(size_t p) {
    Tok k = at(p).kind;
    if (k == Tok::kError) read_error_ = true;
    return k;
  }
  bool strict() const { return tree_.strict; }
  bool budget() {
    if (++steps_ > kMaxSteps) aborted_ = true;
    return !aborted_;
  }
  bool expect(size_t& p, Tok k) {
    if (kind(p) != k) return false;
    ++p;
    return true;
  }

  // What a failed continuation does: end the loop (a prefix) or fail the
  // enclosing rule (sympy committed to it).
  Step after_failed_operand(size_t p, int (Parser::*operand)(size_t&, bool), bool nofunc) {
    if (strict() || lenient_) return Step::kExit;
    if (closers_ > 0) return Step::kFail;
    Lenient lenient(*this);
    size_t q = p;
    return (this->*operand)(q, nofunc) == kFail ? Step::kExit : Step::kFail;
  }

  int relation(size_t& p) {
    int lhs = expr(p);
    if (lhs == kFail) return kFail;
    while (true) {
      Rel rel;
      switch (kind(p)) {
        case Tok::kEqual: rel = Rel::kEq; break;
        case Tok::kNeq: rel = Rel::kNe; break;
        case Tok::kLt: rel = Rel::kLt; break;
        case Tok::kLte: rel = Rel::kLe; break;
        case Tok::kGt: rel = Rel::kGt; break;
        case Tok::kGte: rel = Rel::kGe; break;
        default: return lhs;
      }
      size_t q = p + 1;
      int rhs = expr(q);
      if (rhs == kFail) {
        if (strict() || lenient_) return lhs;
        return kFail;
      }
      p = q;
      lhs = b_.relation(rel, lhs, rhs);
      if (lhs == kFail) return kFail;
    }
  }

  int expr(size_t& p) {
    // What an expression reads depends on the position, lenient mode and
    // whether brackets are open (the commit rules).
    auto key = std::make_pair(p, lenient_ ? 2 : closers_ > 0 ? 1 : 0);
    if (auto it = memo_.find(key); it != memo_.end()) {
      p = it->second.second;
      return it->second.first;
    }
    size_t start = p;
    int r = additive(p);
    memo_[std::make_pair(start, key.second)] = {r, p};
    return r;
  }

  int mp_operand(size_t& p, bool nofunc) { return mp(p, nofunc); }
  int unary_operand(size_t& p, bool nofunc) { return unary(p, nofunc); }

  // Builds one n-ary node for a whole chain (long sums stay linear).
  int chain(Op op, const std::vector<int>& items) {
    return items.size() == 1 ? items[0] : b_.node(op, items);
  }

  int additive(size_t& p) {
    if (!budget()) return kFail;
    int first = mp(p, false);
    if (first == kFail) return kFail;
    std::vector<int> terms = {first};
    while (kind(p) == Tok::kAdd || kind(p) == Tok::kSub) {
      bool minus = kind(p) == Tok::kSub;
      size_t q = p + 1;
      int rhs = mp(q, false);
      if (rhs == kFail) {
        if (after_failed_operand(p + 1, &Parser::mp_operand, false) == Step::kExit) break;
        return kFail;
      }
      p = q;
      if (minus) rhs = b_.node(Op::kNeg, {rhs});
      if (rhs == kFail) return kFail;
      terms.push_back(rhs);
    }
    return chain(Op::kAdd, terms);
  }

  static bool is_mul_op(Tok t) {
    return t == Tok::kMul || t == Tok::kTimes || t == Tok::kCdot || t == Tok::kDiv || t == Tok::kCmdDiv ||
           t == Tok::kColon;
  }

  int mp(size_t& p, bool nofunc) {
    if (!budget()) return kFail;
    int first = unary(p, nofunc);
    if (first == kFail) return kFail;
    std::vector<int> factors = {first};
    while (is_mul_op(kind(p))) {
      bool divide = kind(p) == Tok::kDiv || kind(p) == Tok::kCmdDiv || kind(p) == Tok::kColon;
      size_t q = p + 1;
      int rhs = unary(q, nofunc);
      if (rhs == kFail) {
        if (after_failed_operand(p + 1, &Parser::unary_operand, nofunc) == Step::kExit) break;
        return kFail;
      }
      p = q;
      if (divide) rhs = b_.node(Op::kPow, {rhs, b_.number(-1)});
      if (rhs == kFail) return kFail;
      factors.push_back(rhs);
    }
    return chain(Op::kMul, factors);
  }

  int unary(size_t& p, bool nofunc) {
    if (!budget()) return kFail;
    bool negative = false;
    while (kind(p) == Tok::kAdd || kind(p) == Tok::kSub) {
      negative ^= kind(p) == Tok::kSub;
      ++p;
    }
    int value = postfix_list(p, nofunc);
    if (value == kFail) return kFail;
    return negative ? b_.node(Op::kNeg, {value}) : value;
  }

  // postfix+ (or postfix postfix_nofunc*): implicit multiplication.
  int postfix_list(size_t& p, bool nofunc) {
    std::vector<int> factors;
    std::vector<bool> plain_x;
    int first = postfix(p, /*nofunc=*/false);
    if (first == kFail) return kFail;
    factors.push_back(first);
    while (true) {
      size_t q = p;
      int next = postfix(q, nofunc);
      if (next == kFail || aborted_) break;
      factors.push_back(next);
      p = q;
    }
    return multiply_factors(factors);
  }

  // sympy's convert_postfix_list(): a product, except that a factor 'x'
  // between two factors without symbols is read as a times sign ("2x3" = 6).
  int multiply_factors(const std::vector<int>& input) {
    std::vector<int> factors = strict() ? mixed_numbers(input) : input;
    std::vector<int> kept;
    for (size_t i = 0; i < factors.size(); ++i) {
      bool times_sign = !strict() && i > 0 && i + 1 < factors.size() && is_plain_x(factors[i]) &&
                        !b_.has_symbols(factors[i - 1]) && !b_.has_symbols(factors[i + 1]);
      if (!times_sign) kept.push_back(factors[i]);
    }
    if (kept.size() == 1) return kept[0];
    // Right-nested as sympy builds it; the evaluator flattens products.
    int result = kept.back();
    for (size_t i = kept.size() - 1; i-- > 0;) {
      result = b_.node(Op::kMul, {kept[i], result});
      if (result == kFail) return kFail;
    }
    return result;
  }

  // Strict dialect: "x(x+1)" is a product; f, g and h name functions.
  static bool is_function_letter(const std::string& name) { return name == "f" || name == "g" || name == "h"; }

  // Strict dialect: "1\frac{1}{2}" is the mixed number 3/2.
  std::vector<int> mixed_numbers(const std::vector<int>& factors) {
    std::vector<int> out;
    for (size_t i = 0; i < factors.size(); ++i) {
      if (i + 1 < factors.size() && is_integer_literal(factors[i]) && is_literal_fraction(factors[i + 1])) {
        out.push_back(b_.node(Op::kAdd, {factors[i], factors[i + 1]}));
        ++i;
      } else {
        out.push_back(factors[i]);
      }
    }
    return out;
  }

  bool is_integer_literal(int id) const {
    const Node& n = b_.at(id);
    return n.op == Op::kNumber && n.imag == 0 && n.number >= 0 && n.number == static_cast<double>(static_cast<long long>(n.number));
  }

  // \frac{a}{b} of integer literals: Mul(a, Pow(b, -1)).
  bool is_literal_fraction(int id) const {
    const Node& n = b_.at(id);
    if (n.op != Op::kMul || n.args.size() != 2 || !is_integer_literal(n.args[0])) return false;
    const Node& inv = b_.at(n.args[1]);
    return inv.op == Op::kPow && is_integer_literal(inv.args[0]) && b_.at(inv.args[1]).op == Op::kNumber &&
           b_.at(inv.args[1]).number == -1;
  }

  bool is_plain_x(int id) const {
    const Node& n = b_.at(id);
    return n.op == Op::kSymbol && tree_.names[static_cast<size_t>(n.symbol)] == "x";
  }

  // exp postfix_op*: factorials (evaluation-at bars are not read).
  int postfix(size_t& p, bool nofunc) {
    if (!budget()) return kFail;
    int value = power(p, nofunc);
    if (value == kFail) return kFail;
    while (kind(p) == Tok::kBang) {
      ++p;
      value = b_.node(Op::kFactorial, {value});
      if (value == kFail) return kFail;
    }
    return value;
  }

  // exp: comp (CARET (atom | {expr}) subexpr?)*, left-associative.
  int power(size_t& p, bool nofunc) {
    int base = comp(p, nofunc);
    if (base == kFail) return kFail;
    while (kind(p) == Tok::kCaret) {
      size_t q = p;
      int exponent = caret_operand(q, nofunc);
      if (exponent == kFail) {
        Step s = after_failed_operand(p, &Parser::caret_operand, nofunc);
        if (s == Step::kExit) return base;
        return kFail;
      }
      p = q;
      base = b_.node(Op::kPow, {base, exponent});
      if (base == kFail) return kFail;
    }
    return base;
  }

  int caret_operand(size_t& p, bool) {
    if (!expect(p, Tok::kCaret)) return kFail;
    int exponent = atom_or_braced(p);
    if (exponent == kFail) return kFail;
    if (kind(p) == Tok::kUnderscore) {  // a subscript after the exponent is read and ignored
      size_t q = p;
      if (subscript(q) != kFail) p = q;
      else if (!strict() && !lenient_) return kFail;
    }
    return exponent;
  }

  int atom_or_braced(size_t& p) {
    if (kind(p) == Tok::kLBrace) return braced_expr(p);
    return atom(p);
  }

  int braced_expr(size_t& p) {
    Guard g(*this);
    if (closers_ > kMaxClosers || !expect(p, Tok::kLBrace)) return kFail;
    int e = expr(p);
    if (e == kFail || !expect(p, Tok::kRBrace)) return kFail;
    return e;
  }

  int comp(size_t& p, bool nofunc) {
    if (!budget()) return kFail;
    switch (kind(p)) {
      case Tok::kLParen: return group(p, Tok::kLParen, Tok::kRParen);
      case Tok::kLBracket: return group(p, Tok::kLBracket, Tok::kRBracket);
      case Tok::kLBrace: return group(p, Tok::kLBrace, Tok::kRBrace);
      case Tok::kLBraceLit: return group(p, Tok::kLBraceLit, Tok::kRBraceLit);
      case Tok::kBar: return wrapped(p, Tok::kBar, Tok::kBar, Op::kAbs);
      case Tok::kLFloor: return wrapped(p, Tok::kLFloor, Tok::kRFloor, Op::kFloor);
      case Tok::kLCeil: return wrapped(p, Tok::kLCeil, Tok::kRCeil, Op::kCeil);
      case Tok::kFuncNormal: return nofunc ? kFail : func_normal(p);
      case Tok::kSqrt: return nofunc ? kFail : sqrt(p);
      case Tok::kOverline: return nofunc ? kFail : overline(p);
      case Tok::kLetter:
      case Tok::kSymbol: {
        if (!nofunc && !(strict() && kind(p) == Tok::kLetter && !is_function_letter(at(p).text))) {
          size_t q = p;
          int f = applied_function(q);
          if (f != kFail) {
            p = q;
            return f;
          }
        }
        return atom(p);
      }
      default: return atom(p);
    }
  }

  int group(size_t& p, Tok open, Tok close) {
    Guard g(*this);
    if (closers_ > kMaxClosers || !expect(p, open)) return kFail;
    int e = expr(p);
    if (e == kFail || !expect(p, close)) return kFail;
    return e;
  }

  int wrapped(size_t& p, Tok open, Tok close, Op op) {
    int e = group(p, open, close);
    return e == kFail ? kFail : b_.node(op, {e});
  }

  // atom: LETTER/SYMBOL with subscript and primes, number, differential,
  // \mathit{}, \frac, \binom.
  int atom(size_t& p) {
    if (!budget()) return kFail;
    switch (kind(p)) {
      case Tok::kDigit: return number(p);
      case Tok::kLetter:
      case Tok::kSymbol: return named_atom(p);
      case Tok::kDifferential: return b_.symbol("d" + at(p++).text);
      case Tok::kMathit: return mathit(p);
      case Tok::kFrac: return frac(p);
      case Tok::kBinom: return binom(p);
      default: return kFail;
    }
  }

  // DIGIT+ (',' DIGIT DIGIT DIGIT)* ('.' DIGIT+)?
  int number(size_t& p) {
    size_t start = p;
    std::string digits;
    while (kind(p) == Tok::kDigit) digits += at(p++).text;
    while (kind(p) == Tok::kComma && kind(p + 1) == Tok::kDigit && kind(p + 2) == Tok::kDigit &&
           kind(p + 3) == Tok::kDigit) {
      digits += at(p + 1).text + at(p + 2).text + at(p + 3).text;
      p += 4;
    }
    bool fraction = false;
    if (kind(p) == Tok::kDot) {
      if (kind(p + 1) == Tok::kDigit) {
        digits += '.';
        ++p;
        while (kind(p) == Tok::kDigit) digits += at(p++).text;
        fraction = true;
      } else if (!strict() && !lenient_) {
        // A dot without digits: sympy fails on it when the number is one
        // digit; a longer one stops after its first digit ("13." reads 1).
        if (p == start + 1) return kFail;
        p = start + 1;
        digits = at(start).text;
      }
    }
    auto v = text::parse_float(digits);
    if (!v) return kFail;
    // sympy converts the digits with Python's parser, where an integer with
    // a leading zero ("05") is a syntax error: the parse fails if it is kept.
    bool invalid = !strict() && !fraction && digits.size() > 1 && digits[0] == '0' &&
                   digits.find_first_not_of('0') != std::string::npos;
    return invalid ? b_.invalid_number(*v) : b_.number(*v);
  }

  // (subexpr? quotes? | quotes? subexpr?): the name sympy gives the symbol.
  bool decorations(size_t& p, std::string& name, bool keep_quotes = true) {
    bool sub = false, quotes = false;
    while (true) {
      if (!sub && kind(p) == Tok::kUnderscore) {
        int s = subscript(p);
        if (s == kFail) return false;
        name += "_{" + b_.print(s) + "}";
        sub = true;
      } else if (!quotes && kind(p) == Tok::kQuotes) {
        if (keep_quotes) name += at(p).text;
        ++p;
        quotes = true;
      } else {
        return true;
      }
    }
  }

  int named_atom(size_t& p) {
    const Token& tok = at(p++);
    std::string name = tok.text;
    if (tok.kind == Tok::kSymbol && name == "infty") {  // its subscript is read, then ignored
      std::string ignored;
      if (!decorations(p, ignored, false) && !strict() && !lenient_) return kFail;
      return b_.infinity();
    }
    size_t q = p;
    // sympy names a command symbol with its subscript but without primes.
    if (!decorations(q, name, tok.kind == Tok::kLetter)) {
      if (strict() || lenient_) return constant_or_symbol(tok.text);
      return kFail;  // "x_" : no alternative of the grammar fits
    }
    p = q;
    return constant_or_symbol(name);
  }

  int constant_or_symbol(const std::string& name) {
    if (strict()) {
      if (name == "pi") return b_.number(3.14159265358979323846);
      if (name == "e") return b_.number(2.71828182845904523536);
      if (name == "i") return b_.imaginary_unit();
    }
    return b_.symbol(name);
  }

  int subscript(size_t& p) {
    if (!expect(p, Tok::kUnderscore)) return kFail;
    return atom_or_braced(p);
  }

  // f(x), f_1'(x, y): an unknown function applied.
  int applied_function(size_t& p) {
    std::string name = at(p++).text;
    if (!decorations(p, name) || kind(p) != Tok::kLParen) return kFail;
    Guard g(*this);
    if (closers_ > kMaxClosers) return kFail;
    ++p;
    std::vector<int> args;
    while (true) {
      int a = expr(p);
      if (a == kFail) return kFail;
      args.push_back(a);
      if (kind(p) != Tok::kComma) break;
      ++p;
    }
    if (!expect(p, Tok::kRParen)) return kFail;
    return b_.undefined_func(name, args);
  }

  int mathit(size_t& p) {
    ++p;
    Guard g(*this);
    if (!expect(p, Tok::kLBrace)) return kFail;
    std::string name;
    while (kind(p) == Tok::kLetter) name += at(p++).text;
    if (!expect(p, Tok::kRBrace)) return kFail;
    return constant_or_symbol(name);
  }

  int digit_or_braced(size_t& p) {
    if (kind(p) == Tok::kDigit) return b_.number(at(p++).text[0] - '0');
    return braced_expr(p);
  }

  int frac(size_t& p) {
    ++p;
    int num = digit_or_braced(p);
    if (num == kFail) return kFail;
    if (kind(p) == Tok::kLBrace && kind(p + 1) == Tok::kDifferential && kind(p + 2) == Tok::kRBrace)
      return kFail;  // d/dx: a derivative, not read
    int den = digit_or_braced(p);
    if (den == kFail) return kFail;
    int inverse = b_.node(Op::kPow, {den, b_.number(-1)});
    return inverse == kFail ? kFail : b_.node(Op::kMul, {num, inverse});
  }

  int binom(size_t& p) {
    ++p;
    int n = braced_expr(p);
    if (n == kFail) return kFail;
    int k = braced_expr(p);
    return k == kFail ? kFail : b_.node(Op::kBinom, {n, k});
  }

  int sqrt(size_t& p) {
    ++p;
    int index = kFail;
    if (kind(p) == Tok::kLBracket) {
      index = group(p, Tok::kLBracket, Tok::kRBracket);
      if (index == kFail) return kFail;
    }
    int base = braced_expr(p);
    if (base == kFail) return kFail;
    if (index == kFail) return b_.func(Fn::kSqrt, base);
    return b_.node(Op::kRoot, {base, index});
  }

  int overline(size_t& p) {
    ++p;
    int base = braced_expr(p);
    return base == kFail ? kFail : b_.node(Op::kConj, {base});
  }

  // \sin^2 x, \log_2(8), \sin^{-1} x (an inverse), \ln x y.
  int func_normal(size_t& p) {
    size_t start = p;
    std::string name = at(p++).text;
    int sub = kFail, sup = kFail;
    size_t sub_start = 0;
    for (int k = 0; k < 2; ++k) {
      if (sub == kFail && kind(p) == Tok::kUnderscore) {
        sub_start = p;
        sub = subscript(p);
        if (sub == kFail) return kFail;
      } else if (sup == kFail && kind(p) == Tok::kCaret) {
        ++p;
        sup = atom_or_braced(p);
        if (sup == kFail) return kFail;
      }
    }
    size_t arg_start = p;
    int arg = function_argument(p);
    // "\log_28" is log base 2 of 8: when the digits of a bare subscript
    // leave no argument, sympy's prediction ends the number earlier.
    if (arg == kFail && sub != kFail && sup == kFail && kind(sub_start + 1) == Tok::kDigit) {
      for (size_t digits_end = arg_start - 1; arg == kFail && digits_end > sub_start + 1; --digits_end) {
        bool all_digits = true;
        std::string digits;
        for (size_t k = sub_start + 1; k < digits_end; ++k) {
          all_digits = all_digits && kind(k) == Tok::kDigit;
          digits += at(k).text;
        }
        if (!all_digits) break;
        p = digits_end;
        sub = b_.number(std::stod(digits));
        arg = function_argument(p);
      }
    }
    if (arg == kFail) {
      p = start;
      return kFail;
    }
    return apply_named_function(name, arg, sub, sup);
  }

  int function_argument(size_t& p) {
    if (kind(p) == Tok::kLParen) {
      size_t q = p;
      int a = kFail;
      {
        Guard g(*this);
        ++q;
        if (closers_ <= kMaxClosers) a = expr(q);
        while (a != kFail && kind(q) == Tok::kComma) {  // extra arguments are read and ignored
          ++q;
          if (expr(q) == kFail) a = kFail;
        }
        if (a != kFail && !expect(q, Tok::kRParen)) a = kFail;
      }
      if (a != kFail) {
        p = q;
        return a;
      }
    }
    return mp(p, /*nofunc=*/true);
  }

  int apply_named_function(const std::string& name, int arg, int sub, int sup) {
    static const std::map<std::string, Fn, std::less<>> kFns = {
        {"sin", Fn::kSin},       {"cos", Fn::kCos},       {"tan", Fn::kTan},       {"csc", Fn::kCsc},
        {"sec", Fn::kSec},       {"cot", Fn::kCot},       {"arcsin", Fn::kAsin},   {"arccos", Fn::kAcos},
        {"arctan", Fn::kAtan},   {"arccsc", Fn::kAcsc},   {"arcsec", Fn::kAsec},   {"arccot", Fn::kAcot},
        {"sinh", Fn::kSinh},     {"cosh", Fn::kCosh},     {"tanh", Fn::kTanh},     {"arsinh", Fn::kAsinh},
        {"arcosh", Fn::kAcosh},  {"artanh", Fn::kAtanh},  {"exp", Fn::kExp}};
    static const std::map<Fn, Fn> kInverse = {{Fn::kSin, Fn::kAsin},   {Fn::kCos, Fn::kAcos},  {Fn::kTan, Fn::kAtan},
                                              {Fn::kCsc, Fn::kAcsc},   {Fn::kSec, Fn::kAsec},  {Fn::kCot, Fn::kAcot},
                                              {Fn::kSinh, Fn::kAsinh}, {Fn::kCosh, Fn::kAcosh}, {Fn::kTanh, Fn::kAtanh}};
    int value;
    if (name == "log" || name == "ln" || name == "lg") {
      int base = sub != kFail ? sub : name == "lg" ? b_.number(10) : b_.number(2.71828182845904523536);
      value = b_.node(Op::kLog, {arg, base});
    } else {
      Fn fn = kFns.at(name);
      if (sup != kFail && kInverse.count(fn) && is_minus_one(sup)) return b_.func(kInverse.at(fn), arg);
      value = b_.func(fn, arg);
    }
    if (value == kFail || sup == kFail) return value;
    return b_.node(Op::kPow, {value, sup});
  }

  bool is_minus_one(int id) const {
    const Node& n = b_.at(id);
    if (n.op == Op::kNeg) {
      const Node& inner = b_.at(n.args[0]);
      return inner.op == Op::kNumber && inner.number == 1 && inner.imag == 0;
    }
    return n.op == Op::kNumber && n.number == -1 && n.imag == 0;
  }

  const std::vector<Token>& t_;
  LatexExpr::Tree& tree_;
  TreeBuilder b_;
  int closers_ = 0;
  bool lenient_ = false;
  bool aborted_ = false;
  bool read_error_ = false;  // looked at the token the lexer failed on
  long steps_ = 0;
  std::map<std::pair<size_t, int>, std::pair<int, size_t>> memo_;
};

}  // namespace

std::optional<LatexExpr> LatexExpr::parse(std::string_view latex, LatexDialect dialect) {
  std::vector<Token> tokens;
  if (!lex_latex(latex, tokens) && dialect == LatexDialect::kStrict) return std::nullopt;
  auto tree = std::make_shared<Tree>();
  tree->strict = dialect == LatexDialect::kStrict;
  Parser parser(tokens, *tree);
  size_t end = 0;
  tree->root = parser.parse(end);
  if (tree->root < 0 || tree->nodes[static_cast<size_t>(tree->root)].invalid) return std::nullopt;
  if (tree->strict && end + 1 != tokens.size()) return std::nullopt;
  return LatexExpr(std::move(tree));
}

}  // namespace rkv::eval
