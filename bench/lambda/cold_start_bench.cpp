// bench/lambda/cold_start_bench.cpp — exec → first /next of an extension, measured against a
// floor program in the same run (issue "Benchmark seed"; lambda-agent.md §1.2 cold-start budget).
// Serves a minimal Extensions API on 127.0.0.1:0 (register, telemetry subscribe, next), starts the
// candidate and the floor alternately n times each, and prints p50/p99 of each and their ratio.
//
// usage: cold_start_bench [-n 300] CANDIDATE FLOOR
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Conn {
  int fd;
  std::string in;
};

int listen_loopback(int* port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 64) != 0) {
    std::perror("bind/listen");
    std::exit(1);
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  *port = ntohs(addr.sin_port);
  return fd;
}

void reply(int fd, const std::string& head_extra, const std::string& body) {
  const std::string r = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + head_extra +
                        "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  (void)!write(fd, r.data(), r.size());
}

// Runs one candidate; returns microseconds from just before fork to the first /next request.
double run_once(int listener, const std::string& api, const std::string& path) {
  const auto t0 = Clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    setenv("AWS_LAMBDA_RUNTIME_API", api.c_str(), 1);
    setenv("LASTCALL_BIND_HOST", "127.0.0.1", 1);
    setenv("LASTCALL_LOCAL_API_PORT", "0", 1);
    setenv("LASTCALL_TELEMETRY_PORT", "0", 1);
    setenv("DD_DOGSTATSD_PORT", "0", 1);
    setenv("DD_APM_RECEIVER_PORT", "0", 1);
    setenv("DD_API_KEY", "bench-key-0000000000000000000000", 1);
    setenv("DD_LOG_LEVEL", "error", 1);
    setenv("LAMBDA_TASK_ROOT", "/nonexistent", 1);
    const int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    const char* argv0 = "/opt/extensions/datadog-agent";
    execl(path.c_str(), argv0, static_cast<char*>(nullptr));
    _exit(127);
  }
  std::vector<Conn> conns;
  double result = -1;
  while (result < 0) {
    std::vector<pollfd> fds{{listener, POLLIN, 0}};
    for (auto& c : conns) fds.push_back({c.fd, POLLIN, 0});
    if (poll(fds.data(), fds.size(), 10000) <= 0) break;
    if (fds[0].revents & POLLIN) conns.push_back({accept(listener, nullptr, nullptr), {}});
    for (size_t i = 1; i < fds.size() && result < 0; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
      Conn& c = conns[i - 1];
      char buf[8192];
      const ssize_t n = read(c.fd, buf, sizeof buf);
      if (n <= 0) continue;
      c.in.append(buf, static_cast<size_t>(n));
      for (;;) {
        const size_t end = c.in.find("\r\n\r\n");
        if (end == std::string::npos) break;
        size_t body = 0;
        const size_t cl = c.in.find("Content-Length: ");
        if (cl != std::string::npos && cl < end)
          body = std::strtoul(c.in.c_str() + cl + 16, nullptr, 10);
        if (c.in.size() < end + 4 + body) break;
        const std::string head = c.in.substr(0, end);
        c.in.erase(0, end + 4 + body);
        if (head.rfind("GET /2020-01-01/extension/event/next", 0) == 0) {
          result = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
          break;
        }
        if (head.rfind("POST /2020-01-01/extension/register", 0) == 0) {
          reply(
              c.fd, "Lambda-Extension-Identifier: 8476a536-e9f4-11e8-9739-2dfe598c3fcd\r\n",
              R"({"functionName":"bench","functionVersion":"$LATEST","accountId":"123456789012"})");
        } else {
          reply(c.fd, "", "\"OK\"");
        }
      }
    }
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  for (auto& c : conns) close(c.fd);
  return result;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const size_t idx = std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5));
  return v[idx];
}

}  // namespace

int main(int argc, char** argv) {
  int n = 300;
  int arg = 1;
  if (argc > 2 && std::string(argv[1]) == "-n") {
    n = std::atoi(argv[2]);
    arg = 3;
  }
  if (argc - arg != 2) {
    std::fprintf(stderr, "usage: %s [-n 300] CANDIDATE FLOOR\n", argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  int port = 0;
  const int listener = listen_loopback(&port);
  const std::string api = "127.0.0.1:" + std::to_string(port);
  std::vector<double> cand, floor;
  run_once(listener, api, argv[arg]);  // warm-up (page cache)
  run_once(listener, api, argv[arg + 1]);
  for (int i = 0; i < n; ++i) {
    const double a = run_once(listener, api, argv[arg]);
    const double b = run_once(listener, api, argv[arg + 1]);
    if (a < 0 || b < 0) {
      std::fprintf(stderr, "run %d: a program did not reach /next\n", i);
      return 1;
    }
    cand.push_back(a);
    floor.push_back(b);
  }
  const double c50 = percentile(cand, 0.5), c99 = percentile(cand, 0.99);
  const double f50 = percentile(floor, 0.5), f99 = percentile(floor, 0.99);
  std::printf("exec -> first /next, n=%d each (microseconds)\n", n);
  std::printf("  %-10s p50 %8.0f  p99 %8.0f\n", "lastcall", c50, c99);
  std::printf("  %-10s p50 %8.0f  p99 %8.0f\n", "floor", f50, f99);
  std::printf("  ratio      p50 %8.2f  p99 %8.2f   (target <= 3.00)\n", c50 / f50, c99 / f99);
  return 0;
}
