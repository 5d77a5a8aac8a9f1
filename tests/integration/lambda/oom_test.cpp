// Issue 17, "done when", out_of_memory exactly once (lambda-agent.md §4; run alone: ctest -R Oom
// or ctest -L enhanced_metrics): the real lastcall as the Lambda extension in lastcall-sandbox, a
// fake-runtime function running out of memory in each of its flavours, lastcall-fakeintake
// decoding the sketches lastcall sent to /api/beta/sketches.
// - On-demand: per flavour, a normal invocation then an OOM one. The sandbox resets the
//   environment after an OOM run (SHUTDOWN `failure`, lastcall's final flush, a new init at the
//   next invoke), so one sandbox serves every flavour; the intake is emptied between flavours.
//   Exactly one out_of_memory point, carried by the OOM invocation (cold_start:false), and the
//   errors / timeouts of the §4.4 row the flavour produces (memory_only = row 5).
// - LMI with 4 workers: rows L1–L7 of §4.4. Request ids known (JSON line, platform error type):
//   one point per request. Only an id-less line: one sandbox-level point for the 5 s window,
//   resolved at once by the SHUTDOWN that follows (no waiting for the window). memory_only: none.
// Points of one lastcall process are merged per context by its aggregator, so the intake's merged
// sketch count is the number of points; nothing is sent twice (no duplicates).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "support/lambda_rig.h"

namespace lc::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

constexpr std::string_view kUnattributedLine =
    "oom: pattern seen without requestId in LMI; not attributed to any invocation";

std::size_t unattributed_lines(LambdaRig& rig) {
  const auto lines = rig.lastcall_output();
  return static_cast<std::size_t>(std::count_if(lines.begin(), lines.end(), [](const auto& l) {
    return l.find(kUnattributedLine) != std::string::npos;
  }));
}

struct Row {
  double out_of_memory = 0;
  double errors = 0;
  double timeouts = 0;
};

void expect_row(LambdaRig& rig, const Row& row) {
  const auto intake = rig.intake();
  for (const auto& [name, want] :
       {std::pair<const char*, double>{"out_of_memory", row.out_of_memory},
        {"errors", row.errors},
        {"timeouts", row.timeouts}}) {
    const auto m = enhanced_metric(intake, name);
    EXPECT_EQ(sketch_count(m), want) << name << ": " << json::serialize(m) << "\n"
                                     << rig.diagnostics();
    EXPECT_EQ(json_number(m, "duplicates"), 0) << name << ": " << json::serialize(m);
  }
}

// ---- on-demand ----------------------------------------------------------------------------------

struct Flavour {
  const char* name;
  Row row;
};

// §4.4: node / node_sigkill / java / go / dotnet = P1 + exit (status error) + P3 (rows 7, 9);
// python / ruby = P1 + P2 + P3 (row 9); memory_only = P3 + status timeout (row 5).
const Flavour kFlavours[] = {
    {"node", {1, 1, 0}}, {"node_sigkill", {1, 1, 0}}, {"python", {1, 1, 0}},
    {"ruby", {1, 1, 0}}, {"java", {1, 1, 0}},         {"dotnet", {1, 1, 0}},
    {"go", {1, 1, 0}},   {"memory_only", {1, 1, 1}},
};

