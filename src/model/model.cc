#include "rkv/model/model.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "rkv/core/error.h"
#include "rkv/core/json.h"
#include "rkv/formats/gguf.h"
#include "rkv/formats/safetensors.h"
#include "rkv/ops/attention.h"
#include "rkv/ops/norm.h"
#include "rkv/ops/rope.h"
#include "model/tensor_names.h"

namespace rkv {

namespace fs = std::filesystem;

// Bump allocator over 256 MiB huge-page buffers for weights copied out of
// the files (pages never touched cost no memory, so the tail is free).
class WeightArena {
 public:
  void* allocate(size_t bytes) {
    bytes = (bytes + AlignedBuffer::kAlignment - 1) / AlignedBuffer::kAlignment * AlignedBuffer::kAlignment;
    if (chunks_.empty() || used_ + bytes > chunks_.back().size()) {
      chunks_.emplace_back(std::max(bytes, kChunkBytes), AlignedBuffer::Pages::Huge);
      used_ = 0;
    }
    void* p = chunks_.back().as<uint8_t>() + used_;
    used_ += bytes;
    return p;
  }

 private:
  static constexpr size_t kChunkBytes = size_t{256} << 20;
  std::vector<AlignedBuffer> chunks_;
  size_t used_ = 0;
};

struct Model::Storage {
  WeightArena copies;  // weights copied out of the files (copy_weights_into_memory)
  model_internal::HfWeights safetensors;
  std::unique_ptr<GgufFile> gguf;
};

Model::~Model() = default;

namespace {

using model_internal::shape_str;
using model_internal::tensor_name;

// Where the weight matrices live. RKV_MMAP=1 uses them in place from the
// file mapping, RKV_MMAP=0 copies them; unset, they are copied when the model
// files take at most half of the available memory. Copies sit in anonymous
// memory with transparent huge pages, which decoding streams 1.3-1.5x faster
// than 4 KiB file pages on the machines we measured (TLB misses; ext4 file
// mappings get no huge pages there) -- docs/PERFORMANCE.md.
bool copy_weights_into_memory(const std::string& source) {
  if (const char* env = std::getenv("RKV_MMAP")) return std::string(env) == "0";
  uint64_t file_bytes = 0;
  std::error_code ec;
  if (fs::is_directory(source, ec)) {
    for (const auto& e : fs::directory_iterator(source, ec))
      if (e.path().extension() == ".safetensors") file_bytes += e.file_size(ec);
  } else {
    file_bytes = fs::file_size(source, ec);
  }
  return !ec && file_bytes <= available_memory_bytes() / 2;
}

}  // namespace

std::unique_ptr<Model> Model::load(const std::string& path_in) {
  std::unique_ptr<Model> m(new Model());
  m->storage_ = std::make_unique<Storage>();
  fs::path path(path_in);
  RKV_CHECK(fs::exists(path), path_in, ": no such file or folder");
  if (fs::is_regular_file(path) && path.filename() == "config.json") path = path.parent_path();
  if (fs::is_regular_file(path)) {
    // GGUF (by magic).
    m->storage_->gguf = std::make_unique<GgufFile>(path.string());
    const GgufFile& g = *m->storage_->gguf;
    m->config_ = config_from_gguf(g);
    m->source_ = path.string();
    m->format_ = "gguf";
    auto has = [&](const std::string& n) { return g.has_tensor(n); };
    auto get = [&](const std::string& n) {
      const auto& t = g.tensor(n);
      return TensorRef{t.data, t.dtype, t.shape()};
    };
    m->load_weights(has, get, true);
    if (g.has_tensor("rope_freqs.weight")) {
      const auto& t = g.tensor("rope_freqs.weight");
      RKV_CHECK(t.dtype == DType::F32 && t.numel() == m->config_.head_dim / 2, path_in,
                ": rope_freqs.weight must be f32 [head_dim/2]");
      m->rope_freq_factors_.resize(static_cast<size_t>(t.numel()));
      std::memcpy(m->rope_freq_factors_.data(), t.data, t.nbytes);
    }
    return m;
  }
  RKV_CHECK(fs::is_directory(path), path_in, ": not a model folder or .gguf file");
  const fs::path cfg = path / "config.json";
  RKV_CHECK(fs::exists(cfg), path_in, ": no config.json in the folder (a Hugging Face model folder or a .gguf file is expected)");
  std::string gen;
  if (fs::exists(path / "generation_config.json")) gen = read_text_file((path / "generation_config.json").string());
  m->config_ = parse_hf_config(read_text_file(cfg.string()), gen, cfg.string());
  m->source_ = path.string();
  m->format_ = "safetensors";
  const model_internal::HfWeights& st = m->storage_->safetensors = model_internal::open_hf_weights(path.string());
  auto has = [&](const std::string& n) { return st.has(n); };
  auto get = [&](const std::string& n) {
    TensorView v = st.get(n);
    return TensorRef{v.data, v.dtype, v.shape};
  };
  m->load_weights(has, get, false);
  return m;
}

void Model::load_weights(const std::function<bool(const std::string&)>& has,
                         const std::function<TensorRef(const std::string&)>& get, bool gguf) {
  const ModelConfig& c = config_;
  const std::string& src = source_;
  const bool copy_weights = copy_weights_into_memory(src);
  ThreadPool pack_pool(0);  // packing runs once per matrix, on every core
  // Copies a matrix for the kernels: packed (ops/matmul.h) where this
  // machine's kernels have a packed layout -- then only the packed copy is
  // kept, about as big as the original -- else as it is in the file.
  auto copy_matrix = [&](WeightMatrix w, bool pack) {
    const size_t packed_bytes = pack ? packed_weight_bytes(w.type, w.rows, w.cols) : 0;
    if (packed_bytes > 0) {
      void* dst = storage_->copies.allocate(packed_bytes);
      pack_weights(w, dst, pack_pool);
      w.packed = dst;
      w.data = nullptr;
      return w;
    }
    const size_t bytes = dtype_row_bytes(w.type, w.cols) * static_cast<size_t>(w.rows);
    void* dst = storage_->copies.allocate(bytes);
    std::memcpy(dst, w.data, bytes);
    w.data = dst;
    return w;
  };
  // pack: false for the embedding table (read one row per token)
  auto matrix = [&](const std::string& name, int64_t rows, int64_t cols, bool pack = true) {
    RKV_CHECK(has(name), src, ": missing tensor '", name, "'");
    TensorRef t = get(name);
    RKV_CHECK(t.shape == std::vector<int64_t>({rows, cols}), src, ": tensor '", name, "' has shape ", shape_str(t.shape),
              ", expected ", shape_str({rows, cols}));
    RKV_CHECK(t.type == DType::F32 || t.type == DType::F16 || t.type == DType::BF16 || is_quantized(t.type), src,
              ": tensor '", name, "' has type ", dtype_name(t.type), " (weights must be f32, f16, bf16 or GGUF blocks)");
    WeightMatrix w{t.data, t.type, rows, cols};
    if (copy_weights) return copy_matrix(w, pack);
    // Ask for huge pages on the mapped range (honoured where the kernel
    // supports file THP; harmless elsewhere).
    const uintptr_t page = 4096, begin = reinterpret_cast<uintptr_t>(t.data) & ~(page - 1);
    const uintptr_t end = reinterpret_cast<uintptr_t>(t.data) + dtype_row_bytes(t.type, cols) * static_cast<size_t>(rows);
    ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
    ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_WILLNEED);
    return w;
  };
  auto vec = [&](const std::string& name, int64_t n) {
    RKV_CHECK(has(name), src, ": missing tensor '", name, "'");
    TensorRef t = get(name);
    int64_t numel = 1;
    for (int64_t d : t.shape) numel *= d;
    RKV_CHECK(numel == n && t.shape.size() == 1, src, ": tensor '", name, "' has shape ", shape_str(t.shape),
              ", expected [", n, "]");
    RKV_CHECK(!is_quantized(t.type) && is_float(t.type), src, ": tensor '", name, "' has type ", dtype_name(t.type),
              ", expected a float type");
    std::vector<float> out(static_cast<size_t>(n));
    convert_to_f32(t.type, t.data, out.data(), static_cast<size_t>(n));
    return out;
  };
  const int64_t H = c.hidden, hd = c.head_dim, q_dim = c.n_heads * hd, kv_dim = c.n_kv_heads * hd;
  embed_ = matrix(tensor_name("embed", 0, gguf), c.vocab_size, H, false);
  final_norm_ = vec(tensor_name("final_norm", 0, gguf), H);
  std::string out_name = tensor_name("output", 0, gguf);
  if (!c.tie_word_embeddings && !has(out_name)) fail(src, ": missing tensor '", out_name, "' (tie_word_embeddings is false)");
  // a tied output head is the embedding table, packed for the matmul when copied
  tied_output_ = !has(out_name);
  output_ = !tied_output_ ? matrix(out_name, c.vocab_size, H) : copy_weights ? copy_matrix(embed_, true) : embed_;
  layers_.resize(static_cast<size_t>(c.n_layers));
  for (int l = 0; l < c.n_layers; ++l) {
    auto& L = layers_[static_cast<size_t>(l)];
    auto n = [&](const char* role) { return tensor_name(role, l, gguf); };
    L.attn_norm = vec(n("attn_norm"), H);
    L.ffn_norm = vec(n("ffn_norm"), H);
    L.wq = matrix(n("wq"), q_dim, H);
    L.wk = matrix(n("wk"), kv_dim, H);
    L.wv = matrix(n("wv"), kv_dim, H);
    L.wo = matrix(n("wo"), H, q_dim);
    L.w_gate = matrix(n("w_gate"), c.intermediate, H);
    L.w_up = matrix(n("w_up"), c.intermediate, H);
    L.w_down = matrix(n("w_down"), H, c.intermediate);
    if (c.qkv_bias) {
      L.bq = vec(n("bq"), q_dim);
      L.bk = vec(n("bk"), kv_dim);
      L.bv = vec(n("bv"), kv_dim);
    }
    if (c.qk_norm) {
      L.q_norm = vec(n("q_norm"), hd);
      L.k_norm = vec(n("k_norm"), hd);
    }
  }
}

