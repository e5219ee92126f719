// libFuzzer target: a GGUF image whose tokenizer.ggml.* metadata is read as a
// vocabulary either loads (and then encodes / decodes sample texts) or is
// rejected with rkv::Error. Seeds: fuzz/corpus/gguf_vocab.
#include <cstdint>
#include <string>
#include <vector>

#include "rkv/core/error.h"
#include "rkv/formats/gguf.h"
#include "rkv/tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    rkv::GgufFile file(data, size, "fuzz.gguf");
    rkv::Tokenizer tok = rkv::Tokenizer::from_gguf(file);
    for (const std::string s : {"", "Hi", " Hello world\n\n 123", "\xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x98\x80"}) {
      std::vector<rkv::TokenId> ids = tok.encode(s, true);
      rkv::StreamDecoder stream(tok);
      std::string streamed;
      for (rkv::TokenId id : ids) streamed += stream.push(id);
      streamed += stream.finish();
      (void)tok.decode(ids, true);
    }
  } catch (const rkv::Error&) {
  }
  return 0;
}
