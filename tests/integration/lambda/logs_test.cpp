// Issue 18, "done when" (run alone: ctest -L logs): the real lastcall as the Lambda extension in
// lastcall-sandbox forwarding the function's log lines to lastcall-fakeintake
// (lambda-agent.md §5, datadog-wire.md §4.5).
// - A function printing text lines, a JSON line with `level` and `ddtags`, a line of 200 KiB and a
//   line with a secret that a mask rule hides: every line arrives once, with its invocation's
//   request id, its status and the logs tags; START/END/REPORT for each invocation; the secret
//   masked; nothing lost although the logs intake answers 503 twice first.
// - drop_batches in the sandbox: the platform's logsDropped becomes lastcall's warning and the
//   counters lastcall.telemetry.logs_dropped_records / _bytes at the intake.
// The test polls the intake with a time limit and never sleeps.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "support/lambda_rig.h"

namespace lc::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

constexpr std::string_view kMaskRules =
    R"([{"type":"mask_sequences","name":"mask_keys","pattern":"api_key=[A-Za-z0-9]+",)"
    R"("replace_placeholder":"api_key=[REDACTED]"}])";

// The total of a counter at the intake (/fakeintake/metrics `count`); 0 when absent.
double count_of(const json::value& answer) {
  const auto* o = answer.if_object();
  const auto* c = o != nullptr ? o->if_contains("count") : nullptr;
  return c != nullptr && c->is_number() ? c->to_number<double>() : 0;
}

bool has_tag(const IntakeLogEntry& e, std::string_view tag) {
  const std::string tags = "," + e.str("ddtags") + ",";
  return tags.find("," + std::string(tag) + ",") != std::string::npos;
}

