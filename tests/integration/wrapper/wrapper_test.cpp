// The real lastcall as an init wrapper (`lastcall -- cmd`) with real child processes and the real
// lastcall-fakeintake: exit statuses, signal forwarding, lossless output capture and passthrough,
// the shutdown timeline, reaping as PID 1 (serverless-init.md §11 scenarios).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "support/fakeintake_client.h"
#include "support/process.h"
#include "support/wrapper_process.h"

namespace lc::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

struct Rig {
  std::unique_ptr<FakeIntakeProcess> intake;
  std::unique_ptr<WrapperProcess> wrapper;

  static Rig start(WrapperOptions options, bool wait_listening = true) {
    Rig r;
    std::string error;
    r.intake = FakeIntakeProcess::start({}, &error);
    EXPECT_NE(r.intake, nullptr) << error;
    if (!r.intake) return r;
    r.wrapper = WrapperProcess::start("http://127.0.0.1:" + std::to_string(r.intake->port()),
                                      std::move(options), wait_listening);
    return r;
  }
  FakeIntakeClient client() const { return intake->client(); }
};

std::string status_of(const json::object& e) {
  const auto* s = e.if_contains("status");
  return s != nullptr && s->is_string() ? std::string(s->get_string()) : "";
}

// A self-metric's value from lastcall's debug line at exit ("self-metrics at exit: …"); 0 when it
// is not listed.
double self_metric_at_exit(const std::string& stderr_text, const std::string& name) {
  const size_t at = stderr_text.find("self-metrics at exit:");
  if (at == std::string::npos) return 0;
  const std::string line = stderr_text.substr(at, stderr_text.find('\n', at) - at);
  const std::regex re(std::regex_replace(name, std::regex(R"([.{}\[\]])"), R"(\$&)") +
                      R"((?:\{[^}]*\})?\s*[=:]\s*([0-9.]+))");
  std::smatch m;
  double total = 0;
  for (auto it = line.cbegin(); std::regex_search(it, line.cend(), m, re); it = m.suffix().first) {
    total += std::stod(m[1].str());
  }
  return total;
}

TEST(Wrapper, ExitStatusAndOneEntryForAPartialLine) {
  // §11.1: the trailing partial line is an entry; the child's status is lastcall's.
  auto r = Rig::start(wrapped({"sh", "-c", "printf abc; exit 3"}));
  ASSERT_TRUE(r.wrapper);
  EXPECT_EQ(r.wrapper->wait_exit(20s), 3) << r.wrapper->stderr_bytes();
  EXPECT_EQ(r.wrapper->stdout_bytes(), "abc");
  const auto logs = wait_for_flat_logs(r.client(), 1);
  ASSERT_EQ(logs.size(), 1u) << r.wrapper->stderr_bytes();
  EXPECT_EQ(message_of(logs[0]), "abc");
  EXPECT_EQ(status_of(logs[0]), "info");
}

TEST(Wrapper, StdoutIsInfoStderrIsErrorPassthroughByteExact) {
  // §11.2, with lastcall's own lines off so fd 2 holds the child's bytes alone.
  auto r = Rig::start(wrapped({"sh", "-c", "echo out; echo err >&2"}, {{"DD_LOG_LEVEL", "off"}}),
                      /*wait_listening=*/false);
  ASSERT_TRUE(r.wrapper);
  EXPECT_EQ(r.wrapper->wait_exit(20s), 0);
  EXPECT_EQ(r.wrapper->stdout_bytes(), "out\n");
  EXPECT_EQ(r.wrapper->stderr_bytes(), "err\n");
  auto logs = wait_for_flat_logs(r.client(), 2);
  ASSERT_EQ(logs.size(), 2u);
  std::map<std::string, std::string> status;
  for (const auto& e : logs) status[message_of(e)] = status_of(e);
  EXPECT_EQ(status["out"], "info");
  EXPECT_EQ(status["err"], "error");
}

TEST(Wrapper, LineSplitAcrossWritesIsOneEntry) {
  // §11.3: `ab`, a pause, `c\r\n` → one entry `abc`.
  auto r = Rig::start(wrapped({"sh", "-c", "printf ab; sleep 0.2; printf 'c\\r\\n'"}));
  ASSERT_TRUE(r.wrapper);
  EXPECT_EQ(r.wrapper->wait_exit(20s), 0);
  EXPECT_EQ(r.wrapper->stdout_bytes(), "abc\r\n");
  const auto logs = wait_for_flat_logs(r.client(), 1);
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(message_of(logs[0]), "abc");
}

