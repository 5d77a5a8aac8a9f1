// lambda/telemetry_logs.h: telemetry records as log lines (lambda-agent.md §5.2, §5.4; platform
// §8 items 20–23). Every record form (text bare and with the managed prefix, JSON with requestId /
// AWSRequestId / an object message, mixed in one batch), extension and own records, the exact text
// of every synthesized line, request ids (active id, orphans and their caps, SHUTDOWN, LMI) and
// platform.logsDropped. Records arrive as real batch bytes through process_telemetry_batch.
#include "lambda/telemetry_logs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include <string>
#include <vector>

#include "core/logger.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_log_sink.h"

namespace lc::lambda {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr std::string_view kR1 = "79b4f56e-95b1-4643-9700-2807f4e68189";
constexpr std::string_view kR2 = "459921b5-681c-4a96-beb0-81e0aa586026";
constexpr std::int64_t kT0 = 1760227430000;  // 2025-10-12T00:03:50.000Z
constexpr std::string_view kTime = "2025-10-12T00:03:50.000Z";

std::string prefixed(std::string_view id, std::string_view level, std::string_view message) {
  return std::string(kTime) + "\t" + std::string(id) + "\t" + std::string(level) + "\t" +
         std::string(message);
}

struct Rig {
  explicit Rig(bool lmi = false, std::size_t max_entries = 1000, std::size_t max_bytes = 1 << 20)
      : logs(TelemetryLogsOptions{lmi, max_entries, max_bytes}, sink, clock, self),
        counters(self) {}

  // One batch of events {type, record} (time kT0 unless `with_time` is false).
  void batch(const std::vector<std::pair<std::string_view, boost::json::value>>& events,
             bool with_time = true) {
    boost::json::array a;
    for (const auto& [type, record] : events) {
      boost::json::object e{{"type", type}, {"record", record}};
      if (with_time) e["time"] = kTime;
      a.push_back(std::move(e));
    }
    bytes(boost::json::serialize(a));
  }
  void bytes(std::string_view body) {
    process_telemetry_batch(body, counters,
                            [this](const TelemetryEvent& e) { logs.on_telemetry(e); });
  }
  void one(std::string_view type, boost::json::value record) { batch({{type, std::move(record)}}); }
  void text(std::string_view line, std::string_view type = "function") {
    one(type, boost::json::string(line));
  }
  void start(std::string_view id) { one("platform.start", {{"requestId", id}}); }
  void runtime_done(std::string_view id, boost::json::object extra = {}) {
    boost::json::object r{{"requestId", id}, {"status", "success"}};
    for (const auto& m : extra) r[m.key()] = m.value();
    one("platform.runtimeDone", r);
  }
  const LogRecord& last() const { return sink.records().back(); }

  fakes::FakeClock clock{kT0 + 5000};
  fakes::FakeLogSink sink;
  SelfMetrics self;
  TelemetryLogs logs;
  TelemetryCounters counters;
};

// ---- the managed prefix parser ------------------------------------------------------------------

TEST(ManagedLine, ParsesTheFourFields) {
  const std::string line = prefixed(kR1, "INFO", "Hello\tworld");
  const auto m = parse_managed_line(line);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->time, kTime);
  EXPECT_EQ(m->request_id, kR1);
  EXPECT_EQ(m->level, "INFO");
  EXPECT_EQ(m->message, "Hello\tworld");
  const auto empty = parse_managed_line(prefixed(kR1, "ERROR", ""));
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->message, "");
}

TEST(ManagedLine, RejectsWhatIsNotThePrefix) {
  for (const std::string& bad : {
           std::string("plain print"),
           std::string(""),
           std::string("\t\t\t"),
           std::string("not-a-time\t") + std::string(kR1) + "\tINFO\tx",
           std::string(kTime) + "\tr1\tINFO\tx",
           std::string(kTime) + "\t" + std::string(kR1) + "\tINFO",
           std::string(kTime) + "\t" + std::string(kR1) + "\t\tx",
           std::string(kTime) + "\t" + std::string(kR1) + "\tIN FO\tx",
           std::string(kTime) + "\t79b4f56e-95b1-4643-9700-2807f4e6818\tINFO\tx",
           std::string(kTime) + "\t79b4f56e_95b1-4643-9700-2807f4e68189\tINFO\tx",
       }) {
    EXPECT_EQ(parse_managed_line(bad), std::nullopt) << bad;
  }
}

