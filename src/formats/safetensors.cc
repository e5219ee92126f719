#include "rkv/formats/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "rkv/core/error.h"
#include "rkv/core/json.h"
#include "rkv/core/output_file.h"

namespace rkv {

namespace {

// A header larger than this is refused before parsing: real files have a few
// hundred KB at most, and the JSON parser must not be handed gigabytes.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

struct NameAndType {
  const char* name;
  DType dtype;
};
constexpr NameAndType kDTypes[] = {
    {"F32", DType::F32}, {"F16", DType::F16}, {"BF16", DType::BF16}, {"I8", DType::I8},
    {"U8", DType::U8},   {"I16", DType::I16}, {"I32", DType::I32},   {"I64", DType::I64},
    {"F64", DType::F64}, {"BOOL", DType::BOOL},
};

}  // namespace

bool safetensors_dtype_from_name(const std::string& name, DType& out) {
  for (const auto& e : kDTypes)
    if (name == e.name) {
      out = e.dtype;
      return true;
    }
  return false;
}

const char* safetensors_dtype_name(DType t) {
  for (const auto& e : kDTypes)
    if (e.dtype == t) return e.name;
  fail("dtype ", dtype_name(t), " cannot be stored in safetensors");
}

SafetensorsFile::SafetensorsFile(const std::string& path)
    : file_(std::make_unique<MappedFile>(path)), name_(path) {
  parse(file_->data(), file_->size());
}

SafetensorsFile::SafetensorsFile(const uint8_t* bytes, size_t size, const std::string& name) : name_(name) {
  parse(bytes, size);
}

void SafetensorsFile::parse(const uint8_t* bytes, size_t size) {
  RKV_CHECK(size >= 8, name_, ": not a safetensors file (", size, " bytes, need at least 8)");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];
  RKV_CHECK(header_len <= kMaxHeaderBytes, name_, ": header length ", header_len, " is not sane (limit ", kMaxHeaderBytes, ")");
  RKV_CHECK(header_len <= size - 8, name_, ": header length ", header_len, " runs past the end of the file (", size, " bytes)");
  const char* header_begin = reinterpret_cast<const char*>(bytes + 8);
  check_json_depth(std::string_view(header_begin, header_len), name_ + ": header");
  nlohmann::json header = nlohmann::json::parse(header_begin, header_begin + header_len, nullptr, false);
  RKV_CHECK(!header.is_discarded(), name_, ": header is not valid JSON");
  RKV_CHECK(header.is_object(), name_, ": header is not a JSON object");

  const uint8_t* data = bytes + 8 + header_len;
  const uint64_t data_size = size - 8 - header_len;
  struct Range {
    uint64_t begin, end;
    std::string name;
  };
  std::vector<Range> ranges;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const auto& info = it.value();
    if (name == "__metadata__") {
      RKV_CHECK(info.is_object(), name_, ": __metadata__ is not an object");
      for (auto m = info.begin(); m != info.end(); ++m) {
        RKV_CHECK(m.value().is_string(), name_, ": __metadata__ value '", m.key(), "' is not a string");
        metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    RKV_CHECK(info.is_object(), name_, ": tensor '", name, "': entry is not an object");
    auto dtype_it = info.find("dtype");
    auto shape_it = info.find("shape");
    auto offsets_it = info.find("data_offsets");
    RKV_CHECK(dtype_it != info.end() && dtype_it->is_string(), name_, ": tensor '", name, "': missing dtype");
    RKV_CHECK(shape_it != info.end() && shape_it->is_array(), name_, ": tensor '", name, "': missing shape");
    RKV_CHECK(offsets_it != info.end() && offsets_it->is_array() && offsets_it->size() == 2, name_, ": tensor '", name,
              "': data_offsets must be [begin, end]");
    DType dtype;
    RKV_CHECK(safetensors_dtype_from_name(dtype_it->get<std::string>(), dtype), name_, ": tensor '", name,
              "': unsupported dtype ", dtype_it->get<std::string>());
    Shape shape;
    uint64_t numel = 1;
    for (const auto& d : *shape_it) {
      RKV_CHECK(d.is_number_unsigned() || (d.is_number_integer() && d.get<int64_t>() >= 0), name_, ": tensor '", name,
                "': shape entries must be non-negative integers");
      uint64_t v = d.get<uint64_t>();
      RKV_CHECK(v == 0 || numel <= std::numeric_limits<uint64_t>::max() / v / 8, name_, ": tensor '", name, "': shape overflows");
      numel *= v;
      shape.push_back(static_cast<int64_t>(v));
    }
    for (const auto& o : *offsets_it)
      RKV_CHECK(o.is_number_unsigned() || (o.is_number_integer() && o.get<int64_t>() >= 0), name_, ": tensor '", name,
                "': data_offsets must be non-negative integers");
    uint64_t begin = (*offsets_it)[0].get<uint64_t>(), end = (*offsets_it)[1].get<uint64_t>();
    RKV_CHECK(begin <= end, name_, ": tensor '", name, "': data_offsets [", begin, ", ", end, "] are reversed");
    RKV_CHECK(end <= data_size, name_, ": tensor '", name, "': data_offsets end ", end, " is past the data section (",
              data_size, " bytes)");
    uint64_t expected = numel * dtype_size(dtype);
    RKV_CHECK(end - begin == expected, name_, ": tensor '", name, "': ", end - begin, " bytes of data but shape ",
              shape_string(shape), " of ", dtype_name(dtype), " needs ", expected);
    void* tensor_data = const_cast<uint8_t*>(data + begin);
    if (reinterpret_cast<uintptr_t>(tensor_data) % dtype_size(dtype) != 0) {
      // Writers that do not pad the header leave data unaligned; typed access
      // to it would be undefined behaviour, so such tensors are copied once.
      copies_.emplace_back(end - begin);
      std::memcpy(copies_.back().data(), tensor_data, end - begin);
      tensor_data = copies_.back().data();
    }
    tensors_[name] = TensorView(tensor_data, dtype, shape);
    ranges.push_back({begin, end, name});
  }
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < ranges.size(); ++i) {
    RKV_CHECK(ranges[i].begin >= ranges[i - 1].end || ranges[i].begin == ranges[i].end || ranges[i - 1].begin == ranges[i - 1].end,
              name_, ": tensors '", ranges[i - 1].name, "' and '", ranges[i].name, "' overlap");
  }
}

