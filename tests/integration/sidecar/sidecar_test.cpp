// The real lastcall in sidecar mode with the real lastcall-fakeintake: DogStatsD datagrams in,
// decoded series and sketches out with exact values (datadog-wire.md §7 golden examples), a forced
// flush through the local API, retries that lose nothing, and the final flush on SIGTERM.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>

#include <chrono>
#include <cmath>
#include <csignal>

#include "support/fakeintake_client.h"
#include "support/process.h"
#include "support/sidecar_process.h"

namespace lc::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

// lastcall (sidecar mode) sending to a fresh lastcall-fakeintake.
struct Sidecar {
  std::unique_ptr<FakeIntakeProcess> intake;
  std::unique_ptr<ChildProcess> agent;
  int dogstatsd = 0;
  int local_api = 0;

  static Sidecar start(std::vector<std::string> intake_args = {},
                       std::map<std::string, std::string> env = {}) {
    Sidecar s;
    std::string error;
    s.intake = FakeIntakeProcess::start(std::move(intake_args), &error);
    EXPECT_NE(s.intake, nullptr) << error;
    if (!s.intake) return s;
    env.emplace("DD_LOG_LEVEL", "debug");
    auto p = SidecarProcess::start("http://127.0.0.1:" + std::to_string(s.intake->port()), env);
    EXPECT_TRUE(p.started());
    EXPECT_EQ(p.listening_line.rfind("lastcall | INFO | listening:", 0), 0u) << p.listening_line;
    s.agent = std::move(p.process);
    s.dogstatsd = p.dogstatsd;
    s.local_api = p.local_api;
    return s;
  }

  void flush() const { expect_lambda_flush(local_api); }
};

// A numeric member of a query answer; NaN when absent or not a number (the metric has no points
// yet).
double number(const json::value& v, std::string_view key) {
  const auto* o = v.if_object();
  const auto* m = o ? o->if_contains(key) : nullptr;
  return m && m->is_number() ? m->to_number<double>() : std::nan("");
}

bool has_points(const json::value& v) {
  const auto* o = v.if_object();
  const auto* p = o ? o->if_contains("points") : nullptr;
  return p && p->is_array() && !p->as_array().empty();
}

