// core/buffer: owning, 64-byte aligned, zero-initialised byte buffers,
// read-only memory-mapped files, whole text files, and how much memory the
// process may still take.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace rkv {

class AlignedBuffer {
 public:
  static constexpr size_t kAlignment = 64;
  // Huge: whole 2 MiB pages mapped directly and marked for transparent huge
  // pages before they are touched (for weights streamed once per token:
  // fewer TLB misses).
  enum class Pages { Normal, Huge };
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t bytes, Pages pages = Pages::Normal);
  ~AlignedBuffer();
  AlignedBuffer(AlignedBuffer&& other) noexcept;
  AlignedBuffer& operator=(AlignedBuffer&& other) noexcept;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;

  void* data() { return data_; }
  const void* data() const { return data_; }
  template <class T> T* as() { return static_cast<T*>(data_); }
  template <class T> const T* as() const { return static_cast<const T*>(data_); }
  size_t size() const { return size_; }

 private:
  void release();

  void* data_ = nullptr;
  size_t size_ = 0;
  size_t mapped_ = 0;  // bytes mapped with mmap (Pages::Huge), 0 for aligned_alloc
};

// A whole file mapped read-only. Throws rkv::Error naming the path when the
// file cannot be opened or mapped. An empty file maps to size 0, data nullptr.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile& operator=(MappedFile&&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Memory this process can still take: the kernel's MemAvailable, lowered by
// an address-space limit (ulimit -v) where one is set.
uint64_t available_memory_bytes();
// Throws rkv::Error "<what>: N bytes (X GiB) of memory needed, more than the
// Y GiB available" when `bytes` exceeds available_memory_bytes(): for sizes
// that come from files and flags, checked before the allocation is attempted.
void require_memory(uint64_t bytes, const std::string& what);

// The whole file (a regular file, pipe or device such as /dev/stdin). A
// folder, an unreadable file or one over `max_bytes` is rkv::Error naming it.
std::string read_text_file(const std::string& path, size_t max_bytes = size_t(1) << 30);

}  // namespace rkv
