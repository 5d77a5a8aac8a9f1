#include "support/process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "tools/sandbox/spawn.h"

namespace lc::test {

std::unique_ptr<ChildProcess> ChildProcess::start(ProcessOptions options, std::string* error) {
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
  sandbox::SpawnSpec spec;
  spec.path = options.argv.at(0);
  spec.argv = std::move(options.argv);
  if (!options.argv0_override.empty()) spec.argv[0] = options.argv0_override;
  for (const auto& [k, v] : env_map) spec.env.push_back(k + "=" + v);
  spec.cwd = options.cwd;
  auto spawned = sandbox::spawn(spec);
  if (!spawned) {
    if (error) *error = spawned.error().message;
    return nullptr;
  }
  std::unique_ptr<ChildProcess> child(new ChildProcess());
  child->pid_ = spawned->pid;
  child->out_reader_ = std::thread(
      [c = child.get(), fd = spawned->stdout_fd] { c->read_loop(fd, Stream::kStdout); });
  child->err_reader_ = std::thread(
      [c = child.get(), fd = spawned->stderr_fd] { c->read_loop(fd, Stream::kStderr); });
  child->waiter_ = std::thread([c = child.get()] {
    int status = 0;
    while (waitpid(c->pid_, &status, 0) < 0 && errno == EINTR) {
    }
    MutexLock lock(c->mu_);
    c->exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    c->cv_.notify_all();
  });
  if (spawned->exec_errno != 0) {
    if (error) *error = "exec " + spec.path + ": " + std::strerror(spawned->exec_errno);
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

std::uint16_t pick_free_port(int socket_type) {
  const int fd = ::socket(AF_INET, socket_type, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  std::uint16_t port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

std::string built_binary(std::string_view name) {
  const char* dir = std::getenv("LASTCALL_BINARY_DIR");
  return std::string(dir ? dir : ".") + "/bin/" + std::string(name);
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t wall_s() { return wall_ms() / 1000; }

}  // namespace lc::test