TEST(Wrapper, LongLineIsSplitLosslessly) {
  // §11.4: 300 000 bytes without a newline → 262 144 + 37 856 bytes of content, with markers.
  auto r = Rig::start(wrapped({"sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x"}));
  ASSERT_TRUE(r.wrapper);
  EXPECT_EQ(r.wrapper->wait_exit(20s), 0);
  EXPECT_EQ(r.wrapper->stdout_bytes(), std::string(300000, 'x'));
  const auto logs = wait_for_flat_logs(r.client(), 2);
  ASSERT_EQ(logs.size(), 2u);
  const std::string marker = "...TRUNCATED...";
  const std::string a = message_of(logs[0]);
  const std::string b = message_of(logs[1]);
  EXPECT_EQ(a, std::string(262144, 'x') + marker);
  EXPECT_EQ(b, marker + std::string(300000 - 262144, 'x'));
  EXPECT_EQ(self_metric_at_exit(r.wrapper->stderr_bytes(), "lastcall.logs.split"), 1);
}

TEST(Wrapper, InvalidUtf8IsReplacedInTheEntryNotInThePassthrough) {
  // §11.5.
  auto r = Rig::start(wrapped({"sh", "-c", "printf '\\377\\376A\\n'"}));
  ASSERT_TRUE(r.wrapper);
  EXPECT_EQ(r.wrapper->wait_exit(20s), 0);
  EXPECT_EQ(r.wrapper->stdout_bytes(), std::string("\xff\xfe"
                                                   "A\n"));
  const auto logs = wait_for_flat_logs(r.client(), 1);
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(message_of(logs[0]),
            "\xEF\xBF\xBD\xEF\xBF\xBD"
            "A");
}

TEST(Wrapper, JsonLevelWinsOnStderr) {
  // §11.6.
  auto r = Rig::start(wrapped({"sh", "-c",
                               "echo '{\"level\":\"info\",\"msg\":\"up\"}' >&2; "
                               "echo '{\"msg\":\"x\"}' >&2"}));
  ASSERT_TRUE(r.wrapper);
  EXPECT_EQ(r.wrapper->wait_exit(20s), 0);
  const auto logs = wait_for_flat_logs(r.client(), 2);
  ASSERT_EQ(logs.size(), 2u);
  std::map<std::string, std::string> status;
  for (const auto& e : logs) status[json::serialize(e.at("message"))] = status_of(e);
  bool saw_up = false;
  bool saw_x = false;
  for (const auto& [m, s] : status) {
    if (m.find("up") != std::string::npos) {
      saw_up = true;
      EXPECT_EQ(s, "info") << m;
    } else if (m.find('x') != std::string::npos) {
      saw_x = true;
      EXPECT_EQ(s, "error") << m;
    }
  }
  EXPECT_TRUE(saw_up && saw_x);
}

TEST(Wrapper, LogsOffMeansTheChildWritesToLastcallsOwnFds) {
  // §11.7: no pipes at all; the child's fd 1 is lastcall's fd 1 (here a file).
  auto r =
      Rig::start(wrapped({"sh", "-c", "readlink /proc/self/fd/1"}, {{"DD_LOGS_ENABLED", "false"}}));
  ASSERT_TRUE(r.wrapper);
  EXPECT_EQ(r.wrapper->wait_exit(20s), 0);
  const std::string out = r.wrapper->stdout_bytes();
  EXPECT_NE(out.find("/stdout"), std::string::npos) << out;
  EXPECT_TRUE(intake_flat_logs(r.client()).empty());
}

TEST(Wrapper, NoSocketOfLastcallReachesTheChild) {
  // §3.1: every lastcall-internal fd is close-on-exec; the child sees its stdio only (`ls` adds
  // the directory it lists). The receivers are bound before the spawn: none may leak into it.
  auto r = Rig::start(wrapped({"ls", "-l", "/proc/self/fd"}, {{"DD_LOGS_ENABLED", "false"}}));
  ASSERT_TRUE(r.wrapper);
  EXPECT_EQ(r.wrapper->wait_exit(20s), 0);
  const std::string out = r.wrapper->stdout_bytes();
  EXPECT_NE(out.find("/stdout"), std::string::npos) << out;
  EXPECT_EQ(out.find("socket:"), std::string::npos) << out;
}

