// Issue 17, the checklist items of lambda-platform.md §8 that need the whole platform (run alone:
// ctest -R Checklist or ctest -L enhanced_metrics): the real lastcall as the Lambda extension in
// lastcall-sandbox, fake-runtime scripted per test, lastcall-fakeintake decoding the sketches.
// - 29 (and 16 as the sandbox delivers it): an invocation that sleeps past the function timeout
//   is one errors and one timeouts point; the SHUTDOWN `timeout` that follows is handled (final
//   flush, clean exit).
// - 19: listener errors (`503:2`) make the sandbox deliver batches again; nothing is counted twice.
// - 21–27: every record-shape knob of §7.6 (text/JSON/Java records, with and without the managed
//   prefix, omitted optional fields, unknown types, no replayed initStart, suppressed init): the
//   totals and the cold-start attribution do not change.
// - 35: a streamed response gives produced_bytes, response_latency and response_duration.
// Points of one lastcall process are merged per context by its aggregator and the intake merges
// sketches per context, so the merged count is the number of points.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <chrono>
#include <future>
#include <ostream>
#include <string>
#include <vector>

#include "support/lambda_rig.h"

namespace lc::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

void expect_count(LambdaRig& rig, std::string_view name, double want, std::string_view tag = "") {
  const auto m = enhanced_metric(rig.intake(), name);
  EXPECT_EQ(sketch_count(m, tag), want) << name << " " << tag << ": " << json::serialize(m) << "\n"
                                        << rig.diagnostics();
  EXPECT_EQ(json_number(m, "duplicates"), 0) << name << ": " << json::serialize(m);
}

LambdaRigOptions with_faults(const std::string& faults, std::vector<std::string> args = {}) {
  LambdaRigOptions options;
  options.sandbox_args = std::move(args);
  return std::move(options.with_faults(faults));
}

// The sandbox's telemetry.delivered entries, one a line (failure messages).
std::string deliveries(LambdaRig& rig) {
  std::string out;
  for (const auto& e : rig.timeline()) {
    const auto* event = e.if_contains("event");
    if (event != nullptr && *event == "telemetry.delivered") out += json::serialize(e) + "\n";
  }
  return out;
}

// Items 29 and 16: the function sleeps past its 1 s timeout. The sandbox answers the caller with
// Sandbox.Timedout, sends runtimeDone/report `timeout`, then runs SHUTDOWN `timeout`.
TEST(Checklist, InvokeTimeoutIsOneTimeoutAndTheShutdownTimeoutIsHandled) {
  LambdaRig rig(with_faults("", {"--function-timeout-ms", "1000"}));
  ASSERT_TRUE(rig.started()) << rig.diagnostics();
  ASSERT_TRUE(rig.wait("init.done")) << rig.diagnostics();
  ASSERT_EQ(rig.invoke(R"({"respond":{"ok":true}})", "ok-1").status, 200) << rig.diagnostics();
  const auto late = rig.invoke(R"({"sleep_ms":2500,"respond":{"ok":true}})", "slow-2");
  ASSERT_EQ(late.status, 200) << rig.diagnostics();
  EXPECT_TRUE(late.header("X-Amz-Function-Error").has_value()) << rig.diagnostics();
  ASSERT_TRUE(rig.wait("shutdown.start", 1, {{"reason", "timeout"}})) << rig.diagnostics();
  ASSERT_TRUE(rig.wait("shutdown.done")) << rig.diagnostics();
  // lastcall got SHUTDOWN and exited on its own with status 0.
  const auto tl = rig.timeline();
  bool clean_exit = false;
  for (const auto& e : tl) {
    if (e.if_contains("event") == nullptr || e.at("event") != "exit") continue;
    const auto* name = e.if_contains("name");
    if (name == nullptr || !name->is_string() || name->get_string() != "datadog-agent") continue;
    const auto* code = e.if_contains("code");
    clean_exit = code != nullptr && code->is_int64() && code->get_int64() == 0;
  }
  EXPECT_TRUE(clean_exit) << rig.diagnostics();

  await_enhanced_invocations(rig, 2);
  if (::testing::Test::HasFatalFailure()) return;
  expect_count(rig, "invocations", 2);
  expect_count(rig, "errors", 1);
  expect_count(rig, "timeouts", 1);
  expect_count(rig, "errors", 1, "cold_start:false");  // the timed-out (warm) invocation's
  expect_count(rig, "timeouts", 1, "cold_start:false");
  expect_count(rig, "shutdowns", 1);
}

