#include "tools/sandbox/process_supervisor.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>

#include "core/logger.h"
#include "core/strings.h"
#include "tools/sandbox/spawn.h"

namespace lc::sandbox {
namespace {

constexpr std::size_t kMaxLine = 256 * 1024;  // longer lines are split

class PosixSupervisor;

// Reads one pipe on the loop and cuts it into lines. It waits for readiness and reads itself (no
// async_read_some, whose reactor reads ahead into a queued completion), so what the child wrote is
// either still in the pipe or already handed on: drain_now() then sees all of it.
struct PipeReader : std::enable_shared_from_this<PipeReader> {
  PipeReader(boost::asio::io_context& io, int fd, pid_t pid, bool is_stderr,
             ProcessSupervisor::LineFn* on_line)
      : sd(io, fd), pid(pid), is_stderr(is_stderr), on_line(on_line) {
    boost::system::error_code ignore;
    sd.native_non_blocking(true, ignore);
  }

  void start() { read_more(); }

  void read_more() {
    auto self = shared_from_this();
    sd.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                  [self](boost::system::error_code ec) {
                    if (!ec && !self->closed && self->read_available()) {
                      self->read_more();
                      return;
                    }
                    self->finish();
                  });
  }

  // Reads until the pipe is empty; false at end of file or on a read error.
  bool read_available() {
    const int fd = sd.native_handle();
    for (;;) {
      const ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n > 0) {
        consume(std::string_view(buf.data(), static_cast<size_t>(n)));
        continue;
      }
      if (n == 0) return false;
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
  }

  void finish() {
    if (closed) return;
    flush_partial();
    closed = true;
    boost::system::error_code ignore;
    sd.close(ignore);
  }

  // Reads whatever is already in the pipe without blocking: before reporting an exit (so the last
  // lines come first in the timeline) and before a runtimeDone (what the runtime printed before it
  // answered comes first).
  void drain_now() {
    if (closed || !sd.is_open()) return;
    read_available();  // end of file is seen by the pending wait, which closes
  }

  void consume(std::string_view data) {
    for (char c : data) {
      if (c == '\n') {
        emit();
      } else {
        partial.push_back(c);
        if (partial.size() >= kMaxLine) emit();
      }
    }
  }
  void emit() {
    std::string line;
    line.swap(partial);
    if (on_line != nullptr && *on_line) (*on_line)(pid, is_stderr, line);
  }
  void flush_partial() {
    if (!partial.empty()) emit();
  }
  void cancel() {
    on_line = nullptr;  // the supervisor is going away; late completions emit nothing
    boost::system::error_code ignore;
    sd.cancel(ignore);
  }

  boost::asio::posix::stream_descriptor sd;
  pid_t pid;
  bool is_stderr;
  ProcessSupervisor::LineFn* on_line;
  std::array<char, 16384> buf{};
  std::string partial;
  bool closed = false;
};

class PosixSupervisor final : public ProcessSupervisor {
 public:
  PosixSupervisor(boost::asio::io_context& io, LineFn on_line, ExitFn on_exit)
      : io_(io), on_line_(std::move(on_line)), on_exit_(std::move(on_exit)), sigchld_(io, SIGCHLD) {
    wait_sigchld();
  }

  ~PosixSupervisor() override {
    kill_all();
    boost::system::error_code ignore;
    sigchld_.cancel(ignore);
    for (auto& [pid, c] : children_) {
      if (c.out) c.out->cancel();
      if (c.err) c.err->cancel();
    }
  }

  Expected<pid_t> launch(const LaunchSpec& spec) override {
    SpawnSpec sp;
    sp.path = spec.path;
    sp.argv = spec.argv;
    sp.env = spec.env;
    sp.exec_failure_prefix = fmt::format("lastcall-sandbox: cannot exec {}: ", spec.path);
    auto spawned = spawn(sp);
    if (!spawned) return std::move(spawned).error();
    // A failed exec shows as the child's stderr line and its exit 127, like any other failure.
    const pid_t pid = spawned->pid;
    Child c;
    c.out = std::make_shared<PipeReader>(io_, spawned->stdout_fd, pid, false, &on_line_);
    c.err = std::make_shared<PipeReader>(io_, spawned->stderr_fd, pid, true, &on_line_);
    c.out->start();
    c.err->start();
    children_.emplace(pid, std::move(c));
    // A child that died before the SIGCHLD handler was armed is still reaped on the next signal.
    return pid;
  }

  bool signal_group(pid_t pgid, int sig) override {
    if (pgid <= 0) return false;
    return ::kill(-pgid, sig) == 0;
  }

  bool running(pid_t pid) const override {
    auto it = children_.find(pid);
    return it != children_.end() && !it->second.exited;
  }

