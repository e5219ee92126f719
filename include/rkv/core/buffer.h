// core/buffer: owning, 64-byte aligned, zero-initialised byte buffers,
// read-only memory-mapped files, whole text files, and how much memory the
// process may still take.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

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

// Storage for large, short-lived working arrays (a prefill's activations):
// blocks of 2 MiB or more are mapped as transparent huge pages, smaller ones
// come from aligned_alloc (64 bytes). A GEMM writes its output one 64-byte
// line per token, a row of the output apart -- with 4 KiB pages every token
// of a 512-token prefill is another page and a TLB miss.
void* allocate_pages(size_t bytes);
void free_pages(void* p, size_t bytes);

template <class T>
struct PageAllocator {
  using value_type = T;
  PageAllocator() = default;
  template <class U>
  PageAllocator(const PageAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(allocate_pages(n * sizeof(T))); }
  void deallocate(T* p, size_t n) { free_pages(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const PageAllocator<U>&) const { return true; }
};
// A std::vector on PageAllocator: huge pages from 2 MiB up.
template <class T>
using PageVector = std::vector<T, PageAllocator<T>>;

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
