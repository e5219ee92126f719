// Lexer and parser of the chat-template Jinja subset, with jinja2's
// whitespace rules as Hugging Face configures them (trim_blocks,
// lstrip_blocks, one trailing newline dropped, newlines normalized).
#include <algorithm>
#include <cstring>
#include <set>

#include "rkv/core/error.h"
#include "tokenizer/jinja.h"
#include "tokenizer/jinja_text.h"

namespace rkv::jinja {

Expr::~Expr() {
  std::vector<ExprPtr> pending;  // detached descendants, each freed once its own children are detached
  auto detach_children = [&pending](Expr& e) {
    for (auto& kid : e.kids)
      if (kid) pending.push_back(std::move(kid));
    for (auto& kw : e.kwargs)
      if (kw.second) pending.push_back(std::move(kw.second));
  };
  detach_children(*this);
  while (!pending.empty()) {
    ExprPtr e = std::move(pending.back());
    pending.pop_back();
    detach_children(*e);
  }  // e, now childless, is freed here without recursing
}

namespace {

enum class T { Data, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, Int, Float, String, Op, Eof };

struct Tok {
  T type;
  std::string text;
  int line;
  int64_t i = 0;
  double f = 0;
};

class Lexer {
 public:
  Lexer(std::string_view src, const std::string& name) : name_(name) {
    // Newlines normalized to \n; one trailing newline dropped (keep_trailing_newline=False).
    src_.reserve(src.size());
    for (size_t k = 0; k < src.size(); ++k) {
      if (src[k] == '\r') {
        src_ += '\n';
        if (k + 1 < src.size() && src[k + 1] == '\n') ++k;
      } else {
        src_ += src[k];
      }
    }
    if (!src_.empty() && src_.back() == '\n') src_.pop_back();
  }

  std::vector<Tok> run() {
    size_t pos = 0;
    while (pos < src_.size()) {
      size_t start = find_tag(pos);
      std::string text = src_.substr(pos, (start == std::string::npos ? src_.size() : start) - pos);
      if (start == std::string::npos) {
        emit_data(text, pos);
        break;
      }
      char kind = src_[start + 1];  // '{', '%', '#'
      char sign = start + 2 < src_.size() ? src_[start + 2] : 0;
      if (sign == '-') {
        text.resize(rstrip_ws(text));
      } else if (sign != '+' && kind != '{') {
        size_t l_pos = text.rfind('\n');
        l_pos = l_pos == std::string::npos ? 0 : l_pos + 1;
        bool line_starting = pos == 0 || src_[pos - 1] == '\n';
        if ((l_pos > 0 || line_starting) && l_pos < text.size() && all_ws(std::string_view(text).substr(l_pos)))
          text.resize(l_pos);
      }
      emit_data(text, pos);
      size_t inner = start + 2 + ((sign == '-' || sign == '+') ? 1 : 0);
      if (kind == '#') {
        size_t end = src_.find("#}", inner);
        if (end == std::string::npos) error(line_at(start), "unclosed comment {# ... #}");
        bool strip = end > inner && src_[end - 1] == '-';
        bool plus = end > inner && src_[end - 1] == '+';
        pos = after_end(end + 2, strip, !plus);
        continue;
      }
      if (kind == '%' && is_raw(inner)) {
        pos = lex_raw(start, inner);
        continue;
      }
      pos = lex_tag(kind == '{', start, inner);
    }
    toks_.push_back({T::Eof, "", line_at(src_.size())});
    return std::move(toks_);
  }

 private:
  [[noreturn]] void error(int line, const std::string& what) { fail(name_, " line ", line, ": ", what); }

  int line_at(size_t pos) {
    // Incremental: positions only move forward.
    if (pos < line_pos_) { line_pos_ = 0; line_ = 1; }
    for (; line_pos_ < pos && line_pos_ < src_.size(); ++line_pos_)
      if (src_[line_pos_] == '\n') ++line_;
    return line_;
  }

