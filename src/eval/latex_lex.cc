// The LaTeX lexer: the tokens of sympy's LaTeX grammar with ANTLR's rule of
// the longest match ("\cdotx" is one unknown command, not \cdot x).
#include <map>

#include "eval/latex_tree.h"
#include "eval/text.h"

namespace rkv::eval {
namespace {

enum class Special : uint8_t { kToken, kSkip };

struct Command {
  Special special;
  Tok tok;
};

const std::map<std::string, Command, std::less<>>& commands() {
  static const std::map<std::string, Command, std::less<>> table = [] {
    std::map<std::string, Command, std::less<>> t;
    auto tok = [&](Tok k, std::initializer_list<const char*> names) {
      for (const char* n : names) t[n] = {Special::kToken, k};
    };
    for (const char* skip : {"left", "right", "quad", "qquad", "thinspace", "medspace", "thickspace", "negthinspace",
                             "negmedspace", "negthickspace", "vrule", "vcenter", "vbox", "vskip", "vspace", "hfil"})
      t[skip] = {Special::kSkip, Tok::kEnd};
    tok(Tok::kLAngle, {"langle"});
    tok(Tok::kRAngle, {"rangle"});
    tok(Tok::kLim, {"lim"});
    tok(Tok::kLimApproach, {"to", "rightarrow", "Rightarrow", "longrightarrow", "Longrightarrow"});
    tok(Tok::kInt, {"int"});
    tok(Tok::kSum, {"sum"});
    tok(Tok::kProd, {"prod"});
    tok(Tok::kFuncNormal, {"exp", "log", "lg", "ln", "sin", "cos", "tan", "csc", "sec", "cot", "arcsin", "arccos",
                           "arctan", "arccsc", "arcsec", "arccot", "sinh", "cosh", "tanh", "arsinh", "arcosh",
                           "artanh"});
    tok(Tok::kLFloor, {"lfloor"});
    tok(Tok::kRFloor, {"rfloor"});
    tok(Tok::kLCeil, {"lceil"});
    tok(Tok::kRCeil, {"rceil"});
    tok(Tok::kSqrt, {"sqrt"});
    tok(Tok::kOverline, {"overline"});
    tok(Tok::kTimes, {"times"});
    tok(Tok::kCdot, {"cdot"});
    tok(Tok::kCmdDiv, {"div"});
    tok(Tok::kFrac, {"frac", "dfrac", "tfrac"});
    tok(Tok::kBinom, {"binom", "dbinom", "tbinom"});
    tok(Tok::kMathit, {"mathit"});
    tok(Tok::kNeq, {"neq"});
    tok(Tok::kLte, {"leq", "le", "leqq", "leqslant"});
    tok(Tok::kGte, {"geq", "ge", "geqq", "geqslant"});
    return t;
  }();
  return table;
}

bool ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

size_t letters_end(std::string_view s, size_t i) {
  while (i < s.size() && text::is_ascii_alpha(s[i])) ++i;
  return i;
}

// A backslash command at s[i] == '\\'; advances i. False: no token matches.
bool lex_command(std::string_view s, size_t& i, std::vector<Token>& out) {
  size_t end = letters_end(s, i + 1);
  if (end == i + 1) {  // "\{", "\}", spacing and ignored escapes
    if (i + 1 >= s.size()) return false;
    char c = s[i + 1];
    i += 2;
    if (c == '{') out.push_back({Tok::kLBraceLit, ""});
    else if (c == '}') out.push_back({Tok::kRBraceLit, ""});
    else if (std::string_view(",:;!*-./\"(=").find(c) == std::string_view::npos) return false;
    return true;
  }
  std::string name(s.substr(i + 1, end - i - 1));
  if ((name == "right" || name == "left") && end < s.size() && s[end] == '|') {
    out.push_back({name == "right" ? Tok::kRBar : Tok::kLBar, ""});
    i = end + 1;
    return true;
  }
  if (name == "int" && s.substr(end, 7) == "\\limits") end += 7;
  i = end;
  auto it = commands().find(name);
  if (it == commands().end()) {
    out.push_back({Tok::kSymbol, name});
  } else if (it->second.special == Special::kToken) {
    out.push_back({it->second.tok, name});
  }
  return true;
}

// 'd' WS* (letter | '\' letters): "dx" is one differential token.
bool lex_differential(std::string_view s, size_t& i, std::vector<Token>& out) {
  size_t j = i + 1;
  while (j < s.size() && ws(s[j])) ++j;
  if (j < s.size() && text::is_ascii_alpha(s[j])) {
    out.push_back({Tok::kDifferential, std::string(1, s[j])});
    i = j + 1;
    return true;
  }
  if (j + 1 < s.size() && s[j] == '\\' && text::is_ascii_alpha(s[j + 1])) {
    size_t end = letters_end(s, j + 1);
    out.push_back({Tok::kDifferential, std::string(s.substr(j + 1, end - j - 1))});
    i = end;
    return true;
  }
  return false;
}

bool lex_equal(std::string_view s, size_t& i, std::vector<Token>& out) {
  size_t j = i + 1;
  while (j < s.size() && ws(s[j])) ++j;
  if (s[i] == '&') {
    if (j >= s.size() || s[j] != '=') return false;
    i = j + 1;
  } else {
    i = (j < s.size() && s[j] == '&') ? j + 1 : i + 1;
  }
  out.push_back({Tok::kEqual, "="});
  return true;
}

Tok single_char_token(char c) {
  switch (c) {
    case '+': return Tok::kAdd;
    case '-': return Tok::kSub;
    case '*': return Tok::kMul;
    case '/': return Tok::kDiv;
    case '(': return Tok::kLParen;
    case ')': return Tok::kRParen;
    case '{': return Tok::kLBrace;
    case '}': return Tok::kRBrace;
    case '[': return Tok::kLBracket;
    case ']': return Tok::kRBracket;
    case '|': return Tok::kBar;
    case '_': return Tok::kUnderscore;
    case '^': return Tok::kCaret;
    case ':': return Tok::kColon;
    case '<': return Tok::kLt;
    case '>': return Tok::kGt;
    case '!': return Tok::kBang;
    case ',': return Tok::kComma;
    case '.': return Tok::kDot;
    default: return Tok::kEnd;
  }
}

}  // namespace

bool lex_latex(std::string_view s, std::vector<Token>& out) {
  out.clear();
  size_t i = 0;
  auto error = [&] {
    out.push_back({Tok::kError, ""});
    return false;
  };
  while (i < s.size()) {
    char c = s[i];
    if (ws(c)) {
      ++i;
    } else if (c == '\\') {
      if (!lex_command(s, i, out)) return error();
    } else if (c == 'd' && lex_differential(s, i, out)) {
      continue;
    } else if (text::is_ascii_alpha(c)) {
      out.push_back({Tok::kLetter, std::string(1, c)});
      ++i;
    } else if (text::is_ascii_digit(c)) {
      out.push_back({Tok::kDigit, std::string(1, c)});
      ++i;
    } else if (c == '=' || c == '&') {
      if (!lex_equal(s, i, out)) return error();
    } else if (c == '\'') {
      size_t j = i;
      while (j < s.size() && s[j] == '\'') ++j;
      out.push_back({Tok::kQuotes, std::string(s.substr(i, j - i))});
      i = j;
    } else if (Tok t = single_char_token(c); t != Tok::kEnd) {
      out.push_back({t, std::string(1, c)});
      ++i;
    } else {
      return error();
    }
  }
  out.push_back({Tok::kEnd, ""});
  return true;
}

}  // namespace rkv::eval
