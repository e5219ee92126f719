// UTF-8 helpers, NFC/NFD over the generated UCD tables, byte-level alphabet.
#include "tokenizer/unicode.h"

#include <algorithm>
#include <unordered_map>
#include <vector>

namespace rkv::tok {
namespace {

struct CccRange {
  uint32_t first, last;
  uint8_t ccc;
};
struct Decomposition {
  uint32_t cp, first, second;
};
struct Composition {
  uint32_t first, second, composite;
};
#include "tokenizer/unicode_tables.inc"

constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

uint8_t ccc_of(uint32_t cp) {
  if (cp < 0x300) return 0;
  auto it = std::upper_bound(std::begin(kCccRanges), std::end(kCccRanges), cp,
                             [](uint32_t v, const CccRange& r) { return v < r.first; });
  if (it == std::begin(kCccRanges)) return 0;
  --it;
  return cp <= it->last ? it->ccc : 0;
}

const Decomposition* decomposition_of(uint32_t cp) {
  if (cp < 0xC0) return nullptr;
  auto it = std::lower_bound(std::begin(kDecompositions), std::end(kDecompositions), cp,
                             [](const Decomposition& d, uint32_t v) { return d.cp < v; });
  return it != std::end(kDecompositions) && it->cp == cp ? it : nullptr;
}

// Code points that can make a string change under NFC: a non-zero combining
// class, a canonical decomposition, or a possible second half of a pair.
struct QuickCheck {
  std::vector<uint32_t> unstable;  // sorted
  QuickCheck() {
    for (const auto& r : kCccRanges)
      for (uint32_t c = r.first; c <= r.last; ++c) unstable.push_back(c);
    for (const auto& d : kDecompositions) unstable.push_back(d.cp);
    for (const auto& c : kCompositions) unstable.push_back(c.second);
    for (uint32_t c = kVBase; c < kVBase + kVCount; ++c) unstable.push_back(c);
    for (uint32_t c = kTBase + 1; c < kTBase + kTCount; ++c) unstable.push_back(c);
    std::sort(unstable.begin(), unstable.end());
    unstable.erase(std::unique(unstable.begin(), unstable.end()), unstable.end());
  }
  bool is_unstable(uint32_t cp) const { return std::binary_search(unstable.begin(), unstable.end(), cp); }
};
const QuickCheck& quick_check() {
  static const QuickCheck q;
  return q;
}

void decompose(uint32_t cp, std::vector<uint32_t>& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    uint32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount) out.push_back(kTBase + s % kTCount);
    return;
  }
  const Decomposition* d = decomposition_of(cp);
  if (!d) {
    out.push_back(cp);
    return;
  }
  decompose(d->first, out);
  if (d->second) decompose(d->second, out);
}

// Canonical decomposition + canonical ordering.
std::vector<uint32_t> decompose_string(std::string_view s) {
  std::vector<uint32_t> cps;
  cps.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    int len = utf8_valid_length(s, i);
    if (len == 0) {  // not reached for valid input; keep U+FFFD
      cps.push_back(0xFFFD);
      ++i;
      continue;
    }
    decompose(utf8_decode(s, i, len), cps);
    i += static_cast<size_t>(len);
  }
  // Stable sort of each run of non-starters by combining class.
  for (size_t i = 0; i < cps.size();) {
    if (ccc_of(cps[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < cps.size() && ccc_of(cps[j]) != 0) ++j;
    std::stable_sort(cps.begin() + static_cast<long>(i), cps.begin() + static_cast<long>(j),
                     [](uint32_t a, uint32_t b) { return ccc_of(a) < ccc_of(b); });
    i = j;
  }
  return cps;
}

bool compose_pair(uint32_t a, uint32_t b, uint32_t& out) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount) {
    out = kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
    return true;
  }
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase && b < kTBase + kTCount) {
    out = a + (b - kTBase);
    return true;
  }
  auto it = std::lower_bound(std::begin(kCompositions), std::end(kCompositions), std::pair{a, b},
                             [](const Composition& c, const std::pair<uint32_t, uint32_t>& v) {
                               return c.first < v.first || (c.first == v.first && c.second < v.second);
                             });
  if (it != std::end(kCompositions) && it->first == a && it->second == b) {
    out = it->composite;
    return true;
  }
  return false;
}

}  // namespace

int utf8_valid_length(std::string_view s, size_t i) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size();
  unsigned char c = p[i];
  if (c < 0x80) return 1;
  if (c < 0xC2) return 0;
  if (c < 0xE0) return (i + 1 < n && (p[i + 1] & 0xC0) == 0x80) ? 2 : 0;
  if (c < 0xF0) {
    if (i + 2 >= n) return 0;
    unsigned char c1 = p[i + 1];
    if ((c1 & 0xC0) != 0x80 || (p[i + 2] & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && c1 < 0xA0) return 0;
    if (c == 0xED && c1 >= 0xA0) return 0;  // surrogates
    return 3;
  }
  if (c < 0xF5) {
    if (i + 3 >= n) return 0;
    unsigned char c1 = p[i + 1];
    if ((c1 & 0xC0) != 0x80 || (p[i + 2] & 0xC0) != 0x80 || (p[i + 3] & 0xC0) != 0x80) return 0;
    if (c == 0xF0 && c1 < 0x90) return 0;
    if (c == 0xF4 && c1 >= 0x90) return 0;
    return 4;
  }
  return 0;
}

bool utf8_valid(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    int len = utf8_valid_length(s, i);
    if (len == 0) return false;
    i += static_cast<size_t>(len);
  }
  return true;
}

