// A tiny but real decoder for engine tests: token embedding, per layer GQA
// attention with rotate-half RoPE over the sequence's LayerCache (post-RoPE
// keys, any storage type) and a residual, tied unembedding. Tokens of one
// item are processed one by one (causal), so a prefill equals feeding the
// prompt token by token. It records every forward's positions so tests can
// check what the engine asks for.
#pragma once

#include <cmath>
#include <random>

#include "rkv/engine/causal_lm.h"
#include "rkv/ops/kv_row.h"

namespace rkv::test {

class ToyModel : public CausalLM {
 public:
  explicit ToyModel(uint32_t seed, int n_layers = 2, int vocab = 64) {
    dims_ = {n_layers, 4, 2, 8, vocab, 0};
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0, 1);
    auto fill = [&](std::vector<float>& w, size_t n, float scale) {
      w.resize(n);
      for (auto& x : w) x = normal(rng) * scale;
    };
    fill(embed_, static_cast<size_t>(vocab) * kHidden, 1.0f);
    layers_.resize(static_cast<size_t>(n_layers));
    for (auto& l : layers_) {
      fill(l.wq, static_cast<size_t>(dims_.n_q_heads) * dims_.head_dim * kHidden, 0.25f);  // logits of a few units: attention spread, as in trained models
      fill(l.wk, static_cast<size_t>(dims_.n_kv_heads) * dims_.head_dim * kHidden, 0.25f);
      fill(l.wv, static_cast<size_t>(dims_.n_kv_heads) * dims_.head_dim * kHidden, 0.6f);
      fill(l.wo, static_cast<size_t>(kHidden) * dims_.n_q_heads * dims_.head_dim, 0.3f);
    }
  }

  const ModelDims& dims() const override { return dims_; }

  void forward(std::span<ForwardItem> batch) override {
    ++forwards;
    batch_sizes.push_back(static_cast<int>(batch.size()));
    size_t tokens = 0;
    for (const auto& item : batch) tokens += item.tokens.size();
    tokens_per_forward.push_back(tokens);
    for (auto& item : batch) {
      for (size_t t = 0; t < item.tokens.size(); ++t) {
        const int64_t pos = item.first_position + static_cast<int64_t>(t);
        positions_seen.push_back(pos);
        std::vector<float> x(embed_.begin() + item.tokens[t] * kHidden, embed_.begin() + (item.tokens[t] + 1) * kHidden);
        for (int l = 0; l < dims_.n_layers; ++l) layer(l, x, pos, item);
        if (t + 1 == item.tokens.size() && item.logits)
          for (int64_t v = 0; v < dims_.vocab_size; ++v) {
            float dot = 0;
            for (int c = 0; c < kHidden; ++c) dot += embed_[v * kHidden + c] * x[c];
            item.logits[v] = dot;
          }
      }
    }
  }

  void set_max_positions(int64_t n) { dims_.max_positions = n; }

  int forwards = 0;
  std::vector<int> batch_sizes;
  std::vector<size_t> tokens_per_forward;
  std::vector<int64_t> positions_seen;

 private:
  static constexpr int kHidden = 16;
  struct Layer {
    std::vector<float> wq, wk, wv, wo;  // [out][in]
  };

  static std::vector<float> project(const std::vector<float>& w, const std::vector<float>& x, int out) {
    std::vector<float> y(static_cast<size_t>(out));
    const int in = static_cast<int>(x.size());
    for (int o = 0; o < out; ++o)
      for (int i = 0; i < in; ++i) y[o] += w[static_cast<size_t>(o) * in + i] * x[i];
    return y;
  }

  void rope(float* v, int64_t pos) const {  // rotate-half, theta 10000
    const int d = dims_.head_dim, half = d / 2;
    for (int i = 0; i < half; ++i) {
      double angle = static_cast<double>(pos) * std::pow(10000.0, -2.0 * i / d);
      float c = static_cast<float>(std::cos(angle)), s = static_cast<float>(std::sin(angle));
      float a = v[i], b = v[i + half];
      v[i] = a * c - b * s;
      v[i + half] = b * c + a * s;
    }
  }

  void layer(int l, std::vector<float>& x, int64_t pos, ForwardItem& item) {
    const Layer& w = layers_[l];
    const int d = dims_.head_dim, hq = dims_.n_q_heads, hkv = dims_.n_kv_heads, group = hq / hkv;
    std::vector<float> q = project(w.wq, x, hq * d), k = project(w.wk, x, hkv * d), v = project(w.wv, x, hkv * d);
    for (int h = 0; h < hq; ++h) rope(&q[h * d], pos);
    for (int h = 0; h < hkv; ++h) rope(&k[h * d], pos);
    LayerCache& cache = (*item.caches)[l];
    int32_t p32 = static_cast<int32_t>(pos);
    cache.append(k.data(), v.data(), &p32, 1);
    if (item.windows) (*item.windows)[l].push(q.data(), 1);
    std::vector<float> attn(static_cast<size_t>(hq * d), 0.0f);
    const int64_t n = cache.size();
    std::vector<float> keys(static_cast<size_t>(n * d)), values(keys.size());
    for (int h = 0; h < hq; ++h) {
      const int kvh = h / group;
      kv_rows_to_f32(cache.storage(), cache.key_data(kvh), n, d, keys.data());
      kv_rows_to_f32(cache.storage(), cache.value_data(kvh), n, d, values.data());
      std::vector<double> score(static_cast<size_t>(n));
      double peak = -INFINITY;
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int c = 0; c < d; ++c) s += q[h * d + c] * keys[j * d + c];
        score[j] = s / std::sqrt(static_cast<double>(d));
        peak = std::max(peak, score[j]);
      }
      double total = 0;
      for (auto& s : score) total += s = std::exp(s - peak);
      for (int64_t j = 0; j < n; ++j)
        for (int c = 0; c < d; ++c) attn[h * d + c] += static_cast<float>(score[j] / total) * values[j * d + c];
    }
    std::vector<float> out = project(w.wo, attn, kHidden);
    for (int c = 0; c < kHidden; ++c) x[c] += out[c];
  }

  ModelDims dims_;
  std::vector<float> embed_;  // [vocab][hidden]
  std::vector<Layer> layers_;
};

}  // namespace rkv::test