TensorView SafetensorsFile::get(const std::string& tensor) const {
  auto it = tensors_.find(tensor);
  RKV_CHECK(it != tensors_.end(), name_, ": no tensor named '", tensor, "'");
  return it->second;
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::pair<const void*, std::string>> order;
  for (const auto& [name, view] : tensors_) order.emplace_back(view.data, name);
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (auto& [p, name] : order) out.push_back(name);
  return out;
}

void SafetensorsWriter::add(const std::string& name, const TensorView& tensor) {
  RKV_CHECK(name != "__metadata__", "safetensors: '__metadata__' is not a tensor name");
  for (const auto& e : entries_) RKV_CHECK(e.name != name, "safetensors: tensor '", name, "' added twice");
  RKV_CHECK(tensor.is_contiguous(), "safetensors: tensor '", name, "' is not contiguous");
  safetensors_dtype_name(tensor.dtype);  // throws for types the format lacks
  Entry e{name, tensor.dtype, tensor.shape, {}};
  e.bytes.resize(tensor.nbytes());
  if (!e.bytes.empty()) std::memcpy(e.bytes.data(), tensor.data, e.bytes.size());
  entries_.push_back(std::move(e));
}

std::vector<uint8_t> SafetensorsWriter::header() const {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata_.empty()) header["__metadata__"] = metadata_;
  uint64_t offset = 0;
  for (const auto& e : entries_) {
    header[e.name] = {{"dtype", safetensors_dtype_name(e.dtype)}, {"shape", e.shape},
                      {"data_offsets", {offset, offset + e.bytes.size()}}};
    offset += e.bytes.size();
  }
  std::string text = header.dump();
  // Pad the header with spaces so the data section starts 8-byte aligned.
  while ((8 + text.size()) % 8 != 0) text.push_back(' ');
  std::vector<uint8_t> out(8 + text.size());
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(n >> (8 * i));
  std::memcpy(out.data() + 8, text.data(), text.size());
  return out;
}

std::vector<uint8_t> SafetensorsWriter::serialize() const {
  std::vector<uint8_t> out = header();
  for (const auto& e : entries_) out.insert(out.end(), e.bytes.begin(), e.bytes.end());
  return out;
}

void SafetensorsWriter::write(OutputFile& out) const {
  const std::vector<uint8_t> head = header();
  out.write(head.data(), head.size());
  for (const auto& e : entries_) out.write(e.bytes.data(), e.bytes.size());
}

void SafetensorsWriter::write(const std::string& path) const {
  OutputFile out(path);
  write(out);
  out.commit();
}

}  // namespace rkv
