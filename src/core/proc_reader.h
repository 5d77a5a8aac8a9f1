// core/proc_reader.h — the /proc seam (architecture.md "Layout"): text files under /proc, the
// numeric PIDs, statfs of a mount point and uname. Enhanced usage metrics and cloud detection
// read through it, never /proc directly, so tests can hand them a FakeProcReader
// (tests/fakes/fake_proc_reader.h) or a fixture tree (SystemProcReader rooted at
// tests/fixtures/proc/<name>). Owned by a composition root; calls are synchronous and cheap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/expected.h"

namespace lc {

struct FsStats {
  std::uint64_t total_bytes = 0;      // f_blocks × f_frsize
  std::uint64_t free_bytes = 0;       // f_bfree × f_frsize (root included)
  std::uint64_t available_bytes = 0;  // f_bavail × f_frsize (what an unprivileged user can use)
};

struct UnameInfo {
  std::string sysname;  // "Linux"
  std::string release;  // "5.10.227-239.884.amzn2.x86_64"
  std::string machine;  // "x86_64", "aarch64"
};

class ProcReader {
 public:
  static constexpr std::size_t kDefaultMaxBytes = 64 * 1024;

  virtual ~ProcReader() = default;

  // The whole file at `path`, relative to the /proc root ("meminfo", "self/status",
  // "123/environ"); no leading '/', no "..". kNotFound when it does not exist, kTooLarge when it
  // holds more than max_bytes, kInvalidArgument for a bad path.
  virtual Expected<std::string> read_file(std::string_view path,
                                          std::size_t max_bytes = kDefaultMaxBytes) const = 0;
  // The names in a directory under the root ("123/fd"), sorted, without "." and "..".
  virtual Expected<std::vector<std::string>> list_dir(std::string_view path) const = 0;
  // The numeric entries of the root (processes), ascending.
  virtual Expected<std::vector<int>> list_pids() const = 0;
  // statfs of an absolute filesystem path ("/tmp"), not one under the /proc root.
  virtual Expected<FsStats> statfs(std::string_view path) const = 0;
  virtual Expected<UnameInfo> uname() const = 0;
};

// The real one: files under `root` (default "/proc"; a fixture tree in tests), the real statfs
// and uname.
class SystemProcReader final : public ProcReader {
 public:
  explicit SystemProcReader(std::string root = "/proc");

  Expected<std::string> read_file(std::string_view path,
                                  std::size_t max_bytes = kDefaultMaxBytes) const override;
  Expected<std::vector<std::string>> list_dir(std::string_view path) const override;
  Expected<std::vector<int>> list_pids() const override;
  Expected<FsStats> statfs(std::string_view path) const override;
  Expected<UnameInfo> uname() const override;

  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

// Whether `path` is acceptable to ProcReader::read_file / list_dir: relative, no "." or ".."
// component, no empty component. (Also used by the fake, so both refuse the same paths.)
bool is_valid_proc_path(std::string_view path);

// A decimal PID ("1", "42"): digits only, no sign, no leading zero, fits an int.
bool parse_pid(std::string_view name, int& pid);

}  // namespace lc
