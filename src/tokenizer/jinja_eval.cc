// Evaluator of the chat-template Jinja subset: values with Python's
// semantics (truthiness, str(), repr, json.dumps), scopes as jinja2 has them
// (for loops and macros scope their sets; namespace() objects are shared),
// filters, tests, string/dict methods, and the globals Hugging Face adds
// (raise_exception, strftime_now). Bounded in steps, depth and sizes.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <optional>
#include <charconv>
#include <cmath>
#include <ctime>

#include "rkv/core/error.h"
#include "tokenizer/jinja.h"
#include "tokenizer/jinja_text.h"

namespace rkv::jinja {

namespace {
uint32_t nest_of(const Value& v) { return v.nest; }
void check_nest(uint32_t n) {
  if (n > kMaxNest) fail("chat template: value nested more than ", kMaxNest, " levels deep");
}
}  // namespace

Value Value::array(Array x) {
  Value v;
  v.kind = Kind::Array;
  for (const Value& e : x) v.nest = std::max(v.nest, nest_of(e) + 1);
  if (x.empty()) v.nest = 1;
  check_nest(v.nest);
  v.a = std::make_shared<const Array>(std::move(x));
  return v;
}
Value Value::object(Object x) {
  Value v;
  v.kind = Kind::Object;
  v.nest = 1;
  for (const auto& kv : x.items) v.nest = std::max(v.nest, nest_of(kv.second) + 1);
  check_nest(v.nest);
  v.o = std::make_shared<Object>(std::move(x));
  return v;
}
Value Value::function(Function f) {
  Value v;
  v.kind = Kind::Function;
  v.fn = std::make_shared<const Function>(std::move(f));
  return v;
}

const Value* Object::find(std::string_view key) const {
  for (const auto& [k, v] : items)
    if (k == key) return &v;
  return nullptr;
}
void Object::set(const std::string& key, Value v) {
  for (auto& [k, old] : items)
    if (k == key) {
      old = std::move(v);
      return;
    }
  items.emplace_back(key, std::move(v));
}

namespace {
Value from_json_at(const nlohmann::ordered_json& j, uint32_t depth) {
  if (depth > kMaxNest) fail("chat template input: JSON nested more than ", kMaxNest, " levels deep");
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return Value::none();
    case nlohmann::ordered_json::value_t::boolean: return Value::boolean(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return Value::integer(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      uint64_t u = j.get<uint64_t>();
      return u > static_cast<uint64_t>(INT64_MAX) ? Value::number(static_cast<double>(u))
                                                  : Value::integer(static_cast<int64_t>(u));
    }
    case nlohmann::ordered_json::value_t::number_float: return Value::number(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return Value::string(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      Array a;
      a.reserve(j.size());
      for (const auto& e : j) a.push_back(from_json_at(e, depth + 1));
      return Value::array(std::move(a));
    }
    case nlohmann::ordered_json::value_t::object: {
      Object o;
      for (auto it = j.begin(); it != j.end(); ++it) o.set(it.key(), from_json_at(it.value(), depth + 1));
      return Value::object(std::move(o));
    }
    default: return Value::none();  // binary / discarded: not produced by the JSON parser
  }
}
}  // namespace

Value from_json(const nlohmann::ordered_json& j) { return from_json_at(j, 0); }

namespace {

std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, r.ptr);  // e.g. -1.2345e+02
  std::string sign;
  if (sci[0] == '-') {
    sign = "-";
    sci.erase(0, 1);
  }
  size_t e = sci.find('e');
  std::string mant = sci.substr(0, e);
  int exp = std::stoi(sci.substr(e + 1));
  std::string digits;
  for (char c : mant)
    if (c != '.') digits += c;
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  if (exp >= -4 && exp < 16) {
    std::string out;
    if (exp < 0) {
      out = "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
    } else {
      size_t int_len = static_cast<size_t>(exp) + 1;
      if (digits.size() <= int_len) {
        out = digits + std::string(int_len - digits.size(), '0') + ".0";
      } else {
        out = digits.substr(0, int_len) + "." + digits.substr(int_len);
      }
    }
    return sign + out;
  }
  std::string out = digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  char eb[16];
  std::snprintf(eb, sizeof eb, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
  return sign + out + eb;
}

std::string py_repr_string(const std::string& s) {
  bool has_single = s.find('\'') != std::string::npos, has_double = s.find('"') != std::string::npos;
  char q = has_single && !has_double ? '"' : '\'';
  std::string out(1, q);
  for (unsigned char c : s) {
    if (c == static_cast<unsigned char>(q) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      out += b;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + q;
}

std::string py_repr(const Value& v) {
  if (v.kind == Kind::String) return py_repr_string(v.s);
  if (v.kind == Kind::Undefined) return "Undefined";
  return to_python_str(v);
}

void json_string(std::string& out, const std::string& s, bool ensure_ascii) {
  out += '"';
  std::vector<uint32_t> cps = decode_utf8(s);
  for (uint32_t c : cps) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default: {
        char b[16];
        if (c < 0x20) {
          std::snprintf(b, sizeof b, "\\u%04x", c);
          out += b;
        } else if (ensure_ascii && c >= 0x80) {
          if (c >= 0x10000) {
            uint32_t v = c - 0x10000;
            std::snprintf(b, sizeof b, "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
          } else {
            std::snprintf(b, sizeof b, "\\u%04x", c);
          }
          out += b;
        } else {
          append_utf8(out, c);
        }
      }
    }
  }
  out += '"';
}

void json_dump(std::string& out, const Value& v, int indent, int level, const std::string& item_sep,
               const std::string& key_sep, bool sort_keys, bool ensure_ascii, const std::string& where, int depth) {
  if (depth > 500) fail(where, ": tojson: value nested too deeply");
  auto newline = [&](int lvl) {
    if (indent < 0) return;
    out += '\n';
    out.append(static_cast<size_t>(indent) * static_cast<size_t>(lvl), ' ');
  };
  switch (v.kind) {
    case Kind::None: out += "null"; return;
    case Kind::Bool: out += v.b ? "true" : "false"; return;
    case Kind::Int: out += std::to_string(v.i); return;
    case Kind::Float:
      if (std::isnan(v.f)) out += "NaN";
      else if (std::isinf(v.f)) out += v.f < 0 ? "-Infinity" : "Infinity";
      else out += float_repr(v.f);
      return;
    case Kind::String: json_string(out, v.s, ensure_ascii); return;
    case Kind::Array: {
      if (v.a->empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (size_t k = 0; k < v.a->size(); ++k) {
        if (k) out += item_sep;
        newline(level + 1);
        json_dump(out, (*v.a)[k], indent, level + 1, item_sep, key_sep, sort_keys, ensure_ascii, where, depth + 1);
      }
      newline(level);
      out += ']';
      return;
    }
    case Kind::Object: {
      if (v.o->items.empty()) {
        out += "{}";
        return;
      }
      std::vector<const std::pair<std::string, Value>*> items;
      for (const auto& kv : v.o->items) items.push_back(&kv);
      if (sort_keys) std::stable_sort(items.begin(), items.end(), [](auto* a, auto* b) { return a->first < b->first; });
      out += '{';
      for (size_t k = 0; k < items.size(); ++k) {
        if (k) out += item_sep;
        newline(level + 1);
        json_string(out, items[k]->first, ensure_ascii);
        out += key_sep;
        json_dump(out, items[k]->second, indent, level + 1, item_sep, key_sep, sort_keys, ensure_ascii, where, depth + 1);
      }
      newline(level);
      out += '}';
      return;
    }
    case Kind::Undefined: fail(where, ": tojson: Object of type Undefined is not JSON serializable");
    case Kind::Namespace: fail(where, ": tojson: Object of type Namespace is not JSON serializable");
    case Kind::Function: fail(where, ": tojson: a function is not JSON serializable");
  }
}

}  // namespace

std::string to_python_str(const Value& v) {
  switch (v.kind) {
    case Kind::Undefined: return "";
    case Kind::None: return "None";
    case Kind::Bool: return v.b ? "True" : "False";
    case Kind::Int: return std::to_string(v.i);
    case Kind::Float: return float_repr(v.f);
    case Kind::String: return v.s;
    case Kind::Array: {
      std::string out = v.tuple ? "(" : "[";
      for (size_t k = 0; k < v.a->size(); ++k) {
        if (k) out += ", ";
        out += py_repr((*v.a)[k]);
      }
      if (v.tuple && v.a->size() == 1) out += ",";
      return out + (v.tuple ? ")" : "]");
    }
    case Kind::Object:
    case Kind::Namespace: {
      std::string out = v.kind == Kind::Namespace ? "<Namespace {" : "{";
      bool first = true;
      for (const auto& [k, x] : v.o->items) {
        if (!first) out += ", ";
        first = false;
        out += py_repr_string(k) + ": " + py_repr(x);
      }
      return out + (v.kind == Kind::Namespace ? "}>" : "}");
    }
    case Kind::Function: return "<function>";
  }
  return "";
}

std::string to_json_text(const Value& v, int indent, const std::string& item_sep, const std::string& key_sep,
                         bool sort_keys, bool ensure_ascii, const std::string& where) {
  std::string out;
  json_dump(out, v, indent, 0, item_sep, key_sep, sort_keys, ensure_ascii, where, 0);
  return out;
}

// ---------------------------------------------------------------------------

struct Frame {
  std::vector<std::pair<std::string, Value>> vars;
  std::shared_ptr<Frame> parent;
  Value* find(const std::string& n) {
    for (Frame* f = this; f; f = f->parent.get())
      for (auto& [k, v] : f->vars)
        if (k == n) return &v;
    return nullptr;
  }
  void set(const std::string& n, Value v) {
    for (auto& [k, old] : vars)
      if (k == n) {
        old = std::move(v);
        return;
      }
    vars.emplace_back(n, std::move(v));
  }
};

enum class Flow { Normal, Break, Continue };

struct Interp {
  const std::string& name;
  const ChatTemplateLimits& limits;
  std::shared_ptr<Frame> frame;
  std::vector<std::pair<std::string, Value>> globals;
  size_t steps = 0;
  int depth = 0;
  int loop_depth = 0;
  size_t max_items() const { return std::max<size_t>(limits.max_output_bytes / 64, 16); }

  template <class... Parts>
  [[noreturn]] void error(int line, Parts&&... parts) {
    fail(name, " line ", line, ": ", std::forward<Parts>(parts)...);
  }
  void step(int line) {
    if (++steps > limits.max_steps) error(line, "template runs too long (more than ", limits.max_steps, " steps)");
  }
  void check_size(size_t n, int line) {
    if (n > limits.max_output_bytes) error(line, "template output too large (over ", limits.max_output_bytes, " bytes)");
  }
  void check_items(size_t n, int line) {
    if (n > max_items()) error(line, "list too large (over ", max_items(), " items)");
  }
  struct Depth {
    Interp& in;
    Depth(Interp& i, int line) : in(i) {
      if (++in.depth > in.limits.max_depth * 2)
        in.error(line, "template nested too deeply to evaluate (over ", in.limits.max_depth * 2,
                 " levels: recursion, or a chain of that many operators, filters, attributes or calls)");
    }
    ~Depth() { --in.depth; }
  };

  // ---- helpers ----
  static const char* type_name(const Value& v) {
    switch (v.kind) {
      case Kind::Undefined: return "Undefined";
      case Kind::None: return "NoneType";
      case Kind::Bool: return "bool";
      case Kind::Int: return "int";
      case Kind::Float: return "float";
      case Kind::String: return "str";
      case Kind::Array: return "list";
      case Kind::Object: return "dict";
      case Kind::Namespace: return "Namespace";
      case Kind::Function: return "function";
    }
    return "?";
  }
  [[noreturn]] void undefined_error(const Value& v, int line) {
    error(line, v.s.empty() ? std::string("value is undefined") : v.s);
  }
  void require_defined(const Value& v, int line) {
    if (v.is_undefined()) undefined_error(v, line);
  }
  static bool truthy(const Value& v) {
    switch (v.kind) {
      case Kind::Undefined:
      case Kind::None: return false;
      case Kind::Bool: return v.b;
      case Kind::Int: return v.i != 0;
      case Kind::Float: return v.f != 0;
      case Kind::String: return !v.s.empty();
      case Kind::Array: return !v.a->empty();
      case Kind::Object: return !v.o->items.empty();
      case Kind::Namespace:
      case Kind::Function: return true;
    }
    return false;
  }
  static double as_double(const Value& v) { return v.kind == Kind::Float ? v.f : v.kind == Kind::Bool ? (v.b ? 1 : 0) : static_cast<double>(v.i); }
  static bool is_intlike(const Value& v) { return v.kind == Kind::Int || v.kind == Kind::Bool; }
  static int64_t as_int(const Value& v) { return v.kind == Kind::Bool ? (v.b ? 1 : 0) : v.i; }

  static bool equal(const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) {
      if (is_intlike(a) && is_intlike(b)) return as_int(a) == as_int(b);
      return as_double(a) == as_double(b);
    }
    if (a.kind != b.kind) return false;
    switch (a.kind) {
      case Kind::Undefined:
      case Kind::None: return true;
      case Kind::String: return a.s == b.s;
      case Kind::Array:
        if (a.a->size() != b.a->size()) return false;
        for (size_t k = 0; k < a.a->size(); ++k)
          if (!equal((*a.a)[k], (*b.a)[k])) return false;
        return true;
      case Kind::Object: {
        if (a.o->items.size() != b.o->items.size()) return false;
        for (const auto& [k, v] : a.o->items) {
          const Value* o = b.o->find(k);
          if (!o || !equal(v, *o)) return false;
        }
        return true;
      }
      case Kind::Namespace: return a.o == b.o;
      case Kind::Function: return a.fn == b.fn;
      default: return false;
    }
  }

  int compare(const Value& a, const Value& b, const std::string& op, int line) {
    if (a.is_number() && b.is_number()) {
      if (is_intlike(a) && is_intlike(b)) return as_int(a) < as_int(b) ? -1 : as_int(a) > as_int(b) ? 1 : 0;
      double x = as_double(a), y = as_double(b);
      if (std::isnan(x) || std::isnan(y)) return 2;  // unordered
      return x < y ? -1 : x > y ? 1 : 0;
    }
    if (a.kind == Kind::String && b.kind == Kind::String) return a.s < b.s ? -1 : a.s > b.s ? 1 : 0;
    if (a.kind == Kind::Array && b.kind == Kind::Array) {
      for (size_t k = 0; k < a.a->size() && k < b.a->size(); ++k) {
        if (equal((*a.a)[k], (*b.a)[k])) continue;
        return compare((*a.a)[k], (*b.a)[k], op, line);
      }
      return a.a->size() < b.a->size() ? -1 : a.a->size() > b.a->size() ? 1 : 0;
    }
    require_defined(a, line);
    require_defined(b, line);
    error(line, "'", op, "' not supported between instances of '", type_name(a), "' and '", type_name(b), "'");
  }

  bool contains(const Value& container, const Value& item, int line) {
    switch (container.kind) {
      case Kind::String:
        if (item.kind != Kind::String) error(line, "'in <string>' requires string as left operand, not ", type_name(item));
        return container.s.find(item.s) != std::string::npos;
      case Kind::Array:
        for (const Value& e : *container.a)
          if (equal(e, item)) return true;
        return false;
      case Kind::Object: return item.kind == Kind::String && container.o->find(item.s) != nullptr;
      case Kind::Undefined: return false;
      default: error(line, "argument of type '", type_name(container), "' is not iterable");
    }
  }

  std::vector<Value> iterate(const Value& v, int line) {
    switch (v.kind) {
      case Kind::Array: return *v.a;
      case Kind::Object: {
        std::vector<Value> keys;
        for (const auto& kv : v.o->items) keys.push_back(Value::string(kv.first));
        return keys;
      }
      case Kind::String: {
        std::vector<Value> chars;
        for (uint32_t c : decode_utf8(v.s)) {
          std::string s;
          append_utf8(s, c);
          chars.push_back(Value::string(std::move(s)));
        }
        return chars;
      }
      case Kind::Undefined: return {};
      default: error(line, "'", type_name(v), "' object is not iterable");
    }
  }

  // ---- attribute / item access ----
  Value bound(Value self, std::string method, int line);

  Value get_attr(const Value& obj, const std::string& attr, int line) {
    switch (obj.kind) {
      case Kind::Undefined: undefined_error(obj, line);
      case Kind::Object: {
        static const char* methods[] = {"get", "items", "keys", "values", "update", "pop", "setdefault", "clear", "popitem", "copy"};
        for (const char* m : methods)
          if (attr == m) return bound(obj, attr, line);
        if (const Value* v = obj.o->find(attr)) return *v;
        return Value::undefined("'dict object' has no attribute '" + attr + "'");
      }
      case Kind::Namespace:
        if (const Value* v = obj.o->find(attr)) return *v;
        return Value::undefined("'Namespace' object has no attribute '" + attr + "'");
      case Kind::String: {
        static const char* methods[] = {"strip", "lstrip", "rstrip", "split", "rsplit", "startswith", "endswith",
                                        "replace", "upper", "lower", "title", "capitalize", "find", "rfind",
                                        "count", "join", "splitlines", "isdigit", "isalpha", "isspace", "isalnum",
                                        "islower", "isupper", "format", "index", "removeprefix", "removesuffix"};
        for (const char* m : methods)
          if (attr == m) return bound(obj, attr, line);
        break;
      }
      case Kind::Array: {
        static const char* methods[] = {"index", "count", "append", "pop", "extend", "insert", "remove", "sort", "reverse", "clear", "copy"};
        for (const char* m : methods)
          if (attr == m) return bound(obj, attr, line);
        break;
      }
      default: break;
    }
    return Value::undefined("'" + std::string(type_name(obj)) + " object' has no attribute '" + attr + "'");
  }

  static int64_t norm_index(int64_t i, size_t n) { return i < 0 ? i + static_cast<int64_t>(n) : i; }

  Value get_item(const Value& obj, const Value& key, int line) {
    switch (obj.kind) {
      case Kind::Undefined: undefined_error(obj, line);
      case Kind::Object:
      case Kind::Namespace:
        if (key.kind == Kind::String) {
          if (const Value* v = obj.o->find(key.s)) return *v;
          if (obj.kind == Kind::Object) {
            Value a = get_attr(obj, key.s, line);
            if (a.kind == Kind::Function) return a;
          }
          return Value::undefined("'dict object' has no attribute '" + key.s + "'");
        }
        return Value::undefined("'dict object' has no attribute " + py_repr(key));
      case Kind::Array:
        if (is_intlike(key)) {
          int64_t i = norm_index(as_int(key), obj.a->size());
          if (i < 0 || i >= static_cast<int64_t>(obj.a->size())) return Value::undefined("'list object' has no element " + std::to_string(as_int(key)));
          return (*obj.a)[static_cast<size_t>(i)];
        }
        if (key.kind == Kind::String) return get_attr(obj, key.s, line);
        return Value::undefined("list indices must be integers");
      case Kind::String:
        if (is_intlike(key)) {
          std::vector<uint32_t> cps = decode_utf8(obj.s);
          int64_t i = norm_index(as_int(key), cps.size());
          if (i < 0 || i >= static_cast<int64_t>(cps.size())) return Value::undefined("'str object' has no element " + std::to_string(as_int(key)));
          return Value::string(encode_utf8(cps, static_cast<size_t>(i), static_cast<size_t>(i) + 1));
        }
        if (key.kind == Kind::String) return get_attr(obj, key.s, line);
        return Value::undefined("string indices must be integers");
      default:
        return Value::undefined("'" + std::string(type_name(obj)) + "' object is not subscriptable");
    }
  }

  // Python slice index computation.
  std::vector<size_t> slice_indices(size_t n, const Value* start, const Value* stop, const Value* stepv, int line) {
    int64_t len = static_cast<int64_t>(n), step = 1;
    auto get = [&](const Value* v, const char* what) -> std::optional<int64_t> {
      if (!v || v->is_none() || v->is_undefined()) return std::nullopt;
      if (!is_intlike(*v)) error(line, "slice ", what, " must be an integer or none");
      return as_int(*v);
    };
    if (auto s = get(stepv, "step")) step = *s;
    if (step == 0) error(line, "slice step cannot be zero");
    int64_t lower = step > 0 ? 0 : -1, upper = step > 0 ? len : len - 1;
    auto clamp = [&](std::optional<int64_t> v, int64_t dflt) {
      if (!v) return dflt;
      int64_t x = *v;
      if (x < 0) {
        x += len;
        if (x < lower) x = lower;
      } else if (x > upper) {
        x = upper;
      }
      return x;
    };
    int64_t b = clamp(get(start, "start"), step > 0 ? lower : upper);
    int64_t e = clamp(get(stop, "stop"), step > 0 ? upper : lower);
    std::vector<size_t> out;
    if (step > 0)
      for (int64_t i = b; i < e; i += step) out.push_back(static_cast<size_t>(i));
    else
      for (int64_t i = b; i > e; i += step) out.push_back(static_cast<size_t>(i));
    return out;
  }

  // ---- arithmetic ----
  Value arith(const std::string& op, const Value& a, const Value& b, int line) {
    require_defined(a, line);
    require_defined(b, line);
    if (op == "+") {
      if (a.kind == Kind::String && b.kind == Kind::String) {
        check_size(a.s.size() + b.s.size(), line);
        return Value::string(a.s + b.s);
      }
      if (a.kind == Kind::Array && b.kind == Kind::Array) {
        check_items(a.a->size() + b.a->size(), line);
        Array r = *a.a;
        r.insert(r.end(), b.a->begin(), b.a->end());
        return Value::array(std::move(r));
      }
    }
    if (op == "*") {
      const Value* seq = a.kind == Kind::String || a.kind == Kind::Array ? &a : b.kind == Kind::String || b.kind == Kind::Array ? &b : nullptr;
      const Value* count = seq == &a ? &b : &a;
      if (seq && is_intlike(*count)) {
        int64_t n = std::max<int64_t>(0, as_int(*count));
        if ((seq->kind == Kind::String && seq->s.empty()) || (seq->kind == Kind::Array && seq->a->empty())) n = 0;
        if (seq->kind == Kind::String) {
          if (n > 0) check_size(seq->s.size() * static_cast<size_t>(std::min<int64_t>(n, INT32_MAX)), line);
          std::string r;
          for (int64_t k = 0; k < n; ++k) r += seq->s;
          return Value::string(std::move(r));
        }
        if (n > 0) check_items(seq->a->size() * static_cast<size_t>(std::min<int64_t>(n, INT32_MAX)), line);
        Array r;
        for (int64_t k = 0; k < n; ++k) r.insert(r.end(), seq->a->begin(), seq->a->end());
        return Value::array(std::move(r));
      }
    }
    if (op == "%" && a.kind == Kind::String) return Value::string(percent_format(a.s, b, line));
    if (!a.is_number() || !b.is_number())
      error(line, "unsupported operand type(s) for ", op, ": '", type_name(a), "' and '", type_name(b), "'");
    bool ints = is_intlike(a) && is_intlike(b);
    if (ints) {
      int64_t x = as_int(a), y = as_int(b), r = 0;
      if (op == "+" && !__builtin_add_overflow(x, y, &r)) return Value::integer(r);
      if (op == "-" && !__builtin_sub_overflow(x, y, &r)) return Value::integer(r);
      if (op == "*" && !__builtin_mul_overflow(x, y, &r)) return Value::integer(r);
      if (op == "//" || op == "%") {
        if (y == 0) error(line, "integer division or modulo by zero");
        if (x == INT64_MIN && y == -1) error(line, "integer overflow");
        int64_t q = x / y, m = x % y;
        if (m != 0 && ((m < 0) != (y < 0))) {
          --q;
          m += y;
        }
        return Value::integer(op == "//" ? q : m);
      }
      if (op == "**" && y >= 0) {
        int64_t acc = 1;
        bool overflow = false;
        for (int64_t k = 0; k < y && !overflow; ++k) {
          overflow = __builtin_mul_overflow(acc, x, &acc);
          if (acc == 0 || acc == 1) break;
          if (k > 64 && (acc == -1 || acc == 1)) break;
        }
        if (!overflow) {
          if (x == -1) acc = (y % 2) ? -1 : 1;
          return Value::integer(acc);
        }
      }
      if (op == "+" || op == "-" || op == "*" || (op == "**" && y >= 0)) error(line, "integer overflow in '", op, "'");
    }
    double x = as_double(a), y = as_double(b);
    if (op == "+") return Value::number(x + y);
    if (op == "-") return Value::number(x - y);
    if (op == "*") return Value::number(x * y);
    if (op == "/") {
      if (y == 0) error(line, "division by zero");
      return Value::number(x / y);
    }
    if (op == "//" || op == "%") {
      if (y == 0) error(line, "float division or modulo by zero");
      double m = std::fmod(x, y);
      if (m != 0 && ((m < 0) != (y < 0))) m += y;
      return Value::number(op == "//" ? std::floor(x / y) : m);
    }
    if (op == "**") return Value::number(std::pow(x, y));
    error(line, "unknown operator ", op);
  }

  std::string percent_format(const std::string& fmt, const Value& args, int line) {
    std::vector<Value> list = args.kind == Kind::Array ? *args.a : std::vector<Value>{args};
    size_t next = 0;
    std::string out;
    for (size_t k = 0; k < fmt.size(); ++k) {
      if (fmt[k] != '%') {
        out += fmt[k];
        continue;
      }
      if (++k >= fmt.size()) error(line, "incomplete format");
      char c = fmt[k];
      if (c == '%') {
        out += '%';
        continue;
      }
      std::string spec = "%";
      while (k < fmt.size() && std::strchr("-+ 0#", fmt[k])) spec += fmt[k++];
      while (k < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[k])) && spec.size() < 8) spec += fmt[k++];
      if (k < fmt.size() && fmt[k] == '.') {
        spec += fmt[k++];
        while (k < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[k])) && spec.size() < 12) spec += fmt[k++];
      }
      if (k >= fmt.size()) error(line, "incomplete format");
      c = fmt[k];
      if (next >= list.size()) error(line, "not enough arguments for format string");
      const Value& v = list[next++];
      char b[512];
      if (c == 's' || c == 'r') {
        std::string text = c == 's' ? to_python_str(v) : py_repr(v);
        if (spec == "%") {
          out += text;
        } else {
          std::snprintf(b, sizeof b, (spec + "s").c_str(), "");
          size_t width = std::strlen(b), len = utf8_length(text);
          std::string pad = width > len ? std::string(width - len, ' ') : "";
          out += spec.find('-') != std::string::npos ? text + pad : pad + text;
        }
      } else if (c == 'd' || c == 'i' || c == 'x' || c == 'X' || c == 'o') {
        if (!v.is_number()) error(line, "%", std::string(1, c), " format: a number is required, not ", type_name(v));
        long long n = is_intlike(v) ? as_int(v) : static_cast<long long>(std::clamp(v.f, -9.2e18, 9.2e18));
        std::snprintf(b, sizeof b, (spec + "ll" + (c == 'i' ? 'd' : c)).c_str(), n);
        out += b;
      } else if (c == 'f' || c == 'F' || c == 'e' || c == 'E' || c == 'g' || c == 'G') {
        if (!v.is_number()) error(line, "%", std::string(1, c), " format: a number is required, not ", type_name(v));
        if (spec == "%") spec += ".6";
        std::snprintf(b, sizeof b, (spec + c).c_str(), as_double(v));
        out += b;
      } else {
        error(line, "unsupported format character '", std::string(1, c), "'");
      }
      check_size(out.size(), line);
    }
    return out;
  }

  // ---- evaluation ----
  Value lookup(const std::string& n) {
    if (Value* v = frame->find(n)) return *v;
    for (auto& [k, v] : globals)
      if (k == n) return v;
    return Value::undefined("'" + n + "' is undefined");
  }

  Value eval(const Expr& e);
  Value call(const Value& callee, Args& args, Kwargs& kwargs, int line) {
    step(line);
    if (callee.kind != Kind::Function) {
      require_defined(callee, line);
      error(line, "'", type_name(callee), "' object is not callable");
    }
    return (*callee.fn)(*this, args, kwargs, line);
  }
  Value apply_filter(const std::string& f, const Value& v, Args& args, Kwargs& kwargs, int line);
  bool apply_test(const std::string& t, const Value& v, Args& args, int line);
  Value call_method(const Value& self, const std::string& m, Args& args, Kwargs& kwargs, int line);

  Flow exec_body(const Body& body, std::string& out);
  Flow exec(const Stmt& s, std::string& out);
  Flow exec_for(const Stmt& s, std::string& out);
  void assign(const std::vector<std::string>& targets, const Value& v, int line) {
    if (targets.size() == 1) {
      frame->set(targets[0], v);
      return;
    }
    if (v.kind != Kind::Array || v.a->size() != targets.size())
      error(line, "cannot unpack ", type_name(v), " into ", targets.size(), " names");
    for (size_t k = 0; k < targets.size(); ++k) frame->set(targets[k], (*v.a)[k]);
  }
  static bool holds_namespace(const Value& v) {
    if (v.kind == Kind::Namespace) return true;
    if (v.kind == Kind::Array)
      for (const Value& e : *v.a)
        if (holds_namespace(e)) return true;
    if (v.kind == Kind::Object)
      for (const auto& kv : v.o->items)
        if (holds_namespace(kv.second)) return true;
    return false;
  }
  void emit(std::string& out, const std::string& s, int line) {
    out += s;
    check_size(out.size(), line);
  }
};