  size_t find_tag(size_t from) const {
    for (size_t k = src_.find('{', from); k != std::string::npos; k = src_.find('{', k + 1)) {
      if (k + 1 < src_.size() && (src_[k + 1] == '{' || src_[k + 1] == '%' || src_[k + 1] == '#')) return k;
    }
    return std::string::npos;
  }

  void emit_data(const std::string& text, size_t pos) {
    if (!text.empty()) toks_.push_back({T::Data, text, line_at(pos)});
  }

  // After a tag end at `pos`: "-" strips all following whitespace; trim_blocks
  // drops one newline after block tags and comments.
  size_t after_end(size_t pos, bool strip, bool trim) {
    if (strip) {
      while (pos < src_.size()) {
        size_t n = ws_len_at(src_, pos);
        if (n == 0) break;
        pos += n;
      }
    } else if (trim && pos < src_.size() && src_[pos] == '\n') {
      ++pos;
    }
    return pos;
  }

  bool is_raw(size_t p) const {
    while (p < src_.size() && (src_[p] == ' ' || src_[p] == '\t' || src_[p] == '\n')) ++p;
    if (src_.compare(p, 3, "raw") != 0) return false;
    p += 3;
    while (p < src_.size() && (src_[p] == ' ' || src_[p] == '\t' || src_[p] == '\n')) ++p;
    if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) ++p;
    return src_.compare(p, 2, "%}") == 0;
  }

  size_t lex_raw(size_t start, size_t inner) {
    size_t open_end = src_.find("%}", inner);
    bool strip = src_[open_end - 1] == '-';
    size_t body = after_end(open_end + 2, strip, src_[open_end - 1] != '+');
    for (size_t k = src_.find("{%", body); k != std::string::npos; k = src_.find("{%", k + 1)) {
      size_t p = k + 2;
      char sign = p < src_.size() ? src_[p] : 0;
      if (sign == '-' || sign == '+') ++p;
      while (p < src_.size() && (src_[p] == ' ' || src_[p] == '\t' || src_[p] == '\n')) ++p;
      if (src_.compare(p, 6, "endraw") != 0) continue;
      p += 6;
      while (p < src_.size() && (src_[p] == ' ' || src_[p] == '\t' || src_[p] == '\n')) ++p;
      bool end_strip = p < src_.size() && src_[p] == '-';
      bool end_plus = p < src_.size() && src_[p] == '+';
      if (end_strip || end_plus) ++p;
      if (src_.compare(p, 2, "%}") != 0) continue;
      std::string text = src_.substr(body, k - body);
      if (sign == '-') text.resize(rstrip_ws(text));
      emit_data(text, body);
      return after_end(p + 2, end_strip, !end_plus);
    }
    error(line_at(start), "{% raw %} without {% endraw %}");
  }

