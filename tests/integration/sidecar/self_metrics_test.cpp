// The real lastcall in sidecar mode with the real lastcall-fakeintake, about lastcall's own health
// (serverless-init.md §3.2, §9): with LASTCALL_SELF_METRICS=true malformed DogStatsD lines reach
// the intake as lastcall.dropped{kind:dogstatsd,reason:…} with the right totals; without it they
// do not, but one WARN line per flush names them; kernel receive-buffer drops are counted exactly;
// a closed stderr and SIGHUP/SIGQUIT/SIGUSR1/SIGUSR2 leave lastcall alive, and SIGTERM still
// flushes and exits 0.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include "support/fakeintake_client.h"
#include "support/process.h"
#include "support/sidecar_process.h"

namespace lc::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

constexpr std::string_view kDropLine = "dropped since the last flush: ";
constexpr std::string_view kSelfLine = "self-metrics since the last flush:";

struct Sidecar {
  std::unique_ptr<FakeIntakeProcess> intake;
  SidecarProcess agent;

  static Sidecar start(std::map<std::string, std::string> env = {}) {
    Sidecar s;
    std::string error;
    s.intake = FakeIntakeProcess::start({}, &error);
    EXPECT_NE(s.intake, nullptr) << error;
    if (!s.intake) return s;
    env.emplace("DD_LOG_LEVEL", "debug");
    s.agent = SidecarProcess::start("http://127.0.0.1:" + std::to_string(s.intake->port()), env);
    return s;
  }
  bool started() const { return intake && agent.started(); }
  ChildProcess& process() { return *agent.process; }
  std::string stderr_text() const {
    return agent.process ? agent.process->output(ChildProcess::Stream::kStderr) : "";
  }
};

bool has_tag(const json::value& point, std::string_view tag) {
  const auto* tags = point.as_object().if_contains("tags");
  if (tags == nullptr || !tags->is_array()) return false;
  for (const auto& t : tags->as_array()) {
    if (t.is_string() && t.as_string() == tag) return true;
  }
  return false;
}

// Σ value × interval of the RATE/COUNT points of a metrics answer that carry every tag given.
double count_with_tags(const json::value& answer, std::initializer_list<std::string_view> tags) {
  const auto* o = answer.if_object();
  const auto* points = o ? o->if_contains("points") : nullptr;
  if (points == nullptr || !points->is_array()) return 0;
  double total = 0;
  for (const auto& p : points->as_array()) {
    bool all = true;
    for (const auto t : tags) all = all && has_tag(p, t);
    if (!all) continue;
    total += p.at("value").to_number<double>() * p.at("interval").to_number<double>();
  }
  return total;
}

double count_of(const json::value& answer) {
  const auto* o = answer.if_object();
  const auto* c = o ? o->if_contains("count") : nullptr;
  return c && c->is_number() ? c->to_number<double>() : 0;
}

std::size_t lines_containing(const ChildProcess& p, std::string_view needle) {
  std::size_t n = 0;
  for (const auto& l : p.lines()) n += l.text.find(needle) != std::string::npos ? 1 : 0;
  return n;
}

// Forces flushes until `done` holds (polling the intake in between), at most attempts × 300 ms.
bool flush_until(const SidecarProcess& agent, const std::function<bool()>& done,
                 int attempts = 50) {
  for (int attempt = 0; attempt < attempts; ++attempt) {
    auto r = agent.flush();
    if (!r || r->status != 200) return false;
    const auto until = std::chrono::steady_clock::now() + 300ms;
    do {
      if (done()) return true;
    } while (std::chrono::steady_clock::now() < until);
  }
  return done();
}

// Six malformed lines and one good one, in one datagram (parsed at once, so counted in one
// flush): 3 bad_value, 2 bad_format, 1 bad_type.
constexpr std::string_view kMalformed =
    "bad.a:abc|c\nbad.b:1e999|g\nbad.c:NaN|g\nno_value|c\n:1|c\nbad.d:1|x\nfine.views:2|c";