TEST(SidecarIntegration, GoldenValuesReachTheIntakeDecoded) {
  auto s = Sidecar::start();
  ASSERT_TRUE(s.agent && s.dogstatsd);
  // Stamped into a closed bucket so the burst never splits across windows (conventions.md §16a).
  const std::int64_t ts = wall_s() - 30;
  const std::int64_t bucket = ts - ts % 10;
  const std::string t = "|T" + std::to_string(ts);
  ASSERT_TRUE(send_udp(s.dogstatsd, "page.views:1|c" + t + "\npage.views:1|c" + t +
                                        "\npage.views:1|c" + t + "\npage.views:2|c|@0.5" + t));
  ASSERT_TRUE(send_udp(s.dogstatsd, "temp:10|g" + t));
  ASSERT_TRUE(send_udp(s.dogstatsd, "temp:12.5|g" + t));
  ASSERT_TRUE(send_udp(s.dogstatsd, "temp:11|g" + t));
  ASSERT_TRUE(send_udp(s.dogstatsd, "lat:10:20:30:40|h" + t));
  ASSERT_TRUE(send_udp(s.dogstatsd, "lat:50|h|@0.5" + t));
  ASSERT_TRUE(send_udp(s.dogstatsd, "resp.size:1:2:3|d" + t));
  ASSERT_TRUE(send_udp(s.dogstatsd, "resp.size:3|d|@0.5" + t));
  ASSERT_TRUE(send_udp(s.dogstatsd,
                       "users:alice|s" + t + "\nusers:bob|s" + t + "\nusers:alice|s|@0.5" + t));
  // The datagrams are queued before the flush request on the same loop; poll the intake anyway.
  auto intake = s.intake->client();
  std::optional<json::value> views;
  for (int attempt = 0; attempt < 50 && !views; ++attempt) {
    s.flush();
    views = intake.wait_for_metric(
        "page.views", [](const json::value& v) { return number(v, "count") >= 7 - 1e-9; }, 200ms);
  }
  ASSERT_TRUE(views) << s.agent->output(ChildProcess::Stream::kStderr);
  EXPECT_NEAR(views->at("count").to_number<double>(), 7.0, 1e-9);
  EXPECT_EQ(views->at("duplicates").to_number<int>(), 0);
  const auto& p0 = views->at("points").as_array().at(0).as_object();
  EXPECT_EQ(p0.at("type").as_string(), "rate");
  EXPECT_NEAR(p0.at("value").to_number<double>(), 0.7, 1e-12);
  EXPECT_EQ(p0.at("timestamp").to_number<std::int64_t>(), bucket);
  EXPECT_EQ(p0.at("interval").to_number<int>(), 10);

  auto temp = intake.wait_for_metric(
      "temp", [](const json::value& v) { return has_points(v); }, 5s);
  ASSERT_TRUE(temp);
  EXPECT_EQ(temp->at("points").as_array().at(0).at("type").as_string(), "gauge");
  EXPECT_EQ(temp->at("points").as_array().at(0).at("value").to_number<double>(), 11.0);

  const std::pair<const char*, double> lat[] = {{"lat.max", 50},
                                                {"lat.median", 30},
                                                {"lat.avg", 33.333333333333336},
                                                {"lat.count", 0.6},
                                                {"lat.95percentile", 50}};
  for (const auto& [name, value] : lat) {
    auto m = intake.wait_for_metric(
        name, [](const json::value& v) { return has_points(v); }, 5s);
    ASSERT_TRUE(m) << name;
    EXPECT_NEAR(m->at("points").as_array().at(0).at("value").to_number<double>(), value, 1e-9)
        << name;
  }
  auto users = intake.wait_for_metric(
      "users", [](const json::value& v) { return has_points(v); }, 5s);
  ASSERT_TRUE(users);
  EXPECT_EQ(users->at("points").as_array().at(0).at("value").to_number<double>(), 2.0);

  auto sketch = intake.wait_for_metric(
      "resp.size",
      [](const json::value& v) { return v.as_object().if_contains("sketch") != nullptr; }, 5s);
  ASSERT_TRUE(sketch);
  const auto& sk = sketch->at("sketch");
  EXPECT_EQ(sk.at("cnt").to_number<int>(), 5);
  EXPECT_EQ(sk.at("sum").to_number<double>(), 12.0);
  EXPECT_EQ(sk.at("min").to_number<double>(), 1.0);
  EXPECT_EQ(sk.at("max").to_number<double>(), 3.0);
  EXPECT_NEAR(sk.at("avg").to_number<double>(), 2.4, 1e-12);
}

TEST(SidecarIntegration, IntakeFailing503TwiceLosesNothing) {
  auto s = Sidecar::start({"--fault", "/api/v2/series=503,503"});
  ASSERT_TRUE(s.agent && s.dogstatsd);
  const std::string t = "|T" + std::to_string(wall_s() - 30);
  ASSERT_TRUE(send_udp(s.dogstatsd, "jobs:1|c" + t + "\njobs:4|c" + t));
  auto intake = s.intake->client();
  std::optional<json::value> jobs;
  for (int attempt = 0; attempt < 50 && !jobs; ++attempt) {
    s.flush();
    jobs = intake.wait_for_metric(
        "jobs", [](const json::value& v) { return has_points(v); }, 300ms);
  }
  ASSERT_TRUE(jobs) << s.agent->output(ChildProcess::Stream::kStderr);
  EXPECT_NEAR(jobs->at("count").to_number<double>(), 5.0, 1e-9);
  EXPECT_EQ(jobs->at("duplicates").to_number<int>(), 0);
  // The intake saw the two 503s before the accepted payload.
  const auto payloads = intake.payloads("/api/v2/series");
  std::size_t rejected_503 = 0;
  for (const auto& r : payloads.at("rejections").as_array()) {
    if (r.at("status").to_number<int>() == 503) ++rejected_503;
  }
  EXPECT_EQ(rejected_503, 2u);
}

