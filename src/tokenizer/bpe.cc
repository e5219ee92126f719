// BPE by merge rank (Hugging Face "BPE" model, GGUF "gpt2") and by piece
// score (SentencePiece BPE, GGUF "llama"). Both merge with a heap over the
// adjacent pairs of a linked list of symbols: O(n log n) per piece. Pieces of
// the BPE model are cached (most words repeat).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "rkv/core/error.h"
#include "tokenizer/pipeline.h"
#include "tokenizer/string_table.h"
#include "tokenizer/unicode.h"

namespace rkv::tok {
namespace {


// Open-addressing map (left id, right id) -> (rank, merged id).
class PairMap {
 public:
  void reserve(size_t n) {
    size_t cap = 16;
    while (cap * 3 < n * 4) cap <<= 1;  // load factor <= 0.75
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
  }
  // A pair listed twice keeps its last rank (as Hugging Face's merge map does).
  void insert(TokenId a, TokenId b, int32_t rank, TokenId merged) {
    uint64_t key = make_key(a, b);
    for (size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].rank < 0 || slots_[i].key == key) {
        slots_[i] = {key, rank, merged};
        return;
      }
    }
  }
  bool find(TokenId a, TokenId b, int32_t& rank, TokenId& merged) const {
    if (slots_.empty()) return false;
    uint64_t key = make_key(a, b);
    for (size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.rank < 0) return false;
      if (s.key == key) {
        rank = s.rank;
        merged = s.merged;
        return true;
      }
    }
  }

 private:
  struct Slot {
    uint64_t key = 0;
    int32_t rank = -1;
    TokenId merged = -1;
  };
  static uint64_t make_key(TokenId a, TokenId b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  static size_t hash(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return static_cast<size_t>(k);
  }
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

struct Symbol {
  TokenId id;
  int prev, next;
  uint32_t start, len;  // bytes of the piece it covers (SPM only)
};

struct HeapEntry {
  double key;  // rank (BPE) or -score (SPM): smaller first
  int pos;
  TokenId left, right;  // ids at push time, to detect stale entries (BPE)
  uint32_t left_len, right_len;  // sizes at push time (SPM)
  bool operator>(const HeapEntry& o) const { return key != o.key ? key > o.key : pos > o.pos; }
};

std::string byte_token(int b) {
  static const char* hex = "0123456789ABCDEF";
  std::string s = "<0x";
  s += hex[b >> 4];
  s += hex[b & 15];
  s += '>';
  return s;
}

// Results of recent pieces (most words repeat). Thread-safe; stops growing
// when full.
class WordCache {
 public:
  bool lookup(std::string_view piece, std::vector<TokenId>& out) const {
    if (piece.size() > kMaxPiece) return false;
    std::lock_guard<std::mutex> lock(mutex_);
    int32_t slot = index_.find(piece);
    if (slot < 0) return false;
    const Span& sp = spans_[static_cast<size_t>(slot)];
    out.insert(out.end(), ids_.begin() + sp.offset, ids_.begin() + sp.offset + sp.count);
    return true;
  }
  void store(std::string_view piece, const TokenId* ids, size_t n) const {
    if (piece.size() > kMaxPiece) return;
    std::lock_guard<std::mutex> lock(mutex_);
    if (spans_.size() >= kMaxEntries) return;
    if (!index_.insert(piece, static_cast<int32_t>(spans_.size()))) return;
    spans_.push_back({static_cast<uint32_t>(ids_.size()), static_cast<uint32_t>(n)});
    ids_.insert(ids_.end(), ids, ids + n);
  }

 private:
  struct Span {
    uint32_t offset, count;
  };
  static constexpr size_t kMaxPiece = 64;
  static constexpr size_t kMaxEntries = 1 << 18;
  mutable std::mutex mutex_;
  mutable StringTable index_;  // piece -> span index
  mutable std::vector<Span> spans_;
  mutable std::vector<TokenId> ids_;
};

constexpr std::string_view kMetaspace = "\xE2\x96\x81";

// SentencePiece-style vocabularies mark word starts with "▁". When no token
// has a "▁" right after another character (only runs of "▁" do), no token can
// span the point before a "▁" that follows another character: the text splits
// there into words that encode independently, with exactly the same result.
bool metaspace_boundaries_are_safe(const std::vector<std::string>& vocab) {
  bool has_metaspace = false;
  for (const std::string& t : vocab) {
    for (size_t p = t.find(kMetaspace); p != std::string::npos; p = t.find(kMetaspace, p + 1)) {
      has_metaspace = true;
      if (p > 0 && (p < kMetaspace.size() || t.compare(p - kMetaspace.size(), kMetaspace.size(), kMetaspace) != 0))
        return false;
    }
  }
  return has_metaspace;
}

template <class F>
void for_each_metaspace_word(std::string_view s, F&& f) {
  const size_t m = kMetaspace.size();
  size_t start = 0;
  for (size_t p = s.find(kMetaspace, 1); p != std::string_view::npos; p = s.find(kMetaspace, p + 1)) {
    if (p >= m && s.compare(p - m, m, kMetaspace) == 0) continue;  // inside a run of "▁"
    if (p > start) {
      f(s.substr(start, p - start));
      start = p;
    }
  }
  f(s.substr(start));
}

class Bpe : public Model {
 public:
  Bpe(const BpeConfig& config, const std::string& where) : opt_(options_of(config)) {
    RKV_CHECK(config.continuing_subword_prefix.empty() && config.end_of_word_suffix.empty(), where,
              ": BPE continuing_subword_prefix / end_of_word_suffix are not supported");
    const auto& vocab = config.vocab;
    size_t bytes = 0;
    for (const std::string& t : vocab) bytes += t.size();
    // input_: token in the form pieces arrive in (raw bytes for byte-level
    // models; tokens outside the GPT-2 alphabet can never be produced).
    input_.reserve(vocab.size(), bytes);
    std::string raw;
    for (size_t id = 0; id < vocab.size(); ++id) {
      const std::string& t = vocab[id];
      if (t.empty()) continue;
      if (!opt_.byte_level)
        input_.insert(t, static_cast<TokenId>(id));
      else if (to_raw_bytes(t, raw))
        input_.insert(raw, static_cast<TokenId>(id));
    }
    std::fill(std::begin(byte_id_), std::end(byte_id_), -1);
    for (int b = 0; b < 256; ++b) {
      if (opt_.byte_level)
        byte_id_[b] = input_.find(std::string(1, static_cast<char>(b)));
      else if (opt_.byte_fallback)
        byte_id_[b] = input_.find(byte_token(b));
    }
    merges_.reserve(config.merges.size());
    std::string a_raw, b_raw, joined;
    for (size_t r = 0; r < config.merges.size(); ++r) {
      const auto& [a, b] = config.merges[r];
      if (opt_.byte_level) {
        if (!to_raw_bytes(a, a_raw) || !to_raw_bytes(b, b_raw)) continue;
      } else {
        a_raw = a;
        b_raw = b;
      }
      TokenId ia = input_.find(a_raw), ib = input_.find(b_raw);
      if (ia < 0 || ib < 0) continue;
      joined.assign(a_raw).append(b_raw);
      TokenId im = input_.find(joined);
      // A merge whose parts or result are not tokens can never apply.
      if (im < 0) continue;
      merges_.insert(ia, ib, static_cast<int32_t>(r), im);
    }
    // ignore_merges looks at whole pieces. fuse_unk cannot join unknowns
    // across words: each word after the first starts with the token "▁".
    split_words_ = !opt_.byte_level && !opt_.ignore_merges && input_.find(kMetaspace) >= 0 &&
                   metaspace_boundaries_are_safe(vocab);
  }

  void encode(std::string_view piece, std::vector<TokenId>& out) const override {
    if (piece.empty()) return;
    if (split_words_ && piece.size() > 16) {
      for_each_metaspace_word(piece, [&](std::string_view word) { encode_cached(word, out); });
      return;
    }
    encode_cached(piece, out);
  }

 private:
  struct Options {
    bool byte_level, byte_fallback, fuse_unk, ignore_merges;
    std::optional<TokenId> unk;
  };
  static Options options_of(const BpeConfig& c) {
    return {c.byte_level, c.byte_fallback, c.fuse_unk, c.ignore_merges, c.unk};
  }

  void encode_cached(std::string_view piece, std::vector<TokenId>& out) const {
    if (cache_.lookup(piece, out)) return;
    size_t mark = out.size();
    encode_uncached(piece, out);
    cache_.store(piece, out.data() + mark, out.size() - mark);
  }

  static bool to_raw_bytes(const std::string& t, std::string& raw) {
    raw.clear();
    for (size_t i = 0; i < t.size();) {
      int len = utf8_valid_length(t, i);
      if (len == 0) return false;
      int b = unicode_to_byte(utf8_decode(t, i, len));
      if (b < 0) return false;
      raw += static_cast<char>(b);
      i += static_cast<size_t>(len);
    }
    return true;
  }

  void push_unk(std::vector<Symbol>& syms) const {
    if (!opt_.unk) return;  // no unk token: the character is dropped
    if (opt_.fuse_unk && !syms.empty() && syms.back().id == *opt_.unk) return;
    syms.push_back({*opt_.unk, 0, 0, 0, 0});
  }

  void encode_uncached(std::string_view piece, std::vector<TokenId>& out) const {
    if (opt_.ignore_merges) {
      TokenId id = input_.find(piece);
      if (id >= 0) {
        out.push_back(id);
        return;
      }
    }
    thread_local std::vector<Symbol> syms;
    syms.clear();
    if (opt_.byte_level) {
      for (char c : piece) {
        TokenId id = byte_id_[static_cast<unsigned char>(c)];
        if (id >= 0)
          syms.push_back({id, 0, 0, 0, 0});
        else
          push_unk(syms);
      }
    } else {
      for (size_t i = 0; i < piece.size();) {
        int len = utf8_valid_length(piece, i);
        if (len == 0) len = 1;  // not reached for valid text
        TokenId id = input_.find(piece.substr(i, static_cast<size_t>(len)));
        if (id >= 0) {
          syms.push_back({id, 0, 0, 0, 0});
        } else if (opt_.byte_fallback) {
          bool all = true;
          for (int k = 0; k < len; ++k) all = all && byte_id_[static_cast<unsigned char>(piece[i + k])] >= 0;
          if (all) {
            for (int k = 0; k < len; ++k) syms.push_back({byte_id_[static_cast<unsigned char>(piece[i + k])], 0, 0, 0, 0});
          } else {
            push_unk(syms);
          }
        } else {
          push_unk(syms);
        }
        i += static_cast<size_t>(len);
      }
    }
    const int n = static_cast<int>(syms.size());
    if (n == 0) return;
    for (int i = 0; i < n; ++i) {
      syms[static_cast<size_t>(i)].prev = i - 1;
      syms[static_cast<size_t>(i)].next = i + 1 < n ? i + 1 : -1;
    }
    thread_local std::vector<HeapEntry> heap;
    heap.clear();
    auto push_pair = [&](int pos) {
      const Symbol& l = syms[static_cast<size_t>(pos)];
      if (l.next < 0) return;
      const Symbol& r = syms[static_cast<size_t>(l.next)];
      int32_t rank;
      TokenId merged;
      if (merges_.find(l.id, r.id, rank, merged)) {
        heap.push_back({static_cast<double>(rank), pos, l.id, r.id, 0, 0});
        std::push_heap(heap.begin(), heap.end(), std::greater<>());
      }
    };
    for (int i = 0; i + 1 < n; ++i) push_pair(i);
    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), std::greater<>());
      HeapEntry e = heap.back();
      heap.pop_back();
      Symbol& l = syms[static_cast<size_t>(e.pos)];
      if (l.id != e.left || l.next < 0) continue;
      Symbol& r = syms[static_cast<size_t>(l.next)];
      if (r.id != e.right) continue;
      int32_t rank;
      TokenId merged;
      merges_.find(l.id, r.id, rank, merged);
      l.id = merged;
      r.id = -1;
      l.next = r.next;
      if (r.next >= 0) syms[static_cast<size_t>(r.next)].prev = e.pos;
      if (l.prev >= 0) push_pair(l.prev);
      push_pair(e.pos);
    }
    for (int i = 0; i >= 0; i = syms[static_cast<size_t>(i)].next) out.push_back(syms[static_cast<size_t>(i)].id);
  }

  Options opt_;
  bool split_words_ = false;
  StringTable input_;  // input form (raw bytes when byte-level) -> id
  TokenId byte_id_[256];
  PairMap merges_;
  WordCache cache_;
};