  size_t lex_tag(bool var, size_t start, size_t p) {
    int line = line_at(start);
    toks_.push_back({var ? T::VarBegin : T::BlockBegin, "", line});
    std::vector<char> balance;
    for (;;) {
      while (p < src_.size() && (src_[p] == ' ' || src_[p] == '\t' || src_[p] == '\n' || src_[p] == '\r')) ++p;
      if (p >= src_.size()) error(line, var ? "unclosed {{ ... }}" : "unclosed {% ... %}");
      line = line_at(p);
      if (balance.empty()) {
        const char* close = var ? "}}" : "%}";
        if (src_.compare(p, 2, close) == 0 || (src_[p] == '-' && src_.compare(p + 1, 2, close) == 0) ||
            (!var && src_[p] == '+' && src_.compare(p + 1, 2, close) == 0)) {
          bool strip = src_[p] == '-', plus = src_[p] == '+';
          toks_.push_back({var ? T::VarEnd : T::BlockEnd, "", line});
          return after_end(p + (strip || plus ? 3 : 2), strip, !var && !plus);
        }
      }
      char c = src_[p];
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t q = p;
        while (q < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[q])) || src_[q] == '_')) ++q;
        toks_.push_back({T::Name, src_.substr(p, q - p), line});
        p = q;
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        p = lex_number(p, line);
      } else if (c == '\'' || c == '"') {
        p = lex_string(p, line);
      } else {
        static const char* ops2[] = {"//", "**", "==", "!=", "<=", ">="};
        std::string op;
        for (const char* o : ops2)
          if (src_.compare(p, 2, o) == 0) op = o;
        if (op.empty()) {
          if (!std::strchr("+-*/%~()[]{},.:|=<>", c)) error(line, std::string("unexpected character '") + c + "' in tag");
          op = std::string(1, c);
        }
        if (op == "(" || op == "[" || op == "{") balance.push_back(op[0]);
        if (op == ")" || op == "]" || op == "}") {
          char want = op == ")" ? '(' : op == "]" ? '[' : '{';
          if (balance.empty() || balance.back() != want) error(line, "unbalanced '" + op + "'");
          balance.pop_back();
        }
        toks_.push_back({T::Op, op, line});
        p += op.size();
      }
    }
  }

  size_t lex_number(size_t p, int line) {
    size_t q = p;
    std::string digits;
    bool is_float = false;
    auto take_digits = [&] {
      while (q < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[q])) || src_[q] == '_')) {
        if (src_[q] != '_') digits += src_[q];
        ++q;
      }
    };
    take_digits();
    if (q + 1 < src_.size() && src_[q] == '.' && std::isdigit(static_cast<unsigned char>(src_[q + 1]))) {
      is_float = true;
      digits += '.';
      ++q;
      take_digits();
    }
    if (q < src_.size() && (src_[q] == 'e' || src_[q] == 'E')) {
      size_t r = q + 1;
      if (r < src_.size() && (src_[r] == '+' || src_[r] == '-')) ++r;
      if (r < src_.size() && std::isdigit(static_cast<unsigned char>(src_[r]))) {
        is_float = true;
        digits += 'e';
        digits += src_.substr(q + 1, r - q - 1);
        q = r;
        take_digits();
      }
    }
    Tok t{is_float ? T::Float : T::Int, digits, line};
    if (is_float) {
      t.f = std::strtod(digits.c_str(), nullptr);
    } else {
      errno = 0;
      unsigned long long v = std::strtoull(digits.c_str(), nullptr, 10);
      if (errno != 0 || v > static_cast<unsigned long long>(INT64_MAX)) error(line, "integer literal " + digits + " too large");
      t.i = static_cast<int64_t>(v);
    }
    toks_.push_back(t);
    return q;
  }

  size_t lex_string(size_t p, int line) {
    char quote = src_[p];
    std::string out;
    size_t q = p + 1;
    for (;;) {
      if (q >= src_.size()) error(line, "unterminated string literal");
      char c = src_[q];
      if (c == quote) break;
      if (c != '\\') {
        out += c;
        ++q;
        continue;
      }
      if (q + 1 >= src_.size()) error(line, "unterminated string literal");
      char e = src_[q + 1];
      q += 2;
      auto hex = [&](int n) -> uint32_t {
        uint32_t v = 0;
        for (int k = 0; k < n; ++k) {
          if (q >= src_.size() || !std::isxdigit(static_cast<unsigned char>(src_[q])))
            error(line, "bad \\x/\\u escape in string literal");
          char h = src_[q++];
          v = v * 16 + static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
        }
        return v;
      };
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case '\n': break;  // line continuation
        case 'x': append_utf8(out, hex(2)); break;
        case 'u': append_utf8(out, hex(4)); break;
        case 'U': {
          uint32_t v = hex(8);
          if (v > 0x10FFFF) error(line, "\\U escape out of range");
          append_utf8(out, v);
          break;
        }
        case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
          uint32_t v = static_cast<uint32_t>(e - '0');
          for (int k = 0; k < 2 && q < src_.size() && src_[q] >= '0' && src_[q] <= '7'; ++k) v = v * 8 + static_cast<uint32_t>(src_[q++] - '0');
          append_utf8(out, v);
          break;
        }
        default: out += '\\'; out += e; break;  // unknown escapes stay as they are
      }
    }
    toks_.push_back({T::String, out, line});
    return q + 1;
  }

  std::string src_;
  const std::string& name_;
  std::vector<Tok> toks_;
  size_t line_pos_ = 0;
  int line_ = 1;
};

