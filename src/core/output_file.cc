#include "rkv/core/output_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <mutex>
#include <random>

#include "rkv/core/error.h"

namespace rkv {
namespace {

// ---- temporary paths removed by a signal handler ----
//
// Fixed slots of plain bytes and lock-free flags, so the handler reads them
// without allocating or locking (async-signal-safe).

constexpr int kCleanupSlots = 64;
constexpr size_t kMaxPath = 4096;

struct CleanupSlot {
  std::atomic<bool> claimed{false};
  std::atomic<bool> armed{false};
  bool is_folder = false;
  char path[kMaxPath];
};

CleanupSlot g_cleanup[kCleanupSlots];
// The signals whose default action ends the process (SIGXFSZ: a write past
// `ulimit -f`).
constexpr int kCleanupSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGXFSZ, SIGXCPU, SIGALRM};
struct sigaction g_previous[std::size(kCleanupSignals)];
std::once_flag g_handlers_installed;

// A signal the program handles itself (a handler installed before ours) is
// passed on untouched: the program goes on, and its outputs are committed or
// discarded as it unwinds. A signal whose default action ends the process
// removes the temporaries first.
void on_terminating_signal(int sig, siginfo_t* info, void* context) {
  const int saved_errno = errno;
  for (size_t i = 0; i < std::size(kCleanupSignals); ++i) {
    if (kCleanupSignals[i] != sig) continue;
    const struct sigaction& previous = g_previous[i];
    if (previous.sa_flags & SA_SIGINFO) {
      previous.sa_sigaction(sig, info, context);
    } else if (previous.sa_handler == SIG_DFL) {
      remove_temporary_outputs();
      // The default action (end the process) once this handler returns.
      struct sigaction dfl {};
      dfl.sa_handler = SIG_DFL;
      sigemptyset(&dfl.sa_mask);
      sigaction(sig, &dfl, nullptr);
      raise(sig);
    } else if (previous.sa_handler != SIG_IGN) {
      previous.sa_handler(sig);
    }
  }
  errno = saved_errno;
}

void install_handlers() {
  for (size_t i = 0; i < std::size(kCleanupSignals); ++i) {
    struct sigaction old {};
    if (sigaction(kCleanupSignals[i], nullptr, &old) != 0) continue;
    if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_IGN) continue;  // stays ignored
    g_previous[i] = old;
    struct sigaction mine {};
    mine.sa_sigaction = on_terminating_signal;
    mine.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&mine.sa_mask);
    sigaction(kCleanupSignals[i], &mine, nullptr);
  }
}

int claim_cleanup_slot(const std::string& path, bool is_folder) {
  RKV_CHECK(path.size() < kMaxPath, path, ": path too long");
  std::call_once(g_handlers_installed, install_handlers);
  for (int i = 0; i < kCleanupSlots; ++i) {
    bool expected = false;
    if (!g_cleanup[i].claimed.compare_exchange_strong(expected, true)) continue;
    std::memcpy(g_cleanup[i].path, path.c_str(), path.size() + 1);
    g_cleanup[i].is_folder = is_folder;
    g_cleanup[i].armed.store(true, std::memory_order_release);
    return i;
  }
  fail(path, ": too many temporary outputs at once (", kCleanupSlots, ")");
}

void release_cleanup_slot(int slot) noexcept {
  if (slot < 0) return;
  g_cleanup[slot].armed.store(false, std::memory_order_release);
  g_cleanup[slot].claimed.store(false, std::memory_order_release);
}

// Blocks the cleanup signals while a temporary path is created and
// registered, so that a signal in between cannot leave it behind.
class SignalsHeld {
 public:
  SignalsHeld() {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : kCleanupSignals) sigaddset(&set, sig);
    pthread_sigmask(SIG_BLOCK, &set, &saved_);
  }
  ~SignalsHeld() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }

 private:
  sigset_t saved_;
};

// ---- paths ----