class Spm : public Model {
 public:
  Spm(SpmConfig config, const std::string& where) : cfg_(std::move(config)) {
    RKV_CHECK(cfg_.scores.size() == cfg_.vocab.size() && cfg_.mergeable.size() == cfg_.vocab.size(), where,
              ": scores / token types do not match the vocabulary size");
    size_t bytes = 0;
    for (const std::string& t : cfg_.vocab) bytes += t.size();
    vocab_.reserve(cfg_.vocab.size(), bytes);
    for (size_t id = 0; id < cfg_.vocab.size(); ++id)
      if (!cfg_.vocab[id].empty()) vocab_.insert(cfg_.vocab[id], static_cast<TokenId>(id));
    for (int b = 0; b < 256; ++b) byte_id_[b] = vocab_.find(byte_token(b));
    for (float& score : cfg_.scores)
      if (!std::isfinite(score)) score = -1e30f;  // keeps the heap order well defined
    split_words_ = metaspace_boundaries_are_safe(cfg_.vocab);
    cfg_.vocab.clear();
    cfg_.vocab.shrink_to_fit();
  }

  void encode(std::string_view piece, std::vector<TokenId>& out) const override {
    if (split_words_ && piece.size() > 16) {
      for_each_metaspace_word(piece, [&](std::string_view word) { encode_cached(word, out); });
      return;
    }
    encode_cached(piece, out);
  }

