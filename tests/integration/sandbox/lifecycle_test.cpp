// lastcall-sandbox lifecycle, asserted from its timeline and from the telemetry a scripted
// extension received: cold start, invokes, freeze/thaw, shutdown budget, reset, LMI, RIE-classic.
#include <gtest/gtest.h>

#include <thread>

#include "support/sandbox_harness.h"

namespace lc::sandbox::testing {
namespace {

using boost::json::object;

TEST(SandboxLifecycle, ColdStartThreeInvokesAndShutdownWithFreeze) {
  SandboxHarness sb({{{"datadog-agent", object{{"await_reports", true}}}}, {}, {}});
  ASSERT_TRUE(sb.started());
  ASSERT_TRUE(sb.wait("frozen", 1));  // after init, everyone parked in next
  const std::vector<std::string> ids = {"req-1", "req-2", "req-3"};
  for (size_t i = 0; i < ids.size(); ++i) {
    auto r = sb.invoke(R"({"log":["hello )" + std::to_string(i) + R"("],"respond":{"n":)" +
                           std::to_string(i) + "}}",
                       ids[i]);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, R"({"n":)" + std::to_string(i) + "}");
    EXPECT_FALSE(r.header("X-Amz-Function-Error").has_value());
    ASSERT_TRUE(sb.wait("frozen", static_cast<int>(i) + 2));
  }
  auto down = sb.control("POST", "/shutdown");
  ASSERT_EQ(down.status, 200) << down.body;
  const auto summary = boost::json::parse(down.body).as_object();
  bool saw_extension = false;
  for (const auto& p : summary.at("processes").as_array()) {
    if (str(p.at("name")) != "datadog-agent") continue;
    saw_extension = true;
    EXPECT_EQ(p.at("exit_code").as_int64(), 0);
    EXPECT_FALSE(p.at("sigkilled").as_bool());
    EXPECT_TRUE(p.at("exited_before_deadline").as_bool());
  }
  EXPECT_TRUE(saw_extension);

  const auto tl = sb.timeline();
  // registered under the file name it was installed as, asking for accountId
  const int reg =
      find_entry(tl, "extension.register", {{"name", "datadog-agent"}, {"status", "200"}});
  ASSERT_GE(reg, 0);
  EXPECT_TRUE(tl[reg].at("account_id_feature").as_bool());
  EXPECT_FALSE(tl[reg].at("internal").as_bool());
  // the runtime starts after every extension registered; init ends after both called next
  const int launch_rt = find_entry(tl, "launch", {{"role", "runtime"}});
  const int sub = find_entry(tl, "telemetry.subscribe", {{"status", "200"}});
  const int init_done = find_entry(tl, "init.done");
  ASSERT_TRUE(in_order({reg, launch_rt}));
  ASSERT_TRUE(in_order({reg, sub}));
  ASSERT_TRUE(in_order({find_entry(tl, "runtime.next"), init_done}));
  ASSERT_TRUE(in_order({find_entry(tl, "extension.next"), init_done}));
  int pos = find_entry(tl, "frozen", {}, init_done);
  ASSERT_TRUE(in_order({init_done, pos}));
  for (const auto& id : ids) {
    // thaw → INVOKE to the extension and the runtime → response → extension next → report
    const int thawed = find_entry(tl, "thawed", {}, pos);
    const int inv = find_entry(tl, "event.invoke", {{"request_id", id}}, pos);
    const int ext_ev =
        find_entry(tl, "extension.event", {{"event_type", "INVOKE"}, {"request_id", id}}, pos);
    const int resp = find_entry(tl, "runtime.response", {{"request_id", id}}, pos);
    const int end = find_entry(tl, "invoke.end", {{"request_id", id}}, pos);
    const int frozen = find_entry(tl, "frozen", {}, end);
    ASSERT_GE(thawed, 0) << id;
    EXPECT_TRUE(in_order({thawed, inv})) << id;
    EXPECT_TRUE(in_order({inv, ext_ev})) << id;
    EXPECT_TRUE(in_order({ext_ev, resp})) << id;
    EXPECT_TRUE(in_order({resp, end})) << id;
    EXPECT_TRUE(in_order({ext_ev, find_entry(tl, "extension.next", {}, ext_ev)}));
    EXPECT_TRUE(in_order({find_entry(tl, "extension.next", {}, ext_ev), end}))
        << "invoke ended before next";
    ASSERT_TRUE(in_order({end, frozen})) << id;
    pos = frozen;
  }
  // shutdown: runtime SIGTERM, then SHUTDOWN with an absolute deadline, exit before it
  const int start = find_entry(tl, "shutdown.start", {{"reason", "spindown"}});
  const int ev = find_entry(tl, "extension.event", {{"event_type", "SHUTDOWN"}}, start);
  ASSERT_TRUE(in_order({start, ev}));
  EXPECT_TRUE(in_order(
      {start, find_entry(tl, "signal", {{"name", "runtime"}, {"signal", "SIGTERM"}}, start)}));
  EXPECT_EQ(str(tl[ev].at("reason")), "spindown");
  const auto deadline = tl[ev].at("deadline_ms").as_int64();
  EXPECT_NEAR(static_cast<double>(deadline), tl[start].at("t_ms").as_double() + 2000, 5.0);
  const int exit_ext = find_entry(tl, "exit", {{"name", "datadog-agent"}}, ev);
  ASSERT_TRUE(in_order({ev, exit_ext}));
  EXPECT_LT(tl[exit_ext].at("t_ms").as_double(), static_cast<double>(deadline));
  EXPECT_EQ(find_entry(tl, "signal", {{"name", "datadog-agent"}, {"signal", "SIGKILL"}}), -1);

