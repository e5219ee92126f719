#include "rkv/formats/gguf.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>

#include "rkv/core/error.h"
#include "rkv/core/output_file.h"

namespace rkv {

namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as little-endian u32
constexpr int kMaxDims = 4;
constexpr int kMaxArrayDepth = 8;
// Sanity limits refused before allocating: keys and strings are short in real
// files; vocabularies have a few hundred thousand entries.
constexpr uint64_t kMaxKeyBytes = 1u << 16;

size_t scalar_size(GgufType t) {
  switch (t) {
    case GgufType::U8: case GgufType::I8: case GgufType::BOOL: return 1;
    case GgufType::U16: case GgufType::I16: return 2;
    case GgufType::U32: case GgufType::I32: case GgufType::F32: return 4;
    case GgufType::U64: case GgufType::I64: case GgufType::F64: return 8;
    default: return 0;
  }
}

bool valid_type(uint32_t t) { return t <= static_cast<uint32_t>(GgufType::F64); }

bool is_unsigned(GgufType t) {
  return t == GgufType::U8 || t == GgufType::U16 || t == GgufType::U32 || t == GgufType::U64 || t == GgufType::BOOL;
}
bool is_signed(GgufType t) {
  return t == GgufType::I8 || t == GgufType::I16 || t == GgufType::I32 || t == GgufType::I64;
}

// Reads little-endian values from a byte range with bounds checks.
class Reader {
 public:
  Reader(const uint8_t* p, size_t n, const std::string& name) : p_(p), n_(n), name_(name) {}
  size_t pos() const { return pos_; }
  size_t left() const { return n_ - pos_; }

