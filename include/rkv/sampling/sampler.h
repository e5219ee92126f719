// sampling/sampler: logits -> next token id.
//
// Order of operations (Hugging Face's): repetition penalty (CTRL-style:
// positive logits divided, negative multiplied, once per distinct token seen),
// presence / frequency penalties (OpenAI-style: logit -= presence * [count>0]
// + frequency * count), then greedy argmax when temperature == 0, else
// temperature, top-k, top-p (nucleus, smallest set with mass >= p), min-p
// (drop tokens with prob < min_p * max prob), and a draw from the remaining
// distribution with a seeded, platform-independent RNG (xoshiro256**).
// Ties in argmax go to the lowest id.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace rkv {

struct SamplingParams {
  double temperature = 0.0;  // 0 = greedy
  int64_t top_k = 0;         // 0 = off
  double top_p = 1.0;        // 1 = off
  double min_p = 0.0;        // 0 = off
  double repetition_penalty = 1.0;
  double presence_penalty = 0.0;
  double frequency_penalty = 0.0;
  uint64_t seed = 0;
  void validate() const;  // rkv::Error naming the bad parameter
};

// A small deterministic RNG (xoshiro256** seeded by splitmix64).
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t next();
  double uniform();  // [0, 1) with 53 random bits
 private:
  uint64_t s_[4];
};

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);
  // logits: [vocab] (not modified); history: the ids so far (prompt + generated)
  // that the penalties look at.
  int32_t sample(const float* logits, int64_t vocab, std::span<const int32_t> history);
  const SamplingParams& params() const { return params_; }

  // The probability distribution sample() draws from (after all filters);
  // for tests. probs: [vocab].
  void distribution(const float* logits, int64_t vocab, std::span<const int32_t> history, std::vector<double>& probs) const;

 private:
  void penalized(const float* logits, int64_t vocab, std::span<const int32_t> history, std::vector<float>& out) const;
  SamplingParams params_;
  Rng rng_;
};

}  // namespace rkv