TEST(SidecarSelfMetrics, MalformedLinesReachTheIntakeAsDropCounts) {
  auto s = Sidecar::start({{"LASTCALL_SELF_METRICS", "true"}});
  ASSERT_TRUE(s.started());
  ASSERT_TRUE(send_udp(s.agent.dogstatsd, kMalformed));
  ASSERT_TRUE(send_udp(s.agent.dogstatsd, "x:1|c\nmore.bad:zz|c"));  // one more bad_value
  auto intake = s.intake->client();
  json::value dropped;
  const auto totals_right = [&] {
    dropped = intake.metrics("lastcall.dropped");
    return count_with_tags(dropped, {"kind:dogstatsd", "reason:bad_value"}) > 4 - 1e-9 &&
           count_with_tags(dropped, {"kind:dogstatsd", "reason:bad_format"}) > 2 - 1e-9 &&
           count_with_tags(dropped, {"kind:dogstatsd", "reason:bad_type"}) > 1 - 1e-9;
  };
  ASSERT_TRUE(flush_until(s.agent, totals_right)) << json::serialize(dropped) << "\n"
                                                  << s.stderr_text();
  EXPECT_NEAR(count_with_tags(dropped, {"kind:dogstatsd", "reason:bad_value"}), 4.0, 1e-9);
  EXPECT_NEAR(count_with_tags(dropped, {"kind:dogstatsd", "reason:bad_format"}), 2.0, 1e-9);
  EXPECT_NEAR(count_with_tags(dropped, {"kind:dogstatsd", "reason:bad_type"}), 1.0, 1e-9);
  EXPECT_NEAR(count_of(dropped), 7.0, 1e-9) << json::serialize(dropped);  // nothing else
  EXPECT_EQ(dropped.at("duplicates").to_number<int>(), 0);
  EXPECT_EQ(dropped.at("points").as_array().at(0).at("type").as_string(), "rate");
  // The good lines of the same datagrams are there too, and so is what the forwarder counts.
  EXPECT_NEAR(count_of(intake.metrics("fine.views")), 2.0, 1e-9);
  auto sent = intake.wait_for_metric(
      "lastcall.forward.payloads_sent",
      [](const json::value& v) { return count_with_tags(v, {"kind:metrics"}) >= 1; }, 100ms);
  if (!sent) {
    ASSERT_TRUE(flush_until(s.agent, [&] {
      return count_with_tags(intake.metrics("lastcall.forward.payloads_sent"), {"kind:metrics"}) >=
             1;
    }));
  }
  s.process().signal(SIGTERM);
  EXPECT_EQ(s.process().wait_exit(20s), 0) << s.stderr_text();
}

TEST(SidecarSelfMetrics, OneDropLinePerFlushAndNoLastcallSeriesByDefault) {
  auto s = Sidecar::start();
  ASSERT_TRUE(s.started());
  ASSERT_TRUE(send_udp(s.agent.dogstatsd, kMalformed));
  auto intake = s.intake->client();
  ASSERT_TRUE(flush_until(s.agent, [&] { return count_of(intake.metrics("fine.views")) >= 2; }))
      << s.stderr_text();
  auto line = s.process().wait_for_line_containing(kDropLine, 5s);
  ASSERT_TRUE(line) << s.stderr_text();
  EXPECT_EQ(line->rfind("lastcall | WARN | ", 0), 0u) << *line;
  EXPECT_NE(line->find("dropped since the last flush: dogstatsd/bad_format 2, dogstatsd/bad_type "
                       "1, dogstatsd/bad_value 3 (6 in total)"),
            std::string::npos)
      << *line;

  // A flush without new drops says nothing about drops: the debug line written right after the
  // drop line marks the end of that flush.
  const std::size_t flushes = lines_containing(s.process(), kSelfLine);
  ASSERT_TRUE(s.agent.flush());
  std::size_t seen = 0;  // wait_for_line shows each line once, from the first
  ASSERT_TRUE(s.process().wait_for_line(
      [&](std::string_view l) {
        seen += l.find(kSelfLine) != std::string_view::npos ? 1 : 0;
        return seen > flushes;
      },
      5s));
  EXPECT_EQ(lines_containing(s.process(), kDropLine), 1u) << s.stderr_text();

  // A later drop gets a line of its own, with only the new count.
  ASSERT_TRUE(send_udp(s.agent.dogstatsd, "late.bad:zz|c"));
  ASSERT_TRUE(flush_until(s.agent, [&] { return lines_containing(s.process(), kDropLine) == 2; }));
  auto second = s.process().wait_for_line(
      [](std::string_view l) {
        return l.find("dropped since the last flush: dogstatsd/bad_value 1 (1 in total)") !=
               std::string_view::npos;
      },
      1s);
  EXPECT_TRUE(second) << s.stderr_text();

  // Counted, but not sent: no lastcall.* series without LASTCALL_SELF_METRICS.
  const auto dropped = intake.metrics("lastcall.dropped");
  EXPECT_EQ(count_of(dropped), 0) << json::serialize(dropped);
  s.process().signal(SIGTERM);
  EXPECT_EQ(s.process().wait_exit(20s), 0) << s.stderr_text();
}

