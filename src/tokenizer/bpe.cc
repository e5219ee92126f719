// BPE by merge rank (Hugging Face "BPE" model, GGUF "gpt2") and by piece
// score (SentencePiece BPE, GGUF "llama"). Both merge with a heap over the
// adjacent pairs of a linked list of symbols: O(n log n) per piece. Pieces of
// the BPE model are cached (most words repeat).
#include <algorithm>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "rkv/core/error.h"
#include "tokenizer/pipeline.h"
#include "tokenizer/unicode.h"

namespace rkv::tok {
namespace {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept {
    // FNV-1a over 8-byte words, then a final mix: fast for short keys.
    uint64_t h = 0xcbf29ce484222325ull ^ s.size();
    size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      h = (h ^ w) * 0x100000001b3ull;
      h ^= h >> 29;
    }
    for (; i < s.size(); ++i) h = (h ^ static_cast<unsigned char>(s[i])) * 0x100000001b3ull;
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ull;
    h ^= h >> 32;
    return static_cast<size_t>(h);
  }
};
using StringMap = std::unordered_map<std::string, TokenId, StringHash, std::equal_to<>>;

// Open-addressing map (left id, right id) -> (rank, merged id).
class PairMap {
 public:
  void reserve(size_t n) {
    size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
  }
  // Keeps the first (lowest-rank) entry of a pair.
  void insert(TokenId a, TokenId b, int32_t rank, TokenId merged) {
    uint64_t key = make_key(a, b);
    for (size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].rank < 0) {
        slots_[i] = {key, rank, merged};
        return;
      }
      if (slots_[i].key == key) return;
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

class Bpe : public Model {
 public:
  Bpe(BpeConfig config, const std::string& where) : cfg_(std::move(config)) {
    RKV_CHECK(cfg_.continuing_subword_prefix.empty() && cfg_.end_of_word_suffix.empty(), where,
              ": BPE continuing_subword_prefix / end_of_word_suffix are not supported");
    const auto& vocab = cfg_.vocab;
    StringMap original;  // token string -> id
    original.reserve(vocab.size());
    input_.reserve(vocab.size());
    for (size_t id = 0; id < vocab.size(); ++id) {
      const std::string& t = vocab[id];
      if (t.empty()) continue;
      original.emplace(t, static_cast<TokenId>(id));
      if (cfg_.byte_level) {
        std::string raw;
        if (to_raw_bytes(t, raw)) input_.emplace(std::move(raw), static_cast<TokenId>(id));
      } else {
        input_.emplace(t, static_cast<TokenId>(id));
      }
    }
    std::fill(std::begin(byte_id_), std::end(byte_id_), -1);
    for (int b = 0; b < 256; ++b) {
      if (cfg_.byte_level) {
        auto it = input_.find(std::string(1, static_cast<char>(b)));
        if (it != input_.end()) byte_id_[b] = it->second;
      } else if (cfg_.byte_fallback) {
        auto it = original.find(byte_token(b));
        if (it != original.end()) byte_id_[b] = it->second;
      }
    }
    merges_.reserve(cfg_.merges.size());
    std::string joined;
    for (size_t r = 0; r < cfg_.merges.size(); ++r) {
      const auto& [a, b] = cfg_.merges[r];
      auto ia = original.find(a), ib = original.find(b);
      joined.assign(a).append(b);
      auto im = original.find(joined);
      // A merge whose parts or result are not tokens can never apply.
      if (ia == original.end() || ib == original.end() || im == original.end()) continue;
      merges_.insert(ia->second, ib->second, static_cast<int32_t>(r), im->second);
    }
    cfg_.merges.clear();
    cfg_.merges.shrink_to_fit();
  }

  void encode(std::string_view piece, std::vector<TokenId>& out) const override {
    if (piece.empty()) return;
    const bool cacheable = piece.size() <= kMaxCachedPiece;
    if (cacheable) {
      std::lock_guard<std::mutex> lock(cache_mutex_);
      auto it = cache_.find(piece);
      if (it != cache_.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    size_t mark = out.size();
    encode_uncached(piece, out);
    if (cacheable) {
      std::lock_guard<std::mutex> lock(cache_mutex_);
      if (cache_.size() < kMaxCacheEntries)
        cache_.emplace(std::string(piece), std::vector<TokenId>(out.begin() + static_cast<long>(mark), out.end()));
    }
  }

 private:
  static constexpr size_t kMaxCachedPiece = 64;
  static constexpr size_t kMaxCacheEntries = 1 << 18;

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
    if (!cfg_.unk) return;  // no unk token: the character is dropped
    if (cfg_.fuse_unk && !syms.empty() && syms.back().id == *cfg_.unk) return;
    syms.push_back({*cfg_.unk, 0, 0, 0, 0});
  }

  void encode_uncached(std::string_view piece, std::vector<TokenId>& out) const {
    if (cfg_.ignore_merges) {
      auto it = input_.find(piece);
      if (it != input_.end()) {
        out.push_back(it->second);
        return;
      }
    }
    thread_local std::vector<Symbol> syms;
    syms.clear();
    if (cfg_.byte_level) {
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
        auto it = input_.find(piece.substr(i, static_cast<size_t>(len)));
        if (it != input_.end()) {
          syms.push_back({it->second, 0, 0, 0, 0});
        } else if (cfg_.byte_fallback) {
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

  BpeConfig cfg_;
  StringMap input_;  // input form (raw bytes when byte-level) -> id
  TokenId byte_id_[256];
  PairMap merges_;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<TokenId>, StringHash, std::equal_to<>> cache_;
};

class Spm : public Model {
 public:
  Spm(SpmConfig config, const std::string& where) : cfg_(std::move(config)) {
    RKV_CHECK(cfg_.scores.size() == cfg_.vocab.size() && cfg_.mergeable.size() == cfg_.vocab.size(), where,
              ": scores / token types do not match the vocabulary size");
    vocab_.reserve(cfg_.vocab.size());
    for (size_t id = 0; id < cfg_.vocab.size(); ++id)
      if (!cfg_.vocab[id].empty()) vocab_.emplace(cfg_.vocab[id], static_cast<TokenId>(id));
    std::fill(std::begin(byte_id_), std::end(byte_id_), -1);
    for (int b = 0; b < 256; ++b) {
      auto it = vocab_.find(byte_token(b));
      if (it != vocab_.end()) byte_id_[b] = it->second;
    }
  }

  void encode(std::string_view piece, std::vector<TokenId>& out) const override {
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
      auto it = vocab_.find(piece.substr(l.start, l.len + r.len));
      if (it == vocab_.end() || !cfg_.mergeable[static_cast<size_t>(it->second)]) return;
      heap.push_back({-static_cast<double>(cfg_.scores[static_cast<size_t>(it->second)]), pos, 0, 0, l.len, r.len});
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
      auto it = vocab_.find(text);
      if (it != vocab_.end()) {
        out.push_back(it->second);
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

 private:
  SpmConfig cfg_;
  StringMap vocab_;
  TokenId byte_id_[256];
};

}  // namespace

std::unique_ptr<Model> make_bpe(BpeConfig config, const std::string& where) {
  return std::make_unique<Bpe>(std::move(config), where);
}
std::unique_ptr<Model> make_spm(SpmConfig config, const std::string& where) {
  return std::make_unique<Spm>(std::move(config), where);
}

}  // namespace rkv::tok
