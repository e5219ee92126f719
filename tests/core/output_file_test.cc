// OutputFile / OutputFolder: all-or-nothing outputs that never replace
// devices, FIFOs or folders, follow symlinks to their file, leave nothing
// behind on errors or on SIGTERM; read_text_file refuses folders.
#include "rkv/core/output_file.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/testing.h"
#include "rkv/core/buffer.h"
#include "rkv/core/error.h"

namespace rkv {
namespace {

namespace fs = std::filesystem;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(OutputFile, WritesANewFileAndReplacesARegularOneKeepingItsMode) {
  test::TempDir dir;
  const std::string path = dir.path("out.bin");
  write_file_atomically(path, "first", 5);
  EXPECT_EQ(slurp(path), "first");
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  {
    OutputFile out(path);
    out.write("second");
    // Before the commit: the old content is intact, the new one sits in one
    // hidden, regular temporary file beside it.
    EXPECT_EQ(slurp(path), "first");
    auto names = entries(dir.dir());
    ASSERT_EQ(names.size(), 2u);
    const std::string temp = names[0] == "out.bin" ? names[1] : names[0];
    EXPECT_EQ(temp.rfind(".out.bin.rkv-", 0), 0u) << temp;
    EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(dir.path(temp))));
    out.commit();
  }
  EXPECT_EQ(slurp(path), "second");
  EXPECT_EQ(entries(dir.dir()), std::vector<std::string>{"out.bin"});
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(OutputFile, TemporaryNamesAreUnpredictable) {
  test::TempDir dir;
  OutputFile a(dir.path("x")), b(dir.path("x"));
  auto names = entries(dir.dir());
  ASSERT_EQ(names.size(), 2u);
  EXPECT_NE(names[0], names[1]);
}

TEST(OutputFile, UncommittedOrFailedLeavesNothing) {
  test::TempDir dir;
  write_file_atomically(dir.path("keep"), "old", 3);
  {
    OutputFile out(dir.path("keep"));
    out.write("partial");
  }  // an exception unwinding past it
  EXPECT_EQ(entries(dir.dir()), std::vector<std::string>{"keep"});
  EXPECT_EQ(slurp(dir.path("keep")), "old");
}

TEST(OutputFile, DevicesAreWrittenThroughNeverReplaced) {
  OutputFile null("/dev/null");
  EXPECT_TRUE(null.writes_through());
  null.write(std::string(100000, 'x'));
  null.commit();
  struct stat st {};
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));

  if (::access("/dev/full", W_OK) == 0) {
    const std::string e = test::error_of([] {
      OutputFile full("/dev/full");
      full.write(std::string(1 << 16, 'x'));
      full.commit();
    });
    EXPECT_NE(e.find("/dev/full: write failed"), std::string::npos) << e;
    ASSERT_EQ(::stat("/dev/full", &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
  }
}

TEST(OutputFile, FifoNeedsAReaderAndStaysAFifo) {
  test::TempDir dir;
  const std::string fifo = dir.path("pipe");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_NE(test::error_of([&] { OutputFile out(fifo); }).find("a FIFO with no reader"), std::string::npos);
  std::string received;
  std::thread reader([&] { received = slurp(fifo); });
  // The reader's open and the writer's may race: retry until it is there.
  for (int attempt = 0;; ++attempt) {
    try {
      OutputFile out(fifo);
      out.write("through the pipe");
      out.commit();
      break;
    } catch (const Error&) {
      ASSERT_LT(attempt, 2000);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  reader.join();
  EXPECT_EQ(received, "through the pipe");
  EXPECT_TRUE(fs::is_fifo(fifo));
}

TEST(OutputFile, SymlinksLeadToTheirFileFoldersAreRefused) {
  test::TempDir dir;
  fs::create_directory(dir.path("real"));
  write_file_atomically(dir.path("real/target"), "old", 3);
  fs::create_symlink(dir.path("real/target"), dir.path("link"));
  write_file_atomically(dir.path("link"), "new", 3);
  EXPECT_TRUE(fs::is_symlink(dir.path("link")));
  EXPECT_EQ(slurp(dir.path("real/target")), "new");
  EXPECT_EQ(entries(dir.path("real")), std::vector<std::string>{"target"});

  fs::create_symlink(dir.path("absent"), dir.path("dangling"));
  EXPECT_NE(test::error_of([&] { OutputFile out(dir.path("dangling")); }).find("missing"), std::string::npos);
  EXPECT_NE(test::error_of([&] { OutputFile out(dir.path("real")); }).find("is a folder"), std::string::npos);
  EXPECT_NE(test::error_of([&] { OutputFile out(dir.path("nowhere/x")); }).find("cannot create"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir.path("absent")));
}

TEST(OutputFile, SigtermRemovesTheTemporaryFile) {
  test::TempDir dir;
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    OutputFile out(dir.path("interrupted"));
    out.write("partial");
    ::raise(SIGTERM);
    ::_exit(0);  // not reached: SIGTERM's default action ends the process
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
  EXPECT_TRUE(entries(dir.dir()).empty());
}

volatile sig_atomic_t g_interrupted = 0;

// A program that handles SIGINT itself (a graceful stop) keeps its outputs:
// the handler it installed runs, the temporary stays, and the commit works.
TEST(OutputFile, ASignalTheProgramHandlesLeavesTheOutputToIt) {
  test::TempDir dir;
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    struct sigaction graceful {};
    graceful.sa_handler = [](int) { g_interrupted = 1; };
    sigemptyset(&graceful.sa_mask);
    ::sigaction(SIGINT, &graceful, nullptr);
    try {
      OutputFile out(dir.path("kept"));
      out.write("all of it");
      ::raise(SIGINT);
      if (!g_interrupted) ::_exit(3);
      out.commit();
    } catch (...) {
      ::_exit(4);
    }
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "ended by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "3: the program's handler did not run, 4: the output was lost";
  EXPECT_EQ(entries(dir.dir()), std::vector<std::string>{"kept"});
  EXPECT_EQ(slurp(dir.path("kept")), "all of it");
}

TEST(OutputFolder, BuiltAsideAndRenamedIntoPlace) {
  test::TempDir dir;
  const std::string out = dir.path("model");
  const std::vector<std::string> files = {"a.json", "b.bin"};
  for (const char* content : {"one", "two"}) {  // the second run replaces the first output
    OutputFolder folder(out, files);
    write_file_atomically(folder.file("a.json"), content, 3);
    write_file_atomically(folder.file("b.bin"), content, 3);
    EXPECT_EQ(entries(dir.dir()).size(), fs::exists(out) ? 2u : 1u);  // the output appears only at commit
    folder.commit();
    EXPECT_EQ(entries(out), files);
    EXPECT_EQ(slurp(dir.path("model/b.bin")), content);
    EXPECT_EQ(entries(dir.dir()), std::vector<std::string>{"model"});
  }
  {
    OutputFolder folder(dir.path("other"), files);
    write_file_atomically(folder.file("a.json"), "x", 1);
  }  // uncommitted
  EXPECT_EQ(entries(dir.dir()), std::vector<std::string>{"model"});
  EXPECT_THROW(OutputFolder(out, files).file("c.txt"), Error);
  {
    OutputFolder slash(dir.path("slash/"), files);  // a new folder named with a trailing slash
    write_file_atomically(slash.file("a.json"), "s", 1);
    slash.commit();
  }
  EXPECT_EQ(entries(dir.path("slash")), std::vector<std::string>{"a.json"});
  fs::remove_all(dir.path("slash"));

  write_file_atomically(dir.path("model/notes.txt"), "mine", 4);  // not an earlier output of this kind
  EXPECT_NE(test::error_of([&] { OutputFolder folder(out, files); }).find("notes.txt"), std::string::npos);
  write_file_atomically(dir.path("file"), "x", 1);
  EXPECT_NE(test::error_of([&] { OutputFolder folder(dir.path("file"), files); }).find("not a folder"), std::string::npos);
  EXPECT_EQ(entries(dir.dir()), (std::vector<std::string>{"file", "model"}));
}

TEST(ReadTextFile, RefusesFoldersAndOversizedFiles) {
  test::TempDir dir;
  EXPECT_NE(test::error_of([&] { read_text_file(dir.dir().string()); }).find("is a folder"), std::string::npos);
  write_file_atomically(dir.path("t"), "hello", 5);
  EXPECT_EQ(read_text_file(dir.path("t")), "hello");
  EXPECT_NE(test::error_of([&] { read_text_file(dir.path("t"), 4); }).find("over the limit of 4"), std::string::npos);
  EXPECT_NE(test::error_of([&] { read_text_file(dir.path("none")); }).find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace rkv
