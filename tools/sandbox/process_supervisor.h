// tools/sandbox/process_supervisor.h — starts the sandbox's children (extensions, runtime workers)
// with the hardened spawn (spawn.h: own process group, PR_SET_PDEATHSIG(SIGKILL), clean signal
// mask, no inherited fds), reads stdout/stderr line by line on the loop, reaps on SIGCHLD, signals
// groups, and reads the peak RSS of a process tree.
// Owned by the Sandbox; every callback runs on the loop thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/expected.h"

namespace boost::asio {
class io_context;
}

namespace lc::sandbox {

struct LaunchSpec {
  std::string path;               // executed as is
  std::vector<std::string> argv;  // argv[0] included
  std::vector<std::string> env;   // "NAME=value"
};

struct ExitStatus {
  std::optional<int> code;    // exited normally
  std::optional<int> signal;  // killed by this signal
};

class ProcessSupervisor {
 public:
  using LineFn = std::function<void(pid_t pid, bool is_stderr, std::string_view line)>;
  using ExitFn = std::function<void(pid_t pid, ExitStatus status)>;

  static Expected<std::unique_ptr<ProcessSupervisor>> create(boost::asio::io_context& io,
                                                             LineFn on_line, ExitFn on_exit);
  virtual ~ProcessSupervisor() = default;

  // The child runs in its own process group (pgid == pid).
  virtual Expected<pid_t> launch(const LaunchSpec& spec) = 0;
  // kill(-pgid, sig); false when the group is gone.
  virtual bool signal_group(pid_t pgid, int sig) = 0;
  virtual bool running(pid_t pid) const = 0;
  // Reads what the child already wrote to its stdout/stderr pipes, without blocking, and hands
  // the complete lines to LineFn now: what a runtime printed before it answered comes before the
  // answer's runtimeDone (as on Lambda, where the platform reads the output in order).
  virtual void drain_output(pid_t pid) = 0;
  // SIGKILLs every running group (sandbox exit).
  virtual void kill_all() = 0;
};

// Sum of VmHWM (peak RSS) over `root` and its live descendants, in KiB; 0 when unreadable.
std::uint64_t process_tree_peak_rss_kb(pid_t root);

// "SIGKILL" / "KILL" / "9" → 9; nullopt when unknown.
std::optional<int> parse_signal_name(std::string_view name);
std::string signal_name(int sig);

}  // namespace lc::sandbox
