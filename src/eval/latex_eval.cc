// Building and evaluating expression trees: complex arithmetic with
// principal branches (sympy's conventions), real arithmetic when every
// operand is real so that real results stay exactly real.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <set>

#include "eval/latex_tree.h"
#include "eval/text.h"

namespace rkv::eval {
namespace {

using C = std::complex<double>;
constexpr double kPi = 3.14159265358979323846;

bool is_real(C v) { return v.imag() == 0; }
bool is_integer(double v) { return std::isfinite(v) && std::floor(v) == v; }
C non_finite() { return C(std::nan(""), std::nan("")); }
C complex_infinity() { return C(HUGE_VAL, HUGE_VAL); }  // sympy's zoo, not oo

C power(C base, C exponent) {
  if (is_real(base) && is_real(exponent)) {
    double b = base.real(), e = exponent.real();
    if (b == 0 && e < 0) return complex_infinity();
    if (b >= 0 || is_integer(e)) return C(std::pow(b, e), 0);
  }
  if (base == C(0, 0)) return exponent.real() > 0 ? C(0, 0) : non_finite();
  if (is_real(exponent) && is_integer(exponent.real()) && std::fabs(exponent.real()) <= 64) {
    int n = static_cast<int>(exponent.real());
    C result(1, 0), square = base;
    for (int k = std::abs(n); k > 0; k >>= 1, square *= square)
      if (k & 1) result *= square;
    return n < 0 ? C(1, 0) / result : result;
  }
  return std::exp(exponent * std::log(base));
}

// Lanczos approximation of Gamma for complex arguments (g = 7, n = 9).
C gamma(C z) {
  if (is_real(z) && z.real() <= 0 && is_integer(z.real())) return complex_infinity();
  if (is_real(z)) return C(std::tgamma(z.real()), 0);
  if (z.real() < 0.5) return kPi / (std::sin(kPi * z) * gamma(1.0 - z));
  static const double g[] = {0.99999999999980993,  676.5203681218851,     -1259.1392167224028,
                             771.32342877765313,   -176.61502916214059,   12.507343278686905,
                             -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7};
  z -= 1.0;
  C x = g[0];
  for (int i = 1; i < 9; ++i) x += g[i] / (z + static_cast<double>(i));
  C t = z + 7.5;
  return std::sqrt(2 * kPi) * std::pow(t, z + 0.5) * std::exp(-t) * x;
}

C binomial(C n, C k) {
  if (is_real(n) && is_real(k) && is_integer(k.real())) {
    double kk = k.real();
    if (kk < 0) return C(0, 0);
    if (kk <= 1000) {
      C result(1, 0);
      for (int i = 0; i < static_cast<int>(kk); ++i) result *= (n - static_cast<double>(i)) / static_cast<double>(i + 1);
      return result;
    }
  }
  return gamma(n + 1.0) / (gamma(k + 1.0) * gamma(n - k + 1.0));
}

C apply(Fn fn, C z) {
  bool real = is_real(z);
  double x = z.real();
  switch (fn) {
    case Fn::kSin: return real ? C(std::sin(x), 0) : std::sin(z);
    case Fn::kCos: return real ? C(std::cos(x), 0) : std::cos(z);
    case Fn::kTan: return real ? C(std::tan(x), 0) : std::tan(z);
    case Fn::kCsc: return C(1, 0) / apply(Fn::kSin, z);
    case Fn::kSec: return C(1, 0) / apply(Fn::kCos, z);
    case Fn::kCot: return C(1, 0) / apply(Fn::kTan, z);
    case Fn::kAsin: return real && std::fabs(x) <= 1 ? C(std::asin(x), 0) : std::asin(z);
    case Fn::kAcos: return real && std::fabs(x) <= 1 ? C(std::acos(x), 0) : std::acos(z);
    case Fn::kAtan: return real ? C(std::atan(x), 0) : std::atan(z);
    case Fn::kAcsc: return apply(Fn::kAsin, C(1, 0) / z);
    case Fn::kAsec: return apply(Fn::kAcos, C(1, 0) / z);
    case Fn::kAcot: return apply(Fn::kAtan, C(1, 0) / z);
    case Fn::kSinh: return real ? C(std::sinh(x), 0) : std::sinh(z);
    case Fn::kCosh: return real ? C(std::cosh(x), 0) : std::cosh(z);
    case Fn::kTanh: return real ? C(std::tanh(x), 0) : std::tanh(z);
    case Fn::kAsinh: return real ? C(std::asinh(x), 0) : std::asinh(z);
    case Fn::kAcosh: return real && x >= 1 ? C(std::acosh(x), 0) : std::acosh(z);
    case Fn::kAtanh: return real && std::fabs(x) < 1 ? C(std::atanh(x), 0) : std::atanh(z);
    case Fn::kExp: return real ? C(std::exp(x), 0) : std::exp(z);
    case Fn::kSqrt: return real && x >= 0 ? C(std::sqrt(x), 0) : std::sqrt(z);
  }
  return non_finite();
}

C logarithm(C value, C base) {
  auto ln = [](C v) { return is_real(v) && v.real() > 0 ? C(std::log(v.real()), 0) : std::log(v); };
  return ln(value) / ln(base);
}

// A fixed, smooth function standing for an unknown f(x, ...): the same name
// and arguments give the same value, different arguments differ.
C undefined_function(const std::string& name, const std::vector<C>& args) {
  uint64_t h = 1469598103934665603ull;
  for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  auto coefficient = [&](uint64_t k) {
    uint64_t v = (h + k * 0x9E3779B97F4A7C15ull) * 0xBF58476D1CE4E5B9ull;
    return 0.5 + static_cast<double>(v >> 11) / static_cast<double>(1ull << 53);
  };
  C value(coefficient(0), 0);
  for (size_t j = 0; j < args.size(); ++j)
    value += coefficient(2 * j + 1) * args[j] + coefficient(2 * j + 2) * args[j] * args[j];
  return value;
}

struct Evaluator {
  const LatexExpr::Tree& tree;
  const std::vector<C>& symbols;  // by Tree::names index

