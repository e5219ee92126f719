// core/output_file: the files and folders rkv writes, all or nothing.
//
// OutputFile writes a new regular file under a temporary name beside the
// target (created exclusively, O_CREAT|O_EXCL|O_NOFOLLOW, with a random name)
// and renames it over the target on commit(): readers see the old file or
// the whole new one, and nobody who can write to the folder can redirect the
// write with a planted symlink. A target that exists and is not a regular
// file is never replaced: a character device or FIFO (/dev/null, /dev/stdout,
// a named pipe with a reader) is written through; a directory, block device
// or socket is refused. A symbolic link is followed to the file it names.
// The temporary file is removed when the object dies uncommitted (an error
// was thrown) and when a signal ends the process (SIGINT, SIGTERM, SIGHUP,
// SIGQUIT, SIGPIPE, SIGXFSZ, SIGXCPU, SIGALRM at their default action: a
// handler installed with the first temporary removes the temporaries and
// ends the process). A signal the program handles itself is left to it: a
// handler installed before the first output is called as before and the
// temporaries are left for the unwinding; one installed after replaces
// ours (call remove_temporary_outputs() from it before _exit).
//
// OutputFolder does the same for a folder of files (a Hugging Face model
// folder): built under a temporary name, renamed into place on commit().
//
// Every failure (no space, I/O error, permissions) is rkv::Error naming the
// path and the reason.
#pragma once

#include <cstddef>
#include <ostream>
#include <streambuf>
#include <string>
#include <vector>

namespace rkv {

class OutputFile {
 public:
  explicit OutputFile(const std::string& path);
  ~OutputFile();  // uncommitted: the temporary file is removed
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  void write(const void* data, size_t size);
  void write(const std::string& text) { write(text.data(), text.size()); }
  // Closes the file (checking the close) and renames it over the target.
  void commit();

  const std::string& path() const { return path_; }
  bool writes_through() const { return temp_.empty(); }  // a device or FIFO, written in place

 private:
  void discard() noexcept;

  std::string path_;    // as given (for messages)
  std::string target_;  // the file renamed over (symlinks resolved)
  std::string temp_;    // "" when writing through
  int fd_ = -1;
  int cleanup_slot_ = -1;
  bool committed_ = false;
};

class OutputFolder {
 public:
  // `files`: the names the folder will hold. Checks now that `path` can be
  // replaced: absent, or a folder holding only regular files among `files`
  // (an earlier output); anything else is an error before any work is done.
  OutputFolder(const std::string& path, std::vector<std::string> files);
  ~OutputFolder();  // uncommitted: the temporary folder and its files are removed
  OutputFolder(const OutputFolder&) = delete;
  OutputFolder& operator=(const OutputFolder&) = delete;

  // Where to write `name` (one of `files`) inside the temporary folder;
  // write it with OutputFile or write_file_atomically.
  std::string file(const std::string& name);
  // Renames the temporary folder to the target. An earlier output there is
  // replaced only if all its files are among the new folder's names.
  void commit();

  const std::string& path() const { return path_; }

 private:
  void discard() noexcept;

  std::string path_, target_, temp_;
  std::vector<std::string> names_;      // files the folder will hold
  std::vector<std::string> claimed_;    // those given out by file()
  std::vector<int> cleanup_slots_;      // the folder's, then one per file
  bool committed_ = false;
};

// A buffered std::ostream into an OutputFile, for code that writes to a
// stream (JSONL traces). commit() flushes and commits; a write that failed
// on the way (a full disk) is rkv::Error there, naming the path.
class OutputStream : public std::ostream {
 public:
  explicit OutputStream(const std::string& path);
  ~OutputStream() override;  // uncommitted: nothing is left behind
  void commit();

 private:
  class Buffer : public std::streambuf {
   public:
    explicit Buffer(OutputFile& file);
    bool drain();  // false once a write failed (error() says why)
    const std::string& error() const { return error_; }

   protected:
    int_type overflow(int_type c) override;
    int sync() override;

   private:
    OutputFile& file_;
    std::vector<char> space_;
    std::string error_;
  };
  OutputFile file_;
  Buffer buffer_;
};

// An OutputFile holding `size` bytes.
void write_file_atomically(const std::string& path, const void* bytes, size_t size);

// Removes every registered temporary output now. Async-signal-safe: for a
// signal handler that ends the process with _exit.
void remove_temporary_outputs() noexcept;

}  // namespace rkv