int64_t Model::parameter_count() const {
  auto count = [](const WeightMatrix& w) { return w.rows * w.cols; };
  int64_t n = count(embed_) + static_cast<int64_t>(final_norm_.size());
  if (!tied_output()) n += count(output_);
  for (const auto& L : layers_) {
    n += count(L.wq) + count(L.wk) + count(L.wv) + count(L.wo) + count(L.w_gate) + count(L.w_up) + count(L.w_down);
    n += static_cast<int64_t>(L.attn_norm.size() + L.ffn_norm.size() + L.bq.size() + L.bk.size() + L.bv.size() +
                              L.q_norm.size() + L.k_norm.size());
  }
  return n;
}

int64_t Model::weight_bytes() const {
  auto bytes = [](const WeightMatrix& w) { return static_cast<int64_t>(dtype_row_bytes(w.type, w.cols)) * w.rows; };
  int64_t n = bytes(embed_);
  if (!tied_output()) n += bytes(output_);
  for (const auto& L : layers_)
    n += bytes(L.wq) + bytes(L.wk) + bytes(L.wv) + bytes(L.wo) + bytes(L.w_gate) + bytes(L.w_up) + bytes(L.w_down);
  return n;
}

std::string Model::weight_types() const {
  std::map<std::string, int> counts;
  auto add = [&](const WeightMatrix& w) { counts[std::string(dtype_name(w.type))]++; };
  add(embed_);
  if (!tied_output()) add(output_);
  for (const auto& L : layers_)
    for (const auto* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) add(*w);
  std::string s;
  for (const auto& [k, v] : counts) s += (s.empty() ? "" : ", ") + k + " x " + std::to_string(v);
  return s;
}