StmtPtr new_stmt(StmtKind kind, int line) {
  auto s = std::make_unique<Stmt>();
  s->kind = kind;
  s->line = line;
  return s;
}

ExprPtr new_expr(ExprKind kind, int line) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->line = line;
  return e;
}

class Parser {
 public:
  Parser(std::vector<Tok> toks, const std::string& name, int max_depth)
      : toks_(std::move(toks)), name_(name), max_depth_(max_depth) {}

  std::unique_ptr<Program> run() {
    auto prog = std::make_unique<Program>();
    std::string end;
    prog->body = parse_body({}, &end);
    return prog;
  }

 private:
  struct DepthGuard {
    Parser& p;
    explicit DepthGuard(Parser& parser) : p(parser) {
      if (++p.depth_ > p.max_depth_) p.error(p.cur().line, "template nested too deeply");
    }
    ~DepthGuard() { --p.depth_; }
  };

  [[noreturn]] void error(int line, const std::string& what) { fail(name_, " line ", line, ": ", what); }
  const Tok& cur() const { return toks_[pos_]; }
  const Tok& peek(size_t k = 1) const { return toks_[std::min(pos_ + k, toks_.size() - 1)]; }
  Tok next() {
    Tok t = toks_[pos_];
    if (pos_ + 1 < toks_.size()) ++pos_;
    return t;
  }
  bool is_op(const char* op) const { return cur().type == T::Op && cur().text == op; }
  bool is_name(const char* n) const { return cur().type == T::Name && cur().text == n; }
  bool skip_op(const char* op) {
    if (!is_op(op)) return false;
    next();
    return true;
  }
  bool skip_name(const char* n) {
    if (!is_name(n)) return false;
    next();
    return true;
  }
  static std::string describe(const Tok& t) {
    switch (t.type) {
      case T::Data: return "template text";
      case T::VarBegin: return "'{{'";
      case T::VarEnd: return "'}}'";
      case T::BlockBegin: return "'{%'";
      case T::BlockEnd: return "'%}'";
      case T::Eof: return "end of template";
      case T::String: return "string literal";
      default: return "'" + t.text + "'";
    }
  }
  void expect_op(const char* op) {
    if (!skip_op(op)) error(cur().line, std::string("expected '") + op + "', found " + describe(cur()));
  }
  std::string expect_name() {
    if (cur().type != T::Name) error(cur().line, "expected a name, found " + describe(cur()));
    return next().text;
  }
  void expect_block_end(const std::string& tag) {
    if (cur().type != T::BlockEnd) error(cur().line, "expected '%}' to end {% " + tag + " %}, found " + describe(cur()));
    next();
  }

  Body parse_body(const std::set<std::string>& ends, std::string* which) {
    DepthGuard g(*this);
    Body body;
    for (;;) {
      const Tok& t = cur();
      if (t.type == T::Eof) {
        if (!ends.empty()) error(t.line, "missing {% " + *ends.rbegin() + " %} before the end of the template");
        return body;
      }
      if (t.type == T::Data) {
        auto s = new_stmt(StmtKind::Text, t.line);
        s->text = t.text;
        body.push_back(std::move(s));
        next();
      } else if (t.type == T::VarBegin) {
        auto s = new_stmt(StmtKind::Output, t.line);
        next();
        s->expr = parse_tuple(true);
        if (cur().type != T::VarEnd) error(cur().line, "expected '}}', found " + describe(cur()));
        next();
        body.push_back(std::move(s));
      } else if (t.type == T::BlockBegin) {
        const Tok& kw = peek();
        if (kw.type != T::Name) error(kw.line, "expected a statement name after '{%', found " + describe(kw));
        if (ends.count(kw.text)) {
          next();
          *which = next().text;
          return body;
        }
        next();
        body.push_back(parse_statement());
      } else {
        error(t.line, "unexpected " + describe(t));
      }
    }
  }

