// Why fork() and not posix_spawnp() or vfork():
// - glibc's posix_spawnp does report an exec failure as its return value and can set the process
//   group, mask and default dispositions, but it looks PATH up in lastcall's own environment, not
//   in the child's (§1.2 requires the child's, after the §3.1 additions), and it cannot make the
//   child the terminal's foreground group before exec (done from the parent afterwards, a child
//   that reads the terminal first is stopped by SIGTTIN). Doing the PATH walk ourselves and
//   calling posix_spawn per candidate would add one clone per missing PATH entry.
// - vfork/CLONE_VM would save copying page tables, but the child would then run our code and the
//   sanitizer runtimes' interceptors in the parent's address space. lastcall is small when it
//   spawns (a few MB mapped), so fork costs about 0.1 ms, well inside the 5 ms target of §2.
// The child does only async-signal-safe system calls on data prepared before fork, so this is
// correct even though the receivers' threads exist at step 3.
#include "init/supervisor.h"

#include <fcntl.h>
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

// Everything the child reads, built before fork: after fork a multi-threaded process may only
// make async-signal-safe calls (no allocation, no locks).
struct ChildPlan {
  std::vector<char*> argv;
  std::vector<char*> envp;
  std::vector<std::string> candidates;  // paths to try in order (execvp's PATH walk)
  int stdout_fd = -1;
  int stderr_fd = -1;
  bool foreground = false;
  sigset_t mask{};
};

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

[[noreturn]] void report_and_exit(int err_fd, int error_number) {
  // A short write to a pipe of 4 bytes is atomic; nothing else can be done if it fails.
  [[maybe_unused]] const ssize_t n = ::write(err_fd, &error_number, sizeof error_number);
  ::_exit(127);
}

int redirect(int from, int to) {
  if (from < 0) return 0;
  if (from == to) {
    return ::fcntl(to, F_SETFD, 0) == 0 ? 0 : errno;  // keep it open across exec
  }
  while (::dup2(from, to) < 0) {
    if (errno != EINTR) return errno;
  }
  return 0;
}

// Runs in the forked child: async-signal-safe calls only.
[[noreturn]] void exec_child(const ChildPlan& plan, int err_fd) {
  if (::setpgid(0, 0) != 0) report_and_exit(err_fd, errno);
  struct sigaction action {};
  sigemptyset(&action.sa_mask);
  if (plan.foreground) {
    // We are a background group until tcsetpgrp returns; SIGTTOU would stop us (§3.1).
    action.sa_handler = SIG_IGN;
    ::sigaction(SIGTTOU, &action, nullptr);
    ::tcsetpgrp(0, ::getpid());  // failing leaves the child in the background: not fatal
  }
  if (const int e = redirect(plan.stdout_fd, 1); e != 0) report_and_exit(err_fd, e);
  if (const int e = redirect(plan.stderr_fd, 2); e != 0) report_and_exit(err_fd, e);
  // Handlers are reset by exec anyway, but ignored signals (SIGPIPE) would be inherited (§3.1).
  action.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    ::sigaction(sig, &action, nullptr);  // EINVAL for the libc-reserved real-time ones: fine
  }
  ::sigprocmask(SIG_SETMASK, &plan.mask, nullptr);

  // execvp's rules: keep searching after ENOENT-like errors and EACCES; report EACCES if some
  // entry had it and nothing ran; stop at any other error.
  bool saw_eacces = false;
  int last = ENOENT;
  for (const auto& path : plan.candidates) {
    ::execve(path.c_str(), plan.argv.data(), plan.envp.data());
    const int e = errno;
    switch (e) {
      case EACCES:
        saw_eacces = true;
        last = e;
        break;
      case ENOENT:
      case ENOTDIR:
      case ESTALE:
      case ENODEV:
      case ETIMEDOUT:
        last = e;
        break;
      default:
        report_and_exit(err_fd, e);
    }
  }
  report_and_exit(err_fd, saw_eacces ? EACCES : last);
}

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

  ChildPlan plan;
  plan.argv.reserve(request.argv.size() + 1);
  // execve's prototype is not const-correct; it never writes through these pointers.
  for (const auto& a : request.argv) plan.argv.push_back(const_cast<char*>(a.c_str()));
  plan.argv.push_back(nullptr);
  plan.envp.reserve(request.env.size() + 1);
  for (const auto& e : request.env) plan.envp.push_back(const_cast<char*>(e.c_str()));
  plan.envp.push_back(nullptr);
  plan.candidates = exec_candidates(command, request.env);
  plan.stdout_fd = request.stdout_fd;
  plan.stderr_fd = request.stderr_fd;
  plan.mask = request.child_mask;
  if (::isatty(0) == 1) {
    const pid_t foreground = ::tcgetpgrp(0);
    plan.foreground = foreground > 0 && foreground == ::getpgrp();
  }

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return failure_of(command, errno);
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int e = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return failure_of(command, e);
  }
  if (pid == 0) {
    ::close(fds[0]);
    exec_child(plan, fds[1]);
  }
  ::close(fds[1]);
  // EOF: the write end was closed by a successful exec (or the child died before writing).
  int child_errno = 0;
  ssize_t n = 0;
  do {
    n = ::read(fds[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  ::close(fds[0]);
  if (n != static_cast<ssize_t>(sizeof child_errno)) return pid;
  // The failed child is ours to reap: no Supervisor will ever see it.
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return failure_of(command, child_errno);
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