// A request the local API refuses (431) is a drop like any other: in the drop line and, with
// self-metrics on, at the intake.
TEST(SidecarSelfMetrics, RefusedHttpRequestsShowInTheDropLineAndAtTheIntake) {
  auto s = Sidecar::start({{"LASTCALL_SELF_METRICS", "true"}});
  ASSERT_TRUE(s.started());
  BlockingRequest huge{"POST", "/lambda/flush", {{"X-Padding", std::string(32 * 1024, 'p')}}, ""};
  auto r = http_request(static_cast<std::uint16_t>(s.agent.local_api), huge);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  auto intake = s.intake->client();
  json::value dropped;
  ASSERT_TRUE(flush_until(
      s.agent,
      [&] {
        dropped = intake.metrics("lastcall.dropped");
        return count_with_tags(dropped, {"kind:local_api", "reason:header_too_large"}) >= 1 - 1e-9;
      }))
      << json::serialize(dropped) << "\n"
      << s.stderr_text();
  EXPECT_NEAR(count_with_tags(dropped, {"kind:local_api", "reason:header_too_large"}), 1.0, 1e-9);
  auto line = s.process().wait_for_line_containing(kDropLine, 5s);
  ASSERT_TRUE(line) << s.stderr_text();
  EXPECT_NE(line->find("local_api/header_too_large 1"), std::string::npos) << *line;
  s.process().signal(SIGTERM);
  EXPECT_EQ(s.process().wait_exit(20s), 0) << s.stderr_text();
}

// SIGSTOP stands in for a reader that falls behind: while lastcall is stopped, a burst overflows
// its smallest possible receive buffer. Every datagram sent then either reaches the intake or is
// counted kernel_buffer, in the drop line and at the intake.
TEST(SidecarSelfMetrics, KernelBufferDropsAreCountedInTheDropLineAndAtTheIntake) {
  auto s = Sidecar::start({{"LASTCALL_SELF_METRICS", "true"}, {"DD_DOGSTATSD_SO_RCVBUF", "1"}});
  ASSERT_TRUE(s.started());
  auto intake = s.intake->client();
  constexpr int kBurst = 300;
  s.process().signal(SIGSTOP);
  for (int i = 0; i < kBurst; ++i) ASSERT_TRUE(send_udp(s.agent.dogstatsd, "burst:1|c"));
  s.process().signal(SIGCONT);
  // A marker sent while the buffer is still full is dropped too: send until one arrives. The one
  // that arrives carries the kernel's drop count.
  int markers = 0;
  bool marker_seen = false;
  while (!marker_seen && markers < 50) {
    ASSERT_TRUE(send_udp(s.agent.dogstatsd, "marker:1|c"));
    ++markers;
    marker_seen = flush_until(
        s.agent, [&] { return count_of(intake.metrics("marker")) >= 1; }, 3);
  }
  ASSERT_TRUE(marker_seen) << s.stderr_text();
  const double received = count_of(intake.metrics("burst")) + count_of(intake.metrics("marker"));
  const double expected_drops = kBurst + markers - received;
  EXPECT_GT(expected_drops, 0);
  json::value dropped;
  ASSERT_TRUE(flush_until(s.agent, [&] {
    dropped = intake.metrics("lastcall.dropped");
    return count_with_tags(dropped, {"kind:dogstatsd", "reason:kernel_buffer"}) >=
           expected_drops - 1e-9;
  })) << json::serialize(dropped);
  EXPECT_NEAR(count_with_tags(dropped, {"kind:dogstatsd", "reason:kernel_buffer"}), expected_drops,
              1e-9);
  // The drop lines add up to the same number.
  double in_lines = 0;
  for (const auto& l : s.process().lines()) {
    const auto at = l.text.find("dogstatsd/kernel_buffer ");
    if (l.text.find(kDropLine) == std::string::npos || at == std::string::npos) continue;
    in_lines += std::stod(l.text.substr(at + 24));
  }
  EXPECT_EQ(in_lines, expected_drops) << s.stderr_text();
  s.process().signal(SIGTERM);
  EXPECT_EQ(s.process().wait_exit(20s), 0) << s.stderr_text();
}

