// rkv convert: a Hugging Face model folder -> one GGUF file (weights in any
// type rkv runs, tokenizer and chat template carried over), what llama.cpp's
// convert_hf_to_gguf.py and llama-quantize do for their users. The work is
// model/convert.h; this command parses flags and reports.
#include <cstdio>
#include <map>

#include "rkv/command.h"
#include "rkv/flags.h"
#include "rkv/model/convert.h"

namespace rkv::cli {
namespace {

int run_convert(const Args& args) {
  Flags f("convert",
          "-m HF_FOLDER -o OUT.gguf [--type f32|f16|bf16|q8_0|q4_0|q4_k|q5_k|q6_k] [--pure] [--no-tokenizer]\n\n"
          "Writes the model of a Hugging Face folder (config.json, safetensors, tokenizer.json,\n"
          "tokenizer_config.json, generation_config.json) as one GGUF file that rkv and llama.cpp\n"
          "load as the same model. Without --type each matrix keeps its stored type (f32 / f16 /\n"
          "bf16). Norms and biases stay f32; with a block type the output head is q6_k (as\n"
          "llama-quantize does; --pure keeps the type asked for) and a matrix whose rows are not\n"
          "whole blocks falls back to q8_0 or f16. Every such choice is printed.");
  f.option("-m,--model", "Hugging Face model folder (or its config.json)")
      .option("-o,--output", "GGUF file to write")
      .option("--type", "weight type of the matrices (default: as stored)")
      .toggle("--pure", "block types: no 6-bit output head")
      .toggle("--no-tokenizer", "write no vocabulary (for a folder without tokenizer.json)")
      .option("--threads", "worker threads (default: all cores)", "0");
  if (!f.parse(args)) return 0;
  RKV_CHECK(f.positional().empty(), "unexpected argument '", f.positional().front(), "'");
  RKV_CHECK(f.given("--model"), "missing -m HF_FOLDER");
  RKV_CHECK(f.given("--output"), "missing -o OUT.gguf");
  const std::string out = f.str("--output");
  RKV_CHECK(out.size() > 5 && out.compare(out.size() - 5, 5, ".gguf") == 0, "-o ", out,
            ": the name must end in .gguf (that is how rkv and llama.cpp tell a GGUF file)");
  ConvertOptions opt;
  if (f.given("--type")) opt.type = parse_weight_dtype(f.str("--type"));
  RKV_CHECK(!f.on("--pure") || (opt.type && is_quantized(*opt.type)), "--pure goes with a block --type (q8_0, q4_0, q4_k, ...)");
  opt.pure = f.on("--pure");
  opt.with_vocab = !f.on("--no-tokenizer");
  opt.note = [](const std::string& s) { std::fprintf(stderr, "rkv convert: %s\n", s.c_str()); };
  ThreadPool pool(static_cast<int>(f.integer("--threads")));
  ConvertSummary s = convert_hf_to_gguf(f.str("--model"), out, opt, pool);

  std::map<std::string, int> types;
  for (const ConvertedTensor& t : s.tensors) types[std::string(dtype_name(t.type))]++;
  std::string type_list;
  for (const auto& [name, n] : types) type_list += (type_list.empty() ? "" : ", ") + name + " x " + std::to_string(n);
  std::string vocab = s.vocab_model.empty()
                          ? "no vocabulary"
                          : "vocabulary " + s.vocab_model + " (pre " + s.vocab_pre + ", " + std::to_string(s.vocab_tokens) + " tokens)";
  std::fprintf(stderr, "wrote %s: %s, %zu tensors (%s), %s, %.1f MiB\n", out.c_str(), s.architecture.c_str(),
               s.tensors.size(), type_list.c_str(), vocab.c_str(), static_cast<double>(s.bytes) / (1 << 20));
  return 0;
}

RKV_COMMAND("convert", "convert a Hugging Face model folder to one GGUF file (any weight type rkv runs)", run_convert);

}  // namespace
}  // namespace rkv::cli