TEST(Wrapper, EveryLineAccountedForAtFullSpeed) {
  // 100 000 small lines as fast as `seq` writes them: each is at the intake or counted dropped.
  constexpr int kLines = 100000;
  auto r = Rig::start(wrapped({"seq", "1", std::to_string(kLines)}));
  ASSERT_TRUE(r.wrapper);
  EXPECT_EQ(r.wrapper->wait_exit(60s), 0);
  const std::string out = r.wrapper->stdout_bytes();
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), kLines);
  const std::string err = r.wrapper->stderr_bytes();
  const double dropped = self_metric_at_exit(err, "lastcall.dropped");
  const auto logs = intake_flat_logs(r.client());
  EXPECT_EQ(static_cast<double>(logs.size()) + dropped, kLines) << err.substr(0, 4000);
  // Each line arrived once. Payloads may arrive in any order (up to four requests in flight), so
  // the order of the lines is checked where it is kept: inside the capture (unit tests).
  std::vector<long> values;
  values.reserve(logs.size());
  for (const auto& e : logs) values.push_back(std::stol(message_of(e)));
  std::sort(values.begin(), values.end());
  EXPECT_EQ(std::adjacent_find(values.begin(), values.end()), values.end());
  if (!values.empty()) {
    EXPECT_GE(values.front(), 1);
    EXPECT_LE(values.back(), kLines);
  }
}

TEST(Wrapper, SigtermIsForwardedOpenBucketFlushedExit143) {
  // §11.9: the child dies of SIGTERM; a count sent just before is in the final flush.
  auto r = Rig::start(wrapped({"sh", "-c", "echo ready; exec sleep 60"}));
  ASSERT_TRUE(r.wrapper && r.wrapper->started());
  ASSERT_TRUE(r.wrapper->wait_for_stdout("ready", 10s));
  ASSERT_TRUE(send_udp(r.wrapper->dogstatsd(), "wrapper.jobs:1|c"));
  const auto t = std::chrono::steady_clock::now();
  r.wrapper->signal(SIGTERM);
  EXPECT_EQ(r.wrapper->wait_exit(20s), 143) << r.wrapper->stderr_bytes();
  EXPECT_LT(std::chrono::steady_clock::now() - t, 9500ms);
  const json::value m = r.client().metrics("wrapper.jobs");
  EXPECT_NEAR(m.at("count").to_number<double>(), 1.0, 1e-9) << json::serialize(m);
}

TEST(Wrapper, ChildTrapsSigtermAndItsLastLineIsFlushed) {
  // §11.10.
  auto r = Rig::start(
      wrapped({"sh", "-c", "trap 'echo bye; exit 0' TERM; echo ready; sleep 60 & wait"}));
  ASSERT_TRUE(r.wrapper && r.wrapper->started());
  ASSERT_TRUE(r.wrapper->wait_for_stdout("ready", 10s));
  r.wrapper->signal(SIGTERM);
  EXPECT_EQ(r.wrapper->wait_exit(20s), 0) << r.wrapper->stderr_bytes();
  bool bye = false;
  for (const auto& e : intake_flat_logs(r.client())) bye = bye || message_of(e) == "bye";
  EXPECT_TRUE(bye);
}

TEST(Wrapper, SignalsReachTheWholeGroupUnlessTargetIsChild) {
  // §11.11: `sh -c` does not forward SIGTERM; group delivery still reaches its child.
  for (const bool group : {true, false}) {
    SCOPED_TRACE(group ? "group" : "child");
    auto r = Rig::start(
        wrapped({"sh", "-c",
                 "trap 'echo outer-term' TERM; "
                 "sh -c 'trap \"echo inner-term; exit 0\" TERM; echo ready; sleep 60 & wait'; "
                 "echo outer-done"},
                {{"LASTCALL_SIGNAL_TARGET", group ? "group" : "child"},
                 {"LASTCALL_SHUTDOWN_GRACE_MS", "1500"},
                 {"LASTCALL_KILL_RESERVE_MS", "500"}}));
    ASSERT_TRUE(r.wrapper && r.wrapper->started());
    ASSERT_TRUE(r.wrapper->wait_for_stdout("ready", 10s));
    r.wrapper->signal(SIGTERM);
    const auto status = r.wrapper->wait_exit(20s);
    const std::string out = r.wrapper->stdout_bytes();
    if (group) {
      // Both shells got it: the inner one ends, then the outer one runs its trap and finishes.
      EXPECT_NE(out.find("inner-term"), std::string::npos) << out;
      EXPECT_NE(out.find("outer-done"), std::string::npos) << out;
      EXPECT_EQ(status, 0);
    } else {
      // Only the outer sh got it, and it waits for the inner one, which never hears of it: the
      // grace ends with SIGKILL.
      EXPECT_EQ(out.find("inner-term"), std::string::npos) << out;
      EXPECT_EQ(status, 137);
    }
  }
}