  // every platform event reached the extension, in a realistic order, with realistic content
  const auto got = sb.received("datadog-agent");
  std::vector<std::string> types;
  for (const auto& e : got) types.push_back(str(e.at("type")));
  auto first = [&](std::string_view t, std::string_view id = "") {
    for (size_t i = 0; i < got.size(); ++i) {
      if (types[i] != t) continue;
      if (!id.empty() && str(got[i].at("record").at("requestId")) != id) continue;
      return static_cast<int>(i);
    }
    return -1;
  };
  ASSERT_EQ(first("platform.initStart"), 0) << "initStart is replayed first";
  EXPECT_TRUE(in_order({first("platform.extension"), first("platform.telemetrySubscription")}));
  // The runtime starts once every extension registered, so its initRuntimeDone may come before or
  // after the subscription; both come before initReport (init ends when everyone is in next).
  EXPECT_TRUE(in_order({first("platform.telemetrySubscription"), first("platform.initReport")}));
  EXPECT_GE(first("platform.initRuntimeDone"), 0);
  EXPECT_TRUE(in_order({first("platform.initRuntimeDone"), first("platform.initReport")}));
  const auto init_start = got[0].at("record").as_object();
  EXPECT_EQ(str(init_start.at("initializationType")), "on-demand");
  EXPECT_EQ(str(init_start.at("phase")), "init");
  EXPECT_EQ(str(init_start.at("functionName")), "sandbox-fn");
  for (size_t i = 0; i < ids.size(); ++i) {
    const auto& id = ids[i];
    ASSERT_EQ(of_type(got, "platform.start", id).size(), 1u) << id;
    ASSERT_EQ(of_type(got, "platform.runtimeDone", id).size(), 1u) << id;
    ASSERT_EQ(of_type(got, "platform.report", id).size(), 1u) << id;
    EXPECT_TRUE(in_order({first("platform.initReport"), first("platform.start", id)}));
    EXPECT_TRUE(in_order({first("platform.start", id), first("platform.runtimeDone", id)}));
    EXPECT_TRUE(in_order({first("platform.runtimeDone", id), first("platform.report", id)}));
    const auto done = of_type(got, "platform.runtimeDone", id)[0].at("record").as_object();
    EXPECT_EQ(str(done.at("status")), "success");
    EXPECT_GT(done.at("metrics").at("durationMs").to_number<double>(), 0.0);
    EXPECT_EQ(done.at("metrics").at("producedBytes").to_number<int>(), 7);
    EXPECT_EQ(done.at("spans").as_array().size(), 2u);
    EXPECT_EQ(str(done.at("spans").as_array()[0].at("name")), "responseLatency");
    const auto rep = of_type(got, "platform.report", id)[0].at("record").as_object();
    const auto& m = rep.at("metrics").as_object();
    const double dur = m.at("durationMs").to_number<double>();
    EXPECT_GE(dur, done.at("metrics").at("durationMs").to_number<double>())
        << "report.durationMs includes the extension's post-response time";
    EXPECT_EQ(m.at("billedDurationMs").to_number<std::int64_t>(),
              static_cast<std::int64_t>(std::ceil(dur)));
    EXPECT_EQ(m.at("memorySizeMB").to_number<int>(), 128);
    EXPECT_GT(m.at("maxMemoryUsedMB").to_number<int>(), 0);
    EXPECT_LE(m.at("maxMemoryUsedMB").to_number<int>(), 4096);
    EXPECT_EQ(m.contains("initDurationMs"), i == 0) << "initDurationMs on the cold report only";
    // the runtime's stdout line arrives as a function record
    bool saw_log = false;
    for (const auto& e : of_type(got, "function")) {
      saw_log = saw_log || str(e.at("record")) == "hello " + std::to_string(i);
    }
    EXPECT_TRUE(saw_log) << i;
  }
}

TEST(SandboxLifecycle, FreezeDwellHoldsTheNextInvoke) {
  SandboxHarness sb({{{"ext", object{}}}, {"--freeze-dwell-ms", "600"}, {}});
  ASSERT_TRUE(sb.started());
  ASSERT_TRUE(sb.wait("frozen"));
  EXPECT_EQ(sb.invoke(R"({"respond":"late"})", "dwell").body, "late");
  const auto tl = sb.timeline();
  const int frozen = find_entry(tl, "frozen");
  const int thawed = find_entry(tl, "thawed", {}, frozen);
  ASSERT_TRUE(in_order({frozen, thawed}));
  EXPECT_GE(tl[thawed].at("t_ms").as_double() - tl[frozen].at("t_ms").as_double(), 600.0);
  EXPECT_TRUE(in_order({thawed, find_entry(tl, "event.invoke", {{"request_id", "dwell"}})}));
  // every process group got SIGSTOP at the freeze and SIGCONT at the thaw
  EXPECT_EQ(count_entries(tl, "signal", {{"signal", "SIGSTOP"}}), 2 * count_entries(tl, "frozen"));
  EXPECT_GE(find_entry(tl, "signal", {{"name", "runtime"}, {"signal", "SIGCONT"}}, frozen), 0);
}

TEST(SandboxLifecycle, JsonLogFormatGivesObjectRecords) {
  SandboxHarness sb({{{"ext", object{{"await_reports", true}}}},
                     {"--no-freeze", "--env", "AWS_LAMBDA_LOG_FORMAT=JSON"},
                     {}});
  ASSERT_TRUE(sb.started());
  sb.invoke(R"({"log":["structured"]})", "json-1");
  ASSERT_TRUE(sb.wait("invoke.end"));
  sb.control("POST", "/shutdown");
  bool saw = false;
  for (const auto& e : of_type(sb.received("ext"), "function")) {
    const auto* rec = e.at("record").if_object();
    if (rec == nullptr || !rec->contains("message")) continue;
    saw = saw || (str(rec->at("message")) == "structured" &&
                  str(rec->at("requestId")) == "json-1" && str(rec->at("level")) == "INFO");
  }
  EXPECT_TRUE(saw);
}

TEST(SandboxLifecycle, OnDemandRunsOneInvocationAtATime) {
  SandboxHarness sb(
      {{{"ext", object{{"invoke_sleep_ms", 100}}}}, {"--freeze-dwell-ms", "200"}, {}});
  ASSERT_TRUE(sb.started());
  ASSERT_TRUE(sb.wait("frozen"));
  std::thread a(
      [&] { EXPECT_EQ(sb.invoke(R"({"sleep_ms":100,"respond":"a"})", "one-a").body, "a"); });
  std::thread b(
      [&] { EXPECT_EQ(sb.invoke(R"({"sleep_ms":100,"respond":"b"})", "one-b").body, "b"); });
  a.join();
  b.join();
  ASSERT_TRUE(sb.wait("invoke.end", 2));
  const auto tl = sb.timeline();
  const int first = find_entry(tl, "event.invoke");
  ASSERT_GE(first, 0);
  const std::string first_id = str(tl[first].at("request_id"));
  const std::string second_id = first_id == "one-a" ? "one-b" : "one-a";
  const int end_first = find_entry(tl, "invoke.end", {{"request_id", first_id}});
  const int second = find_entry(tl, "event.invoke", {{"request_id", second_id}});
  EXPECT_TRUE(in_order({end_first, second})) << "the next INVOKE waits for the extension's next";
}

TEST(SandboxLifecycle, TracingHeaderReachesTheEventsAndTheRuntime) {
  SandboxHarness sb({{{"ext", object{}}}, {"--no-freeze"}, {}});
  ASSERT_TRUE(sb.started());
  const std::string trace =
      "Root=1-5f35ae12-0c0fec141ab77a00bc047aa2;Parent=2be948a625588e32;Sampled=1";
  auto r = sb.invoke(R"({"respond":"x"})", "traced", {{"X-Amzn-Trace-Id", trace}});
  EXPECT_EQ(r.status, 200);
  ASSERT_TRUE(sb.wait("telemetry.delivered", 1, {{"status", "200"}}));
  sb.control("POST", "/shutdown");
  const auto got = sb.received("ext");
  const auto start = of_type(got, "platform.start", "traced");
  ASSERT_EQ(start.size(), 1u);
  EXPECT_EQ(str(start[0].at("record").at("tracing").at("value")), trace);
  EXPECT_EQ(str(start[0].at("record").at("tracing").at("type")), "X-Amzn-Trace-Id");
  EXPECT_EQ(count_entries(sb.timeline(), "frozen"), 0) << "--no-freeze";
}

TEST(SandboxLifecycle, ExtensionIgnoringShutdownIsKilledAtTheDeadline) {
  SandboxHarness sb({{{"good", object{}}, {"stubborn", object{{"on_shutdown", "ignore"}}}},
                     {"--shutdown-budget-ms", "600"},
                     {}});
  ASSERT_TRUE(sb.started());
  ASSERT_TRUE(sb.wait("init.done"));
  auto down = sb.control("POST", "/shutdown?reason=spindown");
  ASSERT_EQ(down.status, 200);
  const auto summary = boost::json::parse(down.body).as_object();
  for (const auto& p : summary.at("processes").as_array()) {
    const std::string name = str(p.at("name"));
    if (name == "stubborn") {
      EXPECT_TRUE(p.at("sigkilled").as_bool());
      EXPECT_EQ(str(p.at("signal")), "SIGKILL");
      EXPECT_FALSE(p.at("exited_before_deadline").as_bool());
    } else if (name == "good") {
      EXPECT_FALSE(p.at("sigkilled").as_bool());
      EXPECT_EQ(p.at("exit_code").as_int64(), 0);
    }
  }
  const auto tl = sb.timeline();
  const int start = find_entry(tl, "shutdown.start");
  const int deadline = find_entry(tl, "shutdown.deadline", {}, start);
  ASSERT_TRUE(in_order({start, deadline}));
  const int kill = find_entry(tl, "signal", {{"name", "stubborn"}, {"signal", "SIGKILL"}}, start);
  EXPECT_TRUE(in_order({deadline, kill})) << "SIGKILL comes at the deadline, not before";
  EXPECT_GE(
      tl[kill].at("t_ms").as_double(),
      static_cast<double>(find_entry(tl, "event.shutdown") >= 0
                              ? tl[find_entry(tl, "event.shutdown")].at("deadline_ms").as_int64()
                              : 0));
  EXPECT_TRUE(in_order({find_entry(tl, "exit", {{"name", "good"}}, start), deadline}));
}

TEST(SandboxLifecycle, ExtensionWithoutShutdownRegistrationIsKilledAtOnce) {
  SandboxHarness sb({{{"datadog-agent", object{}},
                      {"invoke-only", object{{"events", boost::json::array{"INVOKE"}}}}},
                     {"--no-freeze"},
                     {}});
  ASSERT_TRUE(sb.started());
  ASSERT_TRUE(sb.wait("init.done"));
  ASSERT_EQ(sb.control("POST", "/shutdown").status, 200);
  const auto tl = sb.timeline();
  const int ev = find_entry(tl, "event.shutdown");
  const int kill = find_entry(tl, "signal", {{"name", "invoke-only"}, {"signal", "SIGKILL"}});
  ASSERT_GE(kill, 0);
  EXPECT_TRUE(in_order({ev, kill}));
  EXPECT_EQ(find_entry(tl, "shutdown.deadline"), -1) << "nobody needed the deadline";
  EXPECT_EQ(
      find_entry(tl, "extension.event", {{"name", "invoke-only"}, {"event_type", "SHUTDOWN"}}), -1);
}

TEST(SandboxLifecycle, FunctionTimeoutResetsAndTheNextInvokeReinitialises) {
  SandboxHarness sb({{{"ext", object{}}}, {"--function-timeout-ms", "400"}, {}});
  ASSERT_TRUE(sb.started());
  auto r = sb.invoke(R"({"sleep_ms":3000})", "slow");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("X-Amz-Function-Error").value_or(""), "Unhandled");
  EXPECT_NE(r.body.find("Sandbox.Timedout"), std::string::npos) << r.body;
  ASSERT_TRUE(sb.wait("shutdown.done"));
  auto again = sb.invoke(R"({"respond":"back"})", "after");
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body, "back");
  const auto tl = sb.timeline();
  const int to = find_entry(tl, "invoke.timeout", {{"request_id", "slow"}});
  const int start = find_entry(tl, "shutdown.start", {{"reason", "timeout"}}, to);
  ASSERT_TRUE(in_order({to, start}));
  EXPECT_TRUE(
      in_order({start, find_entry(tl, "extension.event",
                                  {{"event_type", "SHUTDOWN"}, {"reason", "timeout"}}, start)}));
  EXPECT_EQ(count_entries(tl, "init.start"), 2) << "a fresh environment after the reset";
  EXPECT_TRUE(in_order({start, find_entry(tl, "init.start", {{"phase", "init"}}, start)}));
  // the timed-out request's telemetry said so before the environment went away
  EXPECT_GE(
      find_entry(tl, "telemetry.emit",
                 {{"type", "platform.runtimeDone"}, {"request_id", "slow"}, {"status", "timeout"}}),
      0);
  EXPECT_GE(
      find_entry(tl, "telemetry.emit",
                 {{"type", "platform.report"}, {"request_id", "slow"}, {"status", "timeout"}}),
      0);
}

