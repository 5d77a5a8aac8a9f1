#include "core/proc_reader.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

namespace lc {
namespace {

Error errno_error(int err, std::string_view what, std::string_view path) {
  const ErrorCode code =
      err == ENOENT || err == ENOTDIR || err == ESRCH ? ErrorCode::kNotFound : ErrorCode::kIo;
  return make_error(code, fmt::format("{} {}: {}", what, path, std::strerror(err)));
}

// Closes a file descriptor on every path out.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

bool is_valid_proc_path(std::string_view path) {
  if (path.empty() || path.front() == '/') return false;
  while (!path.empty()) {
    const std::size_t slash = path.find('/');
    const std::string_view part = path.substr(0, slash);
    if (part.empty() || part == "." || part == "..") return false;
    if (part.find('\0') != std::string_view::npos) return false;
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
    if (path.empty()) return false;  // a trailing '/'
  }
  return true;
}

bool parse_pid(std::string_view name, int& pid) {
  if (name.empty() || name.size() > 9 || name.front() == '0') return false;
  int v = 0;
  for (const char c : name) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  pid = v;
  return true;
}

SystemProcReader::SystemProcReader(std::string root) : root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

Expected<std::string> SystemProcReader::read_file(std::string_view path,
                                                  std::size_t max_bytes) const {
  if (!is_valid_proc_path(path)) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("bad /proc path '{}'", path));
  }
  const std::string full = root_ + "/" + std::string(path);
  const Fd fd(::open(full.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return errno_error(errno, "open", full);
  // /proc files report size 0: read until EOF, one byte past the cap to tell "exactly max" from
  // "more".
  std::string out;
  char buf[4096];
  for (;;) {
    const std::size_t want = std::min(sizeof buf, max_bytes + 1 - out.size());
    const ssize_t n = ::read(fd.get(), buf, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(errno, "read", full);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > max_bytes) {
      return make_error(ErrorCode::kTooLarge,
                        fmt::format("{} holds more than {} bytes", full, max_bytes));
    }
  }
  return out;
}

Expected<std::vector<std::string>> SystemProcReader::list_dir(std::string_view path) const {
  if (!is_valid_proc_path(path)) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("bad /proc path '{}'", path));
  }
  const std::string full = root_ + "/" + std::string(path);
  DIR* dir = ::opendir(full.c_str());
  if (dir == nullptr) return errno_error(errno, "opendir", full);
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(dir)) {  // NOLINT(concurrency-mt-unsafe): one reader per DIR
    const std::string_view name(e->d_name);
    if (name != "." && name != "..") names.emplace_back(name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

Expected<std::vector<int>> SystemProcReader::list_pids() const {
  DIR* dir = ::opendir(root_.c_str());
  if (dir == nullptr) return errno_error(errno, "opendir", root_);
  std::vector<int> pids;
  while (const dirent* e = ::readdir(dir)) {  // NOLINT(concurrency-mt-unsafe)
    int pid = 0;
    if (parse_pid(e->d_name, pid)) pids.push_back(pid);
  }
  ::closedir(dir);
  std::sort(pids.begin(), pids.end());
  return pids;
}

Expected<FsStats> SystemProcReader::statfs(std::string_view path) const {
  const std::string p(path);
  struct statvfs st {};
  if (::statvfs(p.c_str(), &st) != 0) return errno_error(errno, "statfs", p);
  const std::uint64_t unit = st.f_frsize != 0 ? st.f_frsize : st.f_bsize;
  FsStats out;
  out.total_bytes = static_cast<std::uint64_t>(st.f_blocks) * unit;
  out.free_bytes = static_cast<std::uint64_t>(st.f_bfree) * unit;
  out.available_bytes = static_cast<std::uint64_t>(st.f_bavail) * unit;
  return out;
}

Expected<UnameInfo> SystemProcReader::uname() const {
  struct utsname u {};
  if (::uname(&u) != 0) return errno_error(errno, "uname", "");
  return UnameInfo{u.sysname, u.release, u.machine};
}

}  // namespace lc