  void need(uint64_t bytes, const std::string& what) const {
    RKV_CHECK(bytes <= left(), name_, ": ", what, " runs past the end of the file (needs ", bytes,
              " bytes at offset ", pos_, ", file has ", n_, ")");
  }
  uint64_t uint(size_t bytes, const std::string& what) {
    need(bytes, what);
    uint64_t v = 0;
    for (size_t i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(p_[pos_ + i]) << (8 * i);
    pos_ += bytes;
    return v;
  }
  uint32_t u32(const std::string& what) { return static_cast<uint32_t>(uint(4, what)); }
  uint64_t u64(const std::string& what) { return uint(8, what); }
  std::string string(const std::string& what, uint64_t limit) {
    uint64_t len = u64(what + " length");
    RKV_CHECK(len <= limit, name_, ": ", what, " length ", len, " is not sane (limit ", limit, ")");
    need(len, what);
    std::string s(reinterpret_cast<const char*>(p_ + pos_), static_cast<size_t>(len));
    pos_ += len;
    return s;
  }
  const uint8_t* here() const { return p_ + pos_; }
  void skip(size_t bytes) { pos_ += bytes; }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
  const std::string& name_;
};

struct GgmlTypeInfo {
  uint32_t id;
  const char* name;
};
constexpr GgmlTypeInfo kGgmlTypes[] = {
    {0, "F32"},      {1, "F16"},      {2, "Q4_0"},     {3, "Q4_1"},    {6, "Q5_0"},    {7, "Q5_1"},
    {8, "Q8_0"},     {9, "Q8_1"},     {10, "Q2_K"},    {11, "Q3_K"},   {12, "Q4_K"},   {13, "Q5_K"},
    {14, "Q6_K"},    {15, "Q8_K"},    {16, "IQ2_XXS"}, {17, "IQ2_XS"}, {18, "IQ3_XXS"}, {19, "IQ1_S"},
    {20, "IQ4_NL"},  {21, "IQ3_S"},   {22, "IQ2_S"},   {23, "IQ4_XS"}, {24, "I8"},     {25, "I16"},
    {26, "I32"},     {27, "I64"},     {28, "F64"},     {29, "IQ1_M"},  {30, "BF16"},   {34, "TQ1_0"},
    {35, "TQ2_0"},   {39, "MXFP4"},
};

}  // namespace

const char* gguf_type_name(GgufType t) {
  static const char* names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"};
  uint32_t i = static_cast<uint32_t>(t);
  return i < 13 ? names[i] : "unknown";
}

const char* ggml_type_name(uint32_t ggml_type) {
  for (const auto& t : kGgmlTypes)
    if (t.id == ggml_type) return t.name;
  static thread_local std::string buf;
  buf = "type " + std::to_string(ggml_type);
  return buf.c_str();
}

DType dtype_from_ggml_type(uint32_t ggml_type) {
  switch (ggml_type) {
    case 0: return DType::F32;
    case 1: return DType::F16;
    case 30: return DType::BF16;
    case 8: return DType::Q8_0;
    case 2: return DType::Q4_0;
    case 12: return DType::Q4_K;
    case 13: return DType::Q5_K;
    case 14: return DType::Q6_K;
    default:
      fail("unsupported GGUF tensor type ", ggml_type_name(ggml_type),
           " (rkv loads F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K)");
  }
}

uint32_t ggml_type_from_dtype(DType t) {
  switch (t) {
    case DType::F32: return 0;
    case DType::F16: return 1;
    case DType::BF16: return 30;
    case DType::Q8_0: return 8;
    case DType::Q4_0: return 2;
    case DType::Q4_K: return 12;
    case DType::Q5_K: return 13;
    case DType::Q6_K: return 14;
    default: fail("dtype ", dtype_name(t), " cannot be stored as a GGUF tensor");
  }
}

// ---------------------------------------------------------------- GgufValue

GgufValue GgufValue::of_uint(GgufType t, uint64_t v) {
  RKV_CHECK(is_unsigned(t), "GgufValue::of_uint: ", gguf_type_name(t), " is not an unsigned type");
  GgufValue r;
  r.type_ = t;
  r.u_ = v;
  return r;
}
GgufValue GgufValue::of_int(GgufType t, int64_t v) {
  RKV_CHECK(is_signed(t), "GgufValue::of_int: ", gguf_type_name(t), " is not a signed type");
  GgufValue r;
  r.type_ = t;
  r.i_ = v;
  return r;
}
GgufValue GgufValue::of_float(GgufType t, double v) {
  RKV_CHECK(t == GgufType::F32 || t == GgufType::F64, "GgufValue::of_float: ", gguf_type_name(t), " is not a float type");
  GgufValue r;
  r.type_ = t;
  r.f_ = t == GgufType::F32 ? static_cast<double>(static_cast<float>(v)) : v;
  return r;
}
GgufValue GgufValue::of_string(std::string s) {
  GgufValue r;
  r.type_ = GgufType::STRING;
  r.s_ = std::move(s);
  return r;
}
GgufValue GgufValue::of_strings(std::vector<std::string> items) {
  GgufValue r;
  r.type_ = GgufType::ARRAY;
  r.elem_ = GgufType::STRING;
  r.count_ = items.size();
  r.strs_ = std::move(items);
  return r;
}
GgufValue GgufValue::of_ints(GgufType elem, const std::vector<int64_t>& items) {
  RKV_CHECK(is_signed(elem) || is_unsigned(elem), "GgufValue::of_ints: ", gguf_type_name(elem), " is not an integer type");
  GgufValue r;
  r.type_ = GgufType::ARRAY;
  r.elem_ = elem;
  r.count_ = items.size();
  size_t es = scalar_size(elem);
  r.raw_.resize(es * items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    uint64_t v = static_cast<uint64_t>(items[i]);
    for (size_t b = 0; b < es; ++b) r.raw_[i * es + b] = static_cast<uint8_t>(v >> (8 * b));
  }
  return r;
}
GgufValue GgufValue::of_floats(GgufType elem, const std::vector<double>& items) {
  RKV_CHECK(elem == GgufType::F32 || elem == GgufType::F64, "GgufValue::of_floats: ", gguf_type_name(elem), " is not a float type");
  GgufValue r;
  r.type_ = GgufType::ARRAY;
  r.elem_ = elem;
  r.count_ = items.size();
  size_t es = scalar_size(elem);
  r.raw_.resize(es * items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    if (elem == GgufType::F32) {
      float f = static_cast<float>(items[i]);
      std::memcpy(&r.raw_[i * 4], &f, 4);
    } else {
      std::memcpy(&r.raw_[i * 8], &items[i], 8);
    }
  }
  return r;
}
GgufValue GgufValue::of_arrays(std::vector<GgufValue> items) {
  for (const auto& it : items) RKV_CHECK(it.is_array(), "GgufValue::of_arrays: element is not an array");
  GgufValue r;
  r.type_ = GgufType::ARRAY;
  r.elem_ = GgufType::ARRAY;
  r.count_ = items.size();
  r.children_ = std::move(items);
  return r;
}

bool GgufValue::is_integer() const { return is_signed(type_) || is_unsigned(type_); }

int64_t GgufValue::as_int() const {
  if (is_signed(type_)) return i_;
  RKV_CHECK(is_unsigned(type_), "GGUF key '", key, "' is ", gguf_type_name(type_), ", expected an integer");
  RKV_CHECK(u_ <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), "GGUF key '", key, "' value ", u_, " is out of range");
  return static_cast<int64_t>(u_);
}
uint64_t GgufValue::as_uint() const {
  if (is_unsigned(type_)) return u_;
  RKV_CHECK(is_signed(type_), "GGUF key '", key, "' is ", gguf_type_name(type_), ", expected an integer");
  RKV_CHECK(i_ >= 0, "GGUF key '", key, "' value ", i_, " is negative");
  return static_cast<uint64_t>(i_);
}
double GgufValue::as_float() const {
  if (is_float()) return f_;
  if (is_signed(type_)) return static_cast<double>(i_);
  RKV_CHECK(is_unsigned(type_), "GGUF key '", key, "' is ", gguf_type_name(type_), ", expected a number");
  return static_cast<double>(u_);
}
bool GgufValue::as_bool() const {
  if (is_signed(type_)) return i_ != 0;
  RKV_CHECK(is_unsigned(type_), "GGUF key '", key, "' is ", gguf_type_name(type_), ", expected a bool");
  return u_ != 0;
}
const std::string& GgufValue::as_string() const {
  RKV_CHECK(type_ == GgufType::STRING, "GGUF key '", key, "' is ", gguf_type_name(type_), ", expected a string");
  return s_;
}
const std::vector<std::string>& GgufValue::strings() const {
  RKV_CHECK(type_ == GgufType::ARRAY && elem_ == GgufType::STRING, "GGUF key '", key, "' is not an array of strings");
  return strs_;
}
std::vector<int64_t> GgufValue::ints() const {
  RKV_CHECK(type_ == GgufType::ARRAY && (is_signed(elem_) || is_unsigned(elem_)), "GGUF key '", key,
            "' is not an array of integers");
  size_t es = scalar_size(elem_);
  std::vector<int64_t> out(count_);
  for (size_t i = 0; i < count_; ++i) {
    uint64_t v = 0;
    for (size_t b = 0; b < es; ++b) v |= static_cast<uint64_t>(raw_[i * es + b]) << (8 * b);
    if (is_signed(elem_) && es < 8 && (v >> (8 * es - 1)) & 1) v |= ~0ull << (8 * es);  // sign-extend
    RKV_CHECK(!(elem_ == GgufType::U64 && v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())), "GGUF key '",
              key, "' element ", i, " is out of range");
    out[i] = static_cast<int64_t>(v);
  }
  return out;
}
std::vector<float> GgufValue::floats() const {
  RKV_CHECK(type_ == GgufType::ARRAY && elem_ != GgufType::STRING && elem_ != GgufType::ARRAY, "GGUF key '", key,
            "' is not an array of numbers");
  std::vector<float> out(count_);
  if (elem_ == GgufType::F32) {
    std::memcpy(out.data(), raw_.data(), 4 * count_);
  } else if (elem_ == GgufType::F64) {
    for (size_t i = 0; i < count_; ++i) {
      double d;
      std::memcpy(&d, &raw_[i * 8], 8);
      out[i] = static_cast<float>(d);
    }
  } else {
    std::vector<int64_t> v = ints();
    for (size_t i = 0; i < count_; ++i) out[i] = static_cast<float>(v[i]);
  }
  return out;
}
const std::vector<GgufValue>& GgufValue::arrays() const {
  RKV_CHECK(type_ == GgufType::ARRAY && elem_ == GgufType::ARRAY, "GGUF key '", key, "' is not an array of arrays");
  return children_;
}