uint32_t utf8_decode(std::string_view s, size_t i, int len) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + i;
  switch (len) {
    case 1: return p[0];
    case 2: return ((p[0] & 0x1Fu) << 6) | (p[1] & 0x3Fu);
    case 3: return ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
    default: return ((p[0] & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) | (p[3] & 0x3Fu);
  }
}

void utf8_append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

namespace {
// Length of the maximal prefix of an invalid sequence at i that could start a
// valid one (the "maximal subpart" replaced by a single U+FFFD), at least 1.
size_t invalid_subpart(std::string_view s, size_t i) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  unsigned char c = p[i];
  int need;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c < 0xE0) {
    need = 1;
  } else if (c >= 0xE0 && c < 0xF0) {
    need = 2;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c < 0xF5) {
    need = 3;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 1;
  }
  size_t k = 1;
  for (int j = 0; j < need && i + k < s.size(); ++j) {
    unsigned char b = p[i + k];
    if (b < lo || b > hi) break;
    lo = 0x80;
    hi = 0xBF;
    ++k;
  }
  return k;
}
}  // namespace

std::string utf8_lossy(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    int len = utf8_valid_length(s, i);
    if (len > 0) {
      out.append(s.data() + i, static_cast<size_t>(len));
      i += static_cast<size_t>(len);
    } else {
      out += "\xEF\xBF\xBD";
      i += invalid_subpart(s, i);
    }
  }
  return out;
}

size_t utf8_complete_prefix(std::string_view s) {
  // Look at most 3 bytes back for a lead byte whose sequence is cut short.
  size_t n = s.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    size_t i = n - back;
    unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte, keep looking
    if (c >= 0xC2 && c < 0xF5) {
      size_t expect = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
      if (back < expect && invalid_subpart(s, i) == back) return i;  // valid so far, incomplete
    }
    return n;
  }
  return n;
}

bool nfc_quick_yes(std::string_view s) {
  const QuickCheck& q = quick_check();
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0xC3) {  // ASCII and U+0080..U+00BF are stable
      i += c < 0x80 ? 1 : 2;
      continue;
    }
    int len = utf8_valid_length(s, i);
    if (len == 0) return false;
    if (q.is_unstable(utf8_decode(s, i, len))) return false;
    i += static_cast<size_t>(len);
  }
  return true;
}

std::string nfd(std::string_view s) {
  std::vector<uint32_t> cps = decompose_string(s);
  std::string out;
  out.reserve(s.size() + 8);
  for (uint32_t cp : cps) utf8_append(out, cp);
  return out;
}

namespace {
std::string nfc_region(std::string_view s) {
  std::vector<uint32_t> cps = decompose_string(s);
  // Canonical composition (UAX #15): a character combines with the last
  // starter unless blocked by a character of equal or higher class between.
  size_t starter = SIZE_MAX;
  uint8_t last_ccc = 0;
  size_t w = 0;
  for (size_t r = 0; r < cps.size(); ++r) {
    uint32_t cp = cps[r];
    uint8_t ccc = ccc_of(cp);
    uint32_t composite;
    if (starter != SIZE_MAX && (last_ccc < ccc || (last_ccc == 0 && w == starter + 1)) &&
        compose_pair(cps[starter], cp, composite)) {
      cps[starter] = composite;
      continue;
    }
    if (ccc == 0) {
      starter = w;
      last_ccc = 0;
    } else {
      last_ccc = ccc;
    }
    cps[w++] = cp;
  }
  cps.resize(w);
  std::string out;
  out.reserve(s.size());
  for (uint32_t cp : cps) utf8_append(out, cp);
  return out;
}
}  // namespace

// NFC(AB) = NFC(A) NFC(B) when B starts with a stable character (combining
// class 0, no decomposition, never the second half of a composition): only
// the regions around unstable characters are normalized.
std::string nfc(std::string_view s) {
  const QuickCheck& q = quick_check();
  std::string out;
  out.reserve(s.size());
  size_t copied = 0;       // s[0, copied) is in out
  size_t last_stable = 0;  // start of the last stable character seen
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : utf8_valid_length(s, i);
    if (len == 0) len = 1;  // invalid byte: left as it is
    bool unstable = c >= 0xC3 && q.is_unstable(utf8_decode(s, i, len));
    if (!unstable) {
      last_stable = i;
      i += static_cast<size_t>(len);
      continue;
    }
    // Region: from the last stable character to the next stable one.
    size_t start = std::max(last_stable, copied), end = i + static_cast<size_t>(len);
    while (end < s.size()) {
      unsigned char e = static_cast<unsigned char>(s[end]);
      int l = e < 0x80 ? 1 : utf8_valid_length(s, end);
      if (l == 0) break;
      if (e < 0xC3 || !q.is_unstable(utf8_decode(s, end, l))) break;
      end += static_cast<size_t>(l);
    }
    out.append(s.substr(copied, start - copied));
    out += nfc_region(s.substr(start, end - start));
    copied = end;
    last_stable = end;
    i = end;
  }
  out.append(s.substr(copied));
  return out;
}

const char* unicode_version() { return kUnicodeVersion; }

const std::array<std::string, 256>& byte_to_unicode() {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      utf8_append(t[static_cast<size_t>(b)], printable ? static_cast<uint32_t>(b) : next++);
    }
    return t;
  }();
  return table;
}

int unicode_to_byte(uint32_t cp) {
  static const std::vector<int16_t> inverse = [] {
    std::vector<int16_t> inv(512, -1);
    const auto& t = byte_to_unicode();
    for (int b = 0; b < 256; ++b) {
      const std::string& s = t[static_cast<size_t>(b)];
      inv[utf8_decode(s, 0, static_cast<int>(s.size()))] = static_cast<int16_t>(b);
    }
    return inv;
  }();
  return cp < inverse.size() ? inverse[cp] : -1;
}

}  // namespace rkv::tok