 private:
  void encode_cached(std::string_view piece, std::vector<TokenId>& out) const {
    if (cache_.lookup(piece, out)) return;
    size_t mark = out.size();
    encode_uncached(piece, out);
    cache_.store(piece, out.data() + mark, out.size() - mark);
  }

  void encode_uncached(std::string_view piece, std::vector<TokenId>& out) const {
    std::vector<Symbol> syms;
    for (size_t i = 0; i < piece.size();) {
      int len = utf8_valid_length(piece, i);
      if (len == 0) len = 1;
      syms.push_back({-1, 0, 0, static_cast<uint32_t>(i), static_cast<uint32_t>(len)});
      i += static_cast<size_t>(len);
    }
    const int n = static_cast<int>(syms.size());
    if (n == 0) return;
    for (int i = 0; i < n; ++i) {
      syms[static_cast<size_t>(i)].prev = i - 1;
      syms[static_cast<size_t>(i)].next = i + 1 < n ? i + 1 : -1;
    }
    std::vector<HeapEntry> heap;
    auto push_pair = [&](int pos) {
      const Symbol& l = syms[static_cast<size_t>(pos)];
      if (l.next < 0) return;
      const Symbol& r = syms[static_cast<size_t>(l.next)];
      TokenId id = vocab_.find(piece.substr(l.start, l.len + r.len));
      if (id < 0 || !cfg_.mergeable[static_cast<size_t>(id)]) return;
      heap.push_back({-static_cast<double>(cfg_.scores[static_cast<size_t>(id)]), pos, 0, 0, l.len, r.len});
      std::push_heap(heap.begin(), heap.end(), std::greater<>());
    };
    for (int i = 0; i + 1 < n; ++i) push_pair(i);
    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), std::greater<>());
      HeapEntry e = heap.back();
      heap.pop_back();
      Symbol& l = syms[static_cast<size_t>(e.pos)];
      if (l.len == 0 || l.len != e.left_len || l.next < 0) continue;
      Symbol& r = syms[static_cast<size_t>(l.next)];
      if (r.len != e.right_len) continue;
      l.len += r.len;
      r.len = 0;
      l.next = r.next;
      if (r.next >= 0) syms[static_cast<size_t>(r.next)].prev = e.pos;
      if (l.prev >= 0) push_pair(l.prev);
      push_pair(e.pos);
    }
    for (int i = 0; i >= 0; i = syms[static_cast<size_t>(i)].next) {
      const Symbol& s = syms[static_cast<size_t>(i)];
      std::string_view text = piece.substr(s.start, s.len);
      TokenId id = vocab_.find(text);
      if (id >= 0) {
        out.push_back(id);
        continue;
      }
      bool all = true;
      for (char c : text) all = all && byte_id_[static_cast<unsigned char>(c)] >= 0;
      if (all) {
        for (char c : text) out.push_back(byte_id_[static_cast<unsigned char>(c)]);
      } else if (cfg_.unk) {
        out.push_back(*cfg_.unk);
      }
    }
  }

  SpmConfig cfg_;
  bool split_words_ = false;
  StringTable vocab_;
  WordCache cache_;
  TokenId byte_id_[256];
};

}  // namespace

std::unique_ptr<Model> make_bpe(const BpeConfig& config, const std::string& where) {
  return std::make_unique<Bpe>(config, where);
}
std::unique_ptr<Model> make_spm(SpmConfig config, const std::string& where) {
  return std::make_unique<Spm>(std::move(config), where);
}

}  // namespace rkv::tok