// Each flavour in turn in one sandbox. `faults`: the sandbox's fault knobs, "" for none.
void every_flavour(const std::string& faults) {
  LambdaRigOptions options;
  options.sandbox_args = {"--memory-mb", "256"};
  LambdaRig rig(options.with_faults(faults));
  ASSERT_TRUE(rig.started()) << rig.diagnostics();
  ASSERT_TRUE(rig.wait("init.done")) << rig.diagnostics();
  const auto intake = rig.intake();

  int resets = 0;
  for (const auto& flavour : kFlavours) {
    SCOPED_TRACE(flavour.name);
    const std::string f = flavour.name;
    // The first invocation of each environment is a cold start (a new init after each reset).
    auto normal = rig.invoke(R"({"respond":{"ok":true}})", "ok-" + f);
    ASSERT_EQ(normal.status, 200) << rig.diagnostics();
    EXPECT_FALSE(normal.header("X-Amz-Function-Error").has_value()) << rig.diagnostics();
    auto oom = rig.invoke(R"({"oom":")" + f + R"("})", "oom-" + f);
    ASSERT_EQ(oom.status, 200) << rig.diagnostics();
    if (f != "memory_only") {
      EXPECT_TRUE(oom.header("X-Amz-Function-Error").has_value()) << rig.diagnostics();
    }
    // The OOM run resets the environment: SHUTDOWN `failure`, lastcall's final flush and exit.
    ++resets;
    ASSERT_TRUE(rig.wait("shutdown.done", resets)) << rig.diagnostics();
    await_enhanced_invocations(rig, 2);
    if (::testing::Test::HasFatalFailure()) return;

    expect_row(rig, flavour.row);
    // The point is the OOM invocation's (a warm one), not the normal cold start's.
    const auto m = enhanced_metric(intake, "out_of_memory");
    EXPECT_EQ(sketch_count(m, "cold_start:false"), 1) << json::serialize(m);
    EXPECT_EQ(sketch_count(enhanced_metric(intake, "invocations")), 2);
    ASSERT_TRUE(intake.reset());
  }
}

TEST(Oom, OnDemandEveryFlavourGivesExactlyOnePointForTheOomInvocation) { every_flavour(""); }

// The reports (P3's only source, and memory_only's only evidence) are held until after SHUTDOWN:
// the final flush waits for them (§6.5 step 2) and no total changes.
TEST(Oom, OnDemandReportsAfterShutdownChangeNoTotal) {
  every_flavour(R"({"late_report":"at_shutdown"})");
}

// ---- LMI ----------------------------------------------------------------------------------------

LambdaRigOptions lmi_rig() {
  LambdaRigOptions o;
  o.sandbox_args = {"--mode", "lmi", "--concurrency", "4"};
  return o;
}

// L1, L5, L6, L7 in one environment whose records are JSON objects (the runtime's JSON line keeps
// its own requestId; every OOM there is attributed, so no 5 s window opens), then SHUTDOWN.
TEST(Oom, LmiAttributedRowsGiveOnePointPerRequest) {
  auto options = lmi_rig();
  options.sandbox_args.insert(options.sandbox_args.end(),
                              {"--faults", R"({"record_format":"json"})"});
  LambdaRig rig(options);
  ASSERT_TRUE(rig.started()) << rig.diagnostics();
  ASSERT_TRUE(rig.wait("init.done")) << rig.diagnostics();

  // L6: success, durationMs only.
  ASSERT_EQ(rig.invoke(R"({"respond":{"ok":true}})", "l6-ok").status, 200) << rig.diagnostics();
  // L1: the JSON OOM line names its request, the report says Runtime.OutOfMemory.
  ASSERT_EQ(rig.invoke(R"({"oom":"python","log_format":"json"})", "l1-a").status, 200)
      << rig.diagnostics();
  // L5: two concurrent requests whose reports both say Runtime.OutOfMemory, no OOM line.
  const std::string l5 = R"({"sleep_ms":300,"error":"Runtime.OutOfMemory"})";
  auto a = std::async(std::launch::async, [&] { return rig.invoke(l5, "l5-a").status; });
  auto b = std::async(std::launch::async, [&] { return rig.invoke(l5, "l5-b").status; });
  ASSERT_EQ(a.get(), 200) << rig.diagnostics();
  ASSERT_EQ(b.get(), 200) << rig.diagnostics();
  // L7: memory_only, a timeout with no OOM line; no P3 in LMI.
  ASSERT_EQ(rig.invoke(R"({"oom":"memory_only"})", "l7-mem").status, 200) << rig.diagnostics();

  const auto exit = rig.shutdown();
  ASSERT_TRUE(exit.seen) << rig.diagnostics();
  EXPECT_EQ(exit.exit_code, 0) << rig.diagnostics();
  await_enhanced_invocations(rig, 5);
  if (::testing::Test::HasFatalFailure()) return;

  // L1 1 + L5 2; errors: L1, L5 ×2, L7; timeouts: L7.
  expect_row(rig, {3, 4, 1});
  EXPECT_EQ(unattributed_lines(rig), 0u) << rig.diagnostics();
}