int64_t GgufTensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;
  return n;
}

GgufValue GgufValue::of_raw(GgufType elem, size_t count, const uint8_t* bytes) {
  size_t es = scalar_size(elem);
  RKV_CHECK(es > 0, "GgufValue::of_raw: ", gguf_type_name(elem), " is not a numeric type");
  GgufValue r;
  r.type_ = GgufType::ARRAY;
  r.elem_ = elem;
  r.count_ = count;
  r.raw_.assign(bytes, bytes + es * count);
  return r;
}

// ---------------------------------------------------------------- reading

namespace {

GgufValue read_array(Reader& r, const std::string& key, const std::string& name, int depth) {
  RKV_CHECK(depth < kMaxArrayDepth, name, ": metadata '", key, "': arrays nested deeper than ", kMaxArrayDepth);
  uint32_t et = r.u32("metadata '" + key + "' array type");
  RKV_CHECK(valid_type(et), name, ": metadata '", key, "' has unknown array element type ", et);
  GgufType elem = static_cast<GgufType>(et);
  uint64_t count = r.u64("metadata '" + key + "' array length");
  // Every element takes at least this many bytes: reject counts the file cannot hold.
  size_t min_elem = elem == GgufType::STRING ? 8 : elem == GgufType::ARRAY ? 12 : scalar_size(elem);
  RKV_CHECK(count <= r.left() / min_elem, name, ": metadata '", key, "' array of ", count, " ", gguf_type_name(elem),
            " elements runs past the end of the file");
  GgufValue v;
  if (elem == GgufType::STRING) {
    std::vector<std::string> items;
    items.reserve(count);
    for (uint64_t i = 0; i < count; ++i) items.push_back(r.string("metadata '" + key + "' element", r.left()));
    v = GgufValue::of_strings(std::move(items));
  } else if (elem == GgufType::ARRAY) {
    std::vector<GgufValue> items;
    items.reserve(count);
    for (uint64_t i = 0; i < count; ++i) items.push_back(read_array(r, key, name, depth + 1));
    for (auto& it : items) it.key = key;
    v = GgufValue::of_arrays(std::move(items));
  } else {
    size_t bytes = static_cast<size_t>(count) * min_elem;
    r.need(bytes, "metadata '" + key + "' array");
    v = GgufValue::of_raw(elem, static_cast<size_t>(count), r.here());
    r.skip(bytes);
  }
  v.key = key;
  return v;
}

GgufValue read_value(Reader& r, uint32_t type, const std::string& key, const std::string& name) {
  RKV_CHECK(valid_type(type), name, ": metadata '", key, "' has unknown value type ", type);
  GgufType t = static_cast<GgufType>(type);
  const std::string what = "metadata '" + key + "'";
  GgufValue v;
  switch (t) {
    case GgufType::STRING: v = GgufValue::of_string(r.string(what, r.left())); break;
    case GgufType::ARRAY: v = read_array(r, key, name, 0); break;
    case GgufType::F32: {
      uint32_t bits = r.u32(what);
      float f;
      std::memcpy(&f, &bits, 4);
      v = GgufValue::of_float(t, f);
      break;
    }
    case GgufType::F64: {
      uint64_t bits = r.u64(what);
      double d;
      std::memcpy(&d, &bits, 8);
      v = GgufValue::of_float(t, d);
      break;
    }
    default: {
      size_t es = scalar_size(t);
      uint64_t u = r.uint(es, what);
      if (is_signed(t)) {
        if (es < 8 && ((u >> (8 * es - 1)) & 1)) u |= ~0ull << (8 * es);
        v = GgufValue::of_int(t, static_cast<int64_t>(u));
      } else {
        if (t == GgufType::BOOL) RKV_CHECK(u <= 1, name, ": metadata '", key, "' bool has value ", u);
        v = GgufValue::of_uint(t, u);
      }
    }
  }
  v.key = key;
  return v;
}

}  // namespace

