// tests/support/opt_extensions.h — makes `/opt/extensions/<name>` exist for one command's processes
// only, so a Datadog client library that tests that path (datadog-lambda-js, -python, -go) believes
// an extension is installed, without writing anything to the machine's /opt.
//
//   OptExtensions opt({.name = "datadog-agent", .target = built_binary("lastcall")});
//   if (!opt.available()) LC_SKIP_UNLESS_CI() << opt.missing();
//   rig_options.runtime = opt.wrap({"/usr/bin/node", "index.js"}, "/path/to/function");
//
// How: the wrapped command starts with `unshare --mount --propagation private` (plus `--user
// --map-root-user` when the test is not root), so its mounts are private to it and its children.
// Inside, /bin/sh mounts a tmpfs on a scratch directory this object created, lays an overlay on
// /opt whose writable layer lives in that tmpfs (or, where overlayfs is refused, a tmpfs over
// /opt), creates /opt/extensions/<name> there (a symlink to `target`, or an empty file) and execs
// the command in the same process: the sandbox's pid, process group and freeze (SIGSTOP) stay
// valid. The namespace, the tmpfs and the overlay vanish with the command's last process; the
// destructor removes the (always empty) scratch directory. Nothing is left behind.
//
// Needs `unshare`, `mount` and /bin/sh, and either root (CAP_SYS_ADMIN: CI runs as root) or
// unprivileged user namespaces. The constructor probes once by running the wrapper around `test -e
// /opt/extensions/<name>`; available() is false (and missing() says why) when that failed.
// Test code only; blocking (the probe waits up to 10 s).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace lc::test {

struct OptExtensionsOptions {
  std::string name = "datadog-agent";  // the file under /opt/extensions
  std::string target = {};             // what it links to; empty: an empty executable file
};

class OptExtensions {
 public:
  explicit OptExtensions(OptExtensionsOptions options = {});
  ~OptExtensions();
  OptExtensions(const OptExtensions&) = delete;
  OptExtensions& operator=(const OptExtensions&) = delete;

  bool available() const { return available_; }
  // What is missing, for a skip message (e.g. "unshare --mount failed: … (needs root …)").
  const std::string& missing() const { return missing_; }
  // `command` (argv[0] an absolute path or a name looked up in PATH) run inside the namespace, in
  // working directory `cwd` when not empty. The result's argv[0] is an absolute path.
  std::vector<std::string> wrap(const std::vector<std::string>& command,
                                const std::string& cwd = "") const;

  // The path the command sees: /opt/extensions/<name>.
  std::string path() const { return "/opt/extensions/" + options_.name; }
  // The scratch directory the namespace mounts its tmpfs on (empty outside it; removed with this).
  const std::filesystem::path& scratch_dir() const { return scratch_; }

 private:
  OptExtensionsOptions options_;
  std::filesystem::path scratch_;
  std::string unshare_;
  bool as_user_ = false;
  bool available_ = false;
  std::string missing_;
};

// The absolute path of an executable found in PATH (or "/usr/sbin", "/sbin"); "" when absent.
std::string find_executable(const std::string& name);

}  // namespace lc::test