// Argument access for filters / methods / functions.
struct ArgReader {
  Interp& in;
  Args& args;
  Kwargs& kwargs;
  int line;
  const std::string& what;
  const Value* get(size_t pos, const char* kw) {
    if (pos < args.size()) return &args[pos];
    for (auto& [k, v] : kwargs)
      if (k == kw) return &v;
    return nullptr;
  }
  Value val(size_t pos, const char* kw, Value dflt) {
    const Value* v = get(pos, kw);
    return v ? *v : dflt;
  }
  std::string str(size_t pos, const char* kw, const std::string& dflt) {
    const Value* v = get(pos, kw);
    if (!v || v->is_none()) return dflt;
    if (v->kind != Kind::String) in.error(line, what, ": argument '", kw, "' must be a string, not ", Interp::type_name(*v));
    return v->s;
  }
  int64_t integer(size_t pos, const char* kw, int64_t dflt) {
    const Value* v = get(pos, kw);
    if (!v || v->is_none()) return dflt;
    if (!Interp::is_intlike(*v)) in.error(line, what, ": argument '", kw, "' must be an integer, not ", Interp::type_name(*v));
    return Interp::as_int(*v);
  }
  bool boolean(size_t pos, const char* kw, bool dflt) {
    const Value* v = get(pos, kw);
    return v ? Interp::truthy(*v) : dflt;
  }
  void max_args(size_t n) {
    if (args.size() > n) in.error(line, what, " takes at most ", n, " positional arguments (", args.size(), " given)");
  }
};