GgufFile::GgufFile(const std::string& path) : file_(std::make_unique<MappedFile>(path)), name_(path) {
  parse(file_->data(), file_->size());
}

GgufFile::GgufFile(const uint8_t* bytes, size_t size, const std::string& name) : name_(name) { parse(bytes, size); }

void GgufFile::parse(const uint8_t* bytes, size_t size) {
  Reader r(bytes, size, name_);
  RKV_CHECK(size >= 4, name_, ": not a GGUF file (", size, " bytes)");
  uint32_t magic = r.u32("magic");
  RKV_CHECK(magic == kMagic, name_, ": not a GGUF file (bad magic)");
  version_ = r.u32("version");
  if (version_ != 2 && version_ != 3) {
    uint32_t swapped = __builtin_bswap32(version_);
    RKV_CHECK(!(swapped == 2 || swapped == 3), name_, ": big-endian GGUF files are not supported");
    fail(name_, ": GGUF version ", version_, " is not supported (rkv reads versions 2 and 3)");
  }
  uint64_t n_tensors = r.u64("tensor count");
  uint64_t n_kv = r.u64("metadata count");
  // A key/value pair takes at least 8 (key length) + 4 (type) + 1 bytes, a tensor info at least 8 + 4 + 4 + 8.
  RKV_CHECK(n_kv <= r.left() / 13, name_, ": metadata count ", n_kv, " is larger than the file can hold");
  RKV_CHECK(n_tensors <= r.left() / 24, name_, ": tensor count ", n_tensors, " is larger than the file can hold");

  values_.reserve(static_cast<size_t>(n_kv));
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = r.string("metadata key " + std::to_string(i), kMaxKeyBytes);
    RKV_CHECK(!index_.count(key), name_, ": metadata key '", key, "' appears twice");
    uint32_t type = r.u32("metadata '" + key + "' type");
    GgufValue v = read_value(r, type, key, name_);
    index_[key] = values_.size();
    values_.push_back(std::move(v));
  }

  if (const GgufValue* a = find("general.alignment")) {
    RKV_CHECK(a->type() == GgufType::U32, name_, ": general.alignment must be u32, got ", gguf_type_name(a->type()));
    uint64_t al = a->as_uint();
    RKV_CHECK(al > 0 && (al & (al - 1)) == 0, name_, ": general.alignment ", al, " is not a power of two");
    RKV_CHECK(al <= (1u << 20), name_, ": general.alignment ", al, " is not sane");
    alignment_ = static_cast<size_t>(al);
  }

  tensors_.reserve(static_cast<size_t>(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t;
    t.name = r.string("tensor name " + std::to_string(i), kMaxKeyBytes);
    RKV_CHECK(!tensor_index_.count(t.name), name_, ": tensor '", t.name, "' appears twice");
    const std::string what = "tensor '" + t.name + "'";
    uint32_t n_dims = r.u32(what + " dimension count");
    RKV_CHECK(n_dims >= 1 && n_dims <= kMaxDims, name_, ": ", what, " has ", n_dims, " dimensions (1 to ", kMaxDims,
              " allowed)");
    uint64_t numel = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t ne = r.u64(what + " dimension");
      RKV_CHECK(ne >= 1 && ne <= (1ull << 40), name_, ": ", what, " dimension ", d, " is ", ne);
      RKV_CHECK(numel <= (1ull << 50) / ne, name_, ": ", what, " has too many elements");
      numel *= ne;
      t.ne.push_back(static_cast<int64_t>(ne));
    }
    t.ggml_type = r.u32(what + " type");
    try {
      t.dtype = dtype_from_ggml_type(t.ggml_type);
    } catch (const Error& e) {
      fail(name_, ": ", what, ": ", e.what());
    }
    int64_t block = dtype_block_elems(t.dtype);
    RKV_CHECK(t.ne[0] % block == 0, name_, ": ", what, " row length ", t.ne[0], " is not a multiple of the ",
              ggml_type_name(t.ggml_type), " block size ", block);
    t.nbytes = dtype_row_bytes(t.dtype, t.ne[0]) * static_cast<size_t>(numel / static_cast<uint64_t>(t.ne[0]));
    t.offset = r.u64(what + " offset");
    RKV_CHECK(t.offset % alignment_ == 0, name_, ": ", what, " offset ", t.offset, " is not a multiple of the alignment ",
              alignment_);
    tensor_index_[t.name] = tensors_.size();
    tensors_.push_back(std::move(t));
  }

  size_t data_start = (r.pos() + alignment_ - 1) / alignment_ * alignment_;
  if (n_tensors == 0) return;  // a vocabulary-only file may end right after the header
  RKV_CHECK(data_start <= size, name_, ": data section starts at ", data_start, ", past the end of the file (", size,
            " bytes)");
  const uint64_t data_size = size - data_start;
  std::vector<std::pair<uint64_t, size_t>> ranges;  // (offset, tensor index)
  for (size_t i = 0; i < tensors_.size(); ++i) {
    auto& t = tensors_[i];
    RKV_CHECK(t.offset <= data_size && t.nbytes <= data_size - t.offset, name_, ": tensor '", t.name, "' (",
              t.nbytes, " bytes at data offset ", t.offset, ") runs past the end of the file (data section has ",
              data_size, " bytes)");
    t.data = bytes + data_start + t.offset;
    ranges.push_back({t.offset, i});
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    const auto& prev = tensors_[ranges[i - 1].second];
    const auto& cur = tensors_[ranges[i].second];
    RKV_CHECK(prev.offset + prev.nbytes <= cur.offset, name_, ": tensors '", prev.name, "' and '", cur.name,
              "' overlap");
  }
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : &values_[it->second];
}

