// formats/gguf: the GGUF model file format (ggml / llama.cpp), versions 2 and 3.
//
// Layout (little-endian): magic "GGUF", u32 version, u64 tensor count, u64
// metadata count, the metadata key/value pairs (string key, u32 value type,
// value; arrays are u32 element type + u64 count + elements), the tensor
// infos (string name, u32 n_dims, n_dims x u64 ne (ne[0] = fastest-varying
// dimension), u32 ggml type, u64 offset into the data section), padding to
// `general.alignment` (default 32), then the data section. Reading maps the
// file and validates every length, count, offset, size and alignment against
// the file before anything is used; every problem is an rkv::Error naming the
// file and the key / tensor. Tensor types F32, F16, BF16, Q8_0, Q4_0, Q4_K,
// Q5_K, Q6_K are loaded; any other ggml type is an error naming it.
// GgufWriter produces files the reader accepts (make-model, tests, fuzz seeds).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "rkv/core/buffer.h"
#include "rkv/core/output_file.h"
#include "rkv/core/dtype.h"
#include "rkv/core/error.h"

namespace rkv {

// GGUF metadata value types (numbering of the format).
enum class GgufType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};
const char* gguf_type_name(GgufType t);

// One metadata value: a scalar, a string, or an array (of scalars, strings or
// arrays). Accessors convert between compatible types and throw rkv::Error
// (naming the key) when the stored type does not fit.
class GgufValue {
 public:
  GgufValue() = default;
  static GgufValue of_uint(GgufType t, uint64_t v);  // U8/U16/U32/U64/BOOL
  static GgufValue of_int(GgufType t, int64_t v);    // I8/I16/I32/I64
  static GgufValue of_float(GgufType t, double v);   // F32/F64
  static GgufValue of_string(std::string s);
  static GgufValue of_strings(std::vector<std::string> items);
  static GgufValue of_ints(GgufType elem, const std::vector<int64_t>& items);  // integer element type
  static GgufValue of_floats(GgufType elem, const std::vector<double>& items);  // F32/F64
  static GgufValue of_arrays(std::vector<GgufValue> items);  // array of arrays
  // Numeric array from count little-endian elements of type elem at bytes.
  static GgufValue of_raw(GgufType elem, size_t count, const uint8_t* bytes);

  GgufType type() const { return type_; }
  bool is_array() const { return type_ == GgufType::ARRAY; }
  bool is_integer() const;  // any integer type or BOOL
  bool is_float() const { return type_ == GgufType::F32 || type_ == GgufType::F64; }
  bool is_string() const { return type_ == GgufType::STRING; }
  GgufType array_type() const { return elem_; }  // element type of an array
  size_t array_size() const { return count_; }

  // Scalars. as_int: any integer type (u64 above INT64_MAX is an error);
  // as_float: float or integer types; as_bool: BOOL or integer.
  int64_t as_int() const;
  uint64_t as_uint() const;
  double as_float() const;
  bool as_bool() const;
  const std::string& as_string() const;

  // Arrays.
  const std::vector<std::string>& strings() const;  // array of STRING
  std::vector<int64_t> ints() const;                // array of integers / BOOL
  std::vector<float> floats() const;                // array of floats or integers
  const std::vector<GgufValue>& arrays() const;     // array of ARRAY

  // Used in error messages; set by the reader.
  std::string key;

 private:
  friend class GgufFile;
  friend class GgufWriter;
  GgufType type_ = GgufType::U8;
  GgufType elem_ = GgufType::U8;
  size_t count_ = 0;
  uint64_t u_ = 0;
  int64_t i_ = 0;
  double f_ = 0;
  std::string s_;
  std::vector<std::string> strs_;     // STRING arrays
  std::vector<uint8_t> raw_;          // numeric arrays: count_ little-endian elements
  std::vector<GgufValue> children_;   // ARRAY arrays
};

// ggml tensor type numbers (only those needed for names and loading).
const char* ggml_type_name(uint32_t ggml_type);  // "Q4_K", ..., or "type 123"
// DType of a ggml type rkv loads; throws rkv::Error naming the type otherwise.
DType dtype_from_ggml_type(uint32_t ggml_type);
uint32_t ggml_type_from_dtype(DType t);  // throws for types GGUF cannot hold

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> ne;   // ggml order: ne[0] is the contiguous (row) dimension
  uint32_t ggml_type = 0;
  DType dtype = DType::F32;
  uint64_t offset = 0;       // into the data section
  size_t nbytes = 0;
  const uint8_t* data = nullptr;  // inside the mapped file

  int64_t numel() const;
  // Row-major shape (outermost first), i.e. ne reversed: a 2-D weight [ne1][ne0].
  std::vector<int64_t> shape() const { return {ne.rbegin(), ne.rend()}; }
};

