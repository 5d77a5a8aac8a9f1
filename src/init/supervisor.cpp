// Spawning: posix_spawn(), once per PATH candidate. glibc runs its child with CLONE_VM|CLONE_VFORK
// on a stack of its own and only raw system calls (no code of ours, no sanitizer interceptor, no
// copy of lastcall's page tables), and returns the exec's errno, so no error pipe is needed. It
// sets the process group, the default dispositions, the mask, the stdout/stderr dup2()s and the
// terminal's foreground group (posix_spawn_file_actions_addtcsetpgrp_np, glibc 2.35; its child
// runs with every signal blocked, so SIGTTOU cannot stop it) before exec. The PATH walk is ours:
// §1.2 wants the child's PATH (after the §3.1 additions), posix_spawnp() would read lastcall's.
// Of several candidates, one that does not exist is skipped without a spawn; the others are tried
// with execvp's rules.
#include "init/supervisor.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>

#include <fmt/format.h>
#include <cerrno>
#include <string_view>
#include <system_error>
#include <utility>

#include "core/logger.h"
#include "init/command.h"

namespace lc::init {
namespace {

// Synchronous faults: blocked, they would kill the process without any handler running.
constexpr int kFaultSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS};

constexpr int kForwarded[] = {SIGTERM, SIGINT,  SIGHUP,   SIGQUIT,
                              SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT};
constexpr int kConsumed[] = {SIGTSTP, SIGTTIN, SIGTTOU};

// What glibc's execvp uses when PATH is absent (confstr(_CS_PATH)).
constexpr std::string_view kDefaultPath = "/bin:/usr/bin";

bool is_forwarded(int sig) {
  for (int s : kForwarded) {
    if (s == sig) return true;
  }
  return false;
}

std::string error_text(int error_number) {
  return std::error_code(error_number, std::generic_category()).message();
}

SpawnFailure failure_of(const std::string& command, int error_number) {
  SpawnFailure f;
  f.error_number = error_number;
  f.exit_code = error_number == ENOENT ? 127 : 126;
  f.message = fmt::format("cannot execute '{}': {}", command, error_text(error_number));
  return f;
}

std::vector<std::string> exec_candidates(const std::string& file,
                                         const std::vector<std::string>& env) {
  if (file.empty()) return {};
  if (file.find('/') != std::string::npos) return {file};
  std::string_view path = kDefaultPath;
  for (const auto& var : env) {
    if (std::string_view(var).substr(0, 5) == "PATH=") {
      path = std::string_view(var).substr(5);
      break;
    }
  }
  // Empty entries (leading, trailing or doubled ':') mean the current directory, as in execvp.
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t end = path.find(':', start);
    const std::string_view dir =
        path.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    out.push_back(dir.empty() ? file : std::string(dir) + "/" + file);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

// execvp's rules: keep searching after these; report EACCES if some entry had it and nothing ran.
bool try_next_candidate(int error_number) {
  switch (error_number) {
    case EACCES:
    case ENOENT:
    case ENOTDIR:
    case ESTALE:
    case ENODEV:
    case ETIMEDOUT:
      return true;
    default:
      return false;
  }
}

// Every signal number in the set, glibc's two internal ones (32, 33) included. sigfillset() and
// sigaddset() leave those out, and posix_spawn's child gives a signal outside its default set
// that has a handler (glibc installs one for both) SIG_IGN, which the exec keeps: the app would
// start with signals 32 and 33 ignored.
sigset_t every_signal() {
  sigset_t set;
  sigfillset(&set);
  constexpr std::size_t kBits = 8 * sizeof set.__val[0];
  for (std::size_t bit = 0; bit < 64; ++bit) set.__val[bit / kBits] |= 1UL << (bit % kBits);
  return set;
}

// posix_spawn's attributes and file actions for one SpawnRequest, destroyed with it.
class SpawnPlan {
 public:
  explicit SpawnPlan(const SpawnRequest& request) {
    ::posix_spawnattr_init(&attr_);
    ::posix_spawn_file_actions_init(&actions_);
    // Own process group (pgid = pid), every disposition default (lastcall ignores SIGPIPE; an
    // inherited SIG_IGN must not reach the app either), the requested mask (§3.1).
    const sigset_t all = every_signal();
    ::posix_spawnattr_setpgroup(&attr_, 0);
    ::posix_spawnattr_setsigdefault(&attr_, &all);
    ::posix_spawnattr_setsigmask(&attr_, &request.child_mask);
    ::posix_spawnattr_setflags(
        &attr_, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    // dup2 onto the same number clears FD_CLOEXEC (glibc ≥ 2.29), so an fd 1 or 2 that already
    // is the pipe is kept open across exec.
    if (request.stdout_fd >= 0) ::posix_spawn_file_actions_adddup2(&actions_, request.stdout_fd, 1);
    if (request.stderr_fd >= 0) ::posix_spawn_file_actions_adddup2(&actions_, request.stderr_fd, 2);
    if (::isatty(0) == 1) {
      const pid_t foreground = ::tcgetpgrp(0);
      // A failing tcsetpgrp would fail the spawn: only ask when lastcall is the foreground.
      if (foreground > 0 && foreground == ::getpgrp()) {
        ::posix_spawn_file_actions_addtcsetpgrp_np(&actions_, 0);
      }
    }
    argv_.reserve(request.argv.size() + 1);
    // posix_spawn's prototype is not const-correct; it never writes through these pointers.
    for (const auto& a : request.argv) argv_.push_back(const_cast<char*>(a.c_str()));
    argv_.push_back(nullptr);
    envp_.reserve(request.env.size() + 1);
    for (const auto& e : request.env) envp_.push_back(const_cast<char*>(e.c_str()));
    envp_.push_back(nullptr);
  }
  ~SpawnPlan() {
    ::posix_spawn_file_actions_destroy(&actions_);
    ::posix_spawnattr_destroy(&attr_);
  }
  SpawnPlan(const SpawnPlan&) = delete;
  SpawnPlan& operator=(const SpawnPlan&) = delete;

  // 0 and the pid, or the errno of the failed setup or exec (the child is gone then).
  int spawn(const std::string& path, pid_t& pid) const {
    return ::posix_spawn(&pid, path.c_str(), &actions_, &attr_, argv_.data(), envp_.data());
  }

 private:
  posix_spawnattr_t attr_{};
  posix_spawn_file_actions_t actions_{};
  std::vector<char*> argv_;
  std::vector<char*> envp_;
};

}  // namespace

sigset_t block_signals() {
  sigset_t all;
  sigfillset(&all);
  for (int sig : kFaultSignals) sigdelset(&all, sig);
  sigset_t old;
  sigemptyset(&old);
  ::pthread_sigmask(SIG_BLOCK, &all, &old);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ::sigaction(SIGPIPE, &ignore, nullptr);
  return old;
}

bool become_subreaper() {
  if (::getpid() == 1) return false;  // PID 1 is every orphan's parent already
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    LC_WARN("cannot become a child subreaper ({}): orphans of the command will not be reaped",
            error_text(errno));
    return false;
  }
  return true;
}

Expected<pid_t, SpawnFailure> spawn_child(const SpawnRequest& request) {
  const std::string command = request.argv.empty() ? std::string() : request.argv[0];
  if (request.argv.empty()) return failure_of(command, ENOENT);

  const SpawnPlan plan(request);
  bool saw_eacces = false;
  int last = ENOENT;
  const std::vector<std::string> candidates = exec_candidates(command, request.env);
  for (const auto& path : candidates) {
    // Most PATH entries do not hold the command: find that out without a spawn. A single
    // candidate (a path with '/') is spawned at once: the spawn reports a missing file itself.
    if (candidates.size() > 1 && ::access(path.c_str(), F_OK) != 0) {
      const int missing = errno;
      if (missing != EACCES && try_next_candidate(missing)) {
        last = missing;
        continue;
      }
    }
    pid_t pid = -1;
    const int e = plan.spawn(path, pid);
    if (e == 0) return pid;
    if (!try_next_candidate(e)) return failure_of(command, e);
    if (e == EACCES) saw_eacces = true;
    last = e;
  }
  return failure_of(command, saw_eacces ? EACCES : last);
}

// ---------------------------------------------------------------------------------------------

struct Supervisor::Io {
  explicit Io(boost::asio::io_context& io) : descriptor(io) {}
  boost::asio::posix::stream_descriptor descriptor;
};

Supervisor::Supervisor(EventLoop& loop, const Clock& clock, SelfMetrics& self, pid_t child,
                       SignalTarget target)
    : loop_(loop),
      clock_(clock),
      orphans_(self.counter(kOrphansReaped)),
      child_(child),
      target_(target),
      io_(std::make_unique<Io>(loop.io())) {}

Supervisor::~Supervisor() {
  alive_.reset();
  boost::system::error_code ignored;
  io_->descriptor.close(ignored);
}

void Supervisor::on_signal(std::function<void(int sig)> callback) {
  on_signal_ = std::move(callback);
}

void Supervisor::on_child_exit(std::function<void(const ChildExit&)> callback) {
  on_child_exit_ = std::move(callback);
}

void Supervisor::start() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : kForwarded) sigaddset(&set, sig);
  for (int sig : kConsumed) sigaddset(&set, sig);
  sigaddset(&set, SIGCHLD);
  const int fd = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) {
    // Without it nothing is forwarded and the child's exit is never seen: say so loudly.
    LC_ERROR("signalfd failed ({}): signals are not forwarded to the command", error_text(errno));
  } else {
    boost::system::error_code ec;
    io_->descriptor.assign(fd, ec);
    if (ec) {
      LC_ERROR("signalfd: {}", ec.message());
      ::close(fd);
    } else {
      arm();
    }
  }
  loop_.post([this, alive = std::weak_ptr<int>(alive_)] {
    if (!alive.expired()) reap();
  });
}

