// Issue 19, "done when" (run alone: ctest -L flush): flush control as the function sees it, with
// the real lastcall as the extension in lastcall-sandbox (freeze on) and lastcall-fakeintake
// (lambda-agent.md §6).
// - (a) DD_SERVERLESS_FLUSH_STRATEGY=end: an invocation's custom metrics and log lines are at the
//   intake by the time the invocation ends (lastcall called /next; the sandbox then freezes it).
// - (b) the intake answering 503 twice: nothing lost, nothing sent twice.
// - (c) an intake that delays every answer by 10 s and a 2 s SHUTDOWN budget: lastcall exits 0 on
//   its own before deadlineMs and says what it could not send.
// - (d) the last report delivered 100 ms after SHUTDOWN: its enhanced metrics still arrive.
// (e), /lambda/flush during an open invocation, is tests/integration/lambda/extension_metrics_test.
// Also lambda-platform.md §8 item 10 (a 3 s function and a stalled intake: the End flush gives up
// by deadlineMs − 200 ms and the invocation is no timeout) and item 11 (SHUTDOWN reason in upper
// case still gets the final flush).
// Assertions read the intake right after the event they follow (no sleeps); polls have limits.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <string>
#include <vector>

#include "support/lambda_rig.h"

namespace lc::test {
namespace {

namespace json = boost::json;

// The total of a counter at the intake (/fakeintake/metrics `count`); 0 when absent.
double count_of(const json::value& answer) {
  const auto* o = answer.if_object();
  const auto* c = o != nullptr ? o->if_contains("count") : nullptr;
  return c != nullptr && c->is_number() ? c->to_number<double>() : 0;
}

// How many log entries hold `part` in their line, and the request id of the last one.
struct LogHits {
  std::size_t n = 0;
  std::string request_id;
};
LogHits log_hits(const FakeIntakeClient& intake, std::string_view part) {
  const auto all = intake_log_entries(intake);
  const auto found = entries_containing(all, part);
  return {found.size(), found.empty() ? std::string() : found.back()->request_id()};
}

std::string invocation_payload(int i) {
  json::object p;
  p["statsd"] = json::array{"flush.end.count:1|c|#inv:" + std::to_string(i)};
  p["log"] = json::array{"line of invocation " + std::to_string(i)};
  return json::serialize(p);
}

TEST(ExtensionFlush, EndStrategyDeliversEachInvocationBeforeNext) {
  LambdaRigOptions o;
  o.env = {{"DD_SERVERLESS_FLUSH_STRATEGY", "end"}};
  LambdaRig rig(o);
  ASSERT_TRUE(rig.started()) << rig.diagnostics();
  for (int i = 1; i <= 3; ++i) {
    const std::string id = "req-end-" + std::to_string(i);
    rig.invoke(invocation_payload(i), id);
    // The invocation ends when lastcall calls /next: its data is at the intake by then.
    ASSERT_TRUE(rig.wait("invoke.end", i)) << rig.diagnostics();
    EXPECT_NEAR(count_of(rig.intake().metrics("flush.end.count")), i, 1e-9)
        << "invocation " << i << "\n"
        << rig.diagnostics();
    const LogHits hits = log_hits(rig.intake(), "line of invocation " + std::to_string(i));
    EXPECT_EQ(hits.n, 1u) << "invocation " << i;
    EXPECT_EQ(hits.request_id, id);
    EXPECT_EQ(log_hits(rig.intake(), "END RequestId: " + id).n, 1u) << id;
  }
  const LastcallExit exit = rig.shutdown();
  EXPECT_EQ(exit.exit_code, 0) << rig.diagnostics();
  EXPECT_NEAR(count_of(rig.intake().metrics("flush.end.count")), 3, 1e-9);
}

TEST(ExtensionFlush, IntakeFailingTwiceLosesNothing) {
  LambdaRigOptions o;
  o.env = {{"DD_SERVERLESS_FLUSH_STRATEGY", "end"}};
  o.intake_args = {"--fault", "/api/v2/series=503,503", "--fault", "/api/v2/logs=503,503"};
  LambdaRig rig(o);
  ASSERT_TRUE(rig.started()) << rig.diagnostics();
  for (int i = 1; i <= 3; ++i) {
    rig.invoke(invocation_payload(i), "req-retry-" + std::to_string(i));
  }
  ASSERT_TRUE(rig.wait("invoke.end", 3)) << rig.diagnostics();
  const LastcallExit exit = rig.shutdown();
  EXPECT_EQ(exit.exit_code, 0) << rig.diagnostics();
  const json::value counts = rig.intake().metrics("flush.end.count");
  EXPECT_NEAR(count_of(counts), 3, 1e-9) << json::serialize(counts) << "\n" << rig.diagnostics();
  EXPECT_EQ(counts.at("duplicates").to_number<int>(), 0);
  for (int i = 1; i <= 3; ++i) {
    EXPECT_EQ(log_hits(rig.intake(), "line of invocation " + std::to_string(i)).n, 1u) << i;
  }
  EXPECT_EQ(rig.intake().rejections("/api/v2/series", "injected fault: status 503"), 2u);
  EXPECT_EQ(rig.intake().rejections("/api/v2/logs", "injected fault: status 503"), 2u);
}

TEST(ExtensionFlush, SlowIntakeShutdownStillBeatsTheDeadline) {
  LambdaRigOptions o;
  o.sandbox_args = {"--shutdown-budget-ms", "2000"};
  LambdaRig rig(o);
  ASSERT_TRUE(rig.started()) << rig.diagnostics();
  ASSERT_TRUE(rig.intake().set_fault(R"({"endpoint":"*","delay_ms":10000})"));
  rig.invoke(invocation_payload(1), "req-slow-1");
  ASSERT_TRUE(rig.wait("invoke.end", 1)) << rig.diagnostics();
  const LastcallExit exit = rig.shutdown();
  ASSERT_TRUE(exit.seen) << rig.diagnostics();
  EXPECT_EQ(exit.exit_code, 0) << rig.diagnostics();
  EXPECT_FALSE(exit.sigkilled) << rig.diagnostics();
  EXPECT_TRUE(exit.exited_before_deadline) << rig.diagnostics();
  // One warning says what was not sent.
  std::size_t said = 0;
  for (const auto& line : rig.lastcall_output()) {
    if (line.find("| WARN |") != std::string::npos && line.find("not sent") != std::string::npos) {
      ++said;
    }
  }
  EXPECT_EQ(said, 1u) << rig.diagnostics();
}

TEST(ExtensionFlush, StalledIntakeNeverTurnsAnInvocationIntoATimeout) {
  LambdaRigOptions o;
  o.env = {{"DD_SERVERLESS_FLUSH_STRATEGY", "end"}};
  o.sandbox_args = {"--function-timeout-ms", "3000"};
  LambdaRig rig(o);
  ASSERT_TRUE(rig.started()) << rig.diagnostics();
  ASSERT_TRUE(rig.intake().set_fault(R"({"endpoint":"*","hang":true})"));
  const auto answer = rig.invoke(invocation_payload(1), "req-stalled-1");
  EXPECT_EQ(answer.status, 200) << rig.diagnostics();
  EXPECT_FALSE(answer.header("X-Amz-Function-Error").has_value()) << rig.diagnostics();
  // lastcall called /next before deadlineMs: the invocation ended as a success, not a timeout.
  ASSERT_TRUE(rig.wait("invoke.end", 1, {{"status", "success"}})) << rig.diagnostics();
  const LastcallExit exit = rig.shutdown();
  EXPECT_EQ(exit.exit_code, 0) << rig.diagnostics();
  EXPECT_TRUE(exit.exited_before_deadline) << rig.diagnostics();
}

TEST(ExtensionFlush, UpperCaseShutdownReasonStillGetsTheFinalFlush) {
  LambdaRigOptions o;
  o.env = {{"DD_SERVERLESS_FLUSH_STRATEGY", "continuously,60000"}};
  o.with_faults(R"({"shutdown_reason_case":"upper"})");
  LambdaRig rig(o);
  ASSERT_TRUE(rig.started()) << rig.diagnostics();
  // Continuous at 60 s: nothing is flushed before SHUTDOWN, so the count can only come from the
  // final flush.
  rig.invoke(invocation_payload(1), "req-upper-1");
  ASSERT_TRUE(rig.wait("invoke.end", 1)) << rig.diagnostics();
  const LastcallExit exit = rig.shutdown("spindown");
  EXPECT_EQ(exit.exit_code, 0) << rig.diagnostics();
  EXPECT_NEAR(count_of(rig.intake().metrics("flush.end.count")), 1, 1e-9) << rig.diagnostics();
  EXPECT_EQ(log_hits(rig.intake(), "line of invocation 1").n, 1u) << rig.diagnostics();
}

TEST(ExtensionFlush, LastReportAfterShutdownStillReachesTheIntake) {
  LambdaRigOptions o;
  o.with_faults(R"({"late_report":"at_shutdown","delivery_delay_ms":100})");
  LambdaRig rig(o);
  ASSERT_TRUE(rig.started()) << rig.diagnostics();
  rig.invoke(invocation_payload(1), "req-late-1");
  ASSERT_TRUE(rig.wait("invoke.end", 1)) << rig.diagnostics();
  const LastcallExit exit = rig.shutdown();
  EXPECT_EQ(exit.exit_code, 0) << rig.diagnostics();
  EXPECT_TRUE(exit.exited_before_deadline) << rig.diagnostics();
  // The report's own metrics (duration) and REPORT line came with the final flush.
  EXPECT_NEAR(sketch_count(enhanced_metric(rig.intake(), "duration")), 1, 1e-9)
      << rig.diagnostics();
  EXPECT_EQ(log_hits(rig.intake(), "REPORT RequestId: req-late-1").n, 1u) << rig.diagnostics();
}

}  // namespace
}  // namespace lc::test