class GgufFile {
 public:
  // Maps and validates `path`; throws rkv::Error on any problem.
  explicit GgufFile(const std::string& path);
  // Validates an in-memory image (fuzzer, tests); `bytes` must outlive the object.
  GgufFile(const uint8_t* bytes, size_t size, const std::string& name);

  uint32_t version() const { return version_; }
  size_t alignment() const { return alignment_; }
  const std::string& path() const { return name_; }

  // Metadata.
  bool has(const std::string& key) const { return index_.count(key) > 0; }
  const GgufValue* find(const std::string& key) const;
  const GgufValue& get(const std::string& key) const;  // throws naming the missing key
  const std::vector<GgufValue>& metadata() const { return values_; }  // file order (each has .key)
  // Typed convenience with defaults (a present key of the wrong type still throws).
  std::string get_string(const std::string& key, const std::string& fallback) const;
  int64_t get_int(const std::string& key, int64_t fallback) const;
  double get_float(const std::string& key, double fallback) const;

  // Tensors.
  bool has_tensor(const std::string& name) const { return tensor_index_.count(name) > 0; }
  const GgufTensorInfo& tensor(const std::string& name) const;  // throws naming it
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }  // file order

 private:
  void parse(const uint8_t* bytes, size_t size);

  std::unique_ptr<MappedFile> file_;
  std::string name_;
  uint32_t version_ = 0;
  size_t alignment_ = 32;
  std::vector<GgufValue> values_;
  std::map<std::string, size_t> index_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

// Collects metadata and tensors and writes one GGUF v3 file (atomically).
class GgufWriter {
 public:
  void set(const std::string& key, GgufValue value);
  void set_string(const std::string& key, const std::string& v) { set(key, GgufValue::of_string(v)); }
  void set_u32(const std::string& key, uint32_t v) { set(key, GgufValue::of_uint(GgufType::U32, v)); }
  void set_i32(const std::string& key, int32_t v) { set(key, GgufValue::of_int(GgufType::I32, v)); }
  void set_f32(const std::string& key, float v) { set(key, GgufValue::of_float(GgufType::F32, v)); }
  void set_bool(const std::string& key, bool v) { set(key, GgufValue::of_uint(GgufType::BOOL, v ? 1 : 0)); }
  void set_alignment(uint32_t alignment);  // power of two; also written as general.alignment

  // ne in ggml order (ne[0] = row length); bytes must be the exact tensor size.
  void add_tensor(const std::string& name, DType type, const std::vector<int64_t>& ne, const void* data, size_t bytes);
  // The same, taking ownership of the bytes (no copy; for large files).
  void add_tensor(const std::string& name, DType type, const std::vector<int64_t>& ne, std::vector<uint8_t>&& bytes);
  // A tensor whose bytes are produced only when the file is serialized or
  // written: `fill` receives a zeroed buffer of exactly the tensor's size
  // (converters: the output is never held twice in memory).
  using TensorFill = std::function<void(uint8_t* dst)>;
  void add_tensor(const std::string& name, DType type, const std::vector<int64_t>& ne, TensorFill fill);
  size_t tensor_count() const { return tensors_.size(); }

  // The whole file in memory (deferred tensors are filled into it in place).
  std::vector<uint8_t> serialize() const;
  // Streams the file into `out` (not committed: the caller commits).
  void write(OutputFile& out) const;
  // Streams the file to `path` all or nothing (core/output_file.h).
  void write(const std::string& path) const;

 private:
  struct Entry {
    std::string name;
    uint32_t ggml_type;
    std::vector<int64_t> ne;
    std::vector<uint8_t> bytes;
    size_t nbytes = 0;  // == bytes.size() unless deferred
    TensorFill fill;    // deferred tensors: bytes stay empty
  };
  void add_entry(const std::string& name, DType type, const std::vector<int64_t>& ne, size_t nbytes, Entry&& entry);
  std::vector<uint8_t> header() const;  // everything before the data section, padded
  std::vector<GgufValue> values_;
  std::vector<Entry> tensors_;
  uint32_t alignment_ = 32;
};

}  // namespace rkv
