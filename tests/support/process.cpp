#include "support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace lc::test {

std::unique_ptr<ChildProcess> ChildProcess::start(ProcessOptions options, std::string* error) {
  int out_pipe[2], err_pipe[2], exec_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0 ||
      pipe2(exec_pipe, O_CLOEXEC) != 0) {
    if (error) *error = std::string("pipe: ") + std::strerror(errno);
    return nullptr;
  }
  // Everything the child needs is prepared before fork (no allocation after it).
  std::map<std::string, std::string> env_map;
  if (options.inherit_env) {
    for (char** e = environ; *e != nullptr; ++e) {
      std::string_view kv(*e);
      const size_t eq = kv.find('=');
      if (eq != std::string_view::npos) env_map[std::string(kv.substr(0, eq))] = kv.substr(eq + 1);
    }
  } else {
    for (const char* keep : {"PATH", "HOME", "LASTCALL_BINARY_DIR", "ASAN_OPTIONS", "UBSAN_OPTIONS",
                             "TSAN_OPTIONS", "LSAN_OPTIONS"}) {
      if (const char* v = std::getenv(keep)) env_map[keep] = v;
    }
  }
  for (const auto& [k, v] : options.env) env_map[k] = v;
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env_map) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = options.argv;
  const std::string path = args.at(0);
  if (!options.argv0_override.empty()) args[0] = options.argv0_override;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = getpid();

  const pid_t pid = fork();
  if (pid < 0) {
    if (error) *error = std::string("fork: ") + std::strerror(errno);
    return nullptr;
  }
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    if (!options.cwd.empty() && chdir(options.cwd.c_str()) != 0) _exit(127);
    execve(path.c_str(), argv.data(), envp.data());
    const int e = errno;
    (void)!write(exec_pipe[1], &e, sizeof e);
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  close(exec_pipe[1]);
  int exec_errno = 0;
  const ssize_t n = read(exec_pipe[0], &exec_errno, sizeof exec_errno);
  close(exec_pipe[0]);
  std::unique_ptr<ChildProcess> child(new ChildProcess());
  child->pid_ = pid;
  child->out_reader_ =
      std::thread([c = child.get(), fd = out_pipe[0]] { c->read_loop(fd, Stream::kStdout); });
  child->err_reader_ =
      std::thread([c = child.get(), fd = err_pipe[0]] { c->read_loop(fd, Stream::kStderr); });
  child->waiter_ = std::thread([c = child.get()] {
    int status = 0;
    while (waitpid(c->pid_, &status, 0) < 0 && errno == EINTR) {
    }
    MutexLock lock(c->mu_);
    c->exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    c->cv_.notify_all();
  });
  if (n == static_cast<ssize_t>(sizeof exec_errno)) {
    if (error) *error = "exec " + path + ": " + std::strerror(exec_errno);
    return nullptr;  // the destructor reaps the child
  }
  return child;
}

ChildProcess::~ChildProcess() {
  if (running()) signal_group(SIGKILL);
  if (waiter_.joinable()) waiter_.join();
  // Grandchildren may still hold the pipes open; kill the group again before joining readers.
  ::kill(-pid_, SIGKILL);
  if (out_reader_.joinable()) out_reader_.join();
  if (err_reader_.joinable()) err_reader_.join();
}

void ChildProcess::read_loop(int fd, Stream stream) {
  std::string partial;
  char buf[8192];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    partial.append(buf, static_cast<size_t>(n));
    size_t pos;
    while ((pos = partial.find('\n')) != std::string::npos) {
      MutexLock lock(mu_);
      lines_.push_back({stream, partial.substr(0, pos)});
      partial.erase(0, pos + 1);
      cv_.notify_all();
    }
  }
  if (!partial.empty()) {
    MutexLock lock(mu_);
    lines_.push_back({stream, partial});
    cv_.notify_all();
  }
  close(fd);
}

std::optional<std::string> ChildProcess::wait_for_line(
    const std::function<bool(std::string_view)>& pred, std::chrono::milliseconds timeout) {
  MutexLock lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  for (size_t checked = 0;;) {
    for (; checked < lines_.size(); ++checked) {
      if (pred(lines_[checked].text)) return lines_[checked].text;
    }
    if (timed_out) return std::nullopt;
    timed_out = !lock.wait_until(cv_, deadline);
  }
}

std::optional<std::string> ChildProcess::wait_for_line_containing(
    std::string_view needle, std::chrono::milliseconds timeout) {
  const std::string n(needle);
  return wait_for_line([&](std::string_view l) { return l.find(n) != std::string_view::npos; },
                       timeout);
}

std::vector<ChildProcess::Line> ChildProcess::lines() const {
  MutexLock lock(mu_);
  return lines_;
}

std::string ChildProcess::output(Stream stream) const {
  MutexLock lock(mu_);
  std::string out;
  for (const auto& l : lines_) {
    if (l.stream != stream) continue;
    if (!out.empty()) out.push_back('\n');
    out += l.text;
  }
  return out;
}

void ChildProcess::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

void ChildProcess::signal_group(int sig) { ::kill(-pid_, sig); }

std::optional<int> ChildProcess::wait_exit(std::chrono::milliseconds timeout) {
  MutexLock lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!exit_status_.has_value() && lock.wait_until(cv_, deadline)) {
  }
  return exit_status_;
}

bool ChildProcess::running() const {
  MutexLock lock(mu_);
  return !exit_status_.has_value();
}

std::map<std::string, int> parse_listening_line(std::string_view line) {
  std::map<std::string, int> out;
  const size_t at = line.find("listening:");
  if (at == std::string_view::npos) return out;
  line.remove_prefix(at + 10);
  while (!line.empty()) {
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    const size_t end = line.find(' ');
    const std::string_view item = line.substr(0, end);
    const size_t eq = item.find('=');
    if (eq != std::string_view::npos) {
      out[std::string(item.substr(0, eq))] = std::atoi(std::string(item.substr(eq + 1)).c_str());
    }
    if (end == std::string_view::npos) break;
    line.remove_prefix(end);
  }
  return out;
}

std::string built_binary(std::string_view name) {
  const char* dir = std::getenv("LASTCALL_BINARY_DIR");
  return std::string(dir ? dir : ".") + "/bin/" + std::string(name);
}

}  // namespace lc::test