// ---- function records ---------------------------------------------------------------------------

TEST(TelemetryLogsRecords, BareTextTakesTheActiveId) {
  Rig rig;
  rig.start(kR1);
  rig.text("plain print without prefix\n");
  const LogRecord& r = rig.last();
  EXPECT_EQ(r.message, "plain print without prefix");
  EXPECT_TRUE(r.object.is_null());
  EXPECT_EQ(r.status, LogStatus::kInfo);
  EXPECT_EQ(r.request_id, kR1);
  EXPECT_EQ(r.timestamp_ms, kT0);
  EXPECT_EQ(r.source, "lambda");
}

TEST(TelemetryLogsRecords, AtMostOneTrailingNewlineIsStripped) {
  Rig rig;
  rig.start(kR1);
  rig.text("two\n\n");
  EXPECT_EQ(rig.last().message, "two\n");
  rig.text("");
  EXPECT_EQ(rig.last().message, "");
}

TEST(TelemetryLogsRecords, ManagedPrefixGivesTheIdAndTheMessageStaysAsReceived) {
  Rig rig;  // no active id: the prefix's id is used, nothing is parked
  const std::string line = prefixed(kR2, "INFO", "Hello world");
  rig.text(line + "\n");
  ASSERT_EQ(rig.sink.size(), 1U);
  EXPECT_EQ(rig.last().message, line);
  EXPECT_EQ(rig.last().request_id, kR2);
  EXPECT_EQ(rig.last().status, LogStatus::kInfo);
  EXPECT_EQ(rig.logs.orphans(), 0U);
  rig.start(kR1);  // the record's own id wins over the active one
  rig.text(line);
  EXPECT_EQ(rig.last().request_id, kR2);
}

TEST(TelemetryLogsRecords, JsonRequestIdAndJavaAwsRequestId) {
  Rig rig;
  const boost::json::object node{
      {"timestamp", kTime}, {"level", "INFO"}, {"requestId", kR1}, {"message", "Hello world"}};
  const boost::json::object java{{"timestamp", kTime},
                                 {"level", "ERROR"},
                                 {"AWSRequestId", kR2},
                                 {"message", "boom"},
                                 {"logger", "com.example.Handler"}};
  rig.one("function", node);
  rig.one("function", java);
  ASSERT_EQ(rig.sink.size(), 2U);
  EXPECT_EQ(rig.sink.records()[0].object, boost::json::value(node));
  EXPECT_EQ(rig.sink.records()[0].message, "");
  EXPECT_EQ(rig.sink.records()[0].request_id, kR1);
  EXPECT_EQ(rig.sink.records()[1].object, boost::json::value(java));
  EXPECT_EQ(rig.sink.records()[1].request_id, kR2);
}

TEST(TelemetryLogsRecords, ObjectWithAnObjectMessageIsCopiedWhole) {
  Rig rig;
  rig.start(kR1);
  const boost::json::object rec{
      {"level", "WARN"}, {"message", boost::json::object{{"ddtags", "team:a"}, {"order", 42}}}};
  rig.one("function", rec);
  EXPECT_EQ(rig.last().object, boost::json::value(rec));
  EXPECT_EQ(rig.last().request_id, kR1);  // no id in the record: the active one
}