Value Interp::bound(Value self, std::string method, int) {
  return Value::function([self = std::move(self), method = std::move(method)](Interp& in, Args& args, Kwargs& kwargs, int l) {
    return in.call_method(self, method, args, kwargs, l);
  });
}

namespace {

std::string strip_cps(const std::string& s, const Value* chars, bool left, bool right, Interp& in, int line) {
  std::vector<uint32_t> cps = decode_utf8(s);
  std::vector<uint32_t> set;
  bool ws = !chars || chars->is_none() || chars->is_undefined();
  if (!ws) {
    if (chars->kind != Kind::String) in.error(line, "strip arg must be None or str");
    set = decode_utf8(chars->s);
  }
  auto strip_this = [&](uint32_t c) { return ws ? py_isspace(c) : std::find(set.begin(), set.end(), c) != set.end(); };
  size_t b = 0, e = cps.size();
  if (left)
    while (b < e && strip_this(cps[b])) ++b;
  if (right)
    while (e > b && strip_this(cps[e - 1])) --e;
  return encode_utf8(cps, b, e);
}

std::vector<std::string> py_split(const std::string& s, const Value* sep, int64_t maxsplit, Interp& in, int line) {
  std::vector<std::string> out;
  if (!sep || sep->is_none()) {
    std::vector<uint32_t> cps = decode_utf8(s);
    size_t k = 0;
    while (k < cps.size()) {
      while (k < cps.size() && py_isspace(cps[k])) ++k;
      if (k >= cps.size()) break;
      if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
        size_t e = cps.size();
        while (e > k && py_isspace(cps[e - 1])) --e;
        out.push_back(encode_utf8(cps, k, e));
        break;
      }
      size_t b = k;
      while (k < cps.size() && !py_isspace(cps[k])) ++k;
      out.push_back(encode_utf8(cps, b, k));
    }
    return out;
  }
  if (sep->kind != Kind::String) in.error(line, "split: separator must be a string or none");
  if (sep->s.empty()) in.error(line, "split: empty separator");
  size_t pos = 0;
  for (;;) {
    if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) break;
    size_t f = s.find(sep->s, pos);
    if (f == std::string::npos) break;
    out.push_back(s.substr(pos, f - pos));
    pos = f + sep->s.size();
  }
  out.push_back(s.substr(pos));
  return out;
}