struct Target {
  std::string path;  // symlinks resolved
  bool exists = false;
  struct stat st {};
};

Target resolve(const std::string& path) {
  RKV_CHECK(!path.empty(), "empty output path");
  Target t{path, false, {}};
  struct stat lst {};
  if (::lstat(path.c_str(), &lst) != 0) {
    RKV_CHECK(errno == ENOENT, path, ": cannot examine the output path: ", std::strerror(errno));
    RKV_CHECK(path.back() != '/', path, ": no such folder");
    return t;
  }
  if (S_ISLNK(lst.st_mode)) {
    RKV_CHECK(::stat(path.c_str(), &t.st) == 0, path, ": a symbolic link to a missing or unreachable file (",
              std::strerror(errno), ")");
    // A regular file is replaced where it is; anything else (/dev/stdout
    // -> /proc/self/fd/1 -> a pipe) is opened through the link.
    if (S_ISREG(t.st.st_mode) || S_ISDIR(t.st.st_mode)) {
      char* real = ::realpath(path.c_str(), nullptr);
      RKV_CHECK(real, path, ": cannot resolve the symbolic link: ", std::strerror(errno));
      t.path = real;
      std::free(real);
    }
  } else {
    t.st = lst;
  }
  t.exists = true;
  return t;
}

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISFIFO(mode)) return "a FIFO";
  return "not a regular file";
}

std::string folder_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// "<folder>/.<name>.rkv-<16 random hex digits>": beside the target (same
// file system, so the rename is atomic), hidden, and not guessable.
std::string temporary_name(const std::string& target) {
  static std::random_device entropy;
  static std::mutex mutex;
  uint64_t bits;
  {
    std::lock_guard<std::mutex> lock(mutex);
    bits = (static_cast<uint64_t>(entropy()) << 32) ^ entropy();
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(bits));
  const std::string folder = folder_of(target);
  return (folder == "/" ? "" : folder) + "/." + base_of(target).substr(0, 180) + ".rkv-" + hex;
}

// Names of the entries of `folder`; throws unless each is a regular file in `allowed`.
std::vector<std::string> replaceable_entries(const std::string& path, const std::string& folder,
                                             const std::vector<std::string>& allowed) {
  DIR* dir = ::opendir(folder.c_str());
  RKV_CHECK(dir, path, ": cannot read the folder: ", std::strerror(errno));
  std::vector<std::string> names;
  std::string problem;
  while (const dirent* e = ::readdir(dir)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st {};
    const bool regular = ::fstatat(::dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
    if (!regular || std::find(allowed.begin(), allowed.end(), name) == allowed.end()) problem = name;
    names.push_back(name);
  }
  ::closedir(dir);
  RKV_CHECK(problem.empty(), path, ": the folder exists and holds '", problem,
            "', which this command does not write; give a new or empty folder");
  return names;
}

void remove_folder_files(const std::string& folder, const std::vector<std::string>& names) noexcept {
  for (const auto& name : names) ::unlink((folder + "/" + name).c_str());
  ::rmdir(folder.c_str());
}

}  // namespace

void remove_temporary_outputs() noexcept {
  // Files first, then the (by then empty) folders.
  for (bool folders : {false, true})
    for (auto& slot : g_cleanup)
      if (slot.armed.load(std::memory_order_acquire) && slot.is_folder == folders) {
        if (folders) ::rmdir(slot.path);
        else ::unlink(slot.path);
      }
}

// ---- OutputFile ----

