// tokenizer/jinja (internal): values, syntax tree, parser and evaluator of the
// Jinja subset used by chat templates (see rkv/tokenizer/chat_template.h).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rkv/tokenizer/chat_template.h"

namespace rkv::jinja {

struct Value;
using Array = std::vector<Value>;
struct Object;
struct Interp;

using Args = std::vector<Value>;
using Kwargs = std::vector<std::pair<std::string, Value>>;
using Function = std::function<Value(Interp&, Args&, Kwargs&, int line)>;

constexpr uint32_t kMaxNest = 256;

enum class Kind { Undefined, None, Bool, Int, Float, String, Array, Object, Namespace, Function };

struct Value {
  Kind kind = Kind::Undefined;
  bool b = false;
  bool tuple = false;
  uint32_t nest = 0;                   // container nesting depth (bounded: kMaxNest)                  // Array: a Python tuple (printed with parentheses)
  int64_t i = 0;
  double f = 0;
  std::string s;                       // String; Undefined: the name that was looked up
  std::shared_ptr<const Array> a;      // Array
  std::shared_ptr<Object> o;           // Object (never mutated once built) / Namespace (mutable)
  std::shared_ptr<const Function> fn;  // Function

  static Value none() { Value v; v.kind = Kind::None; return v; }
  static Value undefined(std::string name = {}) { Value v; v.s = std::move(name); return v; }
  static Value boolean(bool x) { Value v; v.kind = Kind::Bool; v.b = x; return v; }
  static Value integer(int64_t x) { Value v; v.kind = Kind::Int; v.i = x; return v; }
  static Value number(double x) { Value v; v.kind = Kind::Float; v.f = x; return v; }
  static Value string(std::string x) { Value v; v.kind = Kind::String; v.s = std::move(x); return v; }
  static Value array(Array x);
  static Value tuple_of(Array x) { Value v = array(std::move(x)); v.tuple = true; return v; }
  static Value object(Object x);
  static Value function(Function f);

  bool is_undefined() const { return kind == Kind::Undefined; }
  bool is_none() const { return kind == Kind::None; }
  bool is_string() const { return kind == Kind::String; }
  bool is_number() const { return kind == Kind::Int || kind == Kind::Float || kind == Kind::Bool; }
  bool is_mapping() const { return kind == Kind::Object || kind == Kind::Namespace; }
};

struct Object {
  std::vector<std::pair<std::string, Value>> items;
  const Value* find(std::string_view key) const;
  void set(const std::string& key, Value v);
};

Value from_json(const nlohmann::ordered_json& j);

// ---- syntax tree ----

enum class ExprKind {
  Literal, Name, List, Tuple, Dict, Attr, Item, Slice, Call, Filter, Test,
  Neg, Pos, Not, And, Or, Binary, Compare, Concat, Cond
};

struct Expr {
  Expr() = default;
  Expr(const Expr&) = delete;
  Expr& operator=(const Expr&) = delete;
  // Iterative: a chain such as {{ 1 + 1 + ... }} nests one node per term, so
  // destroying the tree recursively could overflow the stack.
  ~Expr();

  ExprKind kind = ExprKind::Literal;
  int line = 0;
  Value literal;                                   // Literal
  std::string name;                                // Name, Attr, Filter, Test, Binary op
  std::vector<std::unique_ptr<Expr>> kids;         // operands / elements / dict k,v pairs / slice parts (may be null)
  std::vector<std::pair<std::string, std::unique_ptr<Expr>>> kwargs;  // Call / Filter / Test keyword args
  std::vector<std::string> ops;                    // Compare: operators between kids
  bool negated = false;                            // Test: is not
  int height = 1;                                  // levels in this subtree (bounded by the parser)
};
using ExprPtr = std::unique_ptr<Expr>;

enum class StmtKind { Text, Output, If, For, Set, SetBlock, Macro, Break, Continue, FilterBlock, Body };

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct Stmt {
  StmtKind kind = StmtKind::Body;
  int line = 0;
  std::string text;                          // Text; Set/SetBlock/Macro: name; Set with attr: the namespace name
  std::string attr;                          // Set ns.attr
  std::vector<std::string> targets;          // For / Set (tuple unpacking)
  ExprPtr expr;                              // Output / For iterable / Set value / FilterBlock: filter (kids[0] is a placeholder)
  ExprPtr cond;                              // For: filter condition
  std::vector<std::pair<ExprPtr, Body>> branches;  // If: (condition, body)...
  Body body, else_body;                      // For / Macro / SetBlock / FilterBlock / If else
  std::vector<std::pair<std::string, ExprPtr>> params;  // Macro: name, default (may be null)
  bool recursive = false;
};

struct Program {
  Body body;
};

// Parses template source (Hugging Face's settings: trim_blocks, lstrip_blocks,
// no trailing newline kept). `name` prefixes error messages.
std::unique_ptr<Program> parse(std::string_view source, const std::string& name, int max_depth);

// Renders with the context object's keys as variables.
std::string render(const Program& program, const nlohmann::ordered_json& context, const std::string& name,
                   const ChatTemplateLimits& limits);

// Python-style text of values (shared with tests).
std::string to_python_str(const Value& v);
std::string to_json_text(const Value& v, int indent, const std::string& item_sep, const std::string& key_sep,
                         bool sort_keys, bool ensure_ascii, const std::string& where);

}  // namespace rkv::jinja