TEST(ExtensionLogs, FunctionLinesArriveOnceWithIdsStatusesTagsAndMasking) {
  LambdaRigOptions o;
  o.env = {{"DD_ENV", "prod"},
           {"DD_SERVICE", "Checkout"},
           {"DD_LOGS_CONFIG_PROCESSING_RULES", std::string(kMaskRules)}};
  o.sandbox_args = {"--function-timeout-ms", "20000"};
  o.intake_args = {"--fault", "/api/v2/logs=503,503"};
  LambdaRig rig(o);
  ASSERT_TRUE(rig.started()) << rig.diagnostics();

  const std::string big = "big-line-" + std::string(200 * 1024, 'x');
  json::object first;
  first["log"] = json::array{"plain text line one", "charge done api_key=abc123SECRET ok"};
  first["stderr"] = json::array{"a line on stderr"};
  rig.invoke(json::serialize(first), "req-text-1");
  json::object second;
  second["log"] =
      json::array{R"({"level":"WARN","message":"inventory low","ddtags":"team:logs,tier:2"})", big};
  rig.invoke(json::serialize(second), "req-json-2");
  rig.invoke(R"({"log":["about to fail"],"error":"OrderFailed"})", "req-err-3");
  ASSERT_TRUE(rig.wait("invoke.end", 3)) << rig.diagnostics();
  const LastcallExit exit = rig.shutdown();
  ASSERT_TRUE(exit.seen) << rig.diagnostics();
  EXPECT_EQ(exit.exit_code, 0) << rig.diagnostics();

  // lastcall exited after its final flush: the intake holds everything it will get.
  const std::vector<IntakeLogEntry> all = intake_log_entries(rig.intake());
  ASSERT_FALSE(all.empty()) << rig.diagnostics();

  // Every function line exactly once, with its invocation's request id.
  const struct {
    std::string part, id, status;
  } lines[] = {{"plain text line one", "req-text-1", "info"},
               {"a line on stderr", "req-text-1", "info"},
               {"inventory low", "req-json-2", "warn"},
               {"big-line-", "req-json-2", "info"},
               {"about to fail", "req-err-3", "info"}};
  for (const auto& l : lines) {
    const auto found = entries_containing(all, l.part);
    ASSERT_EQ(found.size(), 1u) << l.part << "\n" << rig.diagnostics();
    EXPECT_EQ(found[0]->request_id(), l.id) << l.part;
    EXPECT_EQ(found[0]->status(), l.status) << l.part;
  }

  // The envelope: the function ARN as hostname and lambda.arn, ddsource lambda, service
  // lower-cased, the logs tags.
  const IntakeLogEntry& plain = *entries_containing(all, "plain text line one")[0];
  EXPECT_EQ(plain.str("ddsource"), "lambda");
  EXPECT_EQ(plain.str("service"), "checkout");
  EXPECT_EQ(plain.str("hostname").rfind("arn:aws:lambda:", 0), 0u) << plain.str("hostname");
  EXPECT_EQ(std::string(plain.inner().at("lambda").at("arn").as_string()), plain.str("hostname"));
  EXPECT_TRUE(has_tag(plain, "env:prod")) << plain.str("ddtags");
  EXPECT_GT(plain.inner().at("timestamp").to_number<std::int64_t>(), 1700000000000);

  // The JSON line: its ddtags joined the entry's and left the object; its level gave the status.
  const IntakeLogEntry& warn = *entries_containing(all, "inventory low")[0];
  EXPECT_TRUE(has_tag(warn, "team:logs")) << warn.str("ddtags");
  EXPECT_TRUE(has_tag(warn, "tier:2")) << warn.str("ddtags");
  EXPECT_TRUE(has_tag(warn, "env:prod")) << warn.str("ddtags");
  ASSERT_TRUE(warn.inner().at("message").is_object()) << warn.text();
  EXPECT_FALSE(warn.inner().at("message").as_object().contains("ddtags")) << warn.text();

  // The 200 KiB line whole.
  EXPECT_EQ(entries_containing(all, "big-line-")[0]->text(), big);

  // The secret never reaches the intake; the masked line does.
  EXPECT_TRUE(entries_containing(all, "abc123SECRET").empty());
  ASSERT_EQ(entries_containing(all, "charge done api_key=[REDACTED] ok").size(), 1u);

  // START, END and REPORT of each invocation; the failed one's END and REPORT are errors.
  for (const std::string id : {"req-text-1", "req-json-2", "req-err-3"}) {
    const auto start = entries_containing(all, "START RequestId: " + id + " Version: ");
    const auto end = entries_containing(all, "END RequestId: " + id);
    const auto report = entries_containing(all, "REPORT RequestId: " + id + " Duration: ");
    ASSERT_EQ(start.size(), 1u) << id << "\n" << rig.diagnostics();
    ASSERT_EQ(end.size(), 1u) << id;
    ASSERT_EQ(report.size(), 1u) << id;
    EXPECT_EQ(start[0]->request_id(), id);
    EXPECT_EQ(end[0]->request_id(), id);
    EXPECT_EQ(report[0]->request_id(), id);
    EXPECT_NE(report[0]->text().find(" Billed Duration: "), std::string::npos);
    EXPECT_NE(report[0]->text().find(" Memory Size: "), std::string::npos);
    const bool failed = id == "req-err-3";
    EXPECT_EQ(end[0]->status(), failed ? "error" : "info") << end[0]->text();
    EXPECT_EQ(report[0]->status(), failed ? "error" : "info") << report[0]->text();
    if (failed) {
      EXPECT_NE(end[0]->text().find(" Task failed: "), std::string::npos);
    }
  }
  // Only the first invocation is a cold start: one REPORT carries the init duration.
  EXPECT_EQ(entries_containing(all, " Init Duration: ").size(), 1u);

  // The two injected 503s were answered and the batches sent again.
  EXPECT_EQ(rig.intake().rejections("/api/v2/logs", "injected fault: status 503"), 2u)
      << rig.diagnostics();
}