  StmtPtr parse_statement() {
    Tok kw = next();
    int line = kw.line;
    const std::string& k = kw.text;
    auto s = new_stmt(StmtKind::Body, line);
    std::string which;
    if (k == "if") {
      s->kind = StmtKind::If;
      ExprPtr cond = parse_expr();
      expect_block_end("if");
      for (;;) {
        Body b = parse_body({"elif", "else", "endif"}, &which);
        s->branches.emplace_back(std::move(cond), std::move(b));
        if (which == "elif") {
          cond = parse_expr();
          expect_block_end("elif");
          continue;
        }
        if (which == "else") {
          expect_block_end("else");
          s->else_body = parse_body({"endif"}, &which);
        }
        expect_block_end("endif");
        return s;
      }
    }
    if (k == "for") {
      s->kind = StmtKind::For;
      bool paren = skip_op("(");
      s->targets.push_back(expect_name());
      while (skip_op(",")) {
        if (is_name("in") || is_op(")")) break;
        s->targets.push_back(expect_name());
      }
      if (paren) expect_op(")");
      if (!skip_name("in")) error(cur().line, "expected 'in' in {% for %}, found " + describe(cur()));
      s->expr = parse_tuple(false);
      if (skip_name("if")) s->cond = parse_expr();
      if (is_name("recursive")) error(cur().line, "unsupported construct: recursive for loops");
      expect_block_end("for");
      s->body = parse_body({"else", "endfor"}, &which);
      if (which == "else") {
        expect_block_end("else");
        s->else_body = parse_body({"endfor"}, &which);
      }
      expect_block_end("endfor");
      return s;
    }
    if (k == "set") {
      std::string target = expect_name();
      if (skip_op(".")) {
        s->kind = StmtKind::Set;
        s->text = target;
        s->attr = expect_name();
        expect_op("=");
        s->expr = parse_tuple(true);
        expect_block_end("set");
        return s;
      }
      s->targets.push_back(target);
      while (skip_op(",")) s->targets.push_back(expect_name());
      if (skip_op("=")) {
        s->kind = StmtKind::Set;
        s->expr = parse_tuple(true);
        expect_block_end("set");
        return s;
      }
      if (s->targets.size() != 1) error(line, "a block {% set %} takes one name");
      s->kind = StmtKind::SetBlock;
      s->text = target;
      if (is_op("|")) error(cur().line, "unsupported construct: filtered block {% set %}");
      expect_block_end("set");
      s->body = parse_body({"endset"}, &which);
      expect_block_end("endset");
      return s;
    }
    if (k == "macro") {
      s->kind = StmtKind::Macro;
      s->text = expect_name();
      expect_op("(");
      while (!is_op(")")) {
        std::string p = expect_name();
        ExprPtr def;
        if (skip_op("=")) def = parse_expr();
        s->params.emplace_back(p, std::move(def));
        if (!skip_op(",")) break;
      }
      expect_op(")");
      expect_block_end("macro");
      s->body = parse_body({"endmacro"}, &which);
      if (cur().type == T::Name) next();  // {% endmacro name %}
      expect_block_end("endmacro");
      return s;
    }
    if (k == "break" || k == "continue") {
      s->kind = k == "break" ? StmtKind::Break : StmtKind::Continue;
      expect_block_end(k);
      return s;
    }
    if (k == "filter") {
      s->kind = StmtKind::FilterBlock;
      auto placeholder = new_expr(ExprKind::Literal, line);
      s->expr = parse_filter(std::move(placeholder));
      while (skip_op("|")) s->expr = parse_filter(std::move(s->expr));
      expect_block_end("filter");
      s->body = parse_body({"endfilter"}, &which);
      expect_block_end("endfilter");
      return s;
    }
    if (k == "generation") {  // Hugging Face's assistant-mask extension: renders its body
      s->kind = StmtKind::Body;
      expect_block_end("generation");
      s->body = parse_body({"endgeneration"}, &which);
      expect_block_end("endgeneration");
      return s;
    }
    static const std::set<std::string> known_unsupported = {
        "call", "include", "import", "from", "extends", "block", "with", "autoescape", "do", "trans", "raw"};
    if (known_unsupported.count(k)) error(line, "unsupported construct: {% " + k + " %}");
    error(line, "unknown statement {% " + k + " %}");
  }