TEST(TelemetryLogsRecords, MixedStringsAndObjectsInOneBatchKeepTheirOrder) {
  Rig rig;
  rig.batch({{"platform.start", boost::json::object{{"requestId", kR1}}},
             {"function", boost::json::string(prefixed(kR1, "INFO", "a"))},
             {"function", boost::json::object{{"requestId", kR1}, {"message", "b"}}},
             {"function", boost::json::string("c")},
             {"function", boost::json::object{{"AWSRequestId", kR2}, {"message", "d"}}},
             {"function", nullptr}});
  ASSERT_EQ(rig.sink.size(), 5U);
  const auto& r = rig.sink.records();
  EXPECT_EQ(r[0].message, "START RequestId: " + std::string(kR1) + " Version: $LATEST");
  EXPECT_EQ(r[1].message, prefixed(kR1, "INFO", "a"));
  EXPECT_EQ(r[2].object.as_object().at("message"), "b");
  EXPECT_EQ(r[3].message, "c");
  EXPECT_EQ(r[3].request_id, kR1);
  EXPECT_EQ(r[4].request_id, kR2);
}

TEST(TelemetryLogsRecords, WithoutAnEventTimeTheClockGivesTheTimestamp) {
  Rig rig;
  rig.start(kR1);
  rig.batch({{"function", boost::json::string("x")}}, false);
  EXPECT_EQ(rig.last().timestamp_ms, kT0 + 5000);
}

// ---- extension and own records ------------------------------------------------------------------

TEST(TelemetryLogsExtension, BothShapesNeverTakeTheIdFromTheRecord) {
  Rig rig;
  rig.start(kR1);
  rig.text(prefixed(kR2, "INFO", "x"), "extension");
  EXPECT_EQ(rig.last().request_id, kR1);
  EXPECT_EQ(rig.last().message, prefixed(kR2, "INFO", "x"));
  const boost::json::object rec{{"requestId", kR2}, {"message", "y"}};
  rig.one("extension", rec);
  EXPECT_EQ(rig.last().request_id, kR1);
  EXPECT_EQ(rig.last().object, boost::json::value(rec));
  rig.text("[otel-collector] exporter started", "extension");
  EXPECT_EQ(rig.last().request_id, kR1);
  EXPECT_EQ(rig.last().status, LogStatus::kInfo);
}

TEST(TelemetryLogsExtension, WithNoActiveIdTheyAreOrphansLikeAnyOther) {
  Rig rig;
  rig.one("extension", boost::json::object{{"requestId", kR2}, {"message", "y"}});
  EXPECT_EQ(rig.sink.size(), 0U);
  EXPECT_EQ(rig.logs.orphans(), 1U);
}

TEST(TelemetryLogsOwn, ForwardedOnceWithTheirLevelAndNeverAttributedByContent) {
  Rig rig;
  rig.start(kR1);
  rig.sink.clear();
  const std::string warn = "DD_EXTENSION | WARN | request " + std::string(kR2) + " flushed";
  rig.text(warn + "\n", "extension");
  rig.text("DD_EXTENSION | ERROR | x", "extension");
  rig.text("DD_EXTENSION | DEBUG | y", "extension");
  const boost::json::object obj{{"requestId", kR2}, {"message", "DD_EXTENSION | CRITICAL | z"}};
  rig.one("extension", obj);
  ASSERT_EQ(rig.sink.size(), 4U);  // one line each, nothing of their own
  const auto& r = rig.sink.records();
  EXPECT_EQ(r[0].message, warn);
  EXPECT_EQ(r[0].status, LogStatus::kWarn);
  EXPECT_EQ(r[1].status, LogStatus::kError);
  EXPECT_EQ(r[2].status, LogStatus::kDebug);
  EXPECT_EQ(r[3].status, LogStatus::kCritical);
  EXPECT_EQ(r[3].object, boost::json::value(obj));
  for (const auto& rec : r) EXPECT_EQ(rec.request_id, kR1);
  EXPECT_EQ(rig.logs.active_request_id(), kR1);
}

// ---- synthesized lines --------------------------------------------------------------------------