OutputFile::OutputFile(const std::string& path) : path_(path) {
  Target t = resolve(path);
  target_ = t.path;
  if (t.exists && !S_ISREG(t.st.st_mode)) {
    RKV_CHECK(S_ISCHR(t.st.st_mode) || S_ISFIFO(t.st.st_mode), path, ": is ", kind_of(t.st.st_mode),
              "; refusing to write there");
    // Written in place, never replaced. O_NONBLOCK: a FIFO without a reader
    // is an error rather than a wait forever.
    fd_ = ::open(target_.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    RKV_CHECK(fd_ >= 0, path, ": cannot open for writing: ",
              errno == ENXIO ? "a FIFO with no reader" : std::strerror(errno));
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || S_ISREG(st.st_mode) || ::fcntl(fd_, F_SETFL, 0) != 0) {
      ::close(fd_);
      fd_ = -1;
      fail(path, ": changed while it was being opened");
    }
    return;
  }
  SignalsHeld held;
  for (int attempt = 0; attempt < 16 && fd_ < 0; ++attempt) {
    std::string name = temporary_name(target_);
    fd_ = ::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd_ >= 0) {
      temp_ = std::move(name);
    } else if (errno != EEXIST) {
      fail(path, ": cannot create a file in ", folder_of(target_), ": ", std::strerror(errno));
    }
  }
  RKV_CHECK(fd_ >= 0, path, ": cannot create a temporary file in ", folder_of(target_));
  try {
    cleanup_slot_ = claim_cleanup_slot(temp_, false);
  } catch (...) {
    discard();
    throw;
  }
  if (t.exists) ::fchmod(fd_, t.st.st_mode & 07777);  // a replaced file keeps its permissions
}

OutputFile::~OutputFile() {
  if (!committed_) discard();
}

void OutputFile::discard() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!temp_.empty()) ::unlink(temp_.c_str());
  release_cleanup_slot(cleanup_slot_);
  cleanup_slot_ = -1;
}

void OutputFile::write(const void* data, size_t size) {
  RKV_CHECK(fd_ >= 0 && !committed_, path_, ": write after the file was closed");
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd_, p, std::min<size_t>(size, size_t{1} << 30));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = n < 0 ? errno : EIO;
      discard();
      fail(path_, ": write failed: ", std::strerror(e));
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
}

void OutputFile::commit() {
  RKV_CHECK(fd_ >= 0 && !committed_, path_, ": commit after the file was closed");
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    const int e = errno;
    discard();
    fail(path_, ": write failed: ", std::strerror(e));
  }
  if (!temp_.empty()) {
    // The target may have changed since the constructor looked: still never
    // replace a folder, device or FIFO.
    struct stat st {};
    if (::lstat(target_.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
      discard();
      fail(path_, ": became ", kind_of(st.st_mode), " while rkv wrote it; not replaced");
    }
    if (::rename(temp_.c_str(), target_.c_str()) != 0) {
      const int e = errno;
      discard();
      fail(path_, ": cannot move the finished file into place: ", std::strerror(e));
    }
  }
  release_cleanup_slot(cleanup_slot_);
  cleanup_slot_ = -1;
  committed_ = true;
}

// ---- OutputStream ----

OutputStream::Buffer::Buffer(OutputFile& file) : file_(file), space_(size_t{1} << 16) {
  setp(space_.data(), space_.data() + space_.size());
}

bool OutputStream::Buffer::drain() {
  if (!error_.empty()) return false;
  try {
    file_.write(pbase(), static_cast<size_t>(pptr() - pbase()));
  } catch (const Error& e) {
    error_ = e.what();
    return false;
  }
  setp(space_.data(), space_.data() + space_.size());
  return true;
}

OutputStream::Buffer::int_type OutputStream::Buffer::overflow(int_type c) {
  if (!drain()) return traits_type::eof();
  if (!traits_type::eq_int_type(c, traits_type::eof())) {
    *pptr() = traits_type::to_char_type(c);
    pbump(1);
  }
  return traits_type::not_eof(c);
}

int OutputStream::Buffer::sync() { return drain() ? 0 : -1; }

OutputStream::OutputStream(const std::string& path) : std::ostream(nullptr), file_(path), buffer_(file_) {
  rdbuf(&buffer_);
}

OutputStream::~OutputStream() = default;

void OutputStream::commit() {
  flush();
  RKV_CHECK(buffer_.error().empty(), buffer_.error());
  RKV_CHECK(!fail(), file_.path(), ": write failed");
  file_.commit();
}