  ExprPtr make(ExprKind kind, int line) { return new_expr(kind, line); }

  // A node whose children are complete: its height is checked here, so that
  // chains such as 1 + 1 + ... (one level per term, built by loops rather
  // than recursion) are refused while parsing, like deep nesting.
  ExprPtr sealed(ExprPtr n) {
    int below = 0;
    for (const auto& kid : n->kids)
      if (kid) below = std::max(below, kid->height);
    for (const auto& kw : n->kwargs)
      if (kw.second) below = std::max(below, kw.second->height);
    n->height = below + 1;
    if (n->height > max_height())
      error(n->line, "expression nested too deeply (over " + std::to_string(max_height()) +
                         " levels: a chain of that many operators, filters, attributes or calls, or deep brackets)");
    return n;
  }
  int max_height() const { return 2 * max_depth_; }

  ExprPtr parse_tuple(bool with_cond) {
    int line = cur().line;
    ExprPtr first = with_cond ? parse_expr() : parse_or();
    if (!is_op(",")) return first;
    auto t = make(ExprKind::Tuple, line);
    t->kids.push_back(std::move(first));
    while (skip_op(",")) {
      if (cur().type == T::VarEnd || cur().type == T::BlockEnd || is_name("if")) break;
      t->kids.push_back(with_cond ? parse_expr() : parse_or());
    }
    return sealed(std::move(t));
  }

  ExprPtr parse_expr() {
    DepthGuard g(*this);
    ExprPtr e = parse_or();
    while (is_name("if")) {
      int line = next().line;
      auto c = make(ExprKind::Cond, line);
      ExprPtr cond = parse_or();
      ExprPtr other;
      if (skip_name("else")) other = parse_expr();
      c->kids.push_back(std::move(e));
      c->kids.push_back(std::move(cond));
      c->kids.push_back(std::move(other));
      e = sealed(std::move(c));
    }
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr e = parse_and();
    while (is_name("or")) {
      auto n = make(ExprKind::Or, next().line);
      n->kids.push_back(std::move(e));
      n->kids.push_back(parse_and());
      e = sealed(std::move(n));
    }
    return e;
  }

  ExprPtr parse_and() {
    ExprPtr e = parse_not();
    while (is_name("and")) {
      auto n = make(ExprKind::And, next().line);
      n->kids.push_back(std::move(e));
      n->kids.push_back(parse_not());
      e = sealed(std::move(n));
    }
    return e;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      DepthGuard g(*this);
      auto n = make(ExprKind::Not, next().line);
      n->kids.push_back(parse_not());
      return sealed(std::move(n));
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    int line = cur().line;
    ExprPtr e = parse_math1();
    std::unique_ptr<Expr> cmp;
    for (;;) {
      std::string op;
      if (cur().type == T::Op && (cur().text == "==" || cur().text == "!=" || cur().text == "<" || cur().text == "<=" ||
                                  cur().text == ">" || cur().text == ">=")) {
        op = next().text;
      } else if (is_name("in")) {
        next();
        op = "in";
      } else if (is_name("not") && peek().type == T::Name && peek().text == "in") {
        next();
        next();
        op = "not in";
      } else {
        break;
      }
      if (!cmp) {
        cmp = make(ExprKind::Compare, line);
        cmp->kids.push_back(std::move(e));
      }
      cmp->ops.push_back(op);
      cmp->kids.push_back(parse_math1());
    }
    return cmp ? sealed(std::move(cmp)) : std::move(e);
  }

  ExprPtr binary(const std::string& op, ExprPtr l, ExprPtr r, int line) {
    auto n = make(ExprKind::Binary, line);
    n->name = op;
    n->kids.push_back(std::move(l));
    n->kids.push_back(std::move(r));
    return sealed(std::move(n));
  }

