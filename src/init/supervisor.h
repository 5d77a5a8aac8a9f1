// init/supervisor.h — the wrapper's child process: signal state of lastcall itself, spawning the
// child (serverless-init.md §1.2, §3.1), and the Supervisor that forwards signals to it, reaps it
// and every adopted orphan, and reports its exit (§3.2–§3.4).
// Called by the wrapper's composition root: block_signals() and become_subreaper() first thing in
// main (before any thread exists), spawn_child() at step 3 of §2, then a Supervisor on the loop.
// The Supervisor owns its signalfd; it never owns or waits on the child synchronously.
//
// Precondition of the whole design: block_signals() runs in the main thread before any other
// thread is created, so every thread inherits the full mask. A process-directed signal is then
// blocked in every thread, stays pending, and only the Supervisor's signalfd takes it; if one
// thread left SIGTERM unblocked, the kernel would deliver it there (default action: die) instead.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/event_loop.h"
#include "core/expected.h"
#include "core/init_config.h"
#include "core/self_metrics.h"

namespace lc::init {

// Blocks every catchable signal in the calling thread and sets SIGPIPE to ignored (a closed stdout
// must not kill the wrapper, §3.2); returns the previous mask. The synchronous fault signals
// (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS) stay unblocked: a fault while they are
// blocked kills the process without running a crash handler (sanitizer reports, core dumps).
sigset_t block_signals();

// PR_SET_CHILD_SUBREAPER when lastcall is not PID 1 (§3.3), so orphaned grandchildren re-parent to
// lastcall and are reaped by the Supervisor. True when the attribute was set.
bool become_subreaper();

inline sigset_t empty_signal_set() {
  sigset_t set;
  sigemptyset(&set);
  return set;
}

struct SpawnRequest {
  std::vector<std::string> argv;  // argv[0] without '/' is looked up in PATH of `env`
  std::vector<std::string> env;   // "NAME=value", exactly the child's environment
  // -1 = inherit lastcall's fd 1/2. Otherwise a descriptor ≥ 3 (a pipe's write end); it is
  // dup'ed onto 1/2 in the child, so it may be O_CLOEXEC.
  int stdout_fd = -1;
  int stderr_fd = -1;
  sigset_t child_mask = empty_signal_set();  // the child's mask at exec (§3.1: empty)
};

struct SpawnFailure {
  int error_number = 0;
  int exit_code = 126;  // 127 for ENOENT, else 126 (§1.2)
  std::string message;  // "cannot execute 'foo': No such file or directory"
};

// Spawns the child (§3.1, posix_spawn): own process group (pgid = pid), every disposition default
// and `child_mask` as mask, stdout/stderr from the given fds, PATH looked up in the child's `env`
// (execvp's rules: EACCES on one entry keeps searching and is reported if nothing runs; no /bin/sh
// fallback on ENOEXEC, §1.2 "no shell"). If fd 0 is a terminal whose foreground group is
// lastcall's, the child's group becomes the foreground group before exec. Returns once the exec
// succeeded or failed (posix_spawn reports the exec's errno; nothing is left to reap). Safe in a
// multi-threaded process.
Expected<pid_t, SpawnFailure> spawn_child(const SpawnRequest& request);

struct ChildExit {
  int wait_status = 0;
  int exit_code = 0;  // exit_status_of(wait_status), §3.4
  SteadyTime at;
};

// Runs on the loop thread. Reads SIGTERM SIGINT SIGHUP SIGQUIT SIGUSR1 SIGUSR2 SIGWINCH SIGCONT
// (forwarded, §3.2), SIGCHLD (reap, §3.3) and SIGTSTP SIGTTIN SIGTTOU (consumed: lastcall never
// stops itself) from a signalfd; these must be blocked in every thread (see the top of this file).
// Every waitpid(-1) result that is not the child is an adopted orphan, counted in
// `lastcall.init.orphans_reaped`. Destroying the Supervisor closes the signalfd; signals then stay
// pending.
class Supervisor {
 public:
  static constexpr std::string_view kOrphansReaped = "lastcall.init.orphans_reaped";

  Supervisor(EventLoop& loop, const Clock& clock, SelfMetrics& self, pid_t child,
             SignalTarget target);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Installs the signalfd, then posts one reap pass (the child may have exited before start).
  // Set the callbacks before the loop runs.
  void start();
  // Called after a forwarded signal was forwarded (SIGTERM starts the shutdown timeline, §3.5).
  void on_signal(std::function<void(int sig)> callback);
  // The direct child's exit, once.
  void on_child_exit(std::function<void(const ChildExit&)> callback);

  bool child_alive() const { return !exit_.has_value(); }
  const std::optional<ChildExit>& child_exit() const { return exit_; }
  pid_t child() const { return child_; }

  // kill(-pgid, sig); when the group is gone (ESRCH) but the child is not reaped yet (it left the
  // group), kill(pid, sig) (§3.2).
  void signal_group(int sig);
  // SIGKILL to the group (end of grace, and before lastcall exits while members remain, §3.3).
  void kill_group();
  // Someone (the child, a zombie not yet reaped, a grandchild) is still in the child's group.
  bool group_has_members() const;

  std::uint64_t orphans_reaped() const { return orphans_.value(); }
  std::string describe() const;

 private:
  struct Io;
  void arm();
  void read_signals();
  void handle(int sig);
  void forward(int sig);
  void reap();

  EventLoop& loop_;
  const Clock& clock_;
  SelfMetrics::Counter orphans_;
  pid_t child_;
  SignalTarget target_;
  std::unique_ptr<Io> io_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // handlers check it before using this
  std::optional<ChildExit> exit_;
  std::function<void(int)> on_signal_;
  std::function<void(const ChildExit&)> on_child_exit_;
  std::uint64_t forwarded_ = 0;
};

}  // namespace lc::init