TEST(SidecarIntegration, SigtermFinalFlushIncludesTheOpenBucket) {
  auto s = Sidecar::start();
  ASSERT_TRUE(s.agent && s.dogstatsd);
  // Loopback delivery puts the datagram in the socket buffer before sendto returns; on SIGTERM
  // lastcall stops receiving, handles what the socket holds, and flushes the open bucket.
  ASSERT_TRUE(send_udp(s.dogstatsd, "last.words:4|c"));
  s.agent->signal(SIGTERM);
  ASSERT_EQ(s.agent->wait_exit(20s), 0) << s.agent->output(ChildProcess::Stream::kStderr);
  auto m = s.intake->client().metrics("last.words");
  ASSERT_TRUE(m.is_object());
  EXPECT_NEAR(m.at("count").to_number<double>(), 4.0, 1e-9);
  EXPECT_EQ(m.at("duplicates").to_number<int>(), 0);
}

TEST(SidecarIntegration, FinalFlushAgainstAFailingIntakeSaysWhatWasNotSent) {
  std::string statuses = "/api/v2/series=503";
  for (int i = 0; i < 30; ++i) statuses += ",503";
  auto s = Sidecar::start({"--fault", statuses});
  ASSERT_TRUE(s.agent && s.dogstatsd);
  ASSERT_TRUE(send_udp(s.dogstatsd, "doomed:1|c"));
  s.agent->signal(SIGTERM);
  // The final flush is bounded: lastcall exits 0 after its budget instead of retrying forever.
  ASSERT_EQ(s.agent->wait_exit(30s), 0) << s.agent->output(ChildProcess::Stream::kStderr);
  auto warn = s.agent->wait_for_line_containing("; not sent: ", 1s);
  ASSERT_TRUE(warn) << s.agent->output(ChildProcess::Stream::kStderr);
  EXPECT_NE(warn->find("metrics 1 payload"), std::string::npos) << *warn;
  EXPECT_EQ(warn->rfind("lastcall | WARN |", 0), 0u) << *warn;
  // Nothing reached the intake: every attempt was answered 503.
  auto m = s.intake->client().metrics("doomed");
  EXPECT_FALSE(has_points(m));
}

std::size_t hung_requests(const FakeIntakeClient& intake) {
  return intake.rejections("/api/v2/series", "fault: hang");
}

// architecture.md "Layout": the final flush does not wait for a running flush. Here a forced flush
// hangs on an intake that never answers (its own deadline is DD_FLUSH_TIMEOUT, 30 s); SIGTERM cuts
// it, the final flush holds its payload back (its request may still succeed) and lastcall exits by
// the final deadline
// (LASTCALL_SHUTDOWN_GRACE_MS), saying what it could not send.
TEST(SidecarIntegration, SigtermCutsAFlushHungOnTheIntakeAndExitsByTheFinalDeadline) {
  constexpr auto kGrace = 1500ms;
  auto s = Sidecar::start({}, {{"LASTCALL_SHUTDOWN_GRACE_MS", std::to_string(kGrace.count())}});
  ASSERT_TRUE(s.agent && s.dogstatsd);
  auto intake = s.intake->client();
  ASSERT_TRUE(intake.set_fault(R"({"endpoint":"/api/v2/series","hang":true})"));
  ASSERT_TRUE(send_udp(s.dogstatsd, "stuck:1|c"));
  // The forced flush is answered after 90 ms and goes on, hung; poll until the intake holds it.
  bool hung = false;
  for (int attempt = 0; attempt < 50 && !hung; ++attempt) {
    s.flush();
    for (int poll = 0; poll < 20 && !hung; ++poll) hung = hung_requests(intake) >= 1;
  }
  ASSERT_TRUE(hung) << s.agent->output(ChildProcess::Stream::kStderr);
  const std::size_t before = hung_requests(intake);

  const auto sigterm_at = std::chrono::steady_clock::now();
  s.agent->signal(SIGTERM);
  const auto code = s.agent->wait_exit(20s);
  const auto took = std::chrono::steady_clock::now() - sigterm_at;
  ASSERT_TRUE(code.has_value()) << "still running 20 s after SIGTERM";
  EXPECT_EQ(*code, 0);
  // Before the cut this took the whole 30 s flush timeout. 1 s of slack for an ASan build's exit.
  EXPECT_LT(took, kGrace + 1000ms) << s.agent->output(ChildProcess::Stream::kStderr);
  // The cut payload's request may still succeed: the final flush sends no second copy of it (no
  // new hung request), and the process says what was not sent.
  EXPECT_EQ(hung_requests(intake), before);
  auto warn = s.agent->wait_for_line_containing("; not sent: ", 1s);
  ASSERT_TRUE(warn) << s.agent->output(ChildProcess::Stream::kStderr);
  EXPECT_NE(warn->find("metrics 1 payload"), std::string::npos) << *warn;
}