TEST(TelemetryLogsLines, InitStart) {
  Rig rig;
  rig.one("platform.initStart", {{"initializationType", "on-demand"},
                                 {"phase", "init"},
                                 {"runtimeVersion", "nodejs:20.v30"},
                                 {"runtimeVersionArn", "arn:aws:lambda:us-east-1::runtime:0cdc"},
                                 {"runtimeArn", "arn:old"}});
  rig.one("platform.initStart", {{"runtimeArn", "arn:old"}});
  rig.one("platform.initStart", boost::json::object{});
  EXPECT_THAT(rig.sink.messages(),
              ElementsAre("INIT_START Runtime Version: nodejs:20.v30 Runtime Version ARN: "
                          "arn:aws:lambda:us-east-1::runtime:0cdc",
                          "INIT_START Runtime Version: ? Runtime Version ARN: arn:old",
                          "INIT_START Runtime Version: ? Runtime Version ARN: ?"));
  for (const auto& r : rig.sink.records()) {
    EXPECT_EQ(r.request_id, "");
    EXPECT_EQ(r.status, LogStatus::kInfo);
    EXPECT_EQ(r.timestamp_ms, kT0);
  }
  EXPECT_EQ(rig.logs.orphans(), 0U);
}

TEST(TelemetryLogsLines, StartWithAndWithoutVersion) {
  Rig rig;
  rig.one("platform.start", {{"requestId", kR1}, {"version", "7"}});
  rig.start(kR2);
  EXPECT_THAT(rig.sink.messages(),
              ElementsAre("START RequestId: " + std::string(kR1) + " Version: 7",
                          "START RequestId: " + std::string(kR2) + " Version: $LATEST"));
  EXPECT_EQ(rig.sink.records()[0].request_id, kR1);
  EXPECT_EQ(rig.sink.records()[1].status, LogStatus::kInfo);
}

TEST(TelemetryLogsLines, EndForEachStatus) {
  Rig rig;
  const std::string id(kR1);
  const auto end = [&](boost::json::object r) {
    r["requestId"] = kR1;
    rig.one("platform.runtimeDone", r);
    return rig.last();
  };
  auto r = end({{"status", "success"}, {"metrics", {{"durationMs", 2599.0}}}});
  EXPECT_EQ(r.message, "END RequestId: " + id);
  EXPECT_EQ(r.status, LogStatus::kInfo);
  EXPECT_EQ(r.request_id, kR1);
  r = end({{"status", "timeout"}, {"metrics", {{"durationMs", 3000.4}}}});
  EXPECT_EQ(r.message, "END RequestId: " + id + " Task timed out after 3.00 seconds");
  EXPECT_EQ(r.status, LogStatus::kError);
  r = end({{"status", "timeout"}});
  EXPECT_EQ(r.message, "END RequestId: " + id + " Task timed out");
  EXPECT_EQ(r.status, LogStatus::kError);
  r = end({{"status", "error"}, {"errorType", "Runtime.ExitError"}});
  EXPECT_EQ(r.message, "END RequestId: " + id + " Task failed: Runtime.ExitError");
  EXPECT_EQ(r.status, LogStatus::kError);
  r = end({{"status", "failure"}, {"errorType", "Sandbox.Failure"}});
  EXPECT_EQ(r.message, "END RequestId: " + id + " Task failed: Sandbox.Failure");
  EXPECT_EQ(r.status, LogStatus::kError);
  // errorType is optional and may be empty (lambda-platform.md §4.4).
  r = end({{"status", "error"}, {"errorType", ""}});
  EXPECT_EQ(r.message, "END RequestId: " + id + " Task failed with an unknown error");
  r = end({{"status", "failure"}});
  EXPECT_EQ(r.message, "END RequestId: " + id + " Task failed with an unknown error");
  EXPECT_EQ(r.status, LogStatus::kError);
}

boost::json::object report_record(std::string_view id, std::string_view status,
                                  boost::json::object metrics) {
  return {{"requestId", id}, {"status", status}, {"metrics", std::move(metrics)}};
}

TEST(TelemetryLogsLines, ReportOnDemandWithInitDurationAndRuntimeDone) {
  Rig rig;
  rig.start(kR1);
  rig.runtime_done(kR1, {{"metrics", {{"durationMs", 2599.0}}}});
  rig.one("platform.report", report_record(kR1, "success",
                                           {{"durationMs", 2599.4},
                                            {"billedDurationMs", 2600},
                                            {"memorySizeMB", 128},
                                            {"maxMemoryUsedMB", 94.0},
                                            {"initDurationMs", 549.04}}));
  EXPECT_EQ(rig.last().message,
            "REPORT RequestId: " + std::string(kR1) +
                " Duration: 2599.40 ms Runtime Duration: 2599.00 ms Post Runtime Duration: 0.40 ms"
                " Billed Duration: 2600 ms Memory Size: 128 MB Max Memory Used: 94 MB"
                " Init Duration: 549.04 ms");
  EXPECT_EQ(rig.last().status, LogStatus::kInfo);
  EXPECT_EQ(rig.last().request_id, kR1);
}