TEST(SandboxLifecycle, InitTimeoutThenInitInsideTheFirstInvoke) {
  SandboxHarness sb({{{"ext", object{}}},
                     {"--init-timeout-ms", "300", "--function-timeout-ms", "5000"},
                     {"--init-sleep-ms", "800"}});
  ASSERT_TRUE(sb.started());
  ASSERT_TRUE(sb.wait("init.failed", 1, {{"status", "timeout"}}));
  ASSERT_TRUE(sb.wait("shutdown.done"));
  auto r = sb.invoke(R"({"respond":"slow start"})", "after-timeout");
  EXPECT_EQ(r.body, "slow start");
  const auto tl = sb.timeline();
  const int failed = find_entry(tl, "init.failed", {{"phase", "init"}, {"status", "timeout"}});
  const int shut = find_entry(tl, "shutdown.start", {{"reason", "timeout"}}, failed);
  ASSERT_TRUE(in_order({failed, shut}));
  const int reinit = find_entry(tl, "init.start", {{"phase", "invoke"}}, shut);
  ASSERT_TRUE(in_order({shut, reinit}));
  EXPECT_TRUE(in_order({reinit, find_entry(tl, "init.done", {{"phase", "invoke"}}, reinit)}));
  EXPECT_TRUE(in_order(
      {reinit, find_entry(tl, "extension.register", {{"name", "ext"}, {"status", "200"}}, reinit)}))
      << "a fresh extension process registers again";
}