void Supervisor::arm() {
  io_->descriptor.async_wait(
      boost::asio::posix::descriptor_base::wait_read,
      [this, alive = std::weak_ptr<int>(alive_)](const boost::system::error_code& ec) {
        if (alive.expired() || ec) return;
        read_signals();
        arm();
      });
}

void Supervisor::read_signals() {
  signalfd_siginfo info[8];
  for (;;) {
    const ssize_t n = ::read(io_->descriptor.native_handle(), info, sizeof info);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) LC_ERROR("signalfd read: {}", error_text(errno));
      return;
    }
    const auto count = static_cast<size_t>(n) / sizeof(signalfd_siginfo);
    if (count == 0) return;
    for (size_t i = 0; i < count; ++i) handle(static_cast<int>(info[i].ssi_signo));
  }
}

void Supervisor::handle(int sig) {
  if (sig == SIGCHLD) {
    reap();
    return;
  }
  if (!is_forwarded(sig)) {
    LC_DEBUG("signal {} received: not forwarded (lastcall never stops itself)", sig);
    return;
  }
  forward(sig);
  if (on_signal_) on_signal_(sig);
}

void Supervisor::forward(int sig) {
  ++forwarded_;
  if (target_ == SignalTarget::kGroup) {
    signal_group(sig);
    return;
  }
  // LASTCALL_SIGNAL_TARGET=child: Go serverless-init's behaviour (§3.2).
  if (child_alive() && ::kill(child_, sig) != 0) {
    LC_DEBUG("kill({}, {}): {}", child_, sig, error_text(errno));
  }
}