const GgufValue& GgufFile::get(const std::string& key) const {
  const GgufValue* v = find(key);
  RKV_CHECK(v, name_, ": missing GGUF metadata key '", key, "'");
  return *v;
}

std::string GgufFile::get_string(const std::string& key, const std::string& fallback) const {
  const GgufValue* v = find(key);
  return v ? v->as_string() : fallback;
}
int64_t GgufFile::get_int(const std::string& key, int64_t fallback) const {
  const GgufValue* v = find(key);
  return v ? v->as_int() : fallback;
}
double GgufFile::get_float(const std::string& key, double fallback) const {
  const GgufValue* v = find(key);
  return v ? v->as_float() : fallback;
}

const GgufTensorInfo& GgufFile::tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  RKV_CHECK(it != tensor_index_.end(), name_, ": missing tensor '", name, "'");
  return tensors_[it->second];
}

// ---------------------------------------------------------------- writing

namespace {

void put_uint(std::vector<uint8_t>& out, uint64_t v, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void put_string(std::vector<uint8_t>& out, const std::string& s) {
  put_uint(out, s.size(), 8);
  out.insert(out.end(), s.begin(), s.end());
}

}  // namespace

void GgufWriter::set(const std::string& key, GgufValue value) {
  value.key = key;
  for (auto& v : values_)
    if (v.key == key) {
      v = std::move(value);
      return;
    }
  values_.push_back(std::move(value));
}

void GgufWriter::set_alignment(uint32_t alignment) {
  RKV_CHECK(alignment > 0 && (alignment & (alignment - 1)) == 0, "GGUF alignment ", alignment, " is not a power of two");
  alignment_ = alignment;
  set_u32("general.alignment", alignment);
}

void GgufWriter::add_tensor(const std::string& name, DType type, const std::vector<int64_t>& ne, const void* data,
                            size_t bytes) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  add_tensor(name, type, ne, std::vector<uint8_t>(p, p + bytes));
}