TEST(SandboxLifecycle, RuntimeInitErrorFailsInit) {
  SandboxHarness sb({{{"ext", object{}}}, {}, {"--init-error", "Runtime.ImportModuleError"}});
  ASSERT_TRUE(sb.started());
  ASSERT_TRUE(sb.wait("init.failed", 1, {{"status", "error"}}));
  const auto tl = sb.timeline();
  EXPECT_GE(find_entry(tl, "runtime.init_error", {{"error_type", "Runtime.ImportModuleError"}}), 0);
  EXPECT_GE(
      find_entry(tl, "telemetry.emit", {{"type", "platform.initRuntimeDone"}, {"status", "error"}}),
      0);
  ASSERT_TRUE(sb.wait("shutdown.done"));
  EXPECT_GE(find_entry(tl, "shutdown.start", {{"reason", "failure"}}), 0);
}

TEST(SandboxLifecycle, OomRunReportsFullMemoryAndResetsWithFailure) {
  // Like lastcall, the extension waits for the last report during shutdown.
  SandboxHarness sb(
      {{{"ext", object{{"await_reports", true}}}}, {"--no-freeze", "--memory-mb", "256"}, {}});
  ASSERT_TRUE(sb.started());
  auto r = sb.invoke(R"({"oom":"node"})", "oom-1");
  EXPECT_EQ(r.header("X-Amz-Function-Error").value_or(""), "Unhandled");
  ASSERT_TRUE(sb.wait("shutdown.done"));
  const auto got = sb.received("ext");
  bool saw_line = false;
  for (const auto& e : of_type(got, "function")) {
    saw_line =
        saw_line || str(e.at("record")).find("JavaScript heap out of memory") != std::string::npos;
  }
  EXPECT_TRUE(saw_line);
  const auto done = of_type(got, "platform.runtimeDone", "oom-1");
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(str(done[0].at("record").at("status")), "error");
  EXPECT_EQ(str(done[0].at("record").at("errorType")), "Runtime.ExitError");
  const auto rep = of_type(got, "platform.report", "oom-1");
  ASSERT_EQ(rep.size(), 1u);
  EXPECT_EQ(rep[0].at("record").at("metrics").at("maxMemoryUsedMB").to_number<int>(), 256);
  EXPECT_EQ(rep[0].at("record").at("metrics").at("memorySizeMB").to_number<int>(), 256);
  const auto tl = sb.timeline();
  EXPECT_GE(find_entry(tl, "shutdown.start", {{"reason", "failure"}}), 0);
  EXPECT_EQ(count_entries(tl, "shutdown.start"), 1) << "exactly one reset";
}