TEST(Wrapper, OtherSignalsAreForwardedOnceAndLastcallKeepsRunning) {
  // §11.13.
  auto r = Rig::start(wrapped({"sh", "-c",
                               "for s in HUP INT QUIT USR1 USR2; do trap \"echo got-$s\" $s; "
                               "done; echo ready; while :; do sleep 0.05; done"}));
  ASSERT_TRUE(r.wrapper && r.wrapper->started());
  ASSERT_TRUE(r.wrapper->wait_for_stdout("ready", 10s));
  for (const auto& [sig, name] : std::vector<std::pair<int, std::string>>{{SIGHUP, "HUP"},
                                                                          {SIGINT, "INT"},
                                                                          {SIGQUIT, "QUIT"},
                                                                          {SIGUSR1, "USR1"},
                                                                          {SIGUSR2, "USR2"}}) {
    r.wrapper->signal(sig);
    EXPECT_TRUE(r.wrapper->wait_for_stdout("got-" + name, 10s)) << name;
  }
  EXPECT_FALSE(r.wrapper->wait_exit(0ms).has_value());
  const std::string out = r.wrapper->stdout_bytes();
  for (const std::string name : {"HUP", "INT", "QUIT", "USR1", "USR2"}) {
    const std::string needle = "got-" + name + "\n";
    EXPECT_EQ(out.find(needle), out.rfind(needle)) << name << " seen twice";
  }
  r.wrapper->signal(SIGTERM);
  EXPECT_TRUE(r.wrapper->wait_exit(20s).has_value());
}

TEST(Wrapper, DeathBySignalIs128PlusSignal) {
  // §11.14.
  for (const auto& [sig, expected] :
       std::vector<std::pair<std::string, int>>{{"KILL", 137}, {"SEGV", 139}}) {
    auto r = Rig::start(wrapped({"sh", "-c", "kill -" + sig + " $$"}));
    ASSERT_TRUE(r.wrapper);
    EXPECT_EQ(r.wrapper->wait_exit(20s), expected) << sig;
  }
}

TEST(Wrapper, OrphansAreReapedAsPid1) {
  // §11.15: lastcall is PID 1 of a new PID namespace; the child leaves a grandchild behind.
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for a PID namespace (CI runs as root)";
  auto r = Rig::start([&] {
    auto o = wrapped({"sh", "-c", "sleep 1 & exit 5"});
    o.prefix = {"unshare", "--pid", "--fork", "--kill-child"};
    return o;
  }());
  ASSERT_TRUE(r.wrapper);
  EXPECT_EQ(r.wrapper->wait_exit(20s), 5) << r.wrapper->stderr_bytes();
  EXPECT_EQ(self_metric_at_exit(r.wrapper->stderr_bytes(), "lastcall.init.orphans_reaped"), 1)
      << r.wrapper->stderr_bytes();
}

TEST(Wrapper, ExecFailuresAre127And126) {
  // §11.16.
  {
    auto r = Rig::start(wrapped({"does-not-exist"}), /*wait_listening=*/false);
    ASSERT_TRUE(r.wrapper);
    EXPECT_EQ(r.wrapper->wait_exit(20s), 127);
    EXPECT_NE(r.wrapper->stderr_bytes().find("cannot execute 'does-not-exist'"), std::string::npos)
        << r.wrapper->stderr_bytes();
  }
  {
    char tmpl[] = "/tmp/lastcall-noexec-XXXXXX";
    const int fd = ::mkstemp(tmpl);
    ASSERT_GE(fd, 0);
    ::close(fd);
    auto r = Rig::start(wrapped({tmpl}), /*wait_listening=*/false);
    ASSERT_TRUE(r.wrapper);
    EXPECT_EQ(r.wrapper->wait_exit(20s), 126);
    ::unlink(tmpl);
  }
}

TEST(Wrapper, OneStringCommandIsSplitUnlessItNamesAFile) {
  // §11.17.
  {
    auto r = Rig::start(wrapped({"echo hi"}));
    ASSERT_TRUE(r.wrapper);
    EXPECT_EQ(r.wrapper->wait_exit(20s), 0);
    EXPECT_EQ(r.wrapper->stdout_bytes(), "hi\n");
  }
  {
    char tmpl[] = "/tmp/lastcall-split-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    const std::string path = std::string(tmpl) + "/my app";
    {
      std::ofstream f(path);
      f << "#!/bin/sh\necho unsplit\n";
    }
    ::chmod(path.c_str(), 0755);
    auto r = Rig::start(wrapped({path}));
    ASSERT_TRUE(r.wrapper);
    EXPECT_EQ(r.wrapper->wait_exit(20s), 0);
    EXPECT_EQ(r.wrapper->stdout_bytes(), "unsplit\n");
    std::filesystem::remove_all(tmpl);
  }
}