std::string py_replace(const std::string& s, const std::string& from, const std::string& to, int64_t count, Interp& in,
                       int line) {
  std::string out;
  if (from.empty()) {
    std::vector<uint32_t> cps = decode_utf8(s);
    int64_t done = 0;
    for (size_t k = 0; k <= cps.size(); ++k) {
      if (count < 0 || done < count) {
        out += to;
        ++done;
      }
      if (k < cps.size()) append_utf8(out, cps[k]);
      in.check_size(out.size(), line);
    }
    return out;
  }
  size_t pos = 0;
  int64_t done = 0;
  for (;;) {
    size_t f = count >= 0 && done >= count ? std::string::npos : s.find(from, pos);
    if (f == std::string::npos) break;
    out.append(s, pos, f - pos);
    out += to;
    in.check_size(out.size(), line);
    pos = f + from.size();
    ++done;
  }
  out.append(s, pos, std::string::npos);
  in.check_size(out.size(), line);
  return out;
}

std::string map_case(const std::string& s, uint32_t (*f)(uint32_t)) {
  std::string out = s;
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x80) c = static_cast<char>(f(static_cast<unsigned char>(c)));
  return out;
}

std::string py_title(const std::string& s) {
  std::string out = s;
  bool prev_cased = false;
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    bool alpha = std::isalpha(u) != 0;
    if (alpha) c = static_cast<char>(prev_cased ? ascii_lower(u) : ascii_upper(u));
    prev_cased = alpha || u >= 0x80;
  }
  return out;
}

std::string py_capitalize(const std::string& s) {
  std::string out = map_case(s, ascii_lower);
  if (!out.empty()) out[0] = static_cast<char>(ascii_upper(static_cast<unsigned char>(out[0])));
  return out;
}

}  // namespace

