// bench/lambda/cold_start_bench.cpp — exec → first /next of an extension, measured against a
// floor program in the same run (issue "Benchmark seed"; lambda-agent.md §1.2 cold-start budget).
// Serves the tests' fake Extensions API (tests/support/fake_extensions_api.h) on 127.0.0.1:0,
// starts the candidate and the floor alternately n times each, and prints p50/p99 of each and their
// ratio.
//
// usage: cold_start_bench [-n 300] CANDIDATE FLOOR
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "support/fake_extensions_api.h"
#include "tools/sandbox/spawn.h"

namespace {

using Clock = std::chrono::steady_clock;

// Runs one candidate (the tools' hardened spawn); returns microseconds from just before the spawn
// to its first /next request (as the fake Extensions API recorded its arrival), or -1 when it never
// came.
double run_once(lc::test::FakeExtensionsApi& fake, const std::string& path) {
  lc::sandbox::SpawnSpec spec;
  spec.path = path;
  spec.argv = {"/opt/extensions/datadog-agent"};
  for (char** e = environ; *e != nullptr; ++e) spec.env.emplace_back(*e);
  for (const char* kv : {"LASTCALL_BIND_HOST=127.0.0.1", "LASTCALL_LOCAL_API_PORT=0",
                         "LASTCALL_TELEMETRY_PORT=0", "DD_DOGSTATSD_PORT=0",
                         "DD_APM_RECEIVER_PORT=0", "DD_API_KEY=bench-key-0000000000000000000000",
                         "DD_LOG_LEVEL=error", "LAMBDA_TASK_ROOT=/nonexistent"}) {
    spec.env.emplace_back(kv);
  }
  spec.env.push_back("AWS_LAMBDA_RUNTIME_API=" + fake.address());
  const std::size_t before = fake.requests().size();
  const auto t0 = Clock::now();
  auto child = lc::sandbox::spawn(spec);
  if (!child) return -1;
  const auto next =
      fake.wait_for_path("/2020-01-01/extension/event/next", before, std::chrono::seconds(10));
  kill(-child->pid, SIGKILL);
  waitpid(child->pid, nullptr, 0);
  close(child->stdout_fd);  // kept open until the end: a closed pipe would kill a writer
  close(child->stderr_fd);
  if (!next || child->exec_errno != 0) return -1;
  return std::chrono::duration<double, std::micro>(next->received_at - t0).count();
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
  lc::test::FakeExtensionsApi fake;
  if (!fake.started()) {
    std::fprintf(stderr, "fake Extensions API: %s\n", fake.error().c_str());
    return 1;
  }
  fake.register_response =
      lc::net::HttpResponse::json(
          200, R"({"functionName":"bench","functionVersion":"$LATEST","accountId":"123456789012"})")
          .with_header("Lambda-Extension-Identifier", "8476a536-e9f4-11e8-9739-2dfe598c3fcd");
  std::vector<double> cand, floor;
  run_once(fake, argv[arg]);  // warm-up (page cache)
  run_once(fake, argv[arg + 1]);
  for (int i = 0; i < n; ++i) {
    const double a = run_once(fake, argv[arg]);
    const double b = run_once(fake, argv[arg + 1]);
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
