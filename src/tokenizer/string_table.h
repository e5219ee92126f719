// tokenizer/string_table: string -> int32 map with one arena for all keys and
// open addressing (no allocation per entry): vocabularies of 150k+ tokens
// load and look up fast.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "rkv/core/error.h"

namespace rkv::tok {

inline uint64_t hash_bytes(std::string_view s) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (s.size() * 0xff51afd7ed558ccdull);
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0x100000001b3ull;
    h ^= h >> 31;
  }
  uint64_t tail = 0;
  if (i < s.size()) std::memcpy(&tail, s.data() + i, s.size() - i);
  h = (h ^ tail) * 0xd6e8feb86659fd93ull;
  h ^= h >> 32;
  h *= 0xd6e8feb86659fd93ull;
  h ^= h >> 29;
  return h;
}

class StringTable {
 public:
  void reserve(size_t n, size_t key_bytes = 0) {
    arena_.reserve(key_bytes);
    size_t cap = 16;
    while (cap * 3 < n * 4) cap <<= 1;  // load factor <= 0.75
    if (cap > slots_.size()) rehash(cap);
  }
  // Inserts key -> value unless the key is present; returns whether inserted.
  bool insert(std::string_view key, int32_t value) { return put(key, value, false); }
  // Inserts or overwrites.
  void assign(std::string_view key, int32_t value) { put(key, value, true); }
  // The value, or -1.
  int32_t find(std::string_view key) const {
    if (slots_.empty()) return -1;
    uint32_t h = static_cast<uint32_t>(hash_bytes(key));
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.value < 0) return -1;
      if (s.hash == h && s.length == key.size() && std::memcmp(arena_.data() + s.offset, key.data(), key.size()) == 0)
        return s.value;
    }
  }
  size_t size() const { return count_; }

 private:
  struct Slot {
    uint32_t hash = 0;
    uint32_t offset = 0, length = 0;
    int32_t value = -1;
  };
  bool put(std::string_view key, int32_t value, bool overwrite) {
    if ((count_ + 1) * 4 > slots_.size() * 3) rehash(slots_.empty() ? 16 : slots_.size() * 2);
    uint32_t h = static_cast<uint32_t>(hash_bytes(key));
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.value < 0) {
        RKV_CHECK(arena_.size() + key.size() < UINT32_MAX, "string table: more than 4 GiB of keys");
        s = {h, static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(key.size()), value};
        arena_.append(key);
        ++count_;
        return true;
      }
      if (s.hash == h && s.length == key.size() && std::memcmp(arena_.data() + s.offset, key.data(), key.size()) == 0) {
        if (overwrite) s.value = value;
        return false;
      }
    }
  }
  void rehash(size_t cap) {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    for (const Slot& s : old) {
      if (s.value < 0) continue;
      for (size_t i = s.hash & mask_;; i = (i + 1) & mask_)
        if (slots_[i].value < 0) {
          slots_[i] = s;
          break;
        }
    }
  }
  std::string arena_;
  std::vector<Slot> slots_;
  size_t mask_ = 0, count_ = 0;
};

}  // namespace rkv::tok