std::vector<LayerCache> Model::make_caches(int64_t capacity, DType storage, int64_t grow_block) const {
  std::vector<LayerCache> caches;
  caches.reserve(static_cast<size_t>(config_.n_layers));
  for (int64_t l = 0; l < config_.n_layers; ++l)
    caches.emplace_back(static_cast<int>(config_.n_kv_heads), static_cast<int>(config_.head_dim), storage, capacity, grow_block);
  return caches;
}

void Model::forward(const int32_t* tokens, const int32_t* positions, int64_t n, std::vector<LayerCache>& caches,
                    float* logits, bool all_logits, ThreadPool& pool, const ForwardHooks* hooks) const {
  SequenceChunk chunk{tokens, positions, n, &caches, logits, all_logits, hooks};
  forward_batch(std::span<const SequenceChunk>(&chunk, 1), pool);
}

void Model::forward_batch(std::span<const SequenceChunk> chunks, ThreadPool& pool) const {
  const ModelConfig& c = config_;
  RKV_CHECK(!chunks.empty(), "forward: no sequences");
  const int64_t H = c.hidden, hd = c.head_dim, nh = c.n_heads, nkv = c.n_kv_heads, I = c.intermediate;
  const int64_t q_dim = nh * hd, kv_dim = nkv * hd;
  // All sequences' tokens run through the projections and the MLP together
  // (one pass over the weights); only cache appends and attention are per
  // sequence. offset[s]: first row of chunk s; seg[t]: the chunk of row t.
  std::vector<int64_t> offset;
  std::vector<int32_t> tokens, positions, seg;
  for (size_t s = 0; s < chunks.size(); ++s) {
    const SequenceChunk& ch = chunks[s];
    RKV_CHECK(ch.n > 0, "forward: no tokens");
    RKV_CHECK(ch.caches && static_cast<int64_t>(ch.caches->size()) == c.n_layers, "forward: ",
              ch.caches ? ch.caches->size() : 0, " caches for ", c.n_layers, " layers");
    offset.push_back(static_cast<int64_t>(tokens.size()));
    for (int64_t t = 0; t < ch.n; ++t) {
      RKV_CHECK(ch.tokens[t] >= 0 && ch.tokens[t] < c.vocab_size, "token id ", ch.tokens[t],
                " is outside the vocabulary [0, ", c.vocab_size, ")");
      RKV_CHECK(ch.positions[t] >= 0, "negative position ", ch.positions[t]);
      tokens.push_back(ch.tokens[t]);
      positions.push_back(ch.positions[t]);
      seg.push_back(static_cast<int32_t>(s));
    }
  }
  const int64_t n = static_cast<int64_t>(tokens.size());
  int64_t max_pos = 0;
  for (int32_t p : positions) max_pos = std::max<int64_t>(max_pos, p);
  std::vector<float> inv_freq = c.inv_freq(max_pos + 1);
  if (!rope_freq_factors_.empty())
    for (size_t i = 0; i < inv_freq.size(); ++i) inv_freq[i] /= rope_freq_factors_[i];
  const float mscale = c.rope_mscale();

  // Activations, kept per thread between calls: a fresh multi-MiB vector
  // per prefill call costs page faults and zeroing; every element is
  // written before it is read.
  // (huge pages: the GEMMs write a 64-byte line per token, a row apart)
  struct Scratch {
    PageVector<float> x, h, q, k, v, att, gate, up, tmp, picked, out;
  };
  thread_local Scratch scratch;
  auto sized = [](PageVector<float>& buf, int64_t size) -> PageVector<float>& {
    buf.resize(static_cast<size_t>(size));
    return buf;
  };
  PageVector<float>& x = sized(scratch.x, n * H);         // [n][H] residual stream
  PageVector<float>& h = sized(scratch.h, n * H);         // [n][H] normed
  PageVector<float>& q = sized(scratch.q, n * q_dim);     // [n][nh][hd]
  PageVector<float>& k = sized(scratch.k, n * kv_dim);    // [n][nkv][hd]
  PageVector<float>& v = sized(scratch.v, n * kv_dim);    // [n][nkv][hd]
  PageVector<float>& att = sized(scratch.att, n * q_dim);  // [n][nh][hd]
  PageVector<float>& gate = sized(scratch.gate, n * I);   // [n][I]
  PageVector<float>& up = sized(scratch.up, n * I);       // [n][I]
  PageVector<float>& tmp = sized(scratch.tmp, n * H);     // [n][H]

  for (int64_t t = 0; t < n; ++t) dequantize_row(embed_, tokens[t], x.data() + t * H);
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
  const int64_t group = nh / nkv;
  auto for_each_chunk = [&](auto&& fn) {
    for (size_t s = 0; s < chunks.size(); ++s) fn(chunks[s], offset[s]);
  };

  for (int64_t l = 0; l < c.n_layers; ++l) {
    const LayerWeights& L = layers_[static_cast<size_t>(l)];
    for_each_chunk([&](const SequenceChunk& ch, int64_t off) {
      if (ch.hooks && ch.hooks->on_hidden) ch.hooks->on_hidden(static_cast<int>(l), x.data() + off * H, ch.n);
    });
    rmsnorm(x.data(), L.attn_norm.data(), h.data(), n, H, static_cast<float>(c.rms_norm_eps));
    matmul_shared_input({{&L.wq, q.data()}, {&L.wk, k.data()}, {&L.wv, v.data()}}, h.data(), n, pool);
    if (c.qkv_bias)
      for (int64_t t = 0; t < n; ++t) {
        for (int64_t i = 0; i < q_dim; ++i) q[t * q_dim + i] += L.bq[i];
        for (int64_t i = 0; i < kv_dim; ++i) k[t * kv_dim + i] += L.bk[i];
        for (int64_t i = 0; i < kv_dim; ++i) v[t * kv_dim + i] += L.bv[i];
      }
    if (c.qk_norm) {
      rmsnorm(q.data(), L.q_norm.data(), q.data(), n * nh, hd, static_cast<float>(c.rms_norm_eps));
      rmsnorm(k.data(), L.k_norm.data(), k.data(), n * nkv, hd, static_cast<float>(c.rms_norm_eps));
    }
    for (int64_t t = 0; t < n; ++t) {
      rope_apply(q.data() + t * q_dim, static_cast<int>(nh), static_cast<int>(hd), static_cast<int>(hd), inv_freq.data(),
                 positions[t], mscale, c.rope_style);
      rope_apply(k.data() + t * kv_dim, static_cast<int>(nkv), static_cast<int>(hd), static_cast<int>(hd), inv_freq.data(),
                 positions[t], mscale, c.rope_style);
    }
    for_each_chunk([&](const SequenceChunk& ch, int64_t off) {
      if (ch.hooks && ch.hooks->on_queries)
        ch.hooks->on_queries(static_cast<int>(l), q.data() + off * q_dim, ch.n, positions.data() + off);
      (*ch.caches)[static_cast<size_t>(l)].append(k.data() + off * kv_dim, v.data() + off * kv_dim, positions.data() + off,
                                                  ch.n);
    });
    const int64_t window = c.sliding_window[static_cast<size_t>(l)];
    // Attention: one task per (token, kv head), over that token's sequence cache.
    pool.parallel_for(n * nkv, [&](int64_t b, int64_t e) {
      thread_local std::vector<float> scratch;
      for (int64_t i = b; i < e; ++i) {
        const int64_t t = i / nkv, kh = i % nkv;
        const LayerCache& cache = (*chunks[static_cast<size_t>(seg[t])].caches)[static_cast<size_t>(l)];
        KvHeadView view{cache.key_data(static_cast<int>(kh)), cache.value_data(static_cast<int>(kh)),
                        cache.position_data(static_cast<int>(kh)), cache.storage(), cache.size()};
        attend(q.data() + t * q_dim + kh * group * hd, static_cast<int>(group), static_cast<int>(hd), view, positions[t],
               window, scale, att.data() + t * q_dim + kh * group * hd, scratch);
      }
    });
    matmul(L.wo, att.data(), tmp.data(), n, pool);
    for (int64_t i = 0; i < n * H; ++i) x[i] += tmp[i];
    rmsnorm(x.data(), L.ffn_norm.data(), h.data(), n, H, static_cast<float>(c.rms_norm_eps));
    matmul_shared_input({{&L.w_gate, gate.data()}, {&L.w_up, up.data()}}, h.data(), n, pool);
    {  // (one exp per element: spread over the threads in blocks of 2048)
      const int64_t total = n * I, blocks = (total + 2047) / 2048;
      pool.parallel_for(blocks, [&](int64_t b, int64_t e) {
        swiglu(gate.data() + b * 2048, up.data() + b * 2048, std::min(total, e * 2048) - b * 2048);
      });
    }
    matmul(L.w_down, gate.data(), tmp.data(), n, pool);
    for (int64_t i = 0; i < n * H; ++i) x[i] += tmp[i];
  }
  rmsnorm(x.data(), final_norm_.data(), h.data(), n, H, static_cast<float>(c.rms_norm_eps));
  for_each_chunk([&](const SequenceChunk& ch, int64_t off) {
    if (ch.hooks && ch.hooks->on_hidden) ch.hooks->on_hidden(static_cast<int>(c.n_layers), h.data() + off * H, ch.n);
  });
  // Output head: every row that wants logits goes through one matmul.
  std::vector<int64_t> rows;  // rows of h to project
  for_each_chunk([&](const SequenceChunk& ch, int64_t off) {
    if (!ch.logits) return;
    for (int64_t t = ch.all_logits ? 0 : ch.n - 1; t < ch.n; ++t) rows.push_back(off + t);
  });
  if (rows.empty()) return;
  const int64_t n_rows = static_cast<int64_t>(rows.size());
  PageVector<float>& picked = sized(scratch.picked, n_rows * H);  // [rows][H]
  for (int64_t r = 0; r < n_rows; ++r) std::copy_n(h.data() + rows[static_cast<size_t>(r)] * H, H, picked.data() + r * H);
  if (chunks.size() == 1) {  // one sequence: straight into its logits
    matmul(output_, picked.data(), chunks[0].logits, n_rows, pool);
    return;
  }
  PageVector<float>& out = sized(scratch.out, n_rows * c.vocab_size);  // [rows][vocab]
  matmul(output_, picked.data(), out.data(), n_rows, pool);
  size_t r = 0;
  for_each_chunk([&](const SequenceChunk& ch, int64_t) {
    if (!ch.logits) return;
    const int64_t count = ch.all_logits ? ch.n : 1;
    std::copy_n(out.data() + r * static_cast<size_t>(c.vocab_size), count * c.vocab_size, ch.logits);
    r += static_cast<size_t>(count);
  });
}

}  // namespace rkv