// DD_LOGS_CONFIG_ADDITIONAL_ENDPOINTS (datadog-wire.md §5.2): the same batches also go to a
// second intake, with that endpoint's own API key; an unreliable endpoint that fails is not
// retried and does not hold the primary back.
TEST(ExtensionLogs, AdditionalLogsEndpointsGetTheSameBatches) {
  std::string error;
  auto second = FakeIntakeProcess::start({"--fault", "/api/v2/logs=503"}, &error);
  ASSERT_NE(second, nullptr) << error;
  auto third = FakeIntakeProcess::start({"--fault", "/api/v2/logs=503"}, &error);
  ASSERT_NE(third, nullptr) << error;
  LambdaRigOptions o;
  o.env = {{"DD_LOGS_CONFIG_ADDITIONAL_ENDPOINTS",
            R"([{"api_key":"second-key-0000","Host":"127.0.0.1","Port":)" +
                std::to_string(second->port()) +
                R"(,"use_ssl":false,"is_reliable":true},)"
                R"({"api_key":"third-key-0000","Host":"127.0.0.1","Port":)" +
                std::to_string(third->port()) + R"(,"use_ssl":false,"is_reliable":false}])"}};
  LambdaRig rig(o);
  ASSERT_TRUE(rig.started()) << rig.diagnostics();
  rig.invoke(R"({"log":["to every intake"]})", "req-extra-1");
  ASSERT_TRUE(rig.wait("invoke.end", 1)) << rig.diagnostics();
  ASSERT_TRUE(rig.shutdown().seen) << rig.diagnostics();

  ASSERT_EQ(entries_containing(intake_log_entries(rig.intake()), "to every intake").size(), 1u)
      << rig.diagnostics();
  // The reliable one answered 503 once and got the batch again.
  const std::vector<IntakeLogEntry> second_entries = intake_log_entries(second->client());
  const auto at_second = entries_containing(second_entries, "to every intake");
  ASSERT_EQ(at_second.size(), 1u) << rig.diagnostics();
  EXPECT_EQ(at_second[0]->request_id(), "req-extra-1");
  EXPECT_EQ(second->client().rejections("/api/v2/logs", "injected fault: status 503"), 1u);
  // The unreliable one answered 503 to its first batch, which is never sent again.
  EXPECT_EQ(third->client().rejections("/api/v2/logs", "injected fault: status 503"), 1u);
}

TEST(ExtensionLogs, LogsOffSendsNoLogsButKeepsOomDetection) {
  LambdaRigOptions o;
  o.env = {{"DD_SERVERLESS_LOGS_ENABLED", "false"}};
  LambdaRig rig(o);
  ASSERT_TRUE(rig.started()) << rig.diagnostics();
  rig.invoke(R"({"log":["not forwarded"]})", "req-off-1");
  ASSERT_TRUE(rig.wait("invoke.end", 1)) << rig.diagnostics();
  const LastcallExit exit = rig.shutdown();
  ASSERT_TRUE(exit.seen) << rig.diagnostics();
  // The enhanced metrics went out in the final flush; no log entry did.
  await_enhanced_invocations(rig, 1);
  EXPECT_TRUE(intake_log_entries(rig.intake()).empty());
  // The subscription kept `function` (OOM detection needs it) and dropped `extension`.
  bool subscribed = false;
  for (const auto& e : rig.timeline()) {
    const auto* ev = e.if_contains("event");
    if (ev == nullptr || !ev->is_string() || ev->get_string() != "telemetry.subscribe") continue;
    const std::string body = json::serialize(e);
    subscribed = true;
    EXPECT_NE(body.find("function"), std::string::npos) << body;
    EXPECT_EQ(body.find("\"extension\""), std::string::npos) << body;
  }
  EXPECT_TRUE(subscribed) << rig.diagnostics();
}

TEST(ExtensionLogs, DroppedBatchesBecomeAWarningAndCounters) {
  LambdaRigOptions o;
  o.sandbox_args = {"--function-timeout-ms", "20000"};
  o.env = {{"LASTCALL_SELF_METRICS", "true"}};
  o.with_faults(R"({"drop_batches":"every_n:2"})");
  LambdaRig rig(o);
  ASSERT_TRUE(rig.started()) << rig.diagnostics();
  for (int i = 1; i <= 3; ++i) {
    rig.invoke(R"({"log":["line a","line b","line c"]})", "req-drop-" + std::to_string(i));
  }
  ASSERT_TRUE(rig.wait("invoke.end", 3)) << rig.diagnostics();
  const LastcallExit exit = rig.shutdown();
  ASSERT_TRUE(exit.seen) << rig.diagnostics();

  bool warned = false;
  for (const auto& line : rig.lastcall_output()) {
    if (line.find("| WARN |") != std::string::npos &&
        line.find("the Lambda platform dropped") != std::string::npos) {
      warned = true;
    }
  }
  EXPECT_TRUE(warned) << rig.diagnostics();
  // The counters reached the intake as lastcall's own series.
  const json::value records = rig.intake().metrics("lastcall.telemetry.logs_dropped_records");
  const json::value bytes = rig.intake().metrics("lastcall.telemetry.logs_dropped_bytes");
  EXPECT_GT(count_of(records), 0.0) << json::serialize(records) << "\n" << rig.diagnostics();
  EXPECT_GT(count_of(bytes), count_of(records)) << json::serialize(bytes);
  // Later batches were still processed: lines of the last invocation arrived.
  EXPECT_FALSE(intake_log_entries(rig.intake()).empty()) << rig.diagnostics();
}

}  // namespace
}  // namespace lc::test