Value Interp::call_method(const Value& self, const std::string& m, Args& args, Kwargs& kwargs, int line) {
  std::string what = m + "()";
  ArgReader r{*this, args, kwargs, line, what};
  if (self.kind == Kind::String) {
    const std::string& s = self.s;
    if (m == "strip" || m == "lstrip" || m == "rstrip")
      return Value::string(strip_cps(s, r.get(0, "chars"), m != "rstrip", m != "lstrip", *this, line));
    if (m == "split" || m == "rsplit") {
      int64_t maxsplit = r.integer(1, "maxsplit", -1);
      if (m == "rsplit" && maxsplit >= 0) error(line, "unsupported construct: rsplit with maxsplit");
      Array a;
      for (auto& part : py_split(s, r.get(0, "sep"), maxsplit, *this, line)) a.push_back(Value::string(std::move(part)));
      check_items(a.size(), line);
      return Value::array(std::move(a));
    }
    if (m == "startswith" || m == "endswith") {
      const Value* p = r.get(0, "prefix");
      if (!p) error(line, what, " takes at least 1 argument");
      std::vector<std::string> cands;
      if (p->kind == Kind::String) cands.push_back(p->s);
      else if (p->kind == Kind::Array)
        for (const Value& x : *p->a) {
          if (x.kind != Kind::String) error(line, what, ": tuple items must be strings");
          cands.push_back(x.s);
        }
      else error(line, what, " first arg must be str or a tuple of str, not ", type_name(*p));
      for (const std::string& c : cands) {
        if (m == "startswith" && s.compare(0, c.size(), c) == 0 && s.size() >= c.size()) return Value::boolean(true);
        if (m == "endswith" && s.size() >= c.size() && s.compare(s.size() - c.size(), c.size(), c) == 0) return Value::boolean(true);
      }
      return Value::boolean(false);
    }
    if (m == "replace") {
      return Value::string(py_replace(s, r.str(0, "old", ""), r.str(1, "new", ""), r.integer(2, "count", -1), *this, line));
    }
    if (m == "upper") return Value::string(map_case(s, ascii_upper));
    if (m == "lower") return Value::string(map_case(s, ascii_lower));
    if (m == "title") return Value::string(py_title(s));
    if (m == "capitalize") return Value::string(py_capitalize(s));
    if (m == "find" || m == "rfind" || m == "index") {
      std::string sub = r.str(0, "sub", "");
      size_t f = m == "rfind" ? s.rfind(sub) : s.find(sub);
      if (f == std::string::npos) {
        if (m == "index") error(line, "substring not found");
        return Value::integer(-1);
      }
      return Value::integer(static_cast<int64_t>(utf8_length(std::string_view(s).substr(0, f))));
    }
    if (m == "count") {
      std::string sub = r.str(0, "sub", "");
      if (sub.empty()) return Value::integer(static_cast<int64_t>(utf8_length(s)) + 1);
      int64_t n = 0;
      for (size_t f = s.find(sub); f != std::string::npos; f = s.find(sub, f + sub.size())) ++n;
      return Value::integer(n);
    }
    if (m == "removeprefix") {
      std::string p = r.str(0, "prefix", "");
      return Value::string(s.compare(0, p.size(), p) == 0 && s.size() >= p.size() ? s.substr(p.size()) : s);
    }
    if (m == "removesuffix") {
      std::string p = r.str(0, "suffix", "");
      return Value::string(!p.empty() && s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0
                               ? s.substr(0, s.size() - p.size())
                               : s);
    }
    if (m == "join") {
      const Value* it = r.get(0, "iterable");
      if (!it) error(line, "join() takes exactly one argument");
      std::string out;
      bool first = true;
      for (const Value& x : iterate(*it, line)) {
        if (x.kind != Kind::String) error(line, "join(): sequence item: expected str instance, ", type_name(x), " found");
        if (!first) out += s;
        first = false;
        out += x.s;
        check_size(out.size(), line);
      }
      return Value::string(std::move(out));
    }
    if (m == "splitlines") {
      Array a;
      size_t b = 0;
      for (size_t k = 0; k < s.size(); ++k) {
        if (s[k] == '\n' || s[k] == '\r') {
          a.push_back(Value::string(s.substr(b, k - b)));
          if (s[k] == '\r' && k + 1 < s.size() && s[k + 1] == '\n') ++k;
          b = k + 1;
        }
      }
      if (b < s.size()) a.push_back(Value::string(s.substr(b)));
      return Value::array(std::move(a));
    }
    if (m.rfind("is", 0) == 0) {
      if (s.empty()) return Value::boolean(false);
      std::vector<uint32_t> cps = decode_utf8(s);
      bool all = true, any_cased = false;
      for (uint32_t c : cps) {
        bool digit = c < 0x80 && std::isdigit(static_cast<int>(c));
        bool alpha = c < 0x80 && std::isalpha(static_cast<int>(c));
        if (m == "isdigit") all = all && digit;
        if (m == "isalpha") all = all && alpha;
        if (m == "isalnum") all = all && (alpha || digit);
        if (m == "isspace") all = all && py_isspace(c);
        if (m == "islower") {
          if (c >= 'A' && c <= 'Z') all = false;
          if (c >= 'a' && c <= 'z') any_cased = true;
        }
        if (m == "isupper") {
          if (c >= 'a' && c <= 'z') all = false;
          if (c >= 'A' && c <= 'Z') any_cased = true;
        }
      }
      if (m == "islower" || m == "isupper") return Value::boolean(all && any_cased);
      return Value::boolean(all);
    }
    if (m == "format") {
      std::string out;
      size_t auto_idx = 0;
      for (size_t k = 0; k < s.size(); ++k) {
        if (s[k] == '{' && k + 1 < s.size() && s[k + 1] == '{') {
          out += '{';
          ++k;
        } else if (s[k] == '}' && k + 1 < s.size() && s[k + 1] == '}') {
          out += '}';
          ++k;
        } else if (s[k] == '{') {
          size_t e = s.find('}', k);
          if (e == std::string::npos) error(line, "format(): single '{' encountered");
          std::string field = s.substr(k + 1, e - k - 1);
          if (field.find_first_of(":!.[") != std::string::npos) error(line, "unsupported construct: format spec '{", field, "}'");
          const Value* v = nullptr;
          if (field.empty()) {
            v = auto_idx < args.size() ? &args[auto_idx] : nullptr;
            ++auto_idx;
          } else if (std::all_of(field.begin(), field.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
            size_t idx = std::stoul(field);
            v = idx < args.size() ? &args[idx] : nullptr;
          } else {
            for (auto& [kk, vv] : kwargs)
              if (kk == field) v = &vv;
          }
          if (!v) error(line, "format(): no argument for '{", field, "}'");
          out += to_python_str(*v);
          check_size(out.size(), line);
          k = e;
        } else {
          out += s[k];
        }
      }
      return Value::string(std::move(out));
    }
  }
  if (self.kind == Kind::Object) {
    if (m == "get") {
      const Value* k = r.get(0, "key");
      if (!k) error(line, "get() takes at least 1 argument");
      if (k->kind == Kind::String)
        if (const Value* v = self.o->find(k->s)) return *v;
      return r.val(1, "default", Value::none());
    }
    if (m == "items") {
      Array a;
      for (const auto& [k, v] : self.o->items) a.push_back(Value::tuple_of({Value::string(k), v}));
      return Value::array(std::move(a));
    }
    if (m == "keys" || m == "values") {
      Array a;
      for (const auto& [k, v] : self.o->items) a.push_back(m == "keys" ? Value::string(k) : v);
      return Value::array(std::move(a));
    }
    if (m == "copy") return self;
  }
  if (self.kind == Kind::Array) {
    if (m == "index" || m == "count") {
      const Value* x = r.get(0, "value");
      if (!x) error(line, what, " takes exactly one argument");
      int64_t n = 0;
      for (size_t k = 0; k < self.a->size(); ++k) {
        if (equal((*self.a)[k], *x)) {
          if (m == "index") return Value::integer(static_cast<int64_t>(k));
          ++n;
        }
      }
      if (m == "index") error(line, "index(): value is not in list");
      return Value::integer(n);
    }
    if (m == "copy") return self;
  }
  error(line, "unsupported construct: method ", type_name(self), ".", m,
        "() (the sandbox Hugging Face uses makes lists and dicts immutable)");
}

Value Interp::eval(const Expr& e) {
  Depth d(*this, e.line);
  switch (e.kind) {
    case ExprKind::Literal: return e.literal;
    case ExprKind::Name: return lookup(e.name);
    case ExprKind::List:
    case ExprKind::Tuple: {
      Array a;
      for (const auto& k : e.kids) a.push_back(eval(*k));
      return e.kind == ExprKind::Tuple ? Value::tuple_of(std::move(a)) : Value::array(std::move(a));
    }
    case ExprKind::Dict: {
      Object o;
      for (size_t k = 0; k + 1 < e.kids.size(); k += 2) {
        Value key = eval(*e.kids[k]);
        if (key.kind != Kind::String) error(e.line, "unsupported construct: dict literal with a non-string key");
        o.set(key.s, eval(*e.kids[k + 1]));
      }
      return Value::object(std::move(o));
    }
    case ExprKind::Attr: return get_attr(eval(*e.kids[0]), e.name, e.line);
    case ExprKind::Item: {
      Value obj = eval(*e.kids[0]);
      return get_item(obj, eval(*e.kids[1]), e.line);
    }
    case ExprKind::Slice: {
      Value obj = eval(*e.kids[0]);
      Value parts[3];
      for (int k = 0; k < 3; ++k)
        if (e.kids[1 + k]) parts[k] = eval(*e.kids[1 + k]);
      auto ptr = [&](int k) -> const Value* { return e.kids[1 + k] ? &parts[k] : nullptr; };
      require_defined(obj, e.line);
      if (obj.kind == Kind::String) {
        std::vector<uint32_t> cps = decode_utf8(obj.s);
        std::string out;
        for (size_t i : slice_indices(cps.size(), ptr(0), ptr(1), ptr(2), e.line)) append_utf8(out, cps[i]);
        return Value::string(std::move(out));
      }
      if (obj.kind == Kind::Array) {
        Array out;
        for (size_t i : slice_indices(obj.a->size(), ptr(0), ptr(1), ptr(2), e.line)) out.push_back((*obj.a)[i]);
        return Value::array(std::move(out));
      }
      error(e.line, "'", type_name(obj), "' object is not subscriptable");
    }
    case ExprKind::Call: {
      Value callee = eval(*e.kids[0]);
      Args args;
      for (size_t k = 1; k < e.kids.size(); ++k) args.push_back(eval(*e.kids[k]));
      Kwargs kwargs;
      for (const auto& [k, x] : e.kwargs) kwargs.emplace_back(k, eval(*x));
      return call(callee, args, kwargs, e.line);
    }
    case ExprKind::Filter: {
      Value v = eval(*e.kids[0]);
      Args args;
      for (size_t k = 1; k < e.kids.size(); ++k) args.push_back(eval(*e.kids[k]));
      Kwargs kwargs;
      for (const auto& [k, x] : e.kwargs) kwargs.emplace_back(k, eval(*x));
      step(e.line);
      return apply_filter(e.name, v, args, kwargs, e.line);
    }
    case ExprKind::Test: {
      Value v = eval(*e.kids[0]);
      Args args;
      for (size_t k = 1; k < e.kids.size(); ++k) args.push_back(eval(*e.kids[k]));
      bool r = apply_test(e.name, v, args, e.line);
      return Value::boolean(e.negated ? !r : r);
    }
    case ExprKind::Neg:
    case ExprKind::Pos: {
      Value v = eval(*e.kids[0]);
      require_defined(v, e.line);
      if (!v.is_number()) error(e.line, "bad operand type for unary ", e.kind == ExprKind::Neg ? "-" : "+", ": '", type_name(v), "'");
      if (e.kind == ExprKind::Pos) return is_intlike(v) ? Value::integer(as_int(v)) : v;
      if (is_intlike(v)) {
        if (as_int(v) == INT64_MIN) error(e.line, "integer overflow");
        return Value::integer(-as_int(v));
      }
      return Value::number(-v.f);
    }
    case ExprKind::Not: return Value::boolean(!truthy(eval(*e.kids[0])));
    case ExprKind::And: {
      Value a = eval(*e.kids[0]);
      return truthy(a) ? eval(*e.kids[1]) : a;
    }
    case ExprKind::Or: {
      Value a = eval(*e.kids[0]);
      return truthy(a) ? a : eval(*e.kids[1]);
    }
    case ExprKind::Binary: {
      Value a = eval(*e.kids[0]);
      Value b = eval(*e.kids[1]);
      return arith(e.name, a, b, e.line);
    }
    case ExprKind::Compare: {
      Value left = eval(*e.kids[0]);
      for (size_t k = 0; k < e.ops.size(); ++k) {
        Value right = eval(*e.kids[k + 1]);
        const std::string& op = e.ops[k];
        bool r;
        if (op == "==") r = equal(left, right);
        else if (op == "!=") r = !equal(left, right);
        else if (op == "in") r = contains(right, left, e.line);
        else if (op == "not in") r = !contains(right, left, e.line);
        else {
          int c = compare(left, right, op, e.line);
          r = c != 2 && (op == "<" ? c < 0 : op == "<=" ? c <= 0 : op == ">" ? c > 0 : c >= 0);
        }
        if (!r) return Value::boolean(false);
        left = std::move(right);
      }
      return Value::boolean(true);
    }
    case ExprKind::Concat: {
      std::string out;
      for (const auto& k : e.kids) {
        out += to_python_str(eval(*k));
        check_size(out.size(), e.line);
      }
      return Value::string(std::move(out));
    }
    case ExprKind::Cond: {
      if (truthy(eval(*e.kids[1]))) return eval(*e.kids[0]);
      if (e.kids[2]) return eval(*e.kids[2]);
      return Value::undefined("the inline if expression evaluated to false and no else section was defined");
    }
  }
  error(e.line, "unknown expression");
}

bool Interp::apply_test(const std::string& t, const Value& v, Args& args, int line) {
  auto arg = [&](size_t k) -> const Value& {
    if (k >= args.size()) error(line, "test '", t, "' needs an argument");
    return args[k];
  };
  if (t == "defined") return !v.is_undefined();
  if (t == "undefined") return v.is_undefined();
  if (t == "none") return v.is_none();
  if (t == "boolean") return v.kind == Kind::Bool;
  if (t == "false") return v.kind == Kind::Bool && !v.b;
  if (t == "true") return v.kind == Kind::Bool && v.b;
  if (t == "integer") return v.kind == Kind::Int;
  if (t == "float") return v.kind == Kind::Float;
  if (t == "number") return v.is_number();
  if (t == "string") return v.kind == Kind::String;
  if (t == "mapping") return v.kind == Kind::Object;
  if (t == "iterable") return v.kind == Kind::String || v.kind == Kind::Array || v.kind == Kind::Object || v.is_undefined();
  if (t == "sequence") return v.kind == Kind::String || v.kind == Kind::Array || v.kind == Kind::Object;
  if (t == "callable") return v.kind == Kind::Function;
  if (t == "odd" || t == "even") {
    require_defined(v, line);
    if (!is_intlike(v)) error(line, "test '", t, "' needs an integer");
    return ((as_int(v) % 2) != 0) == (t == "odd");
  }
  if (t == "divisibleby") {
    const Value& n = arg(0);
    if (!is_intlike(v) || !is_intlike(n)) error(line, "test 'divisibleby' needs integers");
    if (as_int(n) == 0) error(line, "integer division or modulo by zero");
    return as_int(v) % as_int(n) == 0;
  }
  if (t == "eq" || t == "equalto" || t == "==") return equal(v, arg(0));
  if (t == "ne" || t == "!=") return !equal(v, arg(0));
  if (t == "lt" || t == "lessthan" || t == "<") { int c = compare(v, arg(0), "<", line); return c != 2 && c < 0; }
  if (t == "le" || t == "<=") { int c = compare(v, arg(0), "<=", line); return c != 2 && c <= 0; }
  if (t == "gt" || t == "greaterthan" || t == ">") { int c = compare(v, arg(0), ">", line); return c != 2 && c > 0; }
  if (t == "ge" || t == ">=") { int c = compare(v, arg(0), ">=", line); return c != 2 && c >= 0; }
  if (t == "in") return contains(arg(0), v, line);
  if (t == "sameas") {
    const Value& o = arg(0);
    if (v.kind != o.kind) return false;
    if (v.kind == Kind::None || v.kind == Kind::Undefined) return true;
    if (v.kind == Kind::Bool) return v.b == o.b;
    if (v.kind == Kind::Int) return v.i == o.i;
    if (v.kind == Kind::Array) return v.a == o.a;
    if (v.kind == Kind::Object || v.kind == Kind::Namespace) return v.o == o.o;
    if (v.kind == Kind::Function) return v.fn == o.fn;
    return false;
  }
  if (t == "lower" || t == "upper") {
    if (v.kind != Kind::String) return false;
    Args none;
    Kwargs nk;
    return truthy(call_method(v, t == "lower" ? "islower" : "isupper", none, nk, line));
  }
  if (t == "escaped") return false;
  error(line, "unsupported construct: test '", t, "'");
}

Value Interp::apply_filter(const std::string& f, const Value& v, Args& args, Kwargs& kwargs, int line) {
  std::string what = "filter '" + f + "'";
  ArgReader r{*this, args, kwargs, line, what};
  auto need_string = [&]() -> const std::string& {
    require_defined(v, line);
    if (v.kind != Kind::String) error(line, what, " needs a string, not ", type_name(v));
    return v.s;
  };
  auto as_str = [&]() {
    return to_python_str(v);
  };
  if (f == "trim") return Value::string(strip_cps(as_str(), r.get(0, "chars"), true, true, *this, line));
  if (f == "tojson") {
    int indent = -1;
    if (const Value* iv = r.get(0, "indent"); iv && !iv->is_none()) {
      if (!is_intlike(*iv)) error(line, "tojson: indent must be an integer");
      indent = static_cast<int>(std::clamp<int64_t>(as_int(*iv), 0, 64));
    }
    std::string item_sep = indent >= 0 ? "," : ", ", key_sep = ": ";
    if (const Value* sv = r.get(99, "separators"); sv && !sv->is_none()) {
      if (sv->kind != Kind::Array || sv->a->size() != 2 || (*sv->a)[0].kind != Kind::String || (*sv->a)[1].kind != Kind::String)
        error(line, "tojson: separators must be a pair of strings");
      item_sep = (*sv->a)[0].s;
      key_sep = (*sv->a)[1].s;
    }
    std::string out = to_json_text(v, indent, item_sep, key_sep, r.boolean(99, "sort_keys", false),
                                   r.boolean(99, "ensure_ascii", false), name + " line " + std::to_string(line));
    check_size(out.size(), line);
    return Value::string(std::move(out));
  }
  if (f == "length" || f == "count") {
    switch (v.kind) {
      case Kind::String: return Value::integer(static_cast<int64_t>(utf8_length(v.s)));
      case Kind::Array: return Value::integer(static_cast<int64_t>(v.a->size()));
      case Kind::Object:
      case Kind::Namespace: return Value::integer(static_cast<int64_t>(v.o->items.size()));
      case Kind::Undefined: return Value::integer(0);
      default: error(line, "object of type '", type_name(v), "' has no len()");
    }
  }
  if (f == "first" || f == "last") {
    std::vector<Value> items = iterate(v, line);
    if (items.empty()) return Value::undefined("No first item, sequence was empty.");
    return f == "first" ? items.front() : items.back();
  }
  if (f == "lower") return Value::string(map_case(as_str(), ascii_lower));
  if (f == "upper") return Value::string(map_case(as_str(), ascii_upper));
  if (f == "title") return Value::string(py_title(as_str()));
  if (f == "capitalize") return Value::string(py_capitalize(as_str()));
  if (f == "string") return Value::string(as_str());
  if (f == "safe") return v;
  if (f == "replace") {
    std::string s = as_str();
    return Value::string(py_replace(s, r.str(0, "old", ""), r.str(1, "new", ""), r.integer(2, "count", -1), *this, line));
  }
  if (f == "join") {
    std::string sep = r.str(0, "d", "");
    const Value* attr = r.get(1, "attribute");
    std::string out;
    bool first = true;
    for (const Value& x : iterate(v, line)) {
      if (!first) out += sep;
      first = false;
      out += to_python_str(attr ? get_attr(x, to_python_str(*attr), line) : x);
      check_size(out.size(), line);
    }
    return Value::string(std::move(out));
  }
  if (f == "default" || f == "d") {
    Value dflt = r.val(0, "default_value", Value::string(""));
    bool boolean = r.boolean(1, "boolean", false);
    if (v.is_undefined() || (boolean && !truthy(v))) return dflt;
    return v;
  }
  if (f == "items") {
    if (v.is_undefined()) return Value::array({});
    if (v.kind != Kind::Object) error(line, what, " needs a mapping, not ", type_name(v));
    Args none;
    Kwargs nk;
    return call_method(v, "items", none, nk, line);
  }
  if (f == "dictsort") {
    if (v.kind != Kind::Object) error(line, what, " needs a mapping, not ", type_name(v));
    bool case_sensitive = r.boolean(0, "case_sensitive", false);
    std::string by = r.str(1, "by", "key");
    bool reverse = r.boolean(2, "reverse", false);
    std::vector<std::pair<std::string, Value>> items = v.o->items;
    std::stable_sort(items.begin(), items.end(), [&](const auto& a, const auto& b) {
      if (by == "value") {
        int c = compare(a.second, b.second, "<", line);
        return reverse ? c > 0 : c < 0;
      }
      std::string x = case_sensitive ? a.first : map_case(a.first, ascii_lower);
      std::string y = case_sensitive ? b.first : map_case(b.first, ascii_lower);
      return reverse ? x > y : x < y;
    });
    Array out;
    for (auto& [k, x] : items) out.push_back(Value::tuple_of({Value::string(k), x}));
    return Value::array(std::move(out));
  }
  if (f == "list") {
    Array a = iterate(v, line);
    return Value::array(std::move(a));
  }
  if (f == "reverse") {
    if (v.kind == Kind::String) {
      std::vector<uint32_t> cps = decode_utf8(v.s);
      std::reverse(cps.begin(), cps.end());
      return Value::string(encode_utf8(cps));
    }
    Array a = iterate(v, line);
    std::reverse(a.begin(), a.end());
    return Value::array(std::move(a));
  }
  if (f == "int") {
    Value dflt = r.val(0, "default", Value::integer(0));
    if (is_intlike(v)) return Value::integer(as_int(v));
    if (v.kind == Kind::Float) {
      if (!std::isfinite(v.f) || std::fabs(v.f) > 9.2e18) return dflt;
      return Value::integer(static_cast<int64_t>(v.f));
    }
    if (v.kind == Kind::String) {
      std::string s = strip_cps(v.s, nullptr, true, true, *this, line);
      int64_t x = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
      if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) return Value::integer(x);
      char* end = nullptr;
      double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && end == s.c_str() + s.size() && std::isfinite(d) && std::fabs(d) < 9.2e18)
        return Value::integer(static_cast<int64_t>(d));
    }
    return dflt;
  }
  if (f == "float") {
    Value dflt = r.val(0, "default", Value::number(0));
    if (v.is_number()) return Value::number(as_double(v));
    if (v.kind == Kind::String) {
      std::string s = strip_cps(v.s, nullptr, true, true, *this, line);
      char* end = nullptr;
      double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && end == s.c_str() + s.size()) return Value::number(d);
    }
    return dflt;
  }
  if (f == "abs") {
    if (!v.is_number()) error(line, "bad operand type for abs(): '", type_name(v), "'");
    if (is_intlike(v)) {
      if (as_int(v) == INT64_MIN) error(line, "integer overflow");
      return Value::integer(std::llabs(as_int(v)));
    }
    return Value::number(std::fabs(v.f));
  }
  if (f == "round") {
    if (!v.is_number()) error(line, what, " needs a number");
    int64_t prec = std::clamp<int64_t>(r.integer(0, "precision", 0), -30, 30);
    std::string method = r.str(1, "method", "common");
    double scale = std::pow(10.0, static_cast<double>(prec)), x = as_double(v) * scale;
    double y = method == "ceil" ? std::ceil(x) : method == "floor" ? std::floor(x) : std::nearbyint(x);  // Python rounds half to even
    return Value::number(y / scale);
  }
  if (f == "map" || f == "select" || f == "reject" || f == "selectattr" || f == "rejectattr") {
    std::vector<Value> items = iterate(v, line);
    Array out;
    if (f == "map") {
      if (const Value* attr = r.get(99, "attribute")) {
        Value dflt = r.val(99, "default", Value());
        for (const Value& x : items) {
          Value y = attr->kind == Kind::Int ? get_item(x, *attr, line) : get_attr(x, to_python_str(*attr), line);
          out.push_back(y.is_undefined() ? dflt : y);
        }
        return Value::array(std::move(out));
      }
      if (args.empty() || args[0].kind != Kind::String) error(line, "map needs a filter name or attribute=");
      std::string fname = args[0].s;
      Args rest(args.begin() + 1, args.end());
      Kwargs kw = kwargs;
      for (const Value& x : items) {
        Args a = rest;
        Kwargs k = kw;
        step(line);
        out.push_back(apply_filter(fname, x, a, k, line));
      }
      return Value::array(std::move(out));
    }
    bool attr_mode = f == "selectattr" || f == "rejectattr";
    bool want = f == "select" || f == "selectattr";
    size_t at = 0;
    std::string attr;
    if (attr_mode) {
      if (args.empty() || args[0].kind != Kind::String) error(line, what, " needs an attribute name");
      attr = args[0].s;
      at = 1;
    }
    std::string test = at < args.size() ? to_python_str(args[at]) : "";
    Args targs(args.begin() + static_cast<std::ptrdiff_t>(std::min(args.size(), at + 1)), args.end());
    for (const Value& x : items) {
      step(line);
      Value subject = attr_mode ? get_attr(x, attr, line) : x;
      if (attr_mode && attr.find('.') != std::string::npos) {
        subject = x;
        size_t b = 0;
        for (;;) {
          size_t e = attr.find('.', b);
          subject = get_attr(subject, attr.substr(b, e == std::string::npos ? std::string::npos : e - b), line);
          if (e == std::string::npos || subject.is_undefined()) break;
          b = e + 1;
        }
      }
      Args ta = targs;
      bool ok = test.empty() ? truthy(subject) : apply_test(test, subject, ta, line);
      if (ok == want) out.push_back(x);
    }
    return Value::array(std::move(out));
  }
  if (f == "unique") {
    Array out;
    for (const Value& x : iterate(v, line)) {
      bool seen = false;
      for (const Value& y : out) seen = seen || equal(x, y);
      if (!seen) out.push_back(x);
      steps += out.size();
      step(line);
    }
    return Value::array(std::move(out));
  }
  if (f == "sort" || f == "max" || f == "min") {
    bool reverse = f == "sort" && r.boolean(0, "reverse", false);
    bool case_sensitive = r.boolean(f == "sort" ? 1 : 0, "case_sensitive", false);
    const Value* attr = r.get(f == "sort" ? 2 : 1, "attribute");
    std::vector<Value> items = iterate(v, line);
    auto key = [&](const Value& x) {
      Value k = attr ? get_attr(x, to_python_str(*attr), line) : x;
      if (!case_sensitive && k.kind == Kind::String) k.s = map_case(k.s, ascii_lower);
      return k;
    };
    if (items.size() > 100000) error(line, what, ": too many items");
    auto less = [&](const Value& a, const Value& b) { return compare(key(a), key(b), "<", line) < 0; };
    if (f == "sort") {
      std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) { return reverse ? less(b, a) : less(a, b); });
      return Value::array(std::move(items));
    }
    if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
    return f == "max" ? *std::max_element(items.begin(), items.end(), less) : *std::min_element(items.begin(), items.end(), less);
  }
  if (f == "sum") {
    const Value* attr = r.get(0, "attribute");
    Value total = r.val(1, "start", Value::integer(0));
    for (const Value& x : iterate(v, line)) total = arith("+", total, attr ? get_attr(x, to_python_str(*attr), line) : x, line);
    return total;
  }
  if (f == "indent") {
    std::string s = need_string();
    int64_t width = 4;
    std::string pad;
    if (const Value* w = r.get(0, "width"); w && w->kind == Kind::String) pad = w->s;
    else pad = std::string(static_cast<size_t>(std::clamp<int64_t>(r.integer(0, "width", width), 0, 256)), ' ');
    bool first = r.boolean(1, "first", false), blank = r.boolean(2, "blank", false);
    std::string out;
    size_t b = 0;
    bool is_first = true;
    for (;;) {
      size_t e = s.find('\n', b);
      std::string ln = s.substr(b, e == std::string::npos ? std::string::npos : e - b);
      if ((!is_first || first) && (blank || !all_ws(ln) || ln.empty() ? (blank || !ln.empty()) && (blank || !all_ws(ln)) : false))
        out += pad;
      out += ln;
      check_size(out.size(), line);
      if (e == std::string::npos) break;
      out += '\n';
      b = e + 1;
      is_first = false;
    }
    return Value::string(std::move(out));
  }
  if (f == "format") {
    std::string s = need_string();
    return Value::string(percent_format(s, Value::array(args), line));
  }
  if (f == "escape" || f == "e" || f == "forceescape") {
    std::string out;
    for (char c : as_str()) {
      switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&#34;"; break;
        case '\'': out += "&#39;"; break;
        default: out += c;
      }
    }
    return Value::string(std::move(out));
  }
  if (f == "wordcount") {
    Args none;
    Kwargs nk;
    return Value::integer(static_cast<int64_t>(py_split(as_str(), nullptr, -1, *this, line).size()));
  }
  if (f == "attr") return get_attr(v, r.str(0, "name", ""), line);
  error(line, "unsupported construct: filter '", f, "'");
}