  C operator()(int id) const {
    const Node& n = tree.nodes[static_cast<size_t>(id)];
    auto arg = [&](size_t k) { return (*this)(n.args[k]); };
    switch (n.op) {
      case Op::kNumber: return C(n.number, n.imag);
      case Op::kSymbol: return symbols[static_cast<size_t>(n.symbol)];
      case Op::kInfinity: return C(HUGE_VAL, 0);
      case Op::kAdd: return fold(n, C(0, 0), [](C a, C b) { return is_real(a) && is_real(b) ? C(a.real() + b.real(), 0) : a + b; });
      case Op::kMul: return fold(n, C(1, 0), [](C a, C b) { return is_real(a) && is_real(b) ? C(a.real() * b.real(), 0) : a * b; });
      case Op::kPow: return power(arg(0), arg(1));
      case Op::kNeg: { C v = arg(0); return is_real(v) ? C(-v.real(), 0) : -v; }
      case Op::kFunc: return apply(n.fn, arg(0));
      case Op::kUndefFunc: {
        std::vector<C> values;
        for (size_t k = 0; k < n.args.size(); ++k) values.push_back(arg(k));
        return undefined_function(tree.names[static_cast<size_t>(n.symbol)], values);
      }
      case Op::kFactorial: return gamma(arg(0) + 1.0);
      case Op::kAbs: return C(std::abs(arg(0)), 0);
      case Op::kFloor: { C v = arg(0); return C(std::floor(v.real()), std::floor(v.imag())); }
      case Op::kCeil: { C v = arg(0); return C(std::ceil(v.real()), std::ceil(v.imag())); }
      case Op::kBinom: return binomial(arg(0), arg(1));
      case Op::kConj: return std::conj(arg(0));
      case Op::kRoot: {
        C base = arg(0), index = arg(1);
        // Strict dialect: the real root of a negative number for odd n.
        bool odd = is_real(index) && is_integer(index.real()) && std::fmod(std::fabs(index.real()), 2) == 1;
        if (tree.strict && odd && is_real(base) && base.real() < 0)
          return C(-std::pow(-base.real(), 1 / index.real()), 0);
        return power(base, C(1, 0) / index);
      }
      case Op::kLog: return logarithm(arg(0), arg(1));
      case Op::kRelation: return arg(0) - arg(1);
    }
    return non_finite();
  }