  void drain_output(pid_t pid) override {
    auto it = children_.find(pid);
    if (it == children_.end()) return;
    if (it->second.out) it->second.out->drain_now();
    if (it->second.err) it->second.err->drain_now();
  }

  void kill_all() override {
    for (auto& [pid, c] : children_) {
      if (!c.exited) ::kill(-pid, SIGKILL);
    }
  }

 private:
  struct Child {
    std::shared_ptr<PipeReader> out, err;
    bool exited = false;
  };

  void wait_sigchld() {
    sigchld_.async_wait([this](boost::system::error_code ec, int) {
      if (ec) return;
      reap();
      wait_sigchld();
    });
  }

  void reap() {
    for (;;) {
      int status = 0;
      const pid_t pid = waitpid(-1, &status, WNOHANG);
      if (pid <= 0) break;
      ExitStatus st;
      if (WIFEXITED(status)) st.code = WEXITSTATUS(status);
      if (WIFSIGNALED(status)) st.signal = WTERMSIG(status);
      auto it = children_.find(pid);
      if (it != children_.end()) {
        it->second.exited = true;
        if (it->second.out) it->second.out->drain_now();
        if (it->second.err) it->second.err->drain_now();
      }
      if (on_exit_) on_exit_(pid, st);
    }
  }

  boost::asio::io_context& io_;
  LineFn on_line_;
  ExitFn on_exit_;
  boost::asio::signal_set sigchld_;
  std::unordered_map<pid_t, Child> children_;
};

}  // namespace

Expected<std::unique_ptr<ProcessSupervisor>> ProcessSupervisor::create(boost::asio::io_context& io,
                                                                       LineFn on_line,
                                                                       ExitFn on_exit) {
  return std::unique_ptr<ProcessSupervisor>(
      new PosixSupervisor(io, std::move(on_line), std::move(on_exit)));
}

namespace {

std::uint64_t vm_hwm_kb(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(in, line)) {
    if (starts_with(line, "VmHWM:") && line.size() > 8) {
      const auto n = parse_int(trim(std::string_view(line).substr(6, line.size() - 8)));
      return n && *n > 0 ? static_cast<std::uint64_t>(*n) : 0;
    }
  }
  return 0;
}

// Children of every thread of pid (CONFIG_PROC_CHILDREN); nullopt when the kernel lacks the file.
std::optional<std::vector<pid_t>> children_of(pid_t pid) {
  std::vector<pid_t> out;
  bool any = false;
  if (DIR* d = opendir(fmt::format("/proc/{}/task", pid).c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream in(fmt::format("/proc/{}/task/{}/children", pid, e->d_name));
      if (!in) continue;
      any = true;
      long child = 0;
      while (in >> child) out.push_back(static_cast<pid_t>(child));
    }
    closedir(d);
  }
  if (!any) return std::nullopt;
  return out;
}

}  // namespace

std::uint64_t process_tree_peak_rss_kb(pid_t root) {
  std::uint64_t total = 0;
  std::vector<pid_t> todo{root};
  std::size_t guard = 0;
  while (!todo.empty() && guard++ < 4096) {
    const pid_t p = todo.back();
    todo.pop_back();
    total += vm_hwm_kb(p);
    if (auto kids = children_of(p)) todo.insert(todo.end(), kids->begin(), kids->end());
  }
  return total;
}

std::optional<int> parse_signal_name(std::string_view name) {
  if (auto n = parse_int(name); n && *n > 0 && *n < 65) return static_cast<int>(*n);
  std::string s(name);
  if (starts_with(s, "SIG")) s = s.substr(3);
  static const std::pair<const char*, int> kSignals[] = {
      {"KILL", SIGKILL}, {"TERM", SIGTERM}, {"INT", SIGINT},   {"ABRT", SIGABRT},
      {"SEGV", SIGSEGV}, {"HUP", SIGHUP},   {"QUIT", SIGQUIT}, {"USR1", SIGUSR1},
      {"STOP", SIGSTOP}, {"CONT", SIGCONT}, {"BUS", SIGBUS}};
  for (const auto& [n, v] : kSignals) {
    if (s == n) return v;
  }
  return std::nullopt;
}

std::string signal_name(int sig) {
  switch (sig) {
    case SIGKILL:
      return "SIGKILL";
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    case SIGABRT:
      return "SIGABRT";
    case SIGSEGV:
      return "SIGSEGV";
    case SIGHUP:
      return "SIGHUP";
    case SIGQUIT:
      return "SIGQUIT";
    case SIGSTOP:
      return "SIGSTOP";
    case SIGCONT:
      return "SIGCONT";
    case SIGUSR1:
      return "SIGUSR1";
    case SIGBUS:
      return "SIGBUS";
    default:
      return fmt::format("SIG{}", sig);
  }
}

}  // namespace lc::sandbox