void GgufWriter::add_tensor(const std::string& name, DType type, const std::vector<int64_t>& ne,
                            std::vector<uint8_t>&& bytes) {
  const size_t n = bytes.size();
  Entry e;
  e.bytes = std::move(bytes);
  add_entry(name, type, ne, n, std::move(e));
}

void GgufWriter::add_tensor(const std::string& name, DType type, const std::vector<int64_t>& ne, TensorFill fill) {
  RKV_CHECK(fill, "GGUF tensor '", name, "': no fill function");
  Entry e;
  e.fill = std::move(fill);
  add_entry(name, type, ne, SIZE_MAX, std::move(e));
}

void GgufWriter::add_entry(const std::string& name, DType type, const std::vector<int64_t>& ne, size_t nbytes,
                           Entry&& entry) {
  RKV_CHECK(!ne.empty() && ne.size() <= static_cast<size_t>(kMaxDims), "GGUF tensor '", name, "': ", ne.size(),
            " dimensions");
  int64_t rows = 1;
  for (size_t i = 1; i < ne.size(); ++i) rows *= ne[i];
  size_t expect = dtype_row_bytes(type, ne[0]) * static_cast<size_t>(rows);
  RKV_CHECK(nbytes == SIZE_MAX || nbytes == expect, "GGUF tensor '", name, "': ", nbytes, " bytes given, shape needs ",
            expect);
  for (const auto& t : tensors_) RKV_CHECK(t.name != name, "GGUF tensor '", name, "' added twice");
  entry.name = name;
  entry.ggml_type = ggml_type_from_dtype(type);
  entry.ne = ne;
  entry.nbytes = expect;
  tensors_.push_back(std::move(entry));
}

