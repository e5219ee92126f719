// rkv compress: one compression step on tensors dumped from any engine — the
// offline analysis of which tokens a method keeps (RKV-SPEC.md §1, §3) — with
// the cache in any KV type (--kv-type: what a bf16 or q8_0 cache would keep).
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "rkv/command.h"
#include "rkv/compression/compressor.h"
#include "rkv/flags.h"
#include "rkv/formats/safetensors.h"
#include "rkv/kv/layer_cache.h"
#include "rkv/kv_flags.h"
#include "rkv/ops/kv_row.h"

namespace rkv::cli {
namespace {

// A tensor under its short name or the reference's *_states name, with an
// optional leading batch dimension of 1; converted to f32.
struct Loaded {
  Shape shape;              // without the batch dimension
  std::vector<float> data;  // f32, contiguous
};

Loaded load_float(const SafetensorsFile& file, const std::string& name, int rank) {
  // keys -> key_states, values -> value_states, queries -> query_states
  std::string alias = name == "queries" ? "query_states" : name.substr(0, name.size() - 1) + "_states";
  const std::string& found = file.has(name) ? name : alias;
  RKV_CHECK(file.has(found), file.path(), ": missing tensor '", name, "' (or '", alias, "')");
  TensorView v = file.get(found);
  RKV_CHECK(is_float(v.dtype) && v.dtype != DType::F64, "tensor '", found, "': type ", dtype_name(v.dtype),
            " (expected f32, f16 or bf16)");
  Shape shape = v.shape;
  if (static_cast<int>(shape.size()) == rank + 1 && shape[0] == 1) shape.erase(shape.begin());
  RKV_CHECK(static_cast<int>(shape.size()) == rank, "tensor '", found, "': expected rank ", rank, " ",
            rank == 3 ? "[heads, tokens, head_dim]" : "", ", got shape ", shape_string(v.shape));
  Loaded out{shape, std::vector<float>(static_cast<size_t>(v.numel()))};
  convert_to_f32(v.dtype, v.data, out.data.data(), out.data.size());
  for (size_t i = 0; i < out.data.size(); ++i)
    RKV_CHECK(std::isfinite(out.data[i]), "tensor '", found, "': non-finite value at flat index ", i);
  return out;
}

int run_compress(const Args& args) {
  Flags f("compress", "--input FILE.safetensors [--method rkv] [--budget N] ... [--output OUT.safetensors]");
  f.option("-i,--input", "safetensors file with keys, values [Hkv, n, d], queries [Hq, m, d], optional positions [Hkv, n] int32")
      .option("--method", "rkv | snapkv | h2o | streamingllm | fullkv", "rkv")
      .option("--threads", "worker threads (default: all cores)", "0")
      .option("--kv-type", "cache storage the step scores: f32 | f16 | bf16 | q8_0 | q4_0", "f32")
      .option("-o,--output", "write the compacted keys, values, positions here")
      .toggle("--scores", "add per-head importance, redundancy and final score arrays to the JSON");
  declare_compression_flags(f);
  if (!f.parse(args)) return 0;
  RKV_CHECK(f.given("--input"), "missing --input FILE.safetensors");
  RKV_CHECK(f.positional().empty(), "unexpected argument '", f.positional().front(), "'");
  CompressionConfig config = compression_from_flags(f, parse_method(f.str("--method")));
  const DType kv_type = parse_kv_type(f.str("--kv-type"));

  std::unique_ptr<OutputFile> output;  // a bad path fails before the work
  if (f.given("--output")) output = std::make_unique<OutputFile>(f.str("--output"));
  SafetensorsFile file(f.str("--input"));
  Loaded keys = load_float(file, "keys", 3);
  Loaded values = load_float(file, "values", 3);
  RKV_CHECK(values.shape == keys.shape, "values: shape ", shape_string(values.shape), " differs from keys ",
            shape_string(keys.shape));
  const int n_kv = static_cast<int>(keys.shape[0]);
  const int64_t n = keys.shape[1];
  const int d = static_cast<int>(keys.shape[2]);
  RKV_CHECK(n_kv > 0 && d > 0, "keys: empty shape ", shape_string(keys.shape));
  Loaded queries;
  if (config.query_window() > 0) {
    queries = load_float(file, "queries", 3);
    RKV_CHECK(queries.shape[2] == d, "queries: head_dim ", queries.shape[2], " differs from keys' ", d);
    RKV_CHECK(queries.shape[0] > 0 && queries.shape[0] % n_kv == 0, "queries: ", queries.shape[0],
              " query heads are not a multiple of ", n_kv, " KV heads");
    RKV_CHECK(queries.shape[1] >= config.query_window(), "queries: window ", config.query_window(),
              " is larger than the ", queries.shape[1], " query rows given");
  }
  std::vector<int32_t> positions(static_cast<size_t>(n_kv * n));
  if (file.has("positions")) {
    TensorView p = file.get("positions");
    RKV_CHECK(p.dtype == DType::I32 || p.dtype == DType::I64, "positions: type ", dtype_name(p.dtype), " (expected i32)");
    expect_shape(p, {n_kv, n}, "positions");
    for (size_t i = 0; i < positions.size(); ++i)
      positions[i] = p.dtype == DType::I32 ? static_cast<const int32_t*>(p.data)[i]
                                           : static_cast<int32_t>(static_cast<const int64_t*>(p.data)[i]);
  } else {
    for (int h = 0; h < n_kv; ++h)
      for (int64_t j = 0; j < n; ++j) positions[h * n + j] = static_cast<int32_t>(j);
  }

  LayerCache cache(n_kv, d, kv_type, n);
  cache.append_head_major(keys.data.data(), values.data.data(), positions.data(), n);
  LayerSnapshot snapshot = snapshot_of(cache, queries.data.empty() ? nullptr : queries.data.data(),
                                       queries.data.empty() ? 0 : static_cast<int>(queries.shape[0]),
                                       queries.data.empty() ? 0 : queries.shape[1]);
  ThreadPool pool(thread_count(f));
  LayerScores scores;
  KeepLists keep = Compressor(config).select(snapshot, pool, &scores);

  if (output) {
    cache.compact(keep);
    const int64_t kept = cache.size();
    DType out_type = (file.has("keys") ? file.get("keys") : file.get("key_states")).dtype;
    std::vector<uint8_t> k_out(static_cast<size_t>(n_kv * kept * d) * dtype_size(out_type)), v_out(k_out.size());
    std::vector<int32_t> p_out(static_cast<size_t>(n_kv * kept));
    std::vector<float> rows(static_cast<size_t>(kept * d));  // one head's kept rows as stored, in f32: [kept][d]
    for (int h = 0; h < n_kv; ++h) {
      size_t off = static_cast<size_t>(h * kept * d);
      kv_rows_to_f32(kv_type, cache.key_data(h), kept, d, rows.data());
      convert_from_f32(rows.data(), out_type, k_out.data() + off * dtype_size(out_type), rows.size());
      kv_rows_to_f32(kv_type, cache.value_data(h), kept, d, rows.data());
      convert_from_f32(rows.data(), out_type, v_out.data() + off * dtype_size(out_type), rows.size());
      std::copy(cache.position_data(h), cache.position_data(h) + kept, p_out.begin() + h * kept);
    }
    SafetensorsWriter writer;
    writer.add("keys", TensorView(k_out.data(), out_type, {n_kv, kept, d}));
    writer.add("values", TensorView(v_out.data(), out_type, {n_kv, kept, d}));
    writer.add("positions", TensorView(p_out.data(), DType::I32, {n_kv, kept}));
    writer.write(*output);
    output->commit();
  }

  nlohmann::ordered_json out;
  out["method"] = method_name(config.method);
  out["n"] = n;
  out["kept"] = keep;
  if (f.on("--scores")) {
    out["importance"] = scores.importance;
    out["redundancy"] = scores.redundancy;
    out["score"] = scores.final_score;
  }
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

RKV_COMMAND("compress", "one KV-compression step on dumped keys/values/queries (safetensors in, JSON out)", run_compress);

}  // namespace
}  // namespace rkv::cli
