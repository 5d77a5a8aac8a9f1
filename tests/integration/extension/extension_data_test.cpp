// The real lastcall as a Lambda extension carrying data (lambda-agent.md §1.2, §6.5, §7.1):
// DogStatsD bound before register and announced, a datagram sent to the announced port reaching
// lastcall-fakeintake with its exact value at POST /lambda/flush while the invocation is open,
// closed buckets leaving at INVOKE without holding up /next, and SHUTDOWN sending the rest and
// exiting 0 before deadlineMs, also against an intake that never answers.
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "support/extension_process.h"
#include "support/fake_extensions_api.h"
#include "support/fakeintake_client.h"
#include "support/process.h"

namespace lc::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

double number(const json::value& v, std::string_view key) {
  const auto* o = v.if_object();
  const auto* m = o ? o->if_contains(key) : nullptr;
  return m && m->is_number() ? m->to_number<double>() : -1;
}

bool has_points(const json::value& v) {
  const auto* o = v.if_object();
  const auto* p = o ? o->if_contains("points") : nullptr;
  return p && p->is_array() && !p->as_array().empty();
}

std::size_t hung_requests(const FakeIntakeClient& intake) {
  return intake.rejections("/api/v2/series", "fault: hang");
}

// lastcall as /opt/extensions/datadog-agent, sending to a fresh lastcall-fakeintake.
struct Extension {
  FakeExtensionsApi api;
  std::unique_ptr<FakeIntakeProcess> intake;
  std::unique_ptr<ChildProcess> agent;
  std::map<std::string, int> ports;

  bool start() {
    std::string error;
    intake = FakeIntakeProcess::start({}, &error);
    EXPECT_NE(intake, nullptr) << error;
    EXPECT_TRUE(api.started()) << api.error();
    if (!intake || !api.started()) return false;
    // The fake Extensions API delivers no telemetry, so no runtimeDone: the Continuous strategy
    // (lambda-agent.md §6.3) starts its flush at INVOKE without holding up /next.
    agent =
        start_extension(api, {{"DD_DD_URL", "http://127.0.0.1:" + std::to_string(intake->port())},
                              {"DD_SERVERLESS_FLUSH_STRATEGY", "continuously,1"}});
    if (!agent) return false;
    auto line = agent->wait_for_line_containing("DD_EXTENSION | INFO | listening:", 10s);
    EXPECT_TRUE(line) << agent->output(ChildProcess::Stream::kStdout);
    if (!line) return false;
    ports = parse_listening_line(*line);
    // §1.2 step 2: every listener is bound and announced before register.
    EXPECT_GT(ports["telemetry"], 0) << *line;
    EXPECT_GT(ports["dogstatsd"], 0) << *line;
    EXPECT_GT(ports["local_api"], 0) << *line;
    return ports["dogstatsd"] > 0 && ports["local_api"] > 0;
  }

  void flush() const { expect_lambda_flush(ports.at("local_api")); }

  std::string out() const { return agent ? agent->output(ChildProcess::Stream::kStdout) : ""; }
};

TEST(ExtensionData, DogStatsdReachesTheIntakeAtLambdaFlushAndTheRestAtShutdown) {
  Extension x;
  ASSERT_TRUE(x.start());
  x.api.push(invoke_event(wall_ms() + 60000));
  ASSERT_TRUE(x.api.wait_for_next_calls(2, 10s)) << x.out();  // the invocation is open

  ASSERT_TRUE(send_udp(x.ports["dogstatsd"], "ext.count:2|c|#team:a\next.count:1|c|#team:a"));
  auto intake = x.intake->client();
  std::optional<json::value> count;
  for (int attempt = 0; attempt < 10 && !count; ++attempt) {
    x.flush();
    count = intake.wait_for_metric(
        "ext.count", [](const json::value& v) { return number(v, "count") >= 3 - 1e-9; }, 200ms);
  }
  ASSERT_TRUE(count) << x.out();
  EXPECT_NEAR(count->at("count").to_number<double>(), 3.0, 1e-9);
  EXPECT_EQ(count->at("duplicates").to_number<int>(), 0);
  EXPECT_EQ(x.api.next_calls(), 2) << "the flush ran while the invocation stayed open";
  // The account arrived with the register reply and tags every point (lambda-agent.md §3.5).
  const std::string tags = json::serialize(count->at("points"));
  EXPECT_NE(tags.find("\"account_id:123456789012\""), std::string::npos) << tags;
  EXPECT_NE(tags.find("\"aws_account:123456789012\""), std::string::npos) << tags;
  EXPECT_NE(tags.find("\"team:a\""), std::string::npos) << tags;

  // SHUTDOWN: what arrived since goes out in the final flush, then exit 0 before deadlineMs.
  ASSERT_TRUE(send_udp(x.ports["dogstatsd"], "ext.late:5|c"));
  const std::int64_t deadline = wall_ms() + 2000;
  x.api.push(shutdown_event(deadline));
  const auto code = x.agent->wait_exit(10s);
  const std::int64_t exited_at = wall_ms();
  ASSERT_TRUE(code.has_value()) << x.out();
  EXPECT_EQ(*code, 0) << x.out();
  EXPECT_LT(exited_at, deadline) << "exited after the SHUTDOWN deadline";
  auto late = intake.metrics("ext.late");
  ASSERT_TRUE(has_points(late)) << x.out();
  EXPECT_NEAR(late.at("count").to_number<double>(), 5.0, 1e-9);
  EXPECT_EQ(late.at("duplicates").to_number<int>(), 0);
  auto again = intake.metrics("ext.count");
  EXPECT_NEAR(again.at("count").to_number<double>(), 3.0, 1e-9) << "nothing sent twice";
}

