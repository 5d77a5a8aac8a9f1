// lastcall-sandbox fault knobs (lambda-platform.md §7.6), each asserted from the sandbox's own
// timeline and from what a scripted extension received.
#include <gtest/gtest.h>

#include "support/sandbox_harness.h"

namespace lc::sandbox::testing {
namespace {

using boost::json::object;

TEST(SandboxFaults, LateReportAfterNextInvoke) {
  SandboxHarness sb({{{"ext", object{{"await_reports", true}}}},
                     {"--faults", R"({"late_report":"after_next_invoke"})"},
                     {}});
  ASSERT_TRUE(sb.started());
  sb.invoke(R"({"respond":1})", "n-1");
  ASSERT_TRUE(sb.wait("invoke.end", 1));
  sb.invoke(R"({"respond":2})", "n-2");
  ASSERT_TRUE(sb.wait("invoke.end", 2));
  sb.control("POST", "/shutdown");
  const auto tl = sb.timeline();
  const int inv2 =
      find_entry(tl, "extension.event", {{"event_type", "INVOKE"}, {"request_id", "n-2"}});
  const int rep1 =
      find_entry(tl, "telemetry.emit", {{"type", "platform.report"}, {"request_id", "n-1"}});
  ASSERT_GE(inv2, 0);
  EXPECT_TRUE(in_order({inv2, rep1})) << "report N is produced after INVOKE N+1 was returned";
  const auto got = sb.received("ext");
  ASSERT_EQ(of_type(got, "platform.report", "n-1").size(), 1u);
  ASSERT_EQ(of_type(got, "platform.report", "n-2").size(), 1u) << "the last one comes at shutdown";
}

TEST(SandboxFaults, LateReportAtShutdown) {
  SandboxHarness sb({{{"ext", object{{"await_reports", true}}}},
                     {"--faults", R"({"late_report":"at_shutdown"})"},
                     {}});
  ASSERT_TRUE(sb.started());
  sb.invoke("{}", "last");
  ASSERT_TRUE(sb.wait("invoke.end"));
  sb.control("POST", "/shutdown");
  const auto tl = sb.timeline();
  const int shut = find_entry(tl, "extension.event", {{"event_type", "SHUTDOWN"}});
  const int rep =
      find_entry(tl, "telemetry.emit", {{"type", "platform.report"}, {"request_id", "last"}});
  ASSERT_GE(shut, 0);
  EXPECT_TRUE(in_order({shut, rep}));
  EXPECT_EQ(of_type(sb.received("ext"), "platform.report", "last").size(), 1u)
      << "delivered inside the shutdown window";
}

TEST(SandboxFaults, UpperCaseShutdownReason) {
  SandboxHarness sb({{{"ext", object{}}}, {"--faults", R"({"shutdown_reason_case":"upper"})"}, {}});
  ASSERT_TRUE(sb.started());
  ASSERT_TRUE(sb.wait("init.done"));
  sb.control("POST", "/shutdown");
  const auto tl = sb.timeline();
  EXPECT_GE(find_entry(tl, "extension.event", {{"event_type", "SHUTDOWN"}, {"reason", "SPINDOWN"}}),
            0);
}

TEST(SandboxFaults, RelativeDeadlines) {
  SandboxHarness sb({{{"ext", object{}}},
                     {"--function-timeout-ms", "4321", "--faults", R"({"deadline_ms":"relative"})"},
                     {}});
  ASSERT_TRUE(sb.started());
  sb.invoke("{}", "rel");
  ASSERT_TRUE(sb.wait("invoke.end"));
  const auto tl = sb.timeline();
  const int ev = find_entry(tl, "extension.event", {{"event_type", "INVOKE"}});
  ASSERT_GE(ev, 0);
  // Relative: the deadline is the function timeout counted from the invoke, not an epoch time.
  EXPECT_EQ(tl[ev].at("deadline_ms").as_int64(), 4321);
}

TEST(SandboxFaults, AbsoluteDeadlineIsTheDefault) {
  SandboxHarness sb({{{"ext", object{}}}, {"--function-timeout-ms", "5000"}, {}});
  ASSERT_TRUE(sb.started());
  sb.invoke("{}", "abs");
  ASSERT_TRUE(sb.wait("invoke.end"));
  const auto tl = sb.timeline();
  const int inv = find_entry(tl, "event.invoke", {{"request_id", "abs"}});
  const int ev = find_entry(tl, "extension.event", {{"event_type", "INVOKE"}});
  ASSERT_GE(ev, 0);
  EXPECT_NEAR(static_cast<double>(tl[ev].at("deadline_ms").as_int64()),
              tl[inv].at("t_ms").as_double() + 5000, 5.0);
}

TEST(SandboxFaults, DroppedBatchesAreReportedWithLogsDropped) {
  SandboxHarness sb({{{"ext", object{{"await_reports", true}}}},
                     {"--no-freeze", "--faults", R"({"drop_batches":"every_n:2"})"},
                     {}});
  ASSERT_TRUE(sb.started());
  for (int i = 0; i < 4; ++i) {
    sb.invoke(R"({"log":["line"],"sleep_ms":60})", "d-" + std::to_string(i));
    ASSERT_TRUE(sb.wait("invoke.end", i + 1));
  }
  ASSERT_TRUE(sb.wait("telemetry.dropped", 1));
  ASSERT_TRUE(sb.wait("telemetry.delivered", 1, {{"status", "200"}}));
  sb.control("POST", "/shutdown");
  const auto tl = sb.timeline();
  // Every discarded batch is accounted for by a logsDropped in a later successful delivery; a
  // batch discarded after the listener's last successful delivery cannot be reported any more.
  int last_ok = -1;
  for (int i = 0; i < static_cast<int>(tl.size()); ++i) {
    if (str(tl[i].at("event")) == "telemetry.delivered" && tl[i].at("status").as_int64() == 200) {
      last_ok = i;
    }
  }
  std::int64_t dropped = 0, reportable = 0;
  for (int i = 0; i < static_cast<int>(tl.size()); ++i) {
    const auto& e = tl[i];
    if (str(e.at("event")) != "telemetry.dropped" || str(e.at("reason")) != "fault:drop_batches") {
      continue;
    }
    dropped += e.at("count").as_int64();
    if (i < last_ok) reportable += e.at("count").as_int64();
  }
  ASSERT_GT(reportable, 0);
  std::int64_t reported = 0;
  for (const auto& e : of_type(sb.received("ext"), "platform.logsDropped")) {
    reported += e.at("record").at("droppedRecords").to_number<std::int64_t>();
    EXPECT_GT(e.at("record").at("droppedBytes").to_number<std::int64_t>(), 0);
  }
  EXPECT_EQ(reported, reportable);
  EXPECT_LE(reported, dropped);
}

TEST(SandboxFaults, ListenerErrorsAreRetriedAndTheListenerSeesDuplicates) {
  SandboxHarness sb(
      {{{"ext", object{}}}, {"--no-freeze", "--faults", R"({"listener_errors":"503:2"})"}, {}});
  ASSERT_TRUE(sb.started());
  ASSERT_TRUE(sb.wait("telemetry.delivered", 1, {{"status", "200"}}));
  const auto tl = sb.timeline();
  const int first = find_entry(tl, "telemetry.delivered");
  ASSERT_GE(first, 0);
  EXPECT_EQ(tl[first].at("status").as_int64(), 503);
  EXPECT_EQ(str(tl[first].at("injected")), "503");
  const int second = find_entry(tl, "telemetry.delivered", {}, first + 1);
  EXPECT_EQ(tl[second].at("status").as_int64(), 503);
  const int ok = find_entry(tl, "telemetry.delivered", {{"status", "200"}});
  EXPECT_EQ(tl[ok].at("types"), tl[first].at("types")) << "the same batch, resent";
  EXPECT_EQ(tl[ok].at("attempt").as_int64(), 3);
  const auto got = sb.received("ext");
  EXPECT_EQ(of_type(got, "platform.initStart").size(), 3u) << "the listener saw it three times";
}

TEST(SandboxFaults, RealListenerFailuresAreRetried) {
  SandboxHarness sb({{{"ext", object{{"listener_statuses", boost::json::array{500, 503}}}}},
                     {"--no-freeze"},
                     {}});
  ASSERT_TRUE(sb.started());
  ASSERT_TRUE(sb.wait("telemetry.delivered", 1, {{"status", "200"}}));
  const auto tl = sb.timeline();
  EXPECT_EQ(find_entry(tl, "telemetry.delivered", {{"status", "500"}}),
            find_entry(tl, "telemetry.delivered"));
  EXPECT_GE(find_entry(tl, "telemetry.delivered", {{"status", "503"}}), 0);
}

TEST(SandboxFaults, SuppressedInitReRunsInitInsideTheFirstInvoke) {
  SandboxHarness sb({{{"ext", object{{"await_reports", true}}}},
                     {"--faults", R"({"suppressed_init":true})"},
                     {}});
  ASSERT_TRUE(sb.started());
  ASSERT_TRUE(sb.wait("init.failed"));
  ASSERT_TRUE(sb.wait("shutdown.done"));
  auto r = sb.invoke(R"({"respond":"after suppressed init"})", "first");
  EXPECT_EQ(r.body, "after suppressed init");
  ASSERT_TRUE(sb.wait("invoke.end"));
  sb.control("POST", "/shutdown");
  const auto tl = sb.timeline();
  const int failed = find_entry(tl, "init.failed", {{"phase", "init"}});
  const int reinit = find_entry(tl, "init.start", {{"phase", "invoke"}}, failed);
  ASSERT_TRUE(in_order({failed, reinit}));
  EXPECT_TRUE(in_order(
      {reinit, find_entry(tl, "extension.register", {{"name", "ext"}, {"status", "200"}}, reinit)}))
      << "the extension registers again in the new environment";
  const auto got = sb.received("ext");
  bool saw_invoke_phase = false;
  for (const auto& e : of_type(got, "platform.initStart")) {
    saw_invoke_phase = saw_invoke_phase || str(e.at("record").at("phase")) == "invoke";
  }
  EXPECT_TRUE(saw_invoke_phase);
  bool saw_timeout_report = false;
  for (const auto& e : of_type(got, "platform.initReport")) {
    saw_timeout_report = saw_timeout_report || str(e.at("record").at("status")) == "timeout";
  }
  EXPECT_TRUE(saw_timeout_report);
}

TEST(SandboxFaults, SlowDelivery) {
  SandboxHarness sb(
      {{{"ext", object{}}}, {"--no-freeze", "--faults", R"({"delivery_delay_ms":300})"}, {}});
  ASSERT_TRUE(sb.started());
  ASSERT_TRUE(sb.wait("telemetry.delivered", 1));
  const auto tl = sb.timeline();
  const int emit = find_entry(tl, "telemetry.emit", {{"type", "platform.initStart"}});
  const int sub = find_entry(tl, "telemetry.subscribe", {{"status", "200"}});
  const int delivered = find_entry(tl, "telemetry.delivered");
  ASSERT_GE(emit, 0);
  ASSERT_TRUE(in_order({sub, delivered}));
  EXPECT_GE(tl[delivered].at("t_ms").as_double() - tl[sub].at("t_ms").as_double(), 300.0);
}

TEST(SandboxFaults, FaultsCanBeChangedBetweenInvocations) {
  SandboxHarness sb({{{"ext", object{}}}, {}, {}});
  ASSERT_TRUE(sb.started());
  auto put =
      sb.control("PUT", "/faults", R"({"late_report":"at_shutdown","delivery_delay_ms":10})");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_NE(put.body.find("at_shutdown"), std::string::npos);
  auto bad = sb.control("PUT", "/faults", R"({"late_report":"never"})");
  EXPECT_EQ(bad.status, 400);
  auto get = sb.control("GET", "/faults");
  EXPECT_NE(get.body.find("at_shutdown"), std::string::npos) << "a rejected PUT changes nothing";
}

TEST(SandboxFaults, ForcedSubscribeAnswer) {
  SandboxHarness sb({{{"ext", object{}}}, {"--faults", R"({"subscribe_response":500})"}, {}});
  ASSERT_TRUE(sb.started());
  ASSERT_TRUE(sb.wait("init.done"));
  const auto tl = sb.timeline();
  const int sub = find_entry(tl, "telemetry.subscribe");
  ASSERT_GE(sub, 0);
  EXPECT_EQ(tl[sub].at("status").as_int64(), 500);
  EXPECT_EQ(count_entries(tl, "telemetry.delivered"), 0);
}

TEST(SandboxFaults, JsonRecordsAndManagedPrefix) {
  SandboxHarness sb({{{"ext", object{{"await_reports", true}}}},
                     {"--no-freeze", "--faults", R"({"record_format":"json_java"})"},
                     {}});
  ASSERT_TRUE(sb.started());
  sb.invoke(R"({"log":["plain line"]})", "java-1");
  ASSERT_TRUE(sb.wait("invoke.end"));
  ASSERT_EQ(
      sb.control("PUT", "/faults", R"({"record_format":"text","text_prefix":"managed"})").status,
      200);
  sb.invoke(R"({"log":["prefixed line"]})", "text-1");
  ASSERT_TRUE(sb.wait("invoke.end", 2));
  sb.control("POST", "/shutdown");
  const auto got = sb.received("ext");
  bool java = false, prefixed = false;
  for (const auto& e : of_type(got, "function")) {
    const auto& rec = e.at("record");
    if (rec.is_object() && rec.as_object().contains("AWSRequestId")) {
      java = java ||
             (str(rec.at("AWSRequestId")) == "java-1" && str(rec.at("message")) == "plain line");
    }
    if (rec.is_string()) {
      const std::string s = str(rec);
      prefixed = prefixed || (s.find("\ttext-1\tINFO\tprefixed line") != std::string::npos);
    }
  }
  EXPECT_TRUE(java);
  EXPECT_TRUE(prefixed);
}

TEST(SandboxFaults, OptionalFieldsOmittedUnknownTypesAndNoReplay) {
  SandboxHarness sb(
      {{{"ext", object{{"await_reports", true}}}},
       {"--no-freeze", "--faults",
        R"({"omit_optional":["metrics","spans","errorType"],"unknown_types":true,"replay_init":"off"})"},
       {}});
  ASSERT_TRUE(sb.started());
  sb.invoke(R"({"error":"Function.Oops"})", "opt-1");
  ASSERT_TRUE(sb.wait("invoke.end"));
  sb.control("POST", "/shutdown");
  const auto got = sb.received("ext");
  EXPECT_TRUE(of_type(got, "platform.initStart").empty()) << "replay_init=off withholds initStart";
  EXPECT_FALSE(of_type(got, "platform.telemetrySubscription").empty());
  const auto done = of_type(got, "platform.runtimeDone", "opt-1");
  ASSERT_EQ(done.size(), 1u);
  const auto& rec = done[0].at("record").as_object();
  EXPECT_FALSE(rec.contains("metrics"));
  EXPECT_FALSE(rec.contains("spans"));
  EXPECT_EQ(str(rec.at("errorType")), "") << "errorType sent empty";
  EXPECT_EQ(of_type(got, "platform.futureThing", "opt-1").size(), 1u);
  const auto start = of_type(got, "platform.start", "opt-1");
  ASSERT_EQ(start.size(), 1u);
  EXPECT_TRUE(start[0].at("record").as_object().contains("futureKey"));
}

TEST(SandboxFaults, RieLmiDeliveryDropsThePathAndNeverRetries) {
  SandboxHarness sb({{{"ext", object{{"listener_statuses", boost::json::array{500}}}}},
                     {"--no-freeze", "--faults", R"({"rie_lmi_delivery":true})"},
                     {}});
  ASSERT_TRUE(sb.started());
  ASSERT_TRUE(sb.wait("telemetry.dropped", 1, {{"reason", "rie_lmi_no_retry"}}));
  sb.invoke("{}", "rie-1");
  ASSERT_TRUE(sb.wait("telemetry.delivered", 1, {{"status", "200"}}));
  const auto tl = sb.timeline();
  const int failed = find_entry(tl, "telemetry.delivered", {{"status", "500"}});
  ASSERT_GE(failed, 0);
  EXPECT_EQ(str(tl[failed].at("path")), "/");
  EXPECT_EQ(count_entries(tl, "telemetry.delivered", {{"attempt", "2"}}), 0) << "no retry";
}

TEST(SandboxFaults, BatchBytesTwiceMaxBytes) {
  SandboxHarness sb(
      {{{"ext", object{{"await_reports", true},
                       {"buffering",
                        object{{"maxItems", 10000}, {"maxBytes", 262144}, {"timeoutMs", 1000}}}}}},
       {"--no-freeze", "--faults", R"({"batch_bytes":"2x"})"},
       {}});
  ASSERT_TRUE(sb.started());
  boost::json::array lines;
  for (int i = 0; i < 400; ++i)
    lines.emplace_back(std::string(1000, static_cast<char>('a' + i % 26)));
  sb.invoke(boost::json::serialize(object{{"log", lines}}), "big");
  ASSERT_TRUE(sb.wait("invoke.end"));
  ASSERT_TRUE(sb.wait("telemetry.delivered", 1, {{"status", "200"}}));
  const auto tl = sb.timeline();
  std::int64_t biggest = 0;
  for (const auto& e : tl) {
    if (str(e.at("event")) == "telemetry.delivered")
      biggest = std::max(biggest, e.at("bytes").as_int64());
  }
  EXPECT_GT(biggest, 262144) << "a batch may reach 2 x maxBytes";
  EXPECT_LE(biggest, 2 * 262144 + 2);
}

TEST(SandboxFaults, ExtensionCrashKnobResetsWithFailure) {
  SandboxHarness sb({{{"datadog-agent", object{}}},
                     {"--no-freeze", "--faults", R"({"extension_crash":true})"},
                     {}});
  ASSERT_TRUE(sb.started());
  sb.invoke(R"({"respond":"x"})", "crash-1");
  ASSERT_TRUE(sb.wait("shutdown.done"));
  const auto tl = sb.timeline();
  const int crash = find_entry(tl, "exit", {{"name", "sandbox-crasher"}});
  const int start = find_entry(tl, "shutdown.start", {{"reason", "failure"}});
  ASSERT_GE(crash, 0);
  EXPECT_TRUE(in_order({crash, start}));
  EXPECT_TRUE(
      in_order({start, find_entry(tl, "exit", {{"name", "datadog-agent"}, {"code", "0"}})}));
}

TEST(SandboxFaults, NoShutdownRegistrationKnobKillsTheDummyAtOnce) {
  SandboxHarness sb(
      {{{"datadog-agent", object{}}}, {"--faults", R"({"no_shutdown_registration":true})"}, {}});
  ASSERT_TRUE(sb.started());
  ASSERT_TRUE(sb.wait("init.done"));
  ASSERT_EQ(sb.control("POST", "/shutdown").status, 200);
  const auto tl = sb.timeline();
  const int reg =
      find_entry(tl, "extension.register", {{"name", "sandbox-invoke-only"}, {"status", "200"}});
  ASSERT_GE(reg, 0);
  const int ev = find_entry(tl, "event.shutdown");
  EXPECT_TRUE(
      in_order({ev, find_entry(tl, "signal",
                               {{"name", "sandbox-invoke-only"}, {"signal", "SIGKILL"}}, ev)}));
  EXPECT_TRUE(
      in_order({ev, find_entry(tl, "exit", {{"name", "datadog-agent"}, {"code", "0"}}, ev)}));
}

TEST(SandboxFaults, OomKnobAppliesToAnyRuntime) {
  SandboxHarness sb({{{"ext", object{{"await_reports", true}}}},
                     {"--no-freeze", "--faults", R"({"oom":"python"})"},
                     {}});
  ASSERT_TRUE(sb.started());
  auto r = sb.invoke(R"("not an instruction")", "oom-k");
  EXPECT_EQ(r.header("X-Amz-Function-Error").value_or(""), "Unhandled");
  ASSERT_TRUE(sb.wait("shutdown.done"));
  const auto got = sb.received("ext");
  bool saw = false;
  for (const auto& e : of_type(got, "function"))
    saw = saw || str(e.at("record")) == "[ERROR] MemoryError";
  EXPECT_TRUE(saw);
  const auto done = of_type(got, "platform.runtimeDone", "oom-k");
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(str(done[0].at("record").at("errorType")), "Runtime.OutOfMemory");
  const auto rep = of_type(got, "platform.report", "oom-k");
  ASSERT_EQ(rep.size(), 1u);
  EXPECT_EQ(rep[0].at("record").at("metrics").at("maxMemoryUsedMB").to_number<int>(), 128);
  EXPECT_GE(find_entry(sb.timeline(), "shutdown.start", {{"reason", "failure"}}), 0);
}

}  // namespace
}  // namespace lc::sandbox::testing
