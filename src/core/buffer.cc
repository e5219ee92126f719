#include "rkv/core/buffer.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include "rkv/core/error.h"

namespace rkv {

namespace {

constexpr size_t kHugePage = size_t{2} << 20;

size_t huge_rounded(size_t bytes) { return (bytes + kHugePage - 1) / kHugePage * kHugePage; }

// huge_rounded(bytes) zeroed bytes on a 2 MiB boundary, marked for transparent huge pages.
void* map_huge(size_t bytes) {
  const size_t rounded = huge_rounded(bytes);
  // Over-map by one huge page and trim, so the range starts on a 2 MiB boundary.
  void* raw = ::mmap(nullptr, rounded + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) fail("out of memory mapping ", bytes, " bytes: ", std::strerror(errno));
  const uintptr_t begin = reinterpret_cast<uintptr_t>(raw), aligned = (begin + kHugePage - 1) / kHugePage * kHugePage;
  if (aligned > begin) ::munmap(raw, aligned - begin);
  if (const size_t tail = begin + rounded + kHugePage - (aligned + rounded))
    ::munmap(reinterpret_cast<void*>(aligned + rounded), tail);
  ::madvise(reinterpret_cast<void*>(aligned), rounded, MADV_HUGEPAGE);  // advisory: ignored where THP is off
  return reinterpret_cast<void*>(aligned);  // anonymous pages read as zero
}

}  // namespace

void* allocate_pages(size_t bytes) {
  if (bytes >= kHugePage) return map_huge(bytes);
  void* p = std::aligned_alloc(AlignedBuffer::kAlignment, std::max<size_t>(64, (bytes + 63) / 64 * 64));
  if (!p) throw std::bad_alloc();
  return p;
}

void free_pages(void* p, size_t bytes) {
  if (!p) return;
  if (bytes >= kHugePage)
    ::munmap(p, huge_rounded(bytes));
  else
    std::free(p);
}

AlignedBuffer::AlignedBuffer(size_t bytes, Pages pages) : size_(bytes) {
  if (bytes == 0) return;
  if (pages == Pages::Huge) {
    data_ = map_huge(bytes);
    mapped_ = huge_rounded(bytes);
    return;
  }
  size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  data_ = std::aligned_alloc(kAlignment, rounded);
  if (!data_) fail("out of memory allocating ", bytes, " bytes");
  std::memset(data_, 0, rounded);
}

void AlignedBuffer::release() {
  if (mapped_ > 0)
    ::munmap(data_, mapped_);
  else
    std::free(data_);
}

AlignedBuffer::~AlignedBuffer() { release(); }

AlignedBuffer::AlignedBuffer(AlignedBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_(std::exchange(other.mapped_, 0)) {}

AlignedBuffer& AlignedBuffer::operator=(AlignedBuffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_ = std::exchange(other.mapped_, 0);
  }
  return *this;
}

MappedFile::MappedFile(const std::string& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, ": cannot open: ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, ": not a regular file");
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      ::close(fd);
      fail(path, ": cannot map: ", std::strerror(e));
    }
    data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)), data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

uint64_t available_memory_bytes() {
  uint64_t available = UINT64_MAX;
  if (std::FILE* meminfo = std::fopen("/proc/meminfo", "r")) {
    char key[64];
    unsigned long long kib = 0;
    while (std::fscanf(meminfo, "%63s %llu kB", key, &kib) == 2) {
      if (std::strcmp(key, "MemAvailable:") == 0) {
        available = static_cast<uint64_t>(kib) * 1024;
        break;
      }
    }
    std::fclose(meminfo);
  }
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    uint64_t used = 0;  // the address space already mapped, in pages (first field of statm)
    if (std::FILE* statm = std::fopen("/proc/self/statm", "r")) {
      unsigned long long pages = 0;
      if (std::fscanf(statm, "%llu", &pages) == 1) used = static_cast<uint64_t>(pages) * static_cast<uint64_t>(::getpagesize());
      std::fclose(statm);
    }
    const uint64_t cap = static_cast<uint64_t>(limit.rlim_cur);
    available = std::min(available, cap > used ? cap - used : 0);
  }
  return available;
}

void require_memory(uint64_t bytes, const std::string& what) {
  const uint64_t available = available_memory_bytes();
  if (bytes <= available) return;
  auto gib = [](uint64_t n) {
    char text[64];
    std::snprintf(text, sizeof text, "%.1f GiB", static_cast<double>(n) / (1024.0 * 1024.0 * 1024.0));
    return std::string(text);
  };
  fail(what, ": ", bytes, " bytes (", gib(bytes), ") of memory needed, more than the ", gib(available), " available");
}

std::string read_text_file(const std::string& path, size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, ": cannot open: ", std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail(path, ": cannot examine: ", std::strerror(errno));
  if (S_ISDIR(st.st_mode)) fail(path, ": is a folder, not a file");
  if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) > max_bytes)
    fail(path, ": ", st.st_size, " bytes, over the limit of ", max_bytes);
  std::string text;
  if (S_ISREG(st.st_mode)) text.reserve(static_cast<size_t>(st.st_size));
  char chunk[1 << 16];
  for (;;) {  // also pipes and devices (/dev/stdin), whose size is unknown
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(path, ": read failed: ", std::strerror(errno));
    if (n == 0) break;
    if (text.size() + static_cast<size_t>(n) > max_bytes) fail(path, ": over the limit of ", max_bytes, " bytes");
    text.append(chunk, static_cast<size_t>(n));
  }
  return text;
}

}  // namespace rkv
