// bench/init/wrapper_start_bench.cpp — exec of the init wrapper → exec of its child
// (serverless-init.md §2 step 3, §11.18), lastcall vs a static fork-and-exec floor measured in the
// same run (conventions.md §16). The child is a static probe that writes the monotonic clock to fd
// 3 as its first action; the harness notes the clock right before it spawns the wrapper. Cloud Run
// variables are set and the metadata server is black-holed (a listening socket that never
// answers), so a wrapper that waited for metadata before starting its child would show it.
// Candidate and floor run alternately; each wrapper is killed (its group) once the probe reported.
// The binaries run as given, and how a file sits in the page cache counts: one the linker wrote
// (or read back from disk by page faults) is in 4 KiB pages, one written in large blocks (cp) in
// large folios, and the 8.6 MiB lastcall starts 50-100 us sooner from the latter on this machine.
// Compare builds from files written the same way.
//
// usage: wrapper_start_bench [-n 200] LASTCALL FLOOR PROBE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

std::uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

// A loopback TCP port that accepts into its backlog and never answers.
int black_hole(int* port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 128) != 0) return -1;
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

// Microseconds from just before the spawn of argv to the probe's first instruction; -1 on failure.
double run_once(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, p[1], 3);  // dup2 clears close-on-exec on fd 3
  // lastcall's `listening:` line is printed at every level but off.
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  std::vector<char*> a;
  for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  std::vector<char*> e;
  for (const auto& s : env) e.push_back(const_cast<char*>(s.c_str()));
  e.push_back(nullptr);
  pid_t pid = -1;
  const std::uint64_t t0 = now_ns();
  const int rc = posix_spawn(&pid, a[0], &fa, &attr, a.data(), e.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(p[1]);
  double us = -1;
  if (rc == 0) {
    pollfd pfd{p[0], POLLIN, 0};
    std::uint64_t t1 = 0;
    if (poll(&pfd, 1, 10000) == 1 && read(p[0], &t1, sizeof t1) == sizeof t1) {
      us = static_cast<double>(t1 - t0) / 1000.0;
    }
    kill(-pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  close(p[0]);
  return us;
}

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1,
                    static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5))];
}

}  // namespace

int main(int argc, char** argv) {
  int n = 200;
  int i = 1;
  if (argc > 2 && std::strcmp(argv[1], "-n") == 0) {
    n = std::atoi(argv[2]);
    i = 3;
  }
  if (argc - i != 3) {
    std::fprintf(stderr, "usage: %s [-n 200] LASTCALL FLOOR PROBE\n", argv[0]);
    return 2;
  }
  const std::string lastcall = argv[i];
  const std::string floor = argv[i + 1];
  const std::string probe = argv[i + 2];
  int md_port = 0;
  const int hole = black_hole(&md_port);
  if (hole < 0) return 1;
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  for (const char* kv : {"LASTCALL_BIND_HOST=127.0.0.1", "LASTCALL_LOCAL_API_PORT=0",
                         "DD_DOGSTATSD_PORT=0", "DD_APM_RECEIVER_PORT=0", "DD_LOG_LEVEL=error",
                         "DD_API_KEY=bench-key-0000000000000000000000", "K_SERVICE=bench",
                         "K_REVISION=bench-00001-abc", "K_CONFIGURATION=bench"}) {
    env.emplace_back(kv);
  }
  env.push_back("GCE_METADATA_HOST=127.0.0.1:" + std::to_string(md_port));
  std::vector<std::string> env_logs = env;
  env_logs.emplace_back("DD_LOGS_ENABLED=true");

  struct Series {
    const char* name;
    std::vector<std::string> argv;
    const std::vector<std::string>* env;
    std::vector<double> us;
    int failures = 0;
  };
  std::vector<Series> all = {
      {"floor (fork+setpgid+exec)", {floor, probe}, &env, {}, 0},
      {"lastcall -- probe", {lastcall, "--", probe}, &env, {}, 0},
      {"lastcall -- probe (DD_LOGS_ENABLED)", {lastcall, "--", probe}, &env_logs, {}, 0},
  };
  for (int r = 0; r < n; ++r) {
    for (auto& s : all) {
      const double us = run_once(s.argv, *s.env);
      if (us < 0) {
        ++s.failures;
      } else {
        s.us.push_back(us);
      }
    }
  }
  close(hole);
  const double f50 = all[0].us.empty() ? 0 : percentile(all[0].us, 0.5);
  const double f99 = all[0].us.empty() ? 0 : percentile(all[0].us, 0.99);
  for (const auto& s : all) {
    if (s.us.empty()) {
      std::printf("%-38s no sample (%d failures)\n", s.name, s.failures);
      continue;
    }
    const double p50 = percentile(s.us, 0.5);
    const double p99 = percentile(s.us, 0.99);
    std::printf("%-38s p50 %8.0f us  p99 %8.0f us  ratio p50 %.2fx p99 %.2fx  (n=%zu, %d failed)\n",
                s.name, p50, p99, p50 / f50, p99 / f99, s.us.size(), s.failures);
  }
  return all[1].failures == n ? 1 : 0;
}