TEST(ExtensionData, ClosedBucketsLeaveAtInvoke) {
  Extension x;
  ASSERT_TRUE(x.start());
  // Stamped into a closed bucket: the INVOKE flush (closed buckets only) takes it.
  const std::int64_t ts = wall_ms() / 1000 - 30;
  ASSERT_TRUE(send_udp(x.ports["dogstatsd"], "ext.closed:4|c|T" + std::to_string(ts)));
  ASSERT_TRUE(x.api.wait_for_next_calls(1, 10s)) << x.out();
  // The datagram is handled before the event on lastcall's loop only if it was received first:
  // repeat the invocation until the flush at its top carried it (no /lambda/flush here).
  std::optional<json::value> closed;
  for (int i = 0; i < 10 && !closed; ++i) {
    x.api.push(invoke_event(wall_ms() + 60000));
    ASSERT_TRUE(x.api.wait_for_next_calls(i + 2, 10s)) << x.out();
    closed = x.intake->client().wait_for_metric(
        "ext.closed", [](const json::value& v) { return has_points(v); }, 500ms);
  }
  ASSERT_TRUE(closed) << x.out();
  EXPECT_NEAR(closed->at("count").to_number<double>(), 4.0, 1e-9);
}

// An intake that never answers holds up neither /next nor the exit: the INVOKE flush runs while
// lastcall is already waiting on /next, and SHUTDOWN cuts it (its payload is held back, never sent
// twice while its request may still succeed) and exits 0 before deadlineMs.
TEST(ExtensionData, HungIntakeHoldsUpNeitherNextNorTheExit) {
  Extension x;
  ASSERT_TRUE(x.start());
  auto intake = x.intake->client();
  ASSERT_TRUE(intake.set_fault(R"({"endpoint":"/api/v2/series","hang":true})"));
  const std::int64_t ts = wall_ms() / 1000 - 30;
  ASSERT_TRUE(send_udp(x.ports["dogstatsd"], "ext.stuck:1|c|T" + std::to_string(ts)));
  ASSERT_TRUE(x.api.wait_for_next_calls(1, 10s)) << x.out();
  bool hung = false;
  for (int i = 0; i < 10 && !hung; ++i) {
    x.api.push(invoke_event(wall_ms() + 60000));
    // Order of events: /next is called again whether or not the intake ever answers.
    ASSERT_TRUE(x.api.wait_for_next_calls(i + 2, 10s)) << x.out();
    for (int poll = 0; poll < 20 && !hung; ++poll) hung = hung_requests(intake) >= 1;
  }
  ASSERT_TRUE(hung) << x.out();
  const std::size_t before = hung_requests(intake);

  const std::int64_t deadline = wall_ms() + 1500;
  x.api.push(shutdown_event(deadline));
  const auto code = x.agent->wait_exit(10s);
  const std::int64_t exited_at = wall_ms();
  ASSERT_TRUE(code.has_value()) << x.out();
  EXPECT_EQ(*code, 0) << x.out();
  EXPECT_LT(exited_at, deadline) << "exited after the SHUTDOWN deadline\n" << x.out();
  EXPECT_EQ(hung_requests(intake), before)
      << "its request may still succeed: the final flush sends no second copy";
  auto warn = x.agent->wait_for_line_containing("; not sent: ", 1s);
  ASSERT_TRUE(warn) << x.out();
  EXPECT_NE(warn->find("metrics 1 payload"), std::string::npos) << *warn;
  EXPECT_EQ(warn->rfind("DD_EXTENSION | WARN |", 0), 0u) << *warn;
}

}  // namespace
}  // namespace lc::test
