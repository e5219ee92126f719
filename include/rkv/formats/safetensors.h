// formats/safetensors: the Hugging Face tensor file format.
//
// Layout: u64 little-endian header length N, N bytes of JSON header
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//  "__metadata__": {"k": "v"}}, then the data section. Reading maps the file
// and returns views into it (no copy). Every header problem — size beyond the
// file, bad JSON, unknown dtype, offsets out of range / overlapping / not
// matching the shape — is an rkv::Error naming the file and the tensor.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "rkv/core/buffer.h"
#include "rkv/core/output_file.h"
#include "rkv/core/tensor.h"

namespace rkv {

class SafetensorsFile {
 public:
  // Maps and validates `path`; throws rkv::Error on any problem.
  explicit SafetensorsFile(const std::string& path);
  // Validates an in-memory image (used by the fuzzer and tests); `bytes`
  // must outlive the object. `name` is used in error messages.
  SafetensorsFile(const uint8_t* bytes, size_t size, const std::string& name);

  bool has(const std::string& tensor) const { return tensors_.count(tensor) > 0; }
  // View into the mapped data (read-only in practice). Throws naming the
  // missing tensor.
  TensorView get(const std::string& tensor) const;
  std::vector<std::string> names() const;  // in file order of data offsets
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return name_; }

 private:
  void parse(const uint8_t* bytes, size_t size);

  std::unique_ptr<MappedFile> file_;
  std::string name_;
  std::map<std::string, TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
  std::vector<AlignedBuffer> copies_;  // tensors whose data was not aligned in the file
};

// Collects named tensors and writes one safetensors file all or nothing
// (core/output_file.h). Accepts any contiguous view; data is copied at add().
class SafetensorsWriter {
 public:
  void add(const std::string& name, const TensorView& tensor);
  void set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }
  // Streams the file to `path` all or nothing (core/output_file.h), or into
  // `out` (not committed: the caller commits).
  void write(const std::string& path) const;
  void write(OutputFile& out) const;
  std::vector<uint8_t> serialize() const;

 private:
  struct Entry {
    std::string name;
    DType dtype;
    Shape shape;
    std::vector<uint8_t> bytes;
  };
  std::vector<uint8_t> header() const;  // length prefix and JSON header, padded
  std::vector<Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

// "F32" <-> DType. Returns false for a name rkv does not read.
bool safetensors_dtype_from_name(const std::string& name, DType& out);
const char* safetensors_dtype_name(DType t);

}  // namespace rkv