TEST(TelemetryLogsLines, ReportOnDemandWithoutRuntimeDoneOrInitDuration) {
  Rig rig;
  rig.one("platform.report", report_record(kR2, "timeout",
                                           {{"durationMs", 3000.0},
                                            {"billedDurationMs", 3000},
                                            {"memorySizeMB", 128},
                                            {"maxMemoryUsedMB", 60}}));
  EXPECT_EQ(rig.last().message,
            "REPORT RequestId: " + std::string(kR2) +
                " Duration: 3000.00 ms Runtime Duration: 0.00 ms Post Runtime Duration: 0.00 ms"
                " Billed Duration: 3000 ms Memory Size: 128 MB Max Memory Used: 60 MB");
  EXPECT_EQ(rig.last().status, LogStatus::kError);
}

TEST(TelemetryLogsLines, PostRuntimeDurationIsClampedAtZero) {
  Rig rig;
  rig.runtime_done(kR1, {{"metrics", {{"durationMs", 12.5}}}});
  rig.one("platform.report", report_record(kR1, "success", {{"durationMs", 12.0}}));
  EXPECT_THAT(rig.last().message,
              ::testing::HasSubstr(" Runtime Duration: 12.50 ms Post Runtime Duration: 0.00 ms "));
}

TEST(TelemetryLogsLines, ReportLmiVariants) {
  Rig rig(true);
  const std::string id(kR1);
  rig.one("platform.report", report_record(kR1, "success", {{"durationMs", 1.148}}));
  EXPECT_EQ(rig.last().message, "REPORT RequestId: " + id + " Runtime Duration: 1.15 ms");
  EXPECT_EQ(rig.last().status, LogStatus::kInfo);
  EXPECT_EQ(rig.last().request_id, kR1);
  rig.one("platform.report", report_record(kR1, "timeout", {{"durationMs", 3000.0}}));
  EXPECT_EQ(rig.last().message,
            "REPORT RequestId: " + id +
                " Runtime Duration: 3000.00 ms Task timed out after 3.00 seconds");
  EXPECT_EQ(rig.last().status, LogStatus::kError);
  auto failed = report_record(kR1, "error", {{"durationMs", 5.0}});
  failed["errorType"] = "Runtime.ExitError";
  rig.one("platform.report", failed);
  EXPECT_EQ(rig.last().message, "REPORT RequestId: " + id +
                                    " Runtime Duration: 5.00 ms Task failed: Runtime.ExitError");
  EXPECT_EQ(rig.last().status, LogStatus::kError);
  rig.one("platform.report", report_record(kR1, "failure", {{"durationMs", 5.0}}));
  EXPECT_EQ(rig.last().message, "REPORT RequestId: " + id +
                                    " Runtime Duration: 5.00 ms Task failed with an unknown error");
  EXPECT_EQ(rig.last().status, LogStatus::kError);
}

TEST(TelemetryLogsLines, OtherPlatformEventsMakeNoLine) {
  Rig rig;
  for (const std::string_view type :
       {"platform.initRuntimeDone", "platform.initReport", "platform.restoreStart",
        "platform.restoreRuntimeDone", "platform.restoreReport", "platform.extension",
        "platform.telemetrySubscription", "platform.future"}) {
    rig.one(type, {{"status", "success"}, {"name", "x"}});
  }
  EXPECT_EQ(rig.sink.size(), 0U);
}

// ---- request ids and orphans (§5.4) -------------------------------------------------------------

