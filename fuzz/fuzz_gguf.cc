// libFuzzer target: any byte string given to the GGUF reader either parses
// into in-bounds tensors and readable metadata, or is rejected with rkv::Error.
#include <cstdint>
#include <cstring>

#include "rkv/formats/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    rkv::GgufFile file(data, size, "fuzz");
    for (const auto& v : file.metadata()) {
      try {
        if (v.is_array()) {
          if (v.array_type() == rkv::GgufType::STRING) (void)v.strings().size();
          else if (v.array_type() != rkv::GgufType::ARRAY) (void)v.floats().size();
        } else if (v.is_string()) {
          (void)v.as_string().size();
        } else {
          (void)v.as_float();
        }
      } catch (const rkv::Error&) {
      }
    }
    for (const auto& t : file.tensors()) {
      // Touch the first and last byte: out-of-bounds tensors would trip ASan.
      if (t.nbytes > 0) {
        volatile uint8_t first = t.data[0];
        volatile uint8_t last = t.data[t.nbytes - 1];
        (void)first;
        (void)last;
      }
    }
  } catch (const rkv::Error&) {
  }
  return 0;
}
