// Issue 17, "done when", the enhanced metrics in extension mode (run alone: ctest -L
// enhanced_metrics): the real lastcall as the Lambda extension in lastcall-sandbox, a cold start
// and two warm invocations of fake-runtime, then SHUTDOWN. The final flush waits for the last
// report (lambda-agent.md §6.5 step 2) and carries every enhanced metric of the three
// invocations (§3.2) as distributions: cold_start:true on the first invocation's points,
// cold_start:false on the others, shutdowns once, no unused_init; the same totals when the
// sandbox holds each report until after the next INVOKE or until after SHUTDOWN.
// Every point of the test goes out with the final flush (the sandbox freezes lastcall between
// invocations, and closed buckets only leave at INVOKE), so nothing depends on the 10 s window:
// the sketches are merged per context at the intake, whatever windows they fell in.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "support/lambda_rig.h"

namespace lc::test {
namespace {

namespace json = boost::json;

double duplicates(const json::value& metric) { return json_number(metric, "duplicates"); }

// A cold start and two warm invocations, SHUTDOWN, then the full set at the intake. `faults`: the
// sandbox's fault knobs (lambda-platform.md §7.6), "" for none.
void cold_and_warm_invocations(const std::string& faults) {
  LambdaRigOptions options;
  options.sandbox_args = {"--memory-mb", "256"};
  LambdaRig rig(options.with_faults(faults));
  ASSERT_TRUE(rig.started()) << rig.diagnostics();
  ASSERT_TRUE(rig.wait("init.done")) << rig.diagnostics();

  const std::vector<std::string> ids = {"cold-1", "warm-2", "warm-3"};
  for (const auto& id : ids) {
    auto answer = rig.invoke(R"({"sleep_ms":20,"respond":{"ok":true}})", id);
    ASSERT_EQ(answer.status, 200) << id << "\n" << rig.diagnostics();
  }
  // The function answered; the invocation ends when lastcall calls /next again. A SHUTDOWN
  // before that would end the last invocation without its platform.report (not what Lambda does:
  // it sends SHUTDOWN to an idle sandbox).
  ASSERT_TRUE(rig.wait("invoke.end", static_cast<int>(ids.size()))) << rig.diagnostics();
  const auto exit = rig.shutdown();
  ASSERT_TRUE(exit.seen) << rig.diagnostics();
  EXPECT_EQ(exit.exit_code, 0) << rig.diagnostics();
  EXPECT_TRUE(exit.exited_before_deadline) << rig.diagnostics();

  const auto intake = rig.intake();
  auto metric = [&](std::string_view name) { return enhanced_metric(intake, name); };

  // One point per invocation, each invocation's points tagged by its own cold start: the last
  // report arrived after SHUTDOWN and is in the final flush.
  for (const char* name : {"invocations", "duration", "billed_duration", "runtime_duration",
                           "post_runtime_duration", "max_memory_used", "memorysize",
                           "estimated_cost", "response_latency", "response_duration"}) {
    SCOPED_TRACE(name);
    const auto m = metric(name);
    EXPECT_EQ(sketch_count(m, ""), 3) << json::serialize(m) << "\n" << rig.diagnostics();
    EXPECT_EQ(sketch_count(m, "cold_start:true"), 1) << json::serialize(m);
    EXPECT_EQ(sketch_count(m, "cold_start:false"), 2) << json::serialize(m);
    EXPECT_EQ(duplicates(m), 0) << json::serialize(m);
  }

  // Values from the reports: the memory size the sandbox runs with, durations in seconds.
  const auto memory = metric("memorysize");
  EXPECT_EQ(json_number(memory.at("sketch"), "min"), 256) << json::serialize(memory);
  EXPECT_EQ(json_number(memory.at("sketch"), "max"), 256) << json::serialize(memory);
  const auto duration = metric("duration");
  const double min_s = json_number(duration.at("sketch"), "min");
  EXPECT_GE(min_s, 0.015) << json::serialize(duration);  // the function slept 20 ms
  EXPECT_LT(min_s, 5.0) << json::serialize(duration);

  // Sandbox-level points: one init_duration, one shutdowns, no unused_init, no failures.
  EXPECT_EQ(sketch_count(metric("init_duration"), ""), 1)
      << json::serialize(metric("init_duration"));
  EXPECT_EQ(sketch_count(metric("shutdowns"), ""), 1) << json::serialize(metric("shutdowns"));
  for (const char* absent : {"unused_init", "errors", "timeouts", "out_of_memory"}) {
    EXPECT_EQ(sketch_count(metric(absent), ""), 0)
        << absent << ": " << json::serialize(metric(absent));
  }
}

TEST(EnhancedMetrics, ColdAndWarmInvocationsGiveTheFullSetWithColdStartTags) {
  cold_and_warm_invocations("");
}

// §2.3: each report arrives after the next INVOKE; the totals do not change.
TEST(EnhancedMetrics, ReportsAfterTheNextInvokeChangeNoTotal) {
  cold_and_warm_invocations(R"({"late_report":"after_next_invoke"})");
}

// §6.5 step 2: every report is held until SHUTDOWN was delivered; the final flush waits for them.
TEST(EnhancedMetrics, ReportsAfterShutdownAreInTheFinalFlush) {
  cold_and_warm_invocations(R"({"late_report":"at_shutdown"})");
}

TEST(EnhancedMetrics, DisabledSendsNoEnhancedMetric) {
  LambdaRigOptions options;
  options.env = {{"DD_ENHANCED_METRICS", "false"}};
  LambdaRig rig(options);
  ASSERT_TRUE(rig.started()) << rig.diagnostics();
  ASSERT_TRUE(rig.wait("init.done")) << rig.diagnostics();
  // A custom metric in the same flush shows the final flush did reach the intake.
  ASSERT_EQ(rig.invoke(R"({"statsd":["fn.done:1|c"],"respond":{"ok":true}})", "r-1").status, 200)
      << rig.diagnostics();
  ASSERT_TRUE(rig.wait("invoke.end")) << rig.diagnostics();
  const auto exit = rig.shutdown();
  ASSERT_TRUE(exit.seen) << rig.diagnostics();
  const auto intake = rig.intake();
  ASSERT_TRUE(intake.wait_for_metric(
      "fn.done", [](const json::value& m) { return json_number(m, "count") == 1; },
      std::chrono::seconds(5)))
      << json::serialize(intake.metrics("fn.done")) << "\n"
      << rig.diagnostics();
  for (const char* name : {"invocations", "duration", "shutdowns"}) {
    const auto m = enhanced_metric(intake, name);
    EXPECT_EQ(sketch_count(m, ""), 0) << name << ": " << json::serialize(m);
  }
}

}  // namespace
}  // namespace lc::test