std::vector<uint8_t> GgufWriter::serialize() const {
  std::vector<uint8_t> out = header();
  if (tensors_.empty()) return out;
  // Offsets as header() writes them; the file ends right after the last
  // tensor's data (no trailing padding).
  const size_t data_start = out.size();
  uint64_t offset = 0, end = 0;
  for (const auto& t : tensors_) {
    end = offset + t.nbytes;
    offset = (end + alignment_ - 1) / alignment_ * alignment_;
  }
  out.resize(data_start + end, 0);
  offset = 0;
  for (const auto& t : tensors_) {
    uint8_t* dst = out.data() + data_start + offset;
    if (t.fill)
      t.fill(dst);
    else if (t.nbytes)
      std::memcpy(dst, t.bytes.data(), t.nbytes);
    offset = (offset + t.nbytes + alignment_ - 1) / alignment_ * alignment_;
  }
  return out;
}

std::vector<uint8_t> GgufWriter::header() const {
  std::vector<uint8_t> out;
  put_uint(out, kMagic, 4);
  put_uint(out, 3, 4);
  put_uint(out, tensors_.size(), 8);
  put_uint(out, values_.size(), 8);
  // Values: written through a recursive lambda with access to the private fields.
  std::function<void(const GgufValue&, bool)> put = [&](const GgufValue& v, bool with_type) {
    if (with_type) put_uint(out, static_cast<uint32_t>(v.type_), 4);
    switch (v.type_) {
      case GgufType::STRING: put_string(out, v.s_); break;
      case GgufType::ARRAY:
        put_uint(out, static_cast<uint32_t>(v.elem_), 4);
        put_uint(out, v.count_, 8);
        if (v.elem_ == GgufType::STRING) {
          for (const auto& s : v.strs_) put_string(out, s);
        } else if (v.elem_ == GgufType::ARRAY) {
          for (const auto& c : v.children_) put(c, false);
        } else {
          out.insert(out.end(), v.raw_.begin(), v.raw_.end());
        }
        break;
      case GgufType::F32: {
        float f = static_cast<float>(v.f_);
        uint32_t bits;
        std::memcpy(&bits, &f, 4);
        put_uint(out, bits, 4);
        break;
      }
      case GgufType::F64: {
        uint64_t bits;
        std::memcpy(&bits, &v.f_, 8);
        put_uint(out, bits, 8);
        break;
      }
      default:
        put_uint(out, is_signed(v.type_) ? static_cast<uint64_t>(v.i_) : v.u_, scalar_size(v.type_));
    }
  };
  for (const auto& v : values_) {
    put_string(out, v.key);
    put(v, true);
  }
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    put_string(out, t.name);
    put_uint(out, t.ne.size(), 4);
    for (int64_t d : t.ne) put_uint(out, static_cast<uint64_t>(d), 8);
    put_uint(out, t.ggml_type, 4);
    put_uint(out, offset, 8);
    offset = (offset + t.nbytes + alignment_ - 1) / alignment_ * alignment_;
  }
  if (tensors_.empty()) return out;
  out.resize((out.size() + alignment_ - 1) / alignment_ * alignment_, 0);
  return out;
}

void GgufWriter::write(OutputFile& out) const {
  std::vector<uint8_t> head = header();
  out.write(head.data(), head.size());
  uint64_t offset = 0;
  const std::vector<uint8_t> zeros(alignment_, 0);
  std::vector<uint8_t> deferred;
  for (const auto& t : tensors_) {
    if (t.fill) {  // an exception leaves the uncommitted OutputFile to remove itself
      deferred.assign(t.nbytes, 0);
      t.fill(deferred.data());
      out.write(deferred.data(), t.nbytes);
    } else {
      out.write(t.bytes.data(), t.nbytes);
    }
    uint64_t next = (offset + t.nbytes + alignment_ - 1) / alignment_ * alignment_;
    out.write(zeros.data(), static_cast<size_t>(next - offset - t.nbytes));
    offset = next;
  }
}

void GgufWriter::write(const std::string& path) const {
  OutputFile out(path);
  write(out);
  out.commit();
}

}  // namespace rkv