// Text records, one environment per row, each ended by a SHUTDOWN that resolves its parked window
// at once: L2 (id-less Python and Ruby lines, each absorbed by its report's Runtime.OutOfMemory),
// L4 (four id-less lines, success: one sandbox-level point), then L3 for each crashing flavour
// (id-less line, the worker dies, the report says Runtime.ExitError, the sandbox resets the
// environment: one sandbox-level point).
TEST(Oom, LmiUnattributedLinesGiveOneSandboxLevelPointPerWindow) {
  LambdaRig rig(lmi_rig());
  ASSERT_TRUE(rig.started()) << rig.diagnostics();
  ASSERT_TRUE(rig.wait("init.done")) << rig.diagnostics();
  const auto intake = rig.intake();

  {
    SCOPED_TRACE("L2");
    ASSERT_EQ(rig.invoke(R"({"oom":"python"})", "l2-python").status, 200) << rig.diagnostics();
    ASSERT_EQ(rig.invoke(R"({"oom":"ruby"})", "l2-ruby").status, 200) << rig.diagnostics();
    const auto exit = rig.shutdown();
    ASSERT_TRUE(exit.seen) << rig.diagnostics();
    EXPECT_EQ(exit.exit_code, 0) << rig.diagnostics();
    await_enhanced_invocations(rig, 2);
    if (::testing::Test::HasFatalFailure()) return;
    expect_row(rig, {2, 2, 0});
    EXPECT_EQ(unattributed_lines(rig), 2u) << rig.diagnostics();
    ASSERT_TRUE(intake.reset());
  }

  {
    SCOPED_TRACE("L4");
    const std::size_t before = unattributed_lines(rig);
    const std::string line = "fatal error: runtime: out of memory";
    const std::string payload = R"({"stderr":[")" + line + R"(",")" + line + R"(",")" + line +
                                R"(",")" + line + R"("],"respond":{"ok":true}})";
    ASSERT_EQ(rig.invoke(payload, "l4-a").status, 200) << rig.diagnostics();
    const auto exit = rig.shutdown();
    ASSERT_TRUE(exit.seen) << rig.diagnostics();
    EXPECT_EQ(exit.exit_code, 0) << rig.diagnostics();
    await_enhanced_invocations(rig, 1);
    if (::testing::Test::HasFatalFailure()) return;
    expect_row(rig, {1, 0, 0});
    EXPECT_EQ(unattributed_lines(rig), before + 4) << rig.diagnostics();
    ASSERT_TRUE(intake.reset());
  }

  int shutdowns = 2;
  for (const char* flavour : {"node", "node_sigkill", "java", "go", "dotnet"}) {
    SCOPED_TRACE(std::string("L3 ") + flavour);
    const std::size_t before = unattributed_lines(rig);
    auto r =
        rig.invoke(R"({"oom":")" + std::string(flavour) + R"("})", std::string("l3-") + flavour);
    ASSERT_EQ(r.status, 200) << rig.diagnostics();
    EXPECT_TRUE(r.header("X-Amz-Function-Error").has_value()) << rig.diagnostics();
    ++shutdowns;
    ASSERT_TRUE(rig.wait("shutdown.done", shutdowns)) << rig.diagnostics();
    await_enhanced_invocations(rig, 1);
    if (::testing::Test::HasFatalFailure()) return;
    expect_row(rig, {1, 1, 0});
    EXPECT_GE(unattributed_lines(rig), before + 1) << rig.diagnostics();
    ASSERT_TRUE(intake.reset());
  }
}

}  // namespace
}  // namespace lc::test