// lastcall's stderr is a FIFO the test reads until the `listening:` line and then closes: every
// later log line is a write to a pipe nobody reads (SIGPIPE by default).
class ClosedStderr : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    intake_ = FakeIntakeProcess::start({}, &error);
    ASSERT_NE(intake_, nullptr) << error;
    fifo_ = std::filesystem::temp_directory_path() /
            ("lastcall-stderr-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove(fifo_);
    ASSERT_EQ(::mkfifo(fifo_.c_str(), 0600), 0);
    reader_ = ::open(fifo_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    ASSERT_GE(reader_, 0);
    ProcessOptions o;
    o.argv = {"/bin/sh", "-c", "exec \"$0\" 2>\"$1\"", built_binary("lastcall"), fifo_.string()};
    o.env = {{"DD_API_KEY", "sidecar-test-key-0123456789"},
             {"DD_DD_URL", "http://127.0.0.1:" + std::to_string(intake_->port())},
             {"DD_DOGSTATSD_PORT", "0"},
             {"LASTCALL_LOCAL_API_PORT", "0"},
             {"LASTCALL_BIND_HOST", "127.0.0.1"},
             {"DD_LOG_LEVEL", "debug"}};
    agent_ = ChildProcess::start(o, &error);
    ASSERT_NE(agent_, nullptr) << error;
    // Read stderr up to the listening line, then stop reading it for good.
    std::string seen;
    const auto limit = std::chrono::steady_clock::now() + 20s;
    while (seen.find("listening:") == std::string::npos ||
           seen.find('\n', seen.find("listening:")) == std::string::npos) {
      ASSERT_LT(std::chrono::steady_clock::now(), limit) << seen;
      pollfd p{reader_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::read(reader_, buf, sizeof buf);
      if (n > 0) seen.append(buf, static_cast<size_t>(n));
    }
    const auto at = seen.find("listening:");
    const auto ports = parse_listening_line(seen.substr(at, seen.find('\n', at) - at));
    dogstatsd_ = ports.count("dogstatsd") ? ports.at("dogstatsd") : 0;
    local_api_ = ports.count("local_api") ? ports.at("local_api") : 0;
    ASSERT_GT(dogstatsd_, 0) << seen;
    ASSERT_GT(local_api_, 0) << seen;
    ::close(reader_);
    reader_ = -1;
  }
  void TearDown() override {
    if (reader_ >= 0) ::close(reader_);
    std::filesystem::remove(fifo_);
  }

  // A forced flush that was answered: lastcall is alive and its loop runs.
  void expect_flush_answered(std::string_view after) {
    auto r =
        http_request(static_cast<std::uint16_t>(local_api_), {"POST", "/lambda/flush", {}, ""});
    ASSERT_TRUE(r) << "no answer after " << after;
    EXPECT_EQ(r->status, 200) << after;
    EXPECT_TRUE(agent_->running()) << after;
  }

  std::unique_ptr<FakeIntakeProcess> intake_;
  std::unique_ptr<ChildProcess> agent_;
  std::filesystem::path fifo_;
  int reader_ = -1;
  int dogstatsd_ = 0;
  int local_api_ = 0;
};

TEST_F(ClosedStderr, StraySignalsAndAClosedStderrLeaveLastcallAliveAndSigtermStillFlushes) {
  ASSERT_TRUE(agent_);
  auto intake = intake_->client();
  // Data and a flush with a debug line or two, all written to the closed stderr.
  ASSERT_TRUE(send_udp(dogstatsd_, "survivor:3|c"));
  std::optional<json::value> survivor;
  for (int attempt = 0; attempt < 50 && !survivor; ++attempt) {
    expect_flush_answered("a closed stderr");
    survivor = intake.wait_for_metric(
        "survivor", [](const json::value& v) { return count_of(v) >= 3 - 1e-9; }, 300ms);
  }
  ASSERT_TRUE(survivor);
  for (const auto& [sig, name] : std::initializer_list<std::pair<int, const char*>>{
           {SIGHUP, "SIGHUP"}, {SIGQUIT, "SIGQUIT"}, {SIGUSR1, "SIGUSR1"}, {SIGUSR2, "SIGUSR2"}}) {
    agent_->signal(sig);
    expect_flush_answered(name);
  }
  // The final flush logs its start to the closed stderr first; it still sends the open bucket.
  ASSERT_TRUE(send_udp(dogstatsd_, "last.words:4|c"));
  agent_->signal(SIGTERM);
  ASSERT_EQ(agent_->wait_exit(20s), 0);
  EXPECT_NEAR(count_of(intake.metrics("last.words")), 4.0, 1e-9);
  EXPECT_NEAR(count_of(intake.metrics("survivor")), 3.0, 1e-9);
}

}  // namespace
}  // namespace lc::test