TEST(TelemetryLogsOrphans, StampedWithTheNextActiveIdAndSentBeforeItsStart) {
  Rig rig;
  rig.text("init 1");
  rig.one("function", boost::json::object{{"message", "init 2"}});
  rig.text("init 3", "extension");
  EXPECT_EQ(rig.sink.size(), 0U);
  EXPECT_EQ(rig.logs.orphans(), 3U);
  rig.start(kR1);
  EXPECT_EQ(rig.logs.orphans(), 0U);
  ASSERT_EQ(rig.sink.size(), 4U);
  const auto& r = rig.sink.records();
  EXPECT_EQ(r[0].message, "init 1");
  EXPECT_EQ(r[1].object.as_object().at("message"), "init 2");
  EXPECT_EQ(r[2].message, "init 3");
  EXPECT_THAT(r[3].message, ::testing::StartsWith("START RequestId: "));
  for (const auto& rec : r) EXPECT_EQ(rec.request_id, kR1);
  EXPECT_EQ(r[0].timestamp_ms, kT0);  // the record's time, not the stamping's
}

TEST(TelemetryLogsOrphans, TheActiveIdEndsAtItsRuntimeDone) {
  Rig rig;
  rig.start(kR1);
  EXPECT_EQ(rig.logs.active_request_id(), kR1);
  rig.runtime_done(kR2);  // another id's: no change
  EXPECT_EQ(rig.logs.active_request_id(), kR1);
  rig.runtime_done(kR1);
  EXPECT_EQ(rig.logs.active_request_id(), "");
  rig.sink.clear();
  rig.text("between invocations");
  EXPECT_EQ(rig.sink.size(), 0U);
  rig.start(kR2);
  EXPECT_EQ(rig.sink.records()[0].message, "between invocations");
  EXPECT_EQ(rig.sink.records()[0].request_id, kR2);
}

TEST(TelemetryLogsOrphans, OverflowSendsTheOldestWithoutAnIdNeverDrops) {
  Rig rig(false, 2);
  rig.text("a");
  rig.text("b");
  rig.text("c");
  rig.text("d");
  EXPECT_THAT(rig.sink.messages(), ElementsAre("a", "b"));
  for (const auto& r : rig.sink.records()) EXPECT_EQ(r.request_id, "");
  EXPECT_EQ(rig.self.get("lastcall.logs.orphan_overflow"), 2U);
  EXPECT_EQ(rig.logs.orphans(), 2U);
  rig.start(kR1);
  EXPECT_THAT(rig.sink.messages(), ElementsAre("a", "b", "c", "d", ::testing::StartsWith("START")));
  EXPECT_EQ(rig.sink.records()[2].request_id, kR1);
  EXPECT_EQ(rig.self.dropped_total(), 0U);
}

TEST(TelemetryLogsOrphans, TheByteCapEvictsToo) {
  Rig rig(false, 1000, 100);
  rig.text(std::string(60, 'a'));
  rig.text(std::string(60, 'b'));
  ASSERT_EQ(rig.sink.size(), 1U);
  EXPECT_EQ(rig.last().message, std::string(60, 'a'));
  EXPECT_EQ(rig.logs.orphans(), 1U);
  rig.text(std::string(500, 'c'));  // above the cap alone: out at once, without an id
  EXPECT_EQ(rig.sink.size(), 3U);
  EXPECT_EQ(rig.logs.orphans(), 0U);
  EXPECT_EQ(rig.self.get("lastcall.logs.orphan_overflow"), 3U);
}

TEST(TelemetryLogsOrphans, ReleasedWithoutAnIdAtShutdown) {
  Rig rig;
  rig.text("x");
  rig.text("y");
  rig.logs.release_orphans();
  EXPECT_THAT(rig.sink.messages(), ElementsAre("x", "y"));
  for (const auto& r : rig.sink.records()) EXPECT_EQ(r.request_id, "");
  rig.logs.release_orphans();
  EXPECT_EQ(rig.sink.size(), 2U);
  EXPECT_EQ(rig.logs.orphans(), 0U);
  EXPECT_EQ(rig.self.get("lastcall.logs.orphan_overflow"), 0U);
}