// Item 16: the SHUTDOWN `timeout` comes while the function still runs and no runtimeDone (nor
// report) is ever sent for it: the request that was running is the one that timed out
// (lambda-platform.md §3.5), one errors and one timeouts point.
TEST(Checklist, ShutdownTimeoutWithoutRuntimeDoneCountsTheRunningRequestOnce) {
  // The SHUTDOWN comes long before the invocation's deadlineMs here. Under the End strategy
  // lastcall would hold /next for the runtimeDone until deadlineMs − 200 ms and meet the SHUTDOWN
  // only then; Continuous waits in /next at once, which this test is about (the counting).
  LambdaRigOptions options = with_faults("", {"--function-timeout-ms", "10000"});
  options.env["DD_SERVERLESS_FLUSH_STRATEGY"] = "continuously,60000";
  LambdaRig rig(options);
  ASSERT_TRUE(rig.started()) << rig.diagnostics();
  ASSERT_TRUE(rig.wait("init.done")) << rig.diagnostics();
  ASSERT_EQ(rig.invoke(R"({"respond":{"ok":true}})", "ok-1").status, 200) << rig.diagnostics();
  auto running = std::async(std::launch::async, [&rig] {
    return rig.invoke(R"({"sleep_ms":5000,"respond":{"ok":true}})", "stuck-2").status;
  });
  ASSERT_TRUE(rig.wait("event.invoke", 2)) << rig.diagnostics();
  ASSERT_TRUE(rig.wait("runtime.next", 2)) << rig.diagnostics();
  const auto exit = rig.shutdown("timeout");
  ASSERT_TRUE(exit.seen) << rig.diagnostics();
  EXPECT_EQ(exit.exit_code, 0) << rig.diagnostics();
  EXPECT_EQ(running.get(), 200);

  await_enhanced_invocations(rig, 2);
  if (::testing::Test::HasFatalFailure()) return;
  expect_count(rig, "errors", 1);
  expect_count(rig, "timeouts", 1);
  expect_count(rig, "timeouts", 1, "cold_start:false");
  expect_count(rig, "shutdowns", 1);
}

// Item 19: after the cold start, the sandbox counts the next two successful deliveries as 503 and
// sends those batches again: the error invocation and the others are counted once.
TEST(Checklist, ListenerErrorsDuplicateBatchesCountNothingTwice) {
  LambdaRig rig;
  ASSERT_TRUE(rig.started()) << rig.diagnostics();
  ASSERT_TRUE(rig.wait("init.done")) << rig.diagnostics();
  ASSERT_EQ(rig.invoke(R"({"respond":{"ok":true}})", "cold-1").status, 200) << rig.diagnostics();
  ASSERT_TRUE(rig.wait("invoke.end")) << rig.diagnostics();
  const auto put = rig.sandbox().control("PUT", "/faults", R"({"listener_errors":"503:2"})");
  ASSERT_EQ(put.status, 200) << put.body;
  const auto failed = rig.invoke(R"({"log":["about to fail"],"error":"Custom.Failure"})", "err-2");
  ASSERT_EQ(failed.status, 200) << rig.diagnostics();
  EXPECT_TRUE(failed.header("X-Amz-Function-Error").has_value()) << rig.diagnostics();
  ASSERT_EQ(rig.invoke(R"({"log":["fine"],"respond":{"ok":true}})", "ok-3").status, 200)
      << rig.diagnostics();
  ASSERT_TRUE(rig.wait("invoke.end", 3)) << rig.diagnostics();
  // A frozen lastcall receives nothing: the redeliveries happen around SHUTDOWN.
  const auto exit = rig.shutdown();
  ASSERT_TRUE(exit.seen) << rig.diagnostics();
  EXPECT_EQ(exit.exit_code, 0) << rig.diagnostics();
  // Both injected failures happened: lastcall's listener saw those batches twice.
  EXPECT_TRUE(rig.wait("telemetry.delivered", 2, {{"status", "503"}}, 5000)) << deliveries(rig);

  await_enhanced_invocations(rig, 3);
  if (::testing::Test::HasFatalFailure()) return;
  for (const char* name : {"invocations", "duration", "billed_duration", "runtime_duration"}) {
    expect_count(rig, name, 3);
  }
  expect_count(rig, "errors", 1);
  expect_count(rig, "timeouts", 0);
  expect_count(rig, "shutdowns", 1);
}

// Items 21–27: one knob of §7.6 per case; a cold and a warm invocation that log, then SHUTDOWN.
struct ShapeCase {
  const char* name;
  const char* faults;
};

// gtest prints the case by name (not as bytes) in test names and messages.
void PrintTo(const ShapeCase& c, std::ostream* os) { *os << c.name; }

class ChecklistShapes : public ::testing::TestWithParam<ShapeCase> {};