  ExprPtr parse_math1() {
    ExprPtr e = parse_concat();
    while (is_op("+") || is_op("-")) {
      Tok t = next();
      e = binary(t.text, std::move(e), parse_concat(), t.line);
    }
    return e;
  }

  ExprPtr parse_concat() {
    ExprPtr e = parse_math2();
    if (!is_op("~")) return e;
    auto n = make(ExprKind::Concat, cur().line);
    n->kids.push_back(std::move(e));
    while (skip_op("~")) n->kids.push_back(parse_math2());
    return sealed(std::move(n));
  }

  ExprPtr parse_math2() {
    ExprPtr e = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      Tok t = next();
      e = binary(t.text, std::move(e), parse_pow(), t.line);
    }
    return e;
  }

  ExprPtr parse_pow() {
    ExprPtr e = parse_unary(true);
    while (is_op("**")) {
      Tok t = next();
      e = binary("**", std::move(e), parse_unary(true), t.line);
    }
    return e;
  }

  ExprPtr parse_unary(bool with_filter) {
    DepthGuard g(*this);
    ExprPtr e;
    if (is_op("-") || is_op("+")) {
      Tok t = next();
      e = make(t.text == "-" ? ExprKind::Neg : ExprKind::Pos, t.line);
      e->kids.push_back(parse_unary(false));
      e = sealed(std::move(e));
    } else {
      e = parse_postfix(parse_primary());
    }
    if (with_filter) e = parse_filter_expr(std::move(e));
    return e;
  }

  ExprPtr parse_primary() {
    const Tok& t = cur();
    int line = t.line;
    if (t.type == T::Name) {
      std::string n = next().text;
      if (n == "true" || n == "True" || n == "false" || n == "False") {
        auto e = make(ExprKind::Literal, line);
        e->literal = Value::boolean(n[0] == 't' || n[0] == 'T');
        return e;
      }
      if (n == "none" || n == "None") {
        auto e = make(ExprKind::Literal, line);
        e->literal = Value::none();
        return e;
      }
      auto e = make(ExprKind::Name, line);
      e->name = n;
      return e;
    }
    if (t.type == T::String) {
      std::string s;
      while (cur().type == T::String) s += next().text;
      auto e = make(ExprKind::Literal, line);
      e->literal = Value::string(std::move(s));
      return e;
    }
    if (t.type == T::Int || t.type == T::Float) {
      Tok n = next();
      auto e = make(ExprKind::Literal, line);
      e->literal = n.type == T::Int ? Value::integer(n.i) : Value::number(n.f);
      return e;
    }
    if (skip_op("(")) {
      if (skip_op(")")) return make(ExprKind::Tuple, line);
      ExprPtr first = parse_expr();
      if (is_op(",")) {
        auto tup = make(ExprKind::Tuple, line);
        tup->kids.push_back(std::move(first));
        while (skip_op(",")) {
          if (is_op(")")) break;
          tup->kids.push_back(parse_expr());
        }
        first = sealed(std::move(tup));
      }
      expect_op(")");
      return first;
    }
    if (skip_op("[")) {
      auto e = make(ExprKind::List, line);
      while (!is_op("]")) {
        e->kids.push_back(parse_expr());
        if (!skip_op(",")) break;
      }
      expect_op("]");
      return sealed(std::move(e));
    }
    if (skip_op("{")) {
      auto e = make(ExprKind::Dict, line);
      while (!is_op("}")) {
        e->kids.push_back(parse_expr());
        expect_op(":");
        e->kids.push_back(parse_expr());
        if (!skip_op(",")) break;
      }
      expect_op("}");
      return sealed(std::move(e));
    }
    error(line, "unexpected " + describe(t) + " in an expression");
  }

  void parse_call_args(Expr& call) {
    // after '('
    while (!is_op(")")) {
      if (is_op("*") || is_op("**")) error(cur().line, "unsupported construct: *args / **kwargs in a call");
      if (cur().type == T::Name && peek().type == T::Op && peek().text == "=") {
        std::string k = next().text;
        next();
        call.kwargs.emplace_back(k, parse_expr());
      } else {
        if (!call.kwargs.empty()) error(cur().line, "positional argument after a keyword argument");
        call.kids.push_back(parse_expr());
      }
      if (!skip_op(",")) break;
    }
    expect_op(")");
  }

  ExprPtr parse_postfix(ExprPtr e) {
    for (;;) {
      int line = cur().line;
      if (skip_op(".")) {
        if (cur().type == T::Int) {
          auto n = make(ExprKind::Item, line);
          auto idx = make(ExprKind::Literal, line);
          idx->literal = Value::integer(next().i);
          n->kids.push_back(std::move(e));
          n->kids.push_back(std::move(idx));
          e = sealed(std::move(n));
          continue;
        }
        auto n = make(ExprKind::Attr, line);
        n->name = expect_name();
        n->kids.push_back(std::move(e));
        e = sealed(std::move(n));
      } else if (skip_op("[")) {
        DepthGuard g(*this);
        ExprPtr parts[3];
        bool is_slice = false;
        int k = 0;
        for (;;) {
          if (!is_op(":") && !is_op("]")) parts[k] = parse_expr();
          if (k < 2 && skip_op(":")) {
            is_slice = true;
            ++k;
            continue;
          }
          break;
        }
        expect_op("]");
        if (is_slice) {
          auto n = make(ExprKind::Slice, line);
          n->kids.push_back(std::move(e));
          for (auto& p : parts) n->kids.push_back(std::move(p));
          e = sealed(std::move(n));
        } else {
          if (!parts[0]) error(line, "empty subscript []");
          auto n = make(ExprKind::Item, line);
          n->kids.push_back(std::move(e));
          n->kids.push_back(std::move(parts[0]));
          e = sealed(std::move(n));
        }
      } else if (skip_op("(")) {
        DepthGuard g(*this);
        auto n = make(ExprKind::Call, line);
        n->kids.push_back(std::move(e));
        parse_call_args(*n);
        e = sealed(std::move(n));
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_filter(ExprPtr e) {
    int line = cur().line;
    auto n = make(ExprKind::Filter, line);
    n->name = expect_name();
    while (skip_op(".")) n->name += "." + expect_name();
    n->kids.push_back(std::move(e));
    if (skip_op("(")) parse_call_args(*n);
    return sealed(std::move(n));
  }

  ExprPtr parse_filter_expr(ExprPtr e) {
    for (;;) {
      if (skip_op("|")) {
        e = parse_filter(std::move(e));
      } else if (is_name("is")) {
        int line = next().line;
        auto n = make(ExprKind::Test, line);
        n->negated = skip_name("not");
        n->name = expect_name();
        while (skip_op(".")) n->name += "." + expect_name();
        n->kids.push_back(std::move(e));
        if (skip_op("(")) {
          parse_call_args(*n);
        } else if ((cur().type == T::Name || cur().type == T::String || cur().type == T::Int || cur().type == T::Float ||
                    is_op("[") || is_op("{")) &&
                   !(is_name("else") || is_name("or") || is_name("and") || is_name("if") || is_name("in") ||
                     is_name("not") || is_name("is"))) {
          DepthGuard g(*this);
          n->kids.push_back(parse_postfix(parse_primary()));
        }
        e = sealed(std::move(n));
      } else if (is_op("(")) {
        int line = next().line;
        auto n = make(ExprKind::Call, line);
        n->kids.push_back(std::move(e));
        parse_call_args(*n);
        e = sealed(std::move(n));
      } else {
        return e;
      }
    }
  }

  std::vector<Tok> toks_;
  size_t pos_ = 0;
  const std::string& name_;
  int max_depth_;
  int depth_ = 0;
};

}  // namespace

std::unique_ptr<Program> parse(std::string_view source, const std::string& name, int max_depth) {
  Lexer lexer(source, name);
  Parser parser(lexer.run(), name, max_depth);
  return parser.run();
}

}  // namespace rkv::jinja
