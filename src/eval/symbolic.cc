// symbolic_equal(): the reference's last layer. Both answers are parsed the
// way it parses them (sympy's parse_latex, the "\\"-to-"\" variant first,
// then Python syntax for sets), then compared by value: equal constants
// (within 1e-4 when real, as its float(N(.)) check), or equal at seeded
// random complex points when there are free symbols (its simplify/equals).
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "eval/latex_tree.h"
#include "eval/python_expr.h"
#include "eval/text.h"

namespace rkv::eval {
namespace {

using C = std::complex<double>;
constexpr int kSamplePoints = 6;

bool finite(C v) { return std::isfinite(v.real()) && std::isfinite(v.imag()); }

bool nearly_real(C v) { return std::fabs(v.imag()) <= 1e-10 * std::abs(v); }

bool tightly_equal(C a, C b, double rel, double abs) {
  return std::abs(a - b) <= rel * std::max(std::abs(a), std::abs(b)) + abs;
}

bool python_isclose(double a, double b, double rel) {
  if (a == b) return true;
  if (std::isinf(a) || std::isinf(b)) return false;
  double diff = std::fabs(a - b);
  return diff <= rel * std::fabs(a) || diff <= rel * std::fabs(b);
}

bool has_undefined_function(const LatexExpr& e) {
  const auto& t = e.tree();
  std::vector<int> stack = {t.root};
  while (!stack.empty()) {
    const Node& n = t.nodes[static_cast<size_t>(stack.back())];
    stack.pop_back();
    if (n.op == Op::kUndefFunc) return true;
    stack.insert(stack.end(), n.args.begin(), n.args.end());
  }
  return false;
}

// A deterministic point for sample k: each symbol in a different quadrant
// per sample (|z| in [0.6, 1.4]), then two far points (|z| in [2, 5], left
// half-plane), so that branch cuts show: sqrt(x^2) is not x, nor
// sqrt((x+1)^2) x+1.
C sample_value(const std::string& name, int k) {
  uint64_t h = 1469598103934665603ull;
  for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  auto unit = [&](uint64_t salt) {
    uint64_t v = (h + salt * 0x9E3779B97F4A7C15ull) * 0xBF58476D1CE4E5B9ull;
    v ^= v >> 31;
    return static_cast<double>(v >> 11) / static_cast<double>(1ull << 53);
  };
  double u = unit(2 * static_cast<uint64_t>(k) + 1), v = unit(2 * static_cast<uint64_t>(k) + 2);
  double r = k < 4 ? 0.6 + 0.8 * u : 2 + 3 * u;
  double quadrant = k < 4 ? k : k - 3;  // the far points lie in quadrants 2 and 3
  double angle = (quadrant + 0.2 + 0.6 * v) * (3.14159265358979323846 / 2);
  return std::polar(r, angle);
}

using Value = std::function<C(const std::map<std::string, C>&)>;

std::vector<std::string> symbols_of(const LatexExpr& a, const LatexExpr& b) {
  std::vector<std::string> x = a.free_symbols(), y = b.free_symbols(), out;
  std::set_union(x.begin(), x.end(), y.begin(), y.end(), std::back_inserter(out));
  return out;
}

// Equal at every sample point where both are defined (at least two).
bool sampled_equal(const std::vector<std::string>& names, const Value& fa, const Value& fb) {
  int compared = 0;
  for (int k = 0; k < kSamplePoints; ++k) {
    std::map<std::string, C> point;
    for (const auto& n : names) point[n] = sample_value(n, k);
    C va = fa(point), vb = fb(point);
    if (!finite(va) || !finite(vb)) continue;
    if (!tightly_equal(va, vb, 1e-8, 1e-10)) return false;
    ++compared;
  }
  return compared >= 2;
}

bool constants_equal(C va, C vb, bool float_check) {
  if (!finite(va) || !finite(vb)) return va == vb && !std::isnan(va.real());
  if (tightly_equal(va, vb, 1e-12, 1e-13)) return true;
  if (!float_check || !nearly_real(va) || !nearly_real(vb)) return false;
  return python_isclose(vb.real(), va.real(), 1e-4);
}

bool expressions_equal(const LatexExpr& a, const LatexExpr& b) {
  std::vector<std::string> names = symbols_of(a, b);
  if (names.empty()) {
    bool float_check = !has_undefined_function(a) && !has_undefined_function(b);
    return constants_equal(a.evaluate({}), b.evaluate({}), float_check);
  }
  return sampled_equal(names, [&](const auto& p) { return a.evaluate(p); }, [&](const auto& p) { return b.evaluate(p); });
}

// The reference: |lhs - rhs| of one relation equals that of the other,
// whatever the relation signs.
bool relations_equal(const LatexExpr& a, const LatexExpr& b) {
  std::vector<std::string> names = symbols_of(a, b);
  Value fa = [&](const auto& p) { return C(std::abs(a.evaluate(p)), 0); };
  Value fb = [&](const auto& p) { return C(std::abs(b.evaluate(p)), 0); };
  if (names.empty()) return constants_equal(fa({}), fb({}), false);
  return sampled_equal(names, fa, fb);
}

Rel relation_of(const LatexExpr& e) { return e.tree().nodes[static_cast<size_t>(e.tree().root)].rel; }

// Strict rules: the same relation (or its mirror image, "x > 1" for
// "1 < x") between sides whose difference is proportional: 2x = 4 is x = 2.
bool strict_relations_equal(const LatexExpr& a, const LatexExpr& b) {
  Rel ra = relation_of(a), rb = relation_of(b);
  auto mirror = [](Rel r) {
    switch (r) {
      case Rel::kLt: return Rel::kGt;
      case Rel::kGt: return Rel::kLt;
      case Rel::kLe: return Rel::kGe;
      case Rel::kGe: return Rel::kLe;
      default: return r;
    }
  };
  double sign;
  if (ra == rb) sign = 1;
  else if (ra == mirror(rb)) sign = -1;
  else return false;
  bool ordered = ra != Rel::kEq && ra != Rel::kNe;
  std::vector<std::string> names = symbols_of(a, b);
  std::optional<C> ratio;
  for (int k = 0; k < kSamplePoints; ++k) {
    std::map<std::string, C> point;
    for (const auto& n : names) point[n] = sample_value(n, k);
    C da = a.evaluate(point), db = sign * b.evaluate(point);
    if (!finite(da) || !finite(db)) continue;
    if (std::abs(da) < 1e-12 || std::abs(db) < 1e-12) {
      if (std::abs(da) >= 1e-12 || std::abs(db) >= 1e-12) return false;
      continue;
    }
    C r = da / db;
    if (!ratio) ratio = r;
    else if (!tightly_equal(r, *ratio, 1e-8, 1e-12)) return false;
  }
  if (!ratio) return names.empty();
  return !ordered || (nearly_real(*ratio) && ratio->real() > 0);
}

// parse_expr's reading of a Python set literal "{1,-2,x}" (tried when
// parse_latex fails): elements that are numbers, a/b, or names; compared
// as sets of values.
std::optional<std::set<std::string>> python_set(std::string_view s) {
  s = text::strip(s);
  if (s.size() < 2 || s.front() != '{' || s.back() != '}') return std::nullopt;
  std::set<std::string> out;
  for (std::string_view e : text::split(s.substr(1, s.size() - 2), ",")) {
    e = text::strip(e);
    std::vector<std::string_view> ratio = text::split(e, "/");
    if (ratio.size() == 2) {
      auto n = text::parse_float(ratio[0]), d = text::parse_float(ratio[1]);
      if (!n || !d || *d == 0) return std::nullopt;
      out.insert(text::float_repr(*n / *d));
    } else if (auto v = text::parse_float(e); v && !text::is_ascii_alpha(e[0])) {
      out.insert(text::float_repr(*v));
    } else if (!e.empty() && (text::is_ascii_alpha(e[0]) || e[0] == '_') &&
               std::all_of(e.begin(), e.end(), [](char c) { return text::is_ascii_alpha(c) || text::is_ascii_digit(c) || c == '_'; })) {
      out.insert(std::string(e));
    } else {
      return std::nullopt;
    }
  }
  return out;
}

using Matrix = std::vector<std::vector<LatexExpr>>;

// latex2sympy's reading of a matrix (the reference's third parser, tried
// when the others fail): \begin{pmatrix} a & b \\ c & d \end{pmatrix}, also
// after \displaystyle; each entry must parse.
std::optional<Matrix> latex_matrix(std::string_view s) {
  std::string t = text::replace_all(text::strip(s), "\\displaystyle", "");
  std::string_view v = text::strip(t);
  for (std::string_view env : {"pmatrix", "bmatrix", "matrix"}) {
    std::string begin = "\\begin{" + std::string(env) + "}", end = "\\end{" + std::string(env) + "}";
    if (!v.starts_with(begin) || !v.ends_with(end) || v.size() < begin.size() + end.size()) continue;
    std::string_view body = v.substr(begin.size(), v.size() - begin.size() - end.size());
    Matrix m;
    for (std::string_view row : text::split(body, "\\\\")) {
      if (text::strip(row).empty()) continue;
      m.emplace_back();
      for (std::string_view cell : text::split(row, "&")) {
        auto e = LatexExpr::parse(cell, LatexDialect::kStrict);
        if (!e) return std::nullopt;
        m.back().push_back(std::move(*e));
      }
      if (m.back().size() != m.front().size()) return std::nullopt;
    }
    if (m.empty()) return std::nullopt;
    return m;
  }
  return std::nullopt;
}

// Matrix.equals, or every entry equal after round(x, 3).
bool matrices_equal(const Matrix& a, const Matrix& b) {
  if (a.size() != b.size() || a[0].size() != b[0].size()) return false;
  bool exact = true, rounded = true;
  for (size_t i = 0; i < a.size(); ++i) {
    for (size_t j = 0; j < a[i].size(); ++j) {
      const LatexExpr &x = a[i][j], &y = b[i][j];
      std::vector<std::string> names = symbols_of(x, y);
      if (names.empty()) {
        C vx = x.evaluate({}), vy = y.evaluate({});
        exact = exact && constants_equal(vx, vy, false);
        rounded = rounded && nearly_real(vx) && nearly_real(vy) &&
                  std::nearbyint(vx.real() * 1000) == std::nearbyint(vy.real() * 1000);
      } else {
        rounded = false;
        exact = exact && sampled_equal(names, [&](const auto& p) { return x.evaluate(p); },
                                       [&](const auto& p) { return y.evaluate(p); });
      }
    }
  }
  return exact || rounded;
}

struct Side {
  std::optional<LatexExpr> expr;
  std::optional<std::set<std::string>> set;
  std::optional<Matrix> matrix;
};

Side parse_side(std::string_view s, bool strict) {
  std::string single = text::replace_all(s, "\\\\", "\\");
  LatexDialect dialect = strict ? LatexDialect::kStrict : LatexDialect::kSympy;
  for (std::string_view form : {std::string_view(single), s})
    if (auto e = LatexExpr::parse(form, dialect)) return {std::move(e), std::nullopt, std::nullopt};
  if (!strict) {
    for (std::string_view form : {std::string_view(single), s})
      if (auto e = parse_python_expr(form)) return {std::move(e), std::nullopt, std::nullopt};
  }
  for (std::string_view form : {std::string_view(single), s})
    if (auto set = python_set(form)) return {std::nullopt, std::move(set), std::nullopt};
  if (auto m = latex_matrix(s)) return {std::nullopt, std::nullopt, std::move(m)};
  return {};
}

}  // namespace

bool symbolic_equal(std::string_view a_text, std::string_view b_text, bool strict) {
  Side a = parse_side(a_text, strict), b = parse_side(b_text, strict);
  if (a.set && b.set) return *a.set == *b.set;
  if (a.matrix && b.matrix) return matrices_equal(*a.matrix, *b.matrix);
  if (!a.expr || !b.expr) return !a.expr && !b.expr && !a.set && !b.set && !a.matrix && !b.matrix && a_text == b_text;
  if (a.expr->is_relation() || b.expr->is_relation()) {
    if (!a.expr->is_relation() || !b.expr->is_relation()) return false;
    return strict ? strict_relations_equal(*a.expr, *b.expr) : relations_equal(*a.expr, *b.expr);
  }
  return expressions_equal(*a.expr, *b.expr);
}

}  // namespace rkv::eval