Flow Interp::exec_body(const Body& body, std::string& out) {
  for (const auto& s : body) {
    Flow fl = exec(*s, out);
    if (fl != Flow::Normal) return fl;
  }
  return Flow::Normal;
}

Flow Interp::exec(const Stmt& s, std::string& out) {
  Depth d(*this, s.line);
  step(s.line);
  switch (s.kind) {
    case StmtKind::Text: emit(out, s.text, s.line); return Flow::Normal;
    case StmtKind::Output: emit(out, to_python_str(eval(*s.expr)), s.line); return Flow::Normal;
    case StmtKind::Body: return exec_body(s.body, out);
    case StmtKind::If:
      for (const auto& [cond, body] : s.branches)
        if (truthy(eval(*cond))) return exec_body(body, out);
      return exec_body(s.else_body, out);
    case StmtKind::For: return exec_for(s, out);
    case StmtKind::Set: {
      Value v = eval(*s.expr);
      if (!s.attr.empty()) {
        Value ns = lookup(s.text);
        if (ns.kind != Kind::Namespace) error(s.line, "cannot assign attribute on non-namespace object '", s.text, "'");
        if (holds_namespace(v)) error(s.line, "unsupported construct: a namespace stored inside a namespace");
        ns.o->set(s.attr, std::move(v));
        return Flow::Normal;
      }
      assign(s.targets, v, s.line);
      return Flow::Normal;
    }
    case StmtKind::SetBlock: {
      std::string captured;
      Flow fl = exec_body(s.body, captured);
      frame->set(s.text, Value::string(std::move(captured)));
      return fl;
    }
    case StmtKind::Macro: {
      const Stmt* def = &s;
      std::weak_ptr<Frame> weak_closure = frame;  // weak: the macro lives in that frame
      frame->set(s.text, Value::function([def, weak_closure](Interp& in, Args& args, Kwargs& kwargs, int line) {
        std::shared_ptr<Frame> closure = weak_closure.lock();
        if (!closure) in.error(line, "macro '", def->text, "' called outside the scope that defined it");
        if (args.size() > def->params.size()) in.error(line, "macro '", def->text, "' takes ", def->params.size(), " arguments (", args.size(), " given)");
        auto f = std::make_shared<Frame>();
        f->parent = closure;
        std::swap(in.frame, f);  // f now holds the caller's frame
        struct Restore {
          Interp& in;
          std::shared_ptr<Frame>& saved;
          ~Restore() { std::swap(in.frame, saved); }
        } restore{in, f};
        for (const auto& [k, v] : kwargs) {
          bool known = false;
          for (const auto& p : def->params) known = known || p.first == k;
          if (!known) in.error(line, "macro '", def->text, "' takes no keyword argument '", k, "'");
        }
        for (size_t k = 0; k < def->params.size(); ++k) {
          const auto& [pname, pdefault] = def->params[k];
          Value v;
          bool have = false;
          if (k < args.size()) {
            v = args[k];
            have = true;
          }
          for (const auto& [kk, vv] : kwargs)
            if (kk == pname) {
              v = vv;
              have = true;
            }
          if (!have) v = pdefault ? in.eval(*pdefault) : Value::undefined("'" + pname + "' is undefined");
          in.frame->set(pname, v);
        }
        std::string out;
        int saved_loops = in.loop_depth;
        in.loop_depth = 0;
        in.exec_body(def->body, out);
        in.loop_depth = saved_loops;
        return Value::string(std::move(out));
      }));
      return Flow::Normal;
    }
    case StmtKind::Break:
    case StmtKind::Continue:
      if (loop_depth == 0) error(s.line, "{% ", s.kind == StmtKind::Break ? "break" : "continue", " %} outside a loop");
      return s.kind == StmtKind::Break ? Flow::Break : Flow::Continue;
    case StmtKind::FilterBlock: {
      std::string captured;
      Flow fl = exec_body(s.body, captured);
      // Apply the chain of filters to the captured text: rebuild values bottom-up.
      std::vector<const Expr*> chain;
      for (const Expr* e = s.expr.get(); e->kind == ExprKind::Filter; e = e->kids[0].get()) chain.push_back(e);
      Value v = Value::string(std::move(captured));
      for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
        Args args;
        for (size_t k = 1; k < (*it)->kids.size(); ++k) args.push_back(eval(*(*it)->kids[k]));
        Kwargs kwargs;
        for (const auto& [k, x] : (*it)->kwargs) kwargs.emplace_back(k, eval(*x));
        v = apply_filter((*it)->name, v, args, kwargs, s.line);
      }
      emit(out, to_python_str(v), s.line);
      return fl;
    }
  }
  return Flow::Normal;
}