TEST(Wrapper, WithoutDashDashTheFirstArgumentIsTheCommand) {
  auto r = Rig::start([&] {
    auto o = wrapped({"sh", "-c", "exit 4"});
    o.use_double_dash = false;
    return o;
  }());
  ASSERT_TRUE(r.wrapper);
  EXPECT_EQ(r.wrapper->wait_exit(20s), 4);
}

TEST(Wrapper, ForcedFlushSendsTheOpenBucketNeverTwoPointsPerTimestamp) {
  // §11.23 (second half): a forced flush sends the open bucket; a later sample of the same
  // window leaves with the final flush on a timestamp of its own.
  auto r = Rig::start(wrapped({"sh", "-c", "echo ready; exec sleep 60"}));
  ASSERT_TRUE(r.wrapper && r.wrapper->started());
  ASSERT_TRUE(send_udp(r.wrapper->dogstatsd(), "jobs:1|c"));
  r.wrapper->flush();
  auto first = r.client().wait_for_metric(
      "jobs", [](const json::value& v) { return v.at("count").to_number<double>() >= 1; }, 10s);
  ASSERT_TRUE(first);
  ASSERT_TRUE(send_udp(r.wrapper->dogstatsd(), "jobs:1|c"));
  r.wrapper->signal(SIGTERM);
  EXPECT_TRUE(r.wrapper->wait_exit(20s).has_value());
  const json::value m = r.client().metrics("jobs");
  EXPECT_NEAR(m.at("count").to_number<double>(), 2.0, 1e-9) << json::serialize(m);
  const auto& points = m.at("points").as_array();
  std::set<std::int64_t> stamps;
  for (const auto& p : points) stamps.insert(p.at("timestamp").to_number<std::int64_t>());
  EXPECT_EQ(stamps.size(), points.size()) << json::serialize(m);
}

TEST(Wrapper, NoApiKeyStillRunsTheChild) {
  // §11.24.
  auto r = Rig::start(wrapped({"sh", "-c", "echo hello; exit 6"}, {{"DD_API_KEY", ""}}));
  ASSERT_TRUE(r.wrapper);
  EXPECT_EQ(r.wrapper->wait_exit(20s), 6);
  EXPECT_EQ(r.wrapper->stdout_bytes(), "hello\n");
  EXPECT_TRUE(intake_flat_logs(r.client()).empty());
}

TEST(Wrapper, ShutdownTimelineWhenTheChildIgnoresSigterm) {
  // §11.12 with a short grace: the final flush starts at G − R while the child still runs, the
  // group is SIGKILLed at G, exit 137, lines logged until then are flushed.
  auto r = Rig::start(
      wrapped({"sh", "-c",
               "trap '' TERM; echo ready; i=0; while :; do i=$((i+1)); "
               "echo tick-$i; sleep 0.1; done"},
              {{"LASTCALL_SHUTDOWN_GRACE_MS", "2000"}, {"LASTCALL_KILL_RESERVE_MS", "1000"}}));
  ASSERT_TRUE(r.wrapper && r.wrapper->started());
  ASSERT_TRUE(r.wrapper->wait_for_stdout("ready", 10s));
  const auto t = std::chrono::steady_clock::now();
  r.wrapper->signal(SIGTERM);
  EXPECT_EQ(r.wrapper->wait_exit(20s), 137) << r.wrapper->stderr_bytes();
  const auto elapsed = std::chrono::steady_clock::now() - t;
  EXPECT_GE(elapsed, 2000ms);
  EXPECT_LT(elapsed, 4000ms);
  const std::string err = r.wrapper->stderr_bytes();
  const size_t flush_at = err.find("final flush");
  const size_t kill_at = err.find("killing it");
  ASSERT_NE(flush_at, std::string::npos) << err;
  ASSERT_NE(kill_at, std::string::npos) << err;
  EXPECT_LT(flush_at, kill_at);
  bool ticks = false;
  for (const auto& e : intake_flat_logs(r.client())) {
    ticks = ticks || message_of(e).rfind("tick-", 0) == 0;
  }
  EXPECT_TRUE(ticks);
}

}  // namespace
}  // namespace lc::test
