// ops/vec: small f32 vector kernels shared by layers (dot products against a
// block of rows), with run-time dispatch: AVX-512, AVX2+FMA, portable.
#pragma once

#include <cstdint>

namespace rkv {

// out[r] = sum_c x[c] * rows[r][c] for r < n_rows.   x: [d], rows: [n_rows][d]
void dot_rows(const float* x, const float* rows, int64_t n_rows, int d, float* out);

}  // namespace rkv
