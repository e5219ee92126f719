// sampling/sampler: logits -> next token.
//
// The order is Hugging Face's: penalties (repetition, then OpenAI-style
// presence / frequency over the generated history), then temperature, top-k,
// top-p (nucleus), min-p, and a draw from the renormalised distribution with
// a seeded RNG. temperature == 0 (or top_k == 1) is greedy: the argmax, ties
// to the lower id. Parameters are validated at construction (rkv::Error).
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace rkv {

struct SamplingParams {
  float temperature = 0.0f;        // 0: greedy
  int top_k = 0;                   // 0: off
  float top_p = 1.0f;              // 1: off
  float min_p = 0.0f;              // 0: off
  float repetition_penalty = 1.0f; // HF: logit > 0 ? logit / p : logit * p, for every token seen
  float presence_penalty = 0.0f;   // logit -= presence * (count > 0)
  float frequency_penalty = 0.0f;  // logit -= frequency * count
  uint64_t seed = 0;

  void validate() const;
  bool greedy() const { return temperature == 0.0f || top_k == 1; }
};

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);
  const SamplingParams& params() const { return params_; }

  // logits: [vocab], modified in place. history: tokens the penalties see
  // (prompt and generated, as Hugging Face's repetition penalty does).
  int32_t sample(std::span<float> logits, std::span<const int32_t> history);

 private:
  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int32_t>> candidates_;  // scratch: (logit, id)
};

int32_t argmax(std::span<const float> logits);  // ties: lower id

}  // namespace rkv