TEST(SandboxLifecycle, CrashingExtensionResetsWithFailureAndTheOtherExitsCleanly) {
  SandboxHarness sb({{{"datadog-agent", object{}}, {"flaky", object{{"crash_on_invoke", 1}}}},
                     {"--no-freeze"},
                     {}});
  ASSERT_TRUE(sb.started());
  sb.invoke(R"({"respond":"x"})", "boom");
  ASSERT_TRUE(sb.wait("shutdown.done"));
  const auto tl = sb.timeline();
  const int crash = find_entry(tl, "exit", {{"name", "flaky"}, {"code", "3"}});
  const int start = find_entry(tl, "shutdown.start", {{"reason", "failure"}});
  ASSERT_GE(crash, 0);
  EXPECT_TRUE(in_order({crash, start}));
  EXPECT_TRUE(in_order({start, find_entry(tl, "extension.event",
                                          {{"name", "datadog-agent"},
                                           {"event_type", "SHUTDOWN"},
                                           {"reason", "failure"}})}));
  EXPECT_TRUE(
      in_order({start, find_entry(tl, "exit", {{"name", "datadog-agent"}, {"code", "0"}})}));
}

TEST(SandboxLifecycle, StreamingResponseIsReassembledAndCounted) {
  SandboxHarness sb({{{"ext", object{{"await_reports", true}}}}, {"--no-freeze"}, {}});
  ASSERT_TRUE(sb.started());
  auto r = sb.invoke(R"({"stream_chunks":3})", "stream-1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "chunk-0;chunk-1;chunk-2;");
  auto e = sb.invoke(R"({"stream_chunks":2,"stream_delay_ms":20})", "stream-2");
  EXPECT_EQ(e.body, "chunk-0;chunk-1;");
  ASSERT_TRUE(sb.wait("invoke.end", 2));
  sb.control("POST", "/shutdown");
  const auto got = sb.received("ext");
  const auto d1 = of_type(got, "platform.runtimeDone", "stream-1");
  ASSERT_EQ(d1.size(), 1u);
  EXPECT_EQ(d1[0].at("record").at("metrics").at("producedBytes").to_number<int>(), 24);
  const auto d2 = of_type(got, "platform.runtimeDone", "stream-2");
  ASSERT_EQ(d2.size(), 1u);
  EXPECT_EQ(d2[0].at("record").at("metrics").at("producedBytes").to_number<int>(), 16);
}

TEST(SandboxLifecycle, LmiModeRestrictionsAndConcurrency) {
  SandboxHarness sb(
      {{{"datadog-agent", object{}}, {"old-schema", object{{"schema", "2022-12-13"}}}},
       {"--mode", "lmi", "--concurrency", "2"},
       {}});
  ASSERT_TRUE(sb.started());
  ASSERT_TRUE(sb.wait("init.done"));
  // INVOKE registration is refused in LMI
  auto reg = sb.api("POST", "/2020-01-01/extension/register", R"({"events":["INVOKE","SHUTDOWN"]})",
                    {{"Lambda-Extension-Name", "late"}});
  EXPECT_EQ(reg.status, 403);
  EXPECT_NE(reg.body.find("Extension.InvalidEventType"), std::string::npos) << reg.body;
  // two invocations in flight at once on two runtime workers
  std::thread a(
      [&] { EXPECT_EQ(sb.invoke(R"({"sleep_ms":400,"respond":"a"})", "lmi-a").body, "a"); });
  std::thread b(
      [&] { EXPECT_EQ(sb.invoke(R"({"sleep_ms":400,"respond":"b"})", "lmi-b").body, "b"); });
  a.join();
  b.join();
  ASSERT_TRUE(sb.wait("invoke.end", 2));
  ASSERT_EQ(sb.control("POST", "/shutdown").status, 200);
  const auto tl = sb.timeline();
  EXPECT_EQ(count_entries(tl, "frozen"), 0) << "LMI never freezes";
  EXPECT_EQ(count_entries(tl, "launch", {{"role", "runtime"}}), 2);
  const int first_response = find_entry(tl, "runtime.response");
  EXPECT_TRUE(
      in_order({find_entry(tl, "runtime.event", {{"request_id", "lmi-a"}}), first_response}));
  EXPECT_TRUE(
      in_order({find_entry(tl, "runtime.event", {{"request_id", "lmi-b"}}), first_response}));
  const int sub_bad = find_entry(tl, "telemetry.subscribe", {{"status", "400"}});
  ASSERT_GE(sub_bad, 0) << "schema 2022-12-13 is refused in LMI";
  EXPECT_EQ(str(tl[sub_bad].at("error_type")), "ValidationError");
  // extensions registered SHUTDOWN only and got SHUTDOWN, after a telemetry flush
  const int flush = find_entry(tl, "telemetry.flush");
  const int ev =
      find_entry(tl, "extension.event", {{"name", "datadog-agent"}, {"event_type", "SHUTDOWN"}});
  EXPECT_TRUE(in_order({flush, ev}));
  EXPECT_EQ(find_entry(tl, "extension.event", {{"event_type", "INVOKE"}}), -1);
  int reports_before_shutdown = 0;
  for (int i = 0; i < ev; ++i) {
    if (str(tl[i].at("event")) != "telemetry.delivered" || tl[i].at("status").as_int64() != 200 ||
        str(tl[i].at("subscriber")) != "datadog-agent") {
      continue;
    }
    for (const auto& t : tl[i].at("types").as_array())
      reports_before_shutdown += str(t) == "platform.report";
  }
  EXPECT_EQ(reports_before_shutdown, 2) << "LMI delivers all telemetry before SHUTDOWN";

  const auto got = sb.received("datadog-agent");
  EXPECT_TRUE(of_type(got, "platform.runtimeDone").empty()) << "no runtimeDone in LMI";
  const auto init = of_type(got, "platform.initStart");
  ASSERT_EQ(init.size(), 1u);
  EXPECT_EQ(str(init[0].at("record").at("initializationType")), "lambda-managed-instances");
  EXPECT_TRUE(init[0].at("record").as_object().contains("instanceId"));
  for (const char* id : {"lmi-a", "lmi-b"}) {
    const auto rep = of_type(got, "platform.report", id);
    ASSERT_EQ(rep.size(), 1u) << id;
    const auto& m = rep[0].at("record").at("metrics").as_object();
    EXPECT_EQ(m.size(), 1u) << "LMI report metrics carry durationMs only";
    EXPECT_TRUE(m.contains("durationMs"));
    EXPECT_EQ(of_type(got, "platform.start", id).size(), 1u);
  }
}

TEST(SandboxLifecycle, RieClassicModeRefusesTelemetry) {
  SandboxHarness sb({{{"ext", object{}}}, {"--mode", "rie-classic"}, {}});
  ASSERT_TRUE(sb.started());
  EXPECT_EQ(sb.invoke(R"({"respond":"ok"})").body, "ok");
  ASSERT_TRUE(sb.wait("invoke.end"));
  const auto tl = sb.timeline();
  const int sub = find_entry(tl, "telemetry.subscribe");
  ASSERT_GE(sub, 0);
  EXPECT_EQ(tl[sub].at("status").as_int64(), 202);
  EXPECT_EQ(str(tl[sub].at("error_type")), "Telemetry.NotSupported");
  EXPECT_EQ(count_entries(tl, "telemetry.delivered"), 0);
  EXPECT_EQ(count_entries(tl, "frozen"), 0);
}

}  // namespace
}  // namespace lc::sandbox::testing
