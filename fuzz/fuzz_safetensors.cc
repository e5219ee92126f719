// libFuzzer target: any byte string given to the safetensors reader either
// parses into in-bounds views or is rejected with rkv::Error.
#include <cstdint>
#include <cstring>

#include "rkv/formats/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    rkv::SafetensorsFile file(data, size, "fuzz");
    for (const auto& name : file.names()) {
      rkv::TensorView v = file.get(name);
      // Touch the first and last byte: out-of-bounds views would trip ASan.
      if (v.nbytes() > 0) {
        volatile uint8_t first = static_cast<const uint8_t*>(v.data)[0];
        volatile uint8_t last = static_cast<const uint8_t*>(v.data)[v.nbytes() - 1];
        (void)first;
        (void)last;
      }
    }
  } catch (const rkv::Error&) {
  }
  return 0;
}