TEST(SidecarIntegration, V1SeriesWithDeflateForVictoriaMetricsStyleIntakes) {
  auto s = Sidecar::start({}, {{"DD_USE_V2_API_SERIES", "false"}});
  ASSERT_TRUE(s.agent && s.dogstatsd);
  const std::string t = "|T" + std::to_string(wall_s() - 30);
  ASSERT_TRUE(send_udp(s.dogstatsd, "v1.count:2|c|#a:1" + t + "\nv1.dist:4|d" + t));
  auto intake = s.intake->client();
  std::optional<json::value> count;
  for (int attempt = 0; attempt < 50 && !count; ++attempt) {
    s.flush();
    count = intake.wait_for_metric(
        "v1.count", [](const json::value& v) { return has_points(v); }, 200ms);
  }
  ASSERT_TRUE(count);
  EXPECT_NEAR(count->at("count").to_number<double>(), 2.0, 1e-9);
  // Distributions fall back to series in v1 mode (datadog-wire.md §4.3).
  auto fallback = intake.wait_for_metric(
      "v1.dist.count", [](const json::value& v) { return has_points(v); }, 5s);
  ASSERT_TRUE(fallback);
  EXPECT_NEAR(fallback->at("count").to_number<double>(), 1.0, 1e-9);
  const auto payloads = intake.payloads("/api/v1/series");
  ASSERT_FALSE(payloads.at("payloads").as_array().empty());
  // Every v1 payload travelled deflated, as the test's name says: the intake records each
  // request's Content-Encoding header as content_encoding (and decoded the body with it).
  for (const auto& p : payloads.at("payloads").as_array()) {
    EXPECT_EQ(p.at("content_encoding").as_string(), "deflate") << json::serialize(p);
  }
  EXPECT_TRUE(intake.payloads("/api/beta/sketches").at("payloads").as_array().empty());
}

// clarifications.md "proxies": a proxy URL that does not parse is reported once, at start, naming
// the variable (credentials masked), and lastcall runs on with intake traffic going direct (the
// finalized proxy is empty: tests/unit/core/config_test.cpp).
TEST(SidecarIntegration, UnparsableProxyIsReportedOnceAndIntakeTrafficGoesDirect) {
  auto s = Sidecar::start({}, {{"HTTPS_PROXY", "socks5://user:hunter2pass@proxy.invalid:1080"}});
  ASSERT_TRUE(s.agent && s.dogstatsd);
  const std::string t = "|T" + std::to_string(wall_s() - 30);
  ASSERT_TRUE(send_udp(s.dogstatsd, "direct.count:3|c" + t));
  auto intake = s.intake->client();
  std::optional<json::value> m;
  for (int attempt = 0; attempt < 50 && !m; ++attempt) {
    s.flush();
    m = intake.wait_for_metric(
        "direct.count", [](const json::value& v) { return has_points(v); }, 200ms);
  }
  ASSERT_TRUE(m) << s.agent->output(ChildProcess::Stream::kStderr);
  EXPECT_NEAR(m->at("count").to_number<double>(), 3.0, 1e-9);
  s.agent->signal(SIGTERM);
  ASSERT_EQ(s.agent->wait_exit(20s), 0);
  const std::string err = s.agent->output(ChildProcess::Stream::kStderr);
  EXPECT_EQ(err.find("hunter2pass"), std::string::npos) << err;
  std::size_t reports = 0;
  std::string report;
  for (const auto& line : s.agent->lines()) {
    if (line.text.find("proxy") == std::string::npos) continue;
    ++reports;
    report = line.text;
  }
  ASSERT_EQ(reports, 1u) << err;
  EXPECT_EQ(
      report.rfind("lastcall | WARN | config: HTTPS_PROXY=\"socks5://***@proxy.invalid:1080\"", 0),
      0u)
      << report;
  EXPECT_NE(report.find("goes direct"), std::string::npos) << report;
}

}  // namespace
}  // namespace lc::test