void Supervisor::signal_group(int sig) {
  if (::kill(-child_, sig) == 0) return;
  const int e = errno;
  // The child left its group (setsid, setpgid) but still runs: signal it alone (§3.2).
  if (e == ESRCH && child_alive()) {
    if (::kill(child_, sig) != 0) LC_DEBUG("kill({}, {}): {}", child_, sig, error_text(errno));
    return;
  }
  if (e != ESRCH) LC_WARN("kill(-{}, {}): {}", child_, sig, error_text(e));
}

void Supervisor::kill_group() { signal_group(SIGKILL); }

bool Supervisor::group_has_members() const { return ::kill(-child_, 0) == 0; }

void Supervisor::reap() {
  for (;;) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid == 0) return;
    if (pid < 0) {
      if (errno == EINTR) continue;
      if (errno != ECHILD) LC_ERROR("waitpid: {}", error_text(errno));
      return;
    }
    if (pid != child_ || exit_.has_value()) {
      // An adopted orphan (§3.3), or one that reuses the reaped child's pid: its status means
      // nothing to us.
      orphans_.add();
      LC_DEBUG("reaped orphan {} (status {})", pid, exit_status_of(status));
      continue;
    }
    exit_ = ChildExit{status, exit_status_of(status), clock_.steady_now()};
    LC_DEBUG("command {} exited: status {}", child_, exit_->exit_code);
    if (on_child_exit_) on_child_exit_(*exit_);
  }
}

std::string Supervisor::describe() const {
  return fmt::format(
      "{{\"component\":\"supervisor\",\"child\":{},\"signal_target\":\"{}\",\"alive\":{},"
      "\"forwarded\":{},\"orphans_reaped\":{}}}",
      child_, target_ == SignalTarget::kGroup ? "group" : "child", child_alive(), forwarded_,
      orphans_.value());
}

}  // namespace lc::init
