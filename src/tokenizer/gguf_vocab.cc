// GGUF vocabularies (tokenizer.ggml.*): "llama" (SentencePiece scores) and
// "gpt2" (byte-level BPE with the pre-tokenizer of tokenizer.ggml.pre).
#include "rkv/core/error.h"
#include "tokenizer/tokenizer_impl.h"

namespace rkv {

Tokenizer Tokenizer::from_gguf(const std::string& path) { fail(path, ": GGUF vocabularies are not supported yet"); }

}  // namespace rkv