Flow Interp::exec_for(const Stmt& s, std::string& out) {
  Value seq = eval(*s.expr);
  std::vector<Value> items = iterate(seq, s.line);
  auto outer = frame;
  struct Restore {
    Interp& in;
    std::shared_ptr<Frame> saved;
    ~Restore() { in.frame = saved; }
  } restore{*this, outer};
  if (s.cond) {
    std::vector<Value> kept;
    for (const Value& x : items) {
      step(s.line);
      frame = std::make_shared<Frame>();
      frame->parent = outer;
      assign(s.targets, x, s.line);
      if (truthy(eval(*s.cond))) kept.push_back(x);
    }
    items = std::move(kept);
  }
  if (items.empty()) {
    frame = outer;
    return exec_body(s.else_body, out);
  }
  ++loop_depth;
  struct LoopDepth {
    int& d;
    ~LoopDepth() { --d; }
  } loop_guard{loop_depth};
  const int64_t n = static_cast<int64_t>(items.size());
  for (int64_t k = 0; k < n; ++k) {
    step(s.line);
    frame = std::make_shared<Frame>();
    frame->parent = outer;
    assign(s.targets, items[static_cast<size_t>(k)], s.line);
    Object loop;
    loop.set("index", Value::integer(k + 1));
    loop.set("index0", Value::integer(k));
    loop.set("revindex", Value::integer(n - k));
    loop.set("revindex0", Value::integer(n - k - 1));
    loop.set("first", Value::boolean(k == 0));
    loop.set("last", Value::boolean(k == n - 1));
    loop.set("length", Value::integer(n));
    loop.set("depth", Value::integer(1));
    loop.set("depth0", Value::integer(0));
    loop.set("previtem", k > 0 ? items[static_cast<size_t>(k - 1)] : Value::undefined("there is no previous item"));
    loop.set("nextitem", k + 1 < n ? items[static_cast<size_t>(k + 1)] : Value::undefined("there is no next item"));
    loop.set("cycle", Value::function([k](Interp& in, Args& args, Kwargs&, int line) {
      if (args.empty()) in.error(line, "loop.cycle() needs at least one argument");
      return args[static_cast<size_t>(k) % args.size()];
    }));
    frame->set("loop", Value::object(std::move(loop)));
    Flow fl = exec_body(s.body, out);
    if (fl == Flow::Break) break;
  }
  return Flow::Normal;
}

