#include "tools/sandbox/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <initializer_list>

#include <fmt/format.h>

namespace lc::sandbox {
namespace {

void close_all(std::initializer_list<int> fds) {
  for (const int fd : fds) {
    if (fd >= 0) ::close(fd);
  }
}

// Runs in the child between fork and exec: async-signal-safe calls only.
[[noreturn]] void exec_child(const SpawnSpec& spec, char* const* argv, char* const* envp,
                             pid_t parent, int devnull, int out_fd, int err_fd, int report_fd) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // the parent died before the prctl
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int s : {SIGCHLD, SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) {
    signal(s, SIG_DFL);
  }
  if (devnull >= 0) dup2(devnull, 0);
  dup2(out_fd, 1);
  dup2(err_fd, 2);
  // No listening socket, pipe or file of the parent leaks into the child (the report pipe closes
  // at exec by itself).
  const auto close_range = [](unsigned from, unsigned to) {
    if (from > to) return;
    if (syscall(SYS_close_range, from, to, 0U) != 0) {
      for (unsigned fd = from; fd <= to && fd < 4096; ++fd) ::close(static_cast<int>(fd));
    }
  };
  const unsigned keep = static_cast<unsigned>(report_fd);
  close_range(3U, keep - 1);
  close_range(keep + 1, ~0U);
  if (!spec.cwd.empty() && chdir(spec.cwd.c_str()) != 0) {
    const int e = errno;
    if (report_fd >= 0) (void)!::write(report_fd, &e, sizeof e);
    _exit(127);
  }
  execve(spec.path.c_str(), argv, envp);
  const int e = errno;
  if (report_fd >= 0) (void)!::write(report_fd, &e, sizeof e);
  if (!spec.exec_failure_prefix.empty()) {
    const char* why = strerror(e);
    (void)!::write(2, spec.exec_failure_prefix.data(), spec.exec_failure_prefix.size());
    (void)!::write(2, why, std::strlen(why));
    (void)!::write(2, "\n", 1);
  }
  _exit(127);
}

}  // namespace

Expected<Spawned> spawn(const SpawnSpec& spec) {
  if (spec.argv.empty()) return make_error(ErrorCode::kInvalidArgument, "empty argv");
  int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1}, report[2] = {-1, -1};
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0 ||
      pipe2(report, O_CLOEXEC) != 0) {
    const int e = errno;
    close_all({out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1], report[0], report[1]});
    return make_error(ErrorCode::kIo, fmt::format("pipe: {}", std::strerror(e)));
  }
  const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  // Everything the child needs is prepared before fork (no allocation after it).
  std::vector<char*> argv, envp;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const pid_t parent = getpid();

  const pid_t pid = fork();
  if (pid < 0) {
    const int e = errno;
    close_all({out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1], report[0], report[1], devnull});
    return make_error(ErrorCode::kIo, fmt::format("fork: {}", std::strerror(e)));
  }
  if (pid == 0) {
    exec_child(spec, argv.data(), envp.data(), parent, devnull, out_pipe[1], err_pipe[1],
               report[1]);
  }
  setpgid(pid, pid);  // also here, so a group signal works before the child ran
  close_all({out_pipe[1], err_pipe[1], report[1], devnull});
  Spawned s;
  s.pid = pid;
  s.stdout_fd = out_pipe[0];
  s.stderr_fd = err_pipe[0];
  // The report pipe closes at exec (close-on-exec) or carries the errno of a failed exec.
  int exec_errno = 0;
  ssize_t n;
  while ((n = ::read(report[0], &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR) {
  }
  ::close(report[0]);
  if (n == static_cast<ssize_t>(sizeof exec_errno)) s.exec_errno = exec_errno;
  return s;
}

}  // namespace lc::sandbox
