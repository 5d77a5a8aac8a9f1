// tests/support/process.h — runs a real binary (lastcall, lastcall-sandbox, lastcall-fakeintake) in
// a test: chosen argv and environment, stdout/stderr captured line by line, waiting on a line or on
// exit with a time limit (never a fixed sleep), and a process-group kill on every exit path.
// Started with the sandbox's hardened spawn (tools/sandbox/spawn.h): own process group, dies with
// the test (PR_SET_PDEATHSIG), clean signal mask, stdin from /dev/null, no inherited fds.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/mutex.h"

namespace lc::test {

struct ProcessOptions {
  std::vector<std::string> argv;           // argv[0] is the path to execute
  std::map<std::string, std::string> env;  // added to (or replacing, see below) the environment
  bool inherit_env = false;                // false: the child sees only `env` (+ PATH, HOME)
  std::string argv0_override;              // when set, passed as argv[0] instead of the path
  std::string cwd;
};

class ChildProcess {
 public:
  enum class Stream { kStdout, kStderr };
  struct Line {
    Stream stream;
    std::string text;
  };

  // Starts the process; nullptr (with a reason in *error) when fork/exec failed.
  static std::unique_ptr<ChildProcess> start(ProcessOptions options, std::string* error = nullptr);
  ~ChildProcess();  // SIGKILLs the process group if still running, joins reader threads

  pid_t pid() const { return pid_; }

  // The first captured line (either stream, from the start) for which pred holds.
  std::optional<std::string> wait_for_line(const std::function<bool(std::string_view)>& pred,
                                           std::chrono::milliseconds timeout);
  std::optional<std::string> wait_for_line_containing(std::string_view needle,
                                                      std::chrono::milliseconds timeout);
  std::vector<Line> lines() const;
  std::string output(Stream stream) const;  // all lines of one stream joined with '\n'

  void signal(int sig);        // to the process only
  void signal_group(int sig);  // to its process group
  // Exit status (128 + signal when killed by a signal), or nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  bool running() const;

 private:
  ChildProcess() = default;
  void read_loop(int fd, Stream stream);

  pid_t pid_ = -1;
  mutable Mutex mu_;
  CondVar cv_;
  std::vector<Line> lines_ LC_GUARDED_BY(mu_);
  std::optional<int> exit_status_ LC_GUARDED_BY(mu_);
  std::thread out_reader_, err_reader_, waiter_;
};

// "listening: dogstatsd=8125 traces=8126" → {"dogstatsd":8125,"traces":8126}
std::map<std::string, int> parse_listening_line(std::string_view line);

// A port that was free a moment ago: bind 127.0.0.1:0 (SOCK_DGRAM or SOCK_STREAM), read, close;
// 0 when the kernel refused. Racy by nature: only for a port a process must be told before it
// starts (an environment variable), where binding port 0 itself is not possible.
std::uint16_t pick_free_port(int socket_type);

// Path of a built executable: $LASTCALL_BINARY_DIR/bin/<name>.
std::string built_binary(std::string_view name);

// The real wall clock, as the binaries under test see it: milliseconds and seconds since the Unix
// epoch (Lambda deadlineMs, DogStatsD |T timestamps).
std::int64_t wall_ms();
std::int64_t wall_s();

}  // namespace lc::test
