// core/proc_reader.h: SystemProcReader reads a fixture tree (tests/fixtures/proc/) the way it reads
// /proc, and FakeProcReader answers the same calls from memory.
#include "core/proc_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "fakes/fake_proc_reader.h"
#include "test_paths.h"

namespace lc {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string fixture(std::string_view name) {
  return std::string(LC_TEST_SOURCE_DIR) + "/tests/fixtures/proc/" + std::string(name);
}

// The NUL-separated entries of an environ or cmdline file.
std::vector<std::string> nul_split(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < s.size()) {
    const std::size_t end = s.find('\0', start);
    out.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

TEST(SystemProcReader, ListsOnlyNumericEntriesAsPids) {
  const SystemProcReader proc(fixture("lambda_node20"));
  auto pids = proc.list_pids();
  ASSERT_TRUE(pids) << pids.error().message;
  EXPECT_THAT(*pids, ElementsAre(1, 13));  // not self/, meminfo, stat, uptime
}

TEST(SystemProcReader, FindsTheRuntimeFromANulSeparatedEnviron) {
  const SystemProcReader proc(fixture("lambda_node20") + "/");  // a trailing slash is fine
  std::string runtime;
  const auto pids = proc.list_pids();
  ASSERT_TRUE(pids);
  for (const int pid : *pids) {
    auto environ = proc.read_file(std::to_string(pid) + "/environ");
    ASSERT_TRUE(environ) << environ.error().message;
    for (const auto& entry : nul_split(*environ)) {
      if (entry.rfind("AWS_EXECUTION_ENV=", 0) == 0) runtime = entry.substr(18);
    }
  }
  EXPECT_EQ(runtime, "AWS_Lambda_nodejs20.x");
  auto cmdline = proc.read_file("13/cmdline");
  ASSERT_TRUE(cmdline);
  EXPECT_EQ(nul_split(*cmdline).front(), "/var/lang/bin/node");
}

TEST(SystemProcReader, ReadsMeminfoStatStatusAndCountsFds) {
  const SystemProcReader proc(fixture("lambda_node20"));
  auto meminfo = proc.read_file("meminfo");
  ASSERT_TRUE(meminfo);
  EXPECT_THAT(*meminfo, HasSubstr("MemTotal:        3944436 kB\n"));
  auto stat = proc.read_file("stat");
  ASSERT_TRUE(stat);
  EXPECT_EQ(stat->rfind("cpu  2255 0 2290 ", 0), 0u);
  auto self = proc.read_file("self/status");
  ASSERT_TRUE(self);
  EXPECT_THAT(*self, HasSubstr("VmRSS:\t    6004 kB\n"));
  auto limits = proc.read_file("13/limits");
  ASSERT_TRUE(limits);
  EXPECT_THAT(*limits, HasSubstr("Max open files            1024"));
  auto fds = proc.list_dir("13/fd");
  ASSERT_TRUE(fds) << fds.error().message;
  EXPECT_THAT(*fds, ElementsAre("0", "1", "19", "2", "3", "4"));  // sorted as text
  EXPECT_EQ(proc.list_dir("1/fd")->size(), 3u);
}

TEST(SystemProcReader, MissingFilesSizeCapAndBadPaths) {
  const SystemProcReader proc(fixture("lambda_node20"));
  auto missing = proc.read_file("99/environ");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(proc.list_dir("99/fd").error().code, ErrorCode::kNotFound);
  // The cap: exactly the size is fine, one byte less is kTooLarge.
  const std::size_t size = proc.read_file("uptime")->size();
  EXPECT_TRUE(proc.read_file("uptime", size));
  auto capped = proc.read_file("uptime", size - 1);
  ASSERT_FALSE(capped);
  EXPECT_EQ(capped.error().code, ErrorCode::kTooLarge);
  auto big = proc.read_file("13/environ", 16);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, ErrorCode::kTooLarge);
  for (const char* bad :
       {"", "/etc/passwd", "../README.md", "13/../1/environ", "13//environ", "./meminfo", "13/"}) {
    auto r = proc.read_file(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(proc.list_dir(".."));
  const SystemProcReader nowhere(fixture("does_not_exist"));
  EXPECT_FALSE(nowhere.list_pids());
}

TEST(SystemProcReader, RealStatfsAndUname) {
  const SystemProcReader proc;
  EXPECT_EQ(proc.root(), "/proc");
  auto fs = proc.statfs(std::filesystem::temp_directory_path().string());
  ASSERT_TRUE(fs) << fs.error().message;
  EXPECT_GT(fs->total_bytes, 0u);
  EXPECT_LE(fs->free_bytes, fs->total_bytes);
  EXPECT_LE(fs->available_bytes, fs->free_bytes);
  auto missing = proc.statfs("/does/not/exist");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  auto u = proc.uname();
  ASSERT_TRUE(u);
  EXPECT_EQ(u->sysname, "Linux");
  EXPECT_FALSE(u->release.empty());
  EXPECT_FALSE(u->machine.empty());
}

TEST(ProcPaths, ValidPathsAndPids) {
  EXPECT_TRUE(is_valid_proc_path("meminfo"));
  EXPECT_TRUE(is_valid_proc_path("self/status"));
  EXPECT_TRUE(is_valid_proc_path("13/task/14/stat"));
  EXPECT_TRUE(is_valid_proc_path("..x/y"));  // only the exact names "." and ".." are refused
  EXPECT_FALSE(is_valid_proc_path(std::string_view("a\0b", 3)));
  int pid = 0;
  EXPECT_TRUE(parse_pid("13", pid));
  EXPECT_EQ(pid, 13);
  EXPECT_TRUE(parse_pid("999999999", pid));
  EXPECT_FALSE(parse_pid("1000000000", pid));  // longer than any pid_max
  EXPECT_FALSE(parse_pid("013", pid));
  EXPECT_FALSE(parse_pid("-1", pid));
  EXPECT_FALSE(parse_pid("self", pid));
  EXPECT_FALSE(parse_pid("", pid));
}

TEST(FakeProcReader, AnswersFromMemoryLikeTheRealOne) {
  fakes::FakeProcReader proc;
  proc.file("meminfo", "MemTotal: 128 kB\n")
      .file("7/environ", std::string("A=1\0AWS_EXECUTION_ENV=AWS_Lambda_python3.12\0", 43))
      .file("7/fd/0", "")
      .file("7/fd/1", "")
      .file("7/task/8/stat", "8 (python) S")
      .pids({7, 3})
      .fs("/tmp", FsStats{512 * 1024 * 1024, 500 * 1024 * 1024, 500 * 1024 * 1024})
      .set_uname(UnameInfo{"Linux", "5.10.227-239.884.amzn2.aarch64", "aarch64"});
  const ProcReader& reader = proc;
  EXPECT_EQ(*reader.read_file("meminfo"), "MemTotal: 128 kB\n");
  EXPECT_EQ(nul_split(*reader.read_file("7/environ")).back(),
            "AWS_EXECUTION_ENV=AWS_Lambda_python3.12");
  EXPECT_EQ(reader.read_file("7/environ", 10).error().code, ErrorCode::kTooLarge);
  EXPECT_EQ(reader.read_file("8/environ").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(reader.read_file("../x").error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(*reader.list_dir("7/fd"), ElementsAre("0", "1"));
  EXPECT_THAT(*reader.list_dir("7"), ElementsAre("environ", "fd", "task"));
  EXPECT_EQ(reader.list_dir("9/fd").error().code, ErrorCode::kNotFound);
  EXPECT_THAT(*reader.list_pids(), ElementsAre(3, 7));
  EXPECT_EQ(reader.statfs("/tmp")->total_bytes, 512u * 1024 * 1024);
  EXPECT_EQ(reader.statfs("/var").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(reader.uname()->machine, "aarch64");
  EXPECT_EQ(proc.reads("meminfo"), 1u);
  EXPECT_EQ(proc.reads("7/environ"), 2u);
  proc.fail_uname(Error{ErrorCode::kIo, "uname failed"});
  EXPECT_FALSE(reader.uname());
  proc.remove("meminfo");
  EXPECT_FALSE(reader.read_file("meminfo"));
}

}  // namespace
}  // namespace lc
