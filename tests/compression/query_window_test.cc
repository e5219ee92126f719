#include "common/testing.h"
#include "rkv/compression/query_window.h"

namespace rkv {
namespace {

// query of token t, head h, component c
float value(int64_t t, int h, int c) { return static_cast<float>(t * 100 + h * 10 + c); }

std::vector<float> tokens(int64_t first, int64_t count, int heads, int d) {
  std::vector<float> out;
  for (int64_t t = first; t < first + count; ++t)
    for (int h = 0; h < heads; ++h)
      for (int c = 0; c < d; ++c) out.push_back(value(t, h, c));
  return out;
}

TEST(QueryWindow, KeepsTheNewestQueriesOldestFirst) {
  const int heads = 3, d = 4;
  QueryWindow w(heads, d, 5);
  int64_t next = 0;
  for (int64_t chunk : {7, 1, 1, 2, 1, 9, 1}) {  // a prefill, then decode steps
    auto q = tokens(next, chunk, heads, d);
    w.push(q.data(), chunk);
    next += chunk;
    const int64_t expect = std::min<int64_t>(5, next);
    ASSERT_EQ(w.size(), expect);
    for (int h = 0; h < heads; ++h)
      for (int64_t i = 0; i < expect; ++i)
        for (int c = 0; c < d; ++c)
          ASSERT_EQ(w.data()[(h * expect + i) * d + c], value(next - expect + i, h, c)) << "head " << h << " row " << i;
  }
}

}  // namespace
}  // namespace rkv