TEST(TelemetryLogsLmi, IdLessLinesGoOutAtOnceWithoutAnId) {
  Rig rig(true);
  rig.text("before");
  rig.start(kR1);
  rig.text("during");
  rig.one("function", boost::json::object{{"requestId", kR2}, {"message", "own id"}});
  rig.text(prefixed(kR1, "INFO", "prefixed"));
  EXPECT_EQ(rig.logs.orphans(), 0U);
  EXPECT_EQ(rig.logs.active_request_id(), "");
  const auto& r = rig.sink.records();
  ASSERT_EQ(r.size(), 5U);
  EXPECT_EQ(r[0].message, "before");
  EXPECT_EQ(r[0].request_id, "");
  EXPECT_EQ(r[1].request_id, kR1);  // START carries its id
  EXPECT_EQ(r[2].request_id, "");
  EXPECT_EQ(r[3].request_id, kR2);
  EXPECT_EQ(r[4].request_id, kR1);
}

// ---- platform.logsDropped -----------------------------------------------------------------------

class CapturedLog {
 public:
  CapturedLog() {
    Logger::instance().configure("DD_EXTENSION", 1, LogLevel::kTrace);
    Logger::instance().set_sink([this](std::string_view l) { lines.emplace_back(l); });
  }
  ~CapturedLog() {
    Logger::instance().set_sink(nullptr);
    Logger::instance().configure("lastcall", 2, LogLevel::kInfo);  // the defaults
  }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;
  std::vector<std::string> lines;
};

TEST(TelemetryLogsDropped, CountsWarnsOnceAndProcessingGoesOn) {
  CapturedLog log;
  Rig rig;
  const std::string reason =
      "Consumer seems to have fallen behind as it has not acknowledged receipt of logs.";
  rig.batch({{"platform.logsDropped",
              {{"droppedBytes", 12345}, {"droppedRecords", 123}, {"reason", reason}}},
             {"platform.start", {{"requestId", kR1}}}});
  rig.one("platform.logsDropped", {{"droppedBytes", 5}, {"droppedRecords", 1}, {"reason", "x"}});
  rig.text("later");
  EXPECT_EQ(rig.self.get("lastcall.telemetry.logs_dropped_records"), 124U);
  EXPECT_EQ(rig.self.get("lastcall.telemetry.logs_dropped_bytes"), 12350U);
  EXPECT_EQ(rig.last().message, "later");
  EXPECT_EQ(rig.last().request_id, kR1);
  std::vector<std::string> warns;
  for (const auto& l : log.lines) {
    if (l.rfind("DD_EXTENSION | WARN | ", 0) == 0) warns.push_back(l);
  }
  ASSERT_EQ(warns.size(), 2U);
  EXPECT_THAT(warns[0], ::testing::HasSubstr("123"));
  EXPECT_THAT(warns[0], ::testing::HasSubstr("12345"));
  EXPECT_THAT(warns[0], ::testing::HasSubstr(reason));
  for (const auto& r : rig.sink.records()) EXPECT_EQ(r.message.find("dropped"), std::string::npos);
}

TEST(TelemetryLogsFeedback, NothingIsLoggedAtInfoOrAbovePerRecord) {
  CapturedLog log;
  {
    Rig rig;
    rig.text("orphan JavaScript heap out of memory");
    rig.one("platform.initStart", {{"runtimeVersion", "x"}});
    rig.start(kR1);
    rig.text(prefixed(kR1, "ERROR", "MemoryError"));
    rig.one("function", {{"level", "ERROR"}, {"message", "java.lang.OutOfMemoryError"}});
    rig.text("DD_EXTENSION | ERROR | y", "extension");
    rig.runtime_done(kR1, {{"status", "error"}, {"errorType", "Runtime.OutOfMemory"}});
    rig.one("platform.report", report_record(kR1, "error", {{"durationMs", 1.0}}));
    rig.logs.release_orphans();
  }
  for (const auto& l : log.lines) {
    EXPECT_TRUE(l.rfind("DD_EXTENSION | DEBUG | ", 0) == 0 ||
                l.rfind("DD_EXTENSION | TRACE | ", 0) == 0)
        << l;
  }
}

}  // namespace
}  // namespace lc::lambda