std::string render(const Program& program, const nlohmann::ordered_json& context, const std::string& name,
                   const ChatTemplateLimits& limits) {
  Interp in{name, limits, std::make_shared<Frame>(), {}};
  RKV_CHECK(context.is_object(), name, ": the render context must be a JSON object");
  for (auto it = context.begin(); it != context.end(); ++it) in.frame->set(it.key(), from_json(it.value()));

  in.globals.emplace_back("raise_exception", Value::function([](Interp& in2, Args& args, Kwargs&, int line) -> Value {
    in2.error(line, "raise_exception: ", args.empty() ? std::string() : to_python_str(args[0]));
  }));
  in.globals.emplace_back("namespace", Value::function([](Interp& in2, Args& args, Kwargs& kwargs, int line) {
    Value ns;
    ns.kind = Kind::Namespace;
    ns.o = std::make_shared<Object>();
    for (const Value& a : args) {
      if (a.kind != Kind::Object) in2.error(line, "namespace() takes keyword arguments or a dict");
      for (const auto& [k, v] : a.o->items) ns.o->set(k, v);
    }
    for (const auto& [k, v] : kwargs) ns.o->set(k, v);
    return ns;
  }));
  in.globals.emplace_back("dict", Value::function([](Interp& in2, Args& args, Kwargs& kwargs, int line) {
    Object o;
    for (const Value& a : args) {
      if (a.kind != Kind::Object) in2.error(line, "dict() takes keyword arguments or a dict");
      for (const auto& [k, v] : a.o->items) o.set(k, v);
    }
    for (const auto& [k, v] : kwargs) o.set(k, v);
    return Value::object(std::move(o));
  }));
  in.globals.emplace_back("range", Value::function([](Interp& in2, Args& args, Kwargs&, int line) {
    if (args.empty() || args.size() > 3) in2.error(line, "range() takes 1 to 3 integer arguments");
    for (const Value& a : args)
      if (!Interp::is_intlike(a)) in2.error(line, "range() arguments must be integers, not ", Interp::type_name(a));
    int64_t start = 0, stop = 0, step = 1;
    if (args.size() == 1) stop = Interp::as_int(args[0]);
    else {
      start = Interp::as_int(args[0]);
      stop = Interp::as_int(args[1]);
      if (args.size() == 3) step = Interp::as_int(args[2]);
    }
    if (step == 0) in2.error(line, "range() arg 3 must not be zero");
    Array a;
    for (int64_t x = start; step > 0 ? x < stop : x > stop; x += step) {
      a.push_back(Value::integer(x));
      in2.check_items(a.size(), line);
      if ((step > 0 && x > INT64_MAX - step) || (step < 0 && x < INT64_MIN - step)) break;
    }
    return Value::array(std::move(a));
  }));
  in.globals.emplace_back("strftime_now", Value::function([](Interp& in2, Args& args, Kwargs&, int line) {
    if (args.size() != 1 || args[0].kind != Kind::String) in2.error(line, "strftime_now() takes one format string");
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[256];
    size_t n = std::strftime(buf, sizeof buf, args[0].s.c_str(), &tm);
    return Value::string(std::string(buf, n));
  }));

  std::string out;
  Flow fl = in.exec_body(program.body, out);
  (void)fl;
  return out;
}

}  // namespace rkv::jinja