  template <class F>
  C fold(const Node& n, C start, F f) const {
    C acc = start;
    for (int child : n.args) acc = f(acc, (*this)(child));
    return acc;
  }
};

std::string format_number(double re, double im) {
  auto one = [](double v) {
    if (is_integer(v) && std::fabs(v) < 1e15) {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.0f", v);
      return std::string(buf);
    }
    return text::float_repr(v);
  };
  if (im == 0) return one(re);
  return "(" + one(re) + (im < 0 ? "-" : "+") + one(std::fabs(im)) + "i)";
}

}  // namespace

int TreeBuilder::add(Node n) {
  for (int child : n.args) {
    n.depth = std::max(n.depth, at(child).depth + 1);
    n.invalid = n.invalid || at(child).invalid;
  }
  if (n.depth > kMaxTreeDepth) return -1;
  tree_.nodes.push_back(std::move(n));
  return static_cast<int>(tree_.nodes.size()) - 1;
}

int TreeBuilder::number(double v) {
  Node n;
  n.number = v;
  return add(std::move(n));
}

int TreeBuilder::invalid_number(double v) {
  Node n;
  n.number = v;
  n.invalid = true;
  return add(std::move(n));
}

int TreeBuilder::imaginary_unit() {
  Node n;
  n.imag = 1;
  return add(std::move(n));
}

int TreeBuilder::symbol(const std::string& name) {
  auto it = std::find(tree_.names.begin(), tree_.names.end(), name);
  Node n;
  n.op = Op::kSymbol;
  n.symbol = static_cast<int>(it - tree_.names.begin());
  if (it == tree_.names.end()) tree_.names.push_back(name);
  return add(std::move(n));
}

int TreeBuilder::infinity() {
  Node n;
  n.op = Op::kInfinity;
  return add(std::move(n));
}

// Sums and products are n-ary: long chains stay shallow.
int TreeBuilder::node(Op op, std::vector<int> args) {
  for (int a : args)
    if (a < 0) return -1;
  Node n;
  n.op = op;
  if (op == Op::kAdd || op == Op::kMul) {
    for (int a : args) {
      if (at(a).op == op) n.args.insert(n.args.end(), at(a).args.begin(), at(a).args.end());
      else n.args.push_back(a);
    }
  } else {
    n.args = std::move(args);
  }
  return add(std::move(n));
}

int TreeBuilder::func(Fn fn, int arg) {
  if (arg < 0) return -1;
  Node n;
  n.op = Op::kFunc;
  n.fn = fn;
  n.args = {arg};
  return add(std::move(n));
}

int TreeBuilder::undefined_func(const std::string& name, std::vector<int> args) {
  int s = symbol(name);  // registers the name; the function node reuses its index
  if (s < 0) return -1;
  int index = at(s).symbol;
  tree_.nodes.pop_back();
  Node n;
  n.op = Op::kUndefFunc;
  n.symbol = index;
  n.args = std::move(args);
  return add(std::move(n));
}

int TreeBuilder::relation(Rel rel, int lhs, int rhs) {
  if (lhs < 0 || rhs < 0) return -1;
  Node n;
  n.op = Op::kRelation;
  n.rel = rel;
  n.args = {lhs, rhs};
  return add(std::move(n));
}

bool TreeBuilder::has_symbols(int id) const {
  const Node& n = at(id);
  if (n.op == Op::kSymbol) return true;
  for (int child : n.args)
    if (has_symbols(child)) return true;
  return false;
}

std::string TreeBuilder::print(int id) const { return print_node(tree_, id); }

std::string print_node(const LatexExpr::Tree& tree, int id) {
  const Node& n = tree.nodes[static_cast<size_t>(id)];
  auto print = [&](int child) { return print_node(tree, child); };
  auto children = [&](const char* sep) {
    std::string out;
    for (size_t k = 0; k < n.args.size(); ++k) out += (k ? sep : "") + print(n.args[k]);
    return out;
  };
  static const char* kFnNames[] = {"sin",  "cos",  "tan",  "csc",   "sec",   "cot",   "asin", "acos", "atan", "acsc",
                                   "asec", "acot", "sinh", "cosh",  "tanh",  "asinh", "acosh", "atanh", "exp", "sqrt"};
  static const char* kRelNames[] = {"=", "!=", "<", "<=", ">", ">="};
  switch (n.op) {
    case Op::kNumber: return format_number(n.number, n.imag);
    case Op::kSymbol: return tree.names[static_cast<size_t>(n.symbol)];
    case Op::kInfinity: return "oo";
    case Op::kAdd: return "(" + children(" + ") + ")";
    case Op::kMul: return "(" + children("*") + ")";
    case Op::kPow: return "(" + children("**") + ")";
    case Op::kNeg: return "(-" + print(n.args[0]) + ")";
    case Op::kFunc: return std::string(kFnNames[static_cast<int>(n.fn)]) + "(" + children(", ") + ")";
    case Op::kUndefFunc: return tree.names[static_cast<size_t>(n.symbol)] + "(" + children(", ") + ")";
    case Op::kFactorial: return "factorial(" + children(", ") + ")";
    case Op::kAbs: return "Abs(" + children(", ") + ")";
    case Op::kFloor: return "floor(" + children(", ") + ")";
    case Op::kCeil: return "ceiling(" + children(", ") + ")";
    case Op::kBinom: return "binomial(" + children(", ") + ")";
    case Op::kConj: return "conjugate(" + children(", ") + ")";
    case Op::kRoot: return "root(" + children(", ") + ")";
    case Op::kLog: return "log(" + children(", ") + ")";
    case Op::kRelation: return print(n.args[0]) + " " + kRelNames[static_cast<int>(n.rel)] + " " + print(n.args[1]);
  }
  return "?";
}

bool LatexExpr::is_relation() const { return tree_->nodes[static_cast<size_t>(tree_->root)].op == Op::kRelation; }

std::vector<std::string> LatexExpr::free_symbols() const {
  // Only the nodes reachable from the root count: failed parse attempts
  // leave others in the arena.
  std::set<std::string> reachable;
  std::function<void(int)> walk = [&](int id) {
    const Node& n = tree_->nodes[static_cast<size_t>(id)];
    if (n.op == Op::kSymbol) reachable.insert(tree_->names[static_cast<size_t>(n.symbol)]);
    for (int c : n.args) walk(c);
  };
  walk(tree_->root);
  return {reachable.begin(), reachable.end()};
}

std::complex<double> LatexExpr::evaluate(const std::map<std::string, std::complex<double>>& values) const {
  std::vector<C> bound(tree_->names.size(), C(0, 0));
  for (size_t k = 0; k < tree_->names.size(); ++k)
    if (auto it = values.find(tree_->names[k]); it != values.end()) bound[k] = it->second;
  return Evaluator{*tree_, bound}(tree_->root);
}

std::string LatexExpr::to_string() const { return print_node(*tree_, tree_->root); }

}  // namespace rkv::eval
