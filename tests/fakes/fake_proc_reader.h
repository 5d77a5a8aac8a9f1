// tests/fakes/fake_proc_reader.h — a ProcReader answering from memory: files (path → content,
// paths relative to the /proc root as in "123/environ"), the PIDs, statfs per mount point and one
// uname. Directories are implied by the files under them ("123/fd/0" makes "123/fd" list "0").
// For unit tests of enhanced usage metrics and cloud detection.
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/proc_reader.h"

namespace lc::fakes {

class FakeProcReader final : public ProcReader {
 public:
  FakeProcReader() { uname_ = UnameInfo{"Linux", "5.10.0-fake", "x86_64"}; }

  // Setup.
  FakeProcReader& file(std::string path, std::string content) {
    files_[std::move(path)] = std::move(content);
    return *this;
  }
  FakeProcReader& remove(const std::string& path) {
    files_.erase(path);
    return *this;
  }
  FakeProcReader& pids(std::vector<int> pids) {
    pids_ = std::move(pids);
    return *this;
  }
  FakeProcReader& fs(std::string mount, FsStats stats) {
    fs_[std::move(mount)] = stats;
    return *this;
  }
  FakeProcReader& set_uname(UnameInfo u) {
    uname_ = std::move(u);
    return *this;
  }
  // The next calls of that kind fail with `error` (until cleared with std::nullopt).
  FakeProcReader& fail_uname(std::optional<Error> error) {
    uname_error_ = std::move(error);
    return *this;
  }

  // How many reads each path saw (a cache test asserts on it).
  std::size_t reads(const std::string& path) const {
    const auto it = reads_.find(path);
    return it == reads_.end() ? 0 : it->second;
  }

  Expected<std::string> read_file(std::string_view path,
                                  std::size_t max_bytes = kDefaultMaxBytes) const override {
    if (!is_valid_proc_path(path)) {
      return make_error(ErrorCode::kInvalidArgument, "bad /proc path '" + std::string(path) + "'");
    }
    ++reads_[std::string(path)];
    const auto it = files_.find(std::string(path));
    if (it == files_.end()) {
      return make_error(ErrorCode::kNotFound, "open /proc/" + std::string(path) + ": no such file");
    }
    if (it->second.size() > max_bytes) {
      return make_error(ErrorCode::kTooLarge, "/proc/" + std::string(path) + " holds more than " +
                                                  std::to_string(max_bytes) + " bytes");
    }
    return it->second;
  }

  Expected<std::vector<std::string>> list_dir(std::string_view path) const override {
    if (!is_valid_proc_path(path)) {
      return make_error(ErrorCode::kInvalidArgument, "bad /proc path '" + std::string(path) + "'");
    }
    const std::string prefix = std::string(path) + "/";
    std::set<std::string> names;
    for (const auto& [p, content] : files_) {
      if (p.compare(0, prefix.size(), prefix) != 0) continue;
      const std::string rest = p.substr(prefix.size());
      names.insert(rest.substr(0, rest.find('/')));
    }
    if (names.empty()) {
      return make_error(ErrorCode::kNotFound,
                        "opendir /proc/" + std::string(path) + ": no such directory");
    }
    return std::vector<std::string>(names.begin(), names.end());
  }

  Expected<std::vector<int>> list_pids() const override {
    std::vector<int> out = pids_;
    std::sort(out.begin(), out.end());
    return out;
  }

  Expected<FsStats> statfs(std::string_view path) const override {
    const auto it = fs_.find(std::string(path));
    if (it == fs_.end()) {
      return make_error(ErrorCode::kNotFound, "statfs " + std::string(path) + ": no such file");
    }
    return it->second;
  }

  Expected<UnameInfo> uname() const override {
    if (uname_error_) return *uname_error_;
    return uname_;
  }

 private:
  std::map<std::string, std::string> files_;
  std::vector<int> pids_;
  std::map<std::string, FsStats> fs_;
  UnameInfo uname_;
  std::optional<Error> uname_error_;
  mutable std::map<std::string, std::size_t> reads_;
};

}  // namespace lc::fakes