void write_file_atomically(const std::string& path, const void* bytes, size_t size) {
  OutputFile out(path);
  out.write(bytes, size);
  out.commit();
}

// ---- OutputFolder ----

OutputFolder::OutputFolder(const std::string& path, std::vector<std::string> files)
    : path_(path), names_(std::move(files)) {
  for (const auto& name : names_)
    RKV_CHECK(!name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos, path_,
              ": bad file name '", name, "'");
  std::string trimmed = path;  // "model/" names the folder "model"
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  Target t = resolve(trimmed);
  target_ = t.path;
  if (t.exists) {
    RKV_CHECK(S_ISDIR(t.st.st_mode), path, ": exists and is ", kind_of(t.st.st_mode), ", not a folder");
    replaceable_entries(path_, target_, names_);
  }
  SignalsHeld held;
  for (int attempt = 0; attempt < 16 && temp_.empty(); ++attempt) {
    std::string name = temporary_name(target_);
    if (::mkdir(name.c_str(), 0777) == 0) temp_ = std::move(name);
    else if (errno != EEXIST) fail(path, ": cannot create a folder in ", folder_of(target_), ": ", std::strerror(errno));
  }
  RKV_CHECK(!temp_.empty(), path, ": cannot create a temporary folder in ", folder_of(target_));
  try {
    cleanup_slots_.push_back(claim_cleanup_slot(temp_, true));
  } catch (...) {
    discard();
    throw;
  }
}

OutputFolder::~OutputFolder() {
  if (!committed_) discard();
}

void OutputFolder::discard() noexcept {
  if (!temp_.empty()) remove_folder_files(temp_, claimed_);
  for (int slot : cleanup_slots_) release_cleanup_slot(slot);
  cleanup_slots_.clear();
}

std::string OutputFolder::file(const std::string& name) {
  RKV_CHECK(!committed_, path_, ": file added after commit");
  RKV_CHECK(std::find(names_.begin(), names_.end(), name) != names_.end(), path_, ": '", name,
            "' is not among the files declared for this folder");
  const std::string inside = temp_ + "/" + name;
  if (std::find(claimed_.begin(), claimed_.end(), name) == claimed_.end()) {
    cleanup_slots_.push_back(claim_cleanup_slot(inside, false));
    claimed_.push_back(name);
  }
  return inside;
}

void OutputFolder::commit() {
  RKV_CHECK(!committed_, path_, ": committed twice");
  struct stat st {};
  const bool exists = ::lstat(target_.c_str(), &st) == 0;
  if (!exists) {
    RKV_CHECK(::rename(temp_.c_str(), target_.c_str()) == 0, path_, ": cannot move the finished folder into place: ",
              std::strerror(errno));
  } else {
    RKV_CHECK(S_ISDIR(st.st_mode), path_, ": became ", kind_of(st.st_mode), " while rkv wrote it; not replaced");
    const std::vector<std::string> old = replaceable_entries(path_, target_, names_);
    // Swap the two folders in one step where the file system can; otherwise
    // move the old one aside first.
    if (::renameat2(AT_FDCWD, temp_.c_str(), AT_FDCWD, target_.c_str(), RENAME_EXCHANGE) == 0) {
      remove_folder_files(temp_, old);
    } else {
      const std::string aside = temporary_name(target_);
      RKV_CHECK(::rename(target_.c_str(), aside.c_str()) == 0, path_, ": cannot move the earlier folder aside: ",
                std::strerror(errno));
      if (::rename(temp_.c_str(), target_.c_str()) != 0) {
        const int e = errno;
        ::rename(aside.c_str(), target_.c_str());
        fail(path_, ": cannot move the finished folder into place: ", std::strerror(e));
      }
      remove_folder_files(aside, old);
    }
  }
  for (int slot : cleanup_slots_) release_cleanup_slot(slot);
  cleanup_slots_.clear();
  committed_ = true;
}

}  // namespace rkv