TEST_P(ChecklistShapes, TotalsAndColdStartDoNotDependOnTheRecordShape) {
  LambdaRig rig(with_faults(GetParam().faults));
  ASSERT_TRUE(rig.started()) << rig.diagnostics();
  ASSERT_TRUE(rig.wait("init.done")) << rig.diagnostics();
  ASSERT_EQ(
      rig.invoke(R"({"log":["first line","second line"],"respond":{"ok":true}})", "cold-1").status,
      200)
      << rig.diagnostics();
  ASSERT_EQ(rig.invoke(R"({"log":["warm line"],"respond":{"ok":true}})", "warm-2").status, 200)
      << rig.diagnostics();
  ASSERT_TRUE(rig.wait("invoke.end", 2)) << rig.diagnostics();
  const auto exit = rig.shutdown();
  ASSERT_TRUE(exit.seen) << rig.diagnostics();
  EXPECT_EQ(exit.exit_code, 0) << rig.diagnostics();

  await_enhanced_invocations(rig, 2);
  if (::testing::Test::HasFatalFailure()) return;
  for (const char* name : {"invocations", "duration", "billed_duration", "max_memory_used"}) {
    expect_count(rig, name, 2);
    expect_count(rig, name, 1, "cold_start:true");
    expect_count(rig, name, 1, "cold_start:false");
  }
  expect_count(rig, "errors", 0);
  expect_count(rig, "timeouts", 0);
  expect_count(rig, "out_of_memory", 0);
  expect_count(rig, "shutdowns", 1);
  // lastcall's own lines never came back as function logs (no feedback loop): no error line.
  for (const auto& line : rig.lastcall_output()) {
    EXPECT_EQ(line.find("| ERROR |"), std::string::npos) << line;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Knobs, ChecklistShapes,
    ::testing::Values(
        ShapeCase{"text_managed", R"({"record_format":"text","text_prefix":"managed"})"},
        ShapeCase{"text_bare", R"({"record_format":"text","text_prefix":"bare"})"},
        ShapeCase{"json", R"({"record_format":"json"})"},
        ShapeCase{"json_java", R"({"record_format":"json_java"})"},
        ShapeCase{"mixed", R"({"record_format":"mixed"})"},
        ShapeCase{"omit_optional", R"({"omit_optional":"phase,metrics,spans,tracing,errorType"})"},
        ShapeCase{"unknown_types", R"({"unknown_types":true})"},
        ShapeCase{"replay_init_on", R"({"replay_init":"on"})"},
        ShapeCase{"replay_init_off", R"({"replay_init":"off"})"}),
    [](const ::testing::TestParamInfo<ShapeCase>& info) { return std::string(info.param.name); });

// Item 35: a streamed response (3 chunks) carries producedBytes and both spans.
TEST(Checklist, StreamedResponseGivesProducedBytesAndBothSpans) {
  LambdaRig rig;
  ASSERT_TRUE(rig.started()) << rig.diagnostics();
  ASSERT_TRUE(rig.wait("init.done")) << rig.diagnostics();
  ASSERT_EQ(rig.invoke(R"({"stream_chunks":3})", "stream-1").status, 200) << rig.diagnostics();
  ASSERT_TRUE(rig.wait("invoke.end")) << rig.diagnostics();
  const auto exit = rig.shutdown();
  ASSERT_TRUE(exit.seen) << rig.diagnostics();

  await_enhanced_invocations(rig, 1);
  if (::testing::Test::HasFatalFailure()) return;
  for (const char* name : {"produced_bytes", "response_latency", "response_duration"}) {
    expect_count(rig, name, 1);
  }
  // "chunk-0;chunk-1;chunk-2;" = 24 bytes.
  const auto bytes = enhanced_metric(rig.intake(), "produced_bytes");
  EXPECT_EQ(json_number(bytes.at("sketch"), "max"), 24) << json::serialize(bytes);
  expect_count(rig, "errors", 0);
}

// Item 27: the init fails (timeout) and runs again in the invoke phase (`phase:"invoke"`) at the
// first INVOKE, with a fresh lastcall. lambda-agent.md §2.4: the rules do not change, so that
// invocation is the cold start and the initReport still gives init_duration.
TEST(Checklist, SuppressedInitKeepsColdStartAndInitDuration) {
  LambdaRig rig(with_faults(R"({"suppressed_init":true})"));
  ASSERT_TRUE(rig.started()) << rig.diagnostics();
  ASSERT_TRUE(rig.wait("fault", 1, {{"knob", "suppressed_init"}})) << rig.diagnostics();
  ASSERT_EQ(rig.invoke(R"({"log":["first"],"respond":{"ok":true}})", "cold-1").status, 200)
      << rig.diagnostics();
  ASSERT_EQ(rig.invoke(R"({"respond":{"ok":true}})", "warm-2").status, 200) << rig.diagnostics();
  ASSERT_TRUE(rig.wait("invoke.end", 2)) << rig.diagnostics();
  const auto exit = rig.shutdown();
  ASSERT_TRUE(exit.seen) << rig.diagnostics();
  EXPECT_EQ(exit.exit_code, 0) << rig.diagnostics();

  await_enhanced_invocations(rig, 2);
  if (::testing::Test::HasFatalFailure()) return;
  expect_count(rig, "invocations", 1, "cold_start:true");
  expect_count(rig, "invocations", 1, "cold_start:false");
  expect_count(rig, "errors", 0);
  const auto init = enhanced_metric(rig.intake(), "init_duration");
  EXPECT_GE(sketch_count(init), 1) << json::serialize(init) << "\n" << rig.diagnostics();
}

}  // namespace
}  // namespace lc::test
