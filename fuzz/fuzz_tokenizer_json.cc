// libFuzzer target: any byte string given to the tokenizer.json loader either
// loads (and then encodes, decodes and stream-decodes sample texts without
// crashing) or is rejected with rkv::Error. Seeds: fuzz/corpus/tokenizer_json.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rkv/core/error.h"
#include "rkv/tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    rkv::Tokenizer tok = rkv::Tokenizer::from_json(text, "fuzz.json");
    const std::string samples[] = {
        "", " ", "Hello, world! 123 4567", "  leading\n\n\ttabs\r\n", "\xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x98\x80 e\xCC\x81",
        "<s>[INST] x [/INST]</s>", "<|im_start|>user\nhi<|im_end|>", std::string(text.substr(0, 64))};
    for (const std::string& s : samples) {
      for (bool special : {false, true}) {
        std::vector<rkv::TokenId> ids;
        try {
          ids = tok.encode(s, special);
        } catch (const rkv::Error&) {
          continue;  // e.g. the raw fuzz bytes are not UTF-8
        }
        std::string once = tok.decode(ids);
        rkv::StreamDecoder stream(tok, special);
        std::string streamed;
        for (rkv::TokenId id : ids) streamed += stream.push(id);
        streamed += stream.finish();
        (void)once;
      }
    }
    std::vector<rkv::TokenId> any = {0, 1, 2, 3, -1, 1 << 30, static_cast<rkv::TokenId>(tok.vocab_size() - 1)};
    (void)tok.decode(any, true);
  } catch (const rkv::Error&) {
  }
  return 0;
}
