// lambda/oom_detector.h: exactly one out_of_memory hit per invocation that ran out of memory
// (lambda-agent.md §4). The truth tables of §4.4 row by row (on-demand #1–#15, LMI L1–L7; errors
// and timeouts are the invocation processor's), every combination and order of P1/P2/P3 for one
// request, every runtime's pattern in string and object records, request-id resolution (§4.2),
// the 2048-id FIFO dedup set, the LMI parking windows in both directions and SHUTDOWN (§4.3), and
// the feedback rule: own lines are never scanned and no log line above debug quotes a pattern
// (§1.3). Log records reach the detector as real batch bytes through process_telemetry_batch.
#include "lambda/oom_detector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/logger.h"
#include "fakes/fake_clock.h"

namespace lc::lambda {
namespace {

using Hit = OomDetector::Hit;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr std::string_view kR1 = "79b4f56e-95b1-4643-9700-2807f4e68189";
constexpr std::string_view kR2 = "459921b5-681c-4a96-beb0-81e0aa586026";
constexpr std::string_view kA = "13d1305b-a2f5-440c-bfbe-686ccff3d3e0";
constexpr std::string_view kB = "6f1b2c3d-0000-4a96-beb0-81e0aa586026";

constexpr std::string_view kOom = "Runtime.OutOfMemory";
constexpr std::int64_t kT0 = 1760227430000;  // 2025-10-12T00:03:50.000Z

// One realistic OOM line per runtime (§4.1 table), as that runtime prints it.
struct RuntimeLine {
  std::string_view runtime;
  std::string_view line;
};
constexpr std::array<RuntimeLine, 7> kRuntimeLines = {{
    {"go", "fatal error: runtime: out of memory"},
    {"java", "Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space"},
    {"node", "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory"},
    {"sigkill", "RequestId: 79b4f56e Error: Runtime exited with error: signal: killed"},
    {"python", "[ERROR] MemoryError\nTraceback (most recent call last):"},
    {"ruby", "failed to allocate memory (NoMemoryError)"},
    {"dotnet",
     "Unhandled exception. System.OutOfMemoryException: Exception of type "
     "'System.OutOfMemoryException' was thrown."},
}};

// The bare patterns, for the feedback-loop assertions.
constexpr std::array<std::string_view, 7> kPatterns = {"fatal error: runtime: out of memory",
                                                       "java.lang.OutOfMemoryError",
                                                       "JavaScript heap out of memory",
                                                       "Runtime exited with error: signal: killed",
                                                       "failed to allocate memory (NoMemoryError)",
                                                       "MemoryError",
                                                       "OutOfMemoryException"};

std::string iso(std::int64_t ms) {
  const std::int64_t s = ms / 1000;
  const std::int64_t days = s / 86400;
  // Only times on 2025-10-12 are used below.
  EXPECT_EQ(days, 20373);
  const std::int64_t r = s % 86400;
  return fmt::format("2025-10-12T{:02}:{:02}:{:02}.{:03}Z", r / 3600, r % 3600 / 60, r % 60,
                     ms % 1000);
}

std::string prefixed(std::string_view id, std::string_view message, std::int64_t ms = kT0) {
  return fmt::format("{}\t{}\tERROR\t{}", iso(ms), id, message);
}

struct Rig {
  explicit Rig(bool lmi = false)
      : counters(self),
        detector(lmi, clock, clock, self, [this](const Hit& h) { hits.push_back(h); }) {}

  // One batch of one log record ("function" or "extension"), through the real batch parser.
  void record(const boost::json::value& rec, std::string_view type = "function",
              std::int64_t ms = kT0) {
    boost::json::array batch;
    batch.push_back(boost::json::object{{"time", iso(ms)}, {"type", type}, {"record", rec}});
    batch_bytes(boost::json::serialize(batch));
  }
  void line(std::string_view text, std::string_view type = "function", std::int64_t ms = kT0) {
    record(boost::json::value(boost::json::string(text)), type, ms);
  }
  void batch_bytes(std::string_view body) {
    process_telemetry_batch(body, counters,
                            [this](const TelemetryEvent& e) { detector.on_record(e); });
  }
  void runtime_done(std::string_view id, std::string_view status, std::string_view error_type = "",
                    std::int64_t ms = kT0) {
    detector.on_runtime_done(id, status, error_type, ms);
  }
  // An on-demand report of 1024 MB; `oom_memory`: maxMemoryUsedMB == memorySizeMB.
  void report(std::string_view id, std::string_view status, std::string_view error_type,
              bool oom_memory, std::int64_t ms = kT0) {
    detector.on_report(id, status, error_type, oom_memory ? 1024 : 94, 1024, ms);
  }
  // An LMI report: durationMs only, no memory fields.
  void lmi_report(std::string_view id, std::string_view status, std::string_view error_type = "",
                  std::int64_t ms = kT0) {
    detector.on_report(id, status, error_type, std::nullopt, std::nullopt, ms);
  }
  std::vector<std::string> ids() const {
    std::vector<std::string> out;
    for (const auto& h : hits) out.push_back(h.request_id);
    return out;
  }
  std::uint64_t unattributed() const { return self.get("lastcall.lambda.oom_unattributed"); }

  fakes::FakeClock clock{kT0};
  SelfMetrics self;
  TelemetryCounters counters;
  std::vector<Hit> hits;
  OomDetector detector;
};

// ---- the matcher -------------------------------------------------------------------------------

TEST(OomPattern, EveryRuntimeIsMatchedAndNamed) {
  for (const auto& [runtime, line] : kRuntimeLines) {
    EXPECT_EQ(match_oom_pattern(line), runtime) << line;
  }
  EXPECT_EQ(match_oom_pattern("plain log line"), std::nullopt);
  EXPECT_EQ(match_oom_pattern(""), std::nullopt);
}

TEST(OomPattern, IsCaseSensitive) {
  for (const std::string_view p : kPatterns) {
    std::string lower(p), upper(p);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (lower != p) {  // Go's pattern is lower case already
      EXPECT_EQ(match_oom_pattern(lower), std::nullopt) << lower;
    }
    EXPECT_EQ(match_oom_pattern(upper), std::nullopt) << upper;
    EXPECT_NE(match_oom_pattern(p), std::nullopt) << p;
    // One character short is not that runtime's match (it may still hold `MemoryError`).
    EXPECT_NE(match_oom_pattern(p.substr(1)), match_oom_pattern(p)) << p;
    EXPECT_NE(match_oom_pattern(p.substr(0, p.size() - 1)), match_oom_pattern(p)) << p;
  }
  // Python's pattern matches any text containing the word (accepted for parity, §4.1).
  EXPECT_EQ(match_oom_pattern("class MemoryErrorHandler"), "python");
}

TEST(OomPattern, ObjectRecordIsTestedOnItsJsonTextWhereverThePatternIs) {
  const auto match = [](std::string_view json) {
    auto v = parse_json(json);
    EXPECT_TRUE(v && v->is_object()) << json;
    return match_oom_pattern(v->as_object());
  };
  EXPECT_EQ(match(R"({"level":"ERROR","message":"JavaScript heap out of memory"})"), "node");
  // Nested message (Python's JSON error), a key, an array element.
  EXPECT_EQ(match(R"({"message":{"errorType":"MemoryError","errorMessage":""}})"), "python");
  EXPECT_EQ(match(R"({"OutOfMemoryException":1})"), "dotnet");
  EXPECT_EQ(match(R"({"stackTrace":["at x","java.lang.OutOfMemoryError: heap"]})"), "java");
  // Escapes in the message around the pattern do not hide it.
  EXPECT_EQ(match(R"({"message":"\"quoted\"\n\tfatal error: runtime: out of memory\n"})"), "go");
  EXPECT_EQ(match(R"({"level":"ERROR","message":"fine"})"), std::nullopt);
  EXPECT_EQ(match(R"({})"), std::nullopt);
}

TEST(OomPattern, ObjectRecordPatternAcrossEveryChunkBoundaryPosition) {
  // The serialized text is tested in 4 KiB pieces; a pattern at any offset around a piece's end
  // (and well past it) is found, and a near miss is not.
  const std::string_view pattern = "Runtime exited with error: signal: killed";
  for (std::size_t pad = 4000; pad < 4150; ++pad) {
    boost::json::object o;
    o["message"] = std::string(pad, 'x') + std::string(pattern) + std::string(9000, 'y');
    EXPECT_EQ(match_oom_pattern(o), "sigkill") << pad;
    o["message"] = std::string(pad, 'x') + std::string(pattern.substr(0, pattern.size() - 1)) +
                   std::string(9000, 'y');
    EXPECT_EQ(match_oom_pattern(o), std::nullopt) << pad;
  }
  boost::json::object far;
  far["message"] = std::string(100000, 'z') + "MemoryError";
  EXPECT_EQ(match_oom_pattern(far), "python");
}

TEST(OomRequestId, ManagedRuntimePrefix) {
  EXPECT_EQ(managed_runtime_request_id(prefixed(kR1, "JavaScript heap out of memory")), kR1);
  EXPECT_EQ(managed_runtime_request_id(
                "2025-10-12T00:03:50.000Z\t79B4F56E-95B1-4643-9700-2807F4E68189\tINFO\tx"),
            "79B4F56E-95B1-4643-9700-2807F4E68189");
  EXPECT_EQ(managed_runtime_request_id(std::string("2025-10-12T00:03:50.000Z\t") +
                                       std::string(kR1) + "\tERROR\t"),
            kR1);
  // Not that prefix: no id.
  for (const std::string& bad : {
           std::string("plain print"),
           std::string("fatal error: runtime: out of memory"),
           std::string("not-a-time\t") + std::string(kR1) + "\tERROR\tx",
           std::string("2025-10-12T00:03:50.000Z\tr1\tERROR\tx"),                     // not a UUID
           std::string("2025-10-12T00:03:50.000Z\t") + std::string(kR1) + "\tERROR",  // no tab
           std::string("2025-10-12T00:03:50.000Z\t") + std::string(kR1) + "\t\tx",    // no level
           std::string("2025-10-12T00:03:50.000Z\t") + std::string(kR1) + "\tIN FO\tx",
           std::string("[ERROR]\t2025-10-12T00:03:50.000Z\t") + std::string(kR1) + "\tx",
           std::string("\t") + std::string(kR1) + "\tERROR\tx",
           std::string("2025-10-12T00:03:50.000Z\t79b4f56e-95b1-4643-9700-2807f4e6818g\tERROR\tx"),
       }) {
    EXPECT_EQ(managed_runtime_request_id(bad), std::nullopt) << bad;
  }
}

TEST(OomRequestId, ObjectRecordRequestIdThenAwsRequestId) {
  const auto id = [](std::string_view json) -> std::optional<std::string> {
    auto v = parse_json(json);
    auto r = object_record_request_id(v->as_object());
    return r ? std::optional<std::string>(*r) : std::nullopt;
  };
  EXPECT_EQ(id(R"({"requestId":"a","AWSRequestId":"b"})"), "a");
  EXPECT_EQ(id(R"({"AWSRequestId":"b"})"), "b");
  EXPECT_EQ(id(R"({"requestId":"","AWSRequestId":"b"})"), "b");
  EXPECT_EQ(id(R"({"requestId":7,"AWSRequestId":"b"})"), "b");
  EXPECT_EQ(id(R"({"requestId":7})"), std::nullopt);
  EXPECT_EQ(id(R"({"message":{"requestId":"nested"}})"), std::nullopt);
  EXPECT_EQ(id(R"({})"), std::nullopt);
}

// ---- on-demand truth table (§4.4 #1–#15) -------------------------------------------------------

TEST(OomOnDemand, Row01SuccessGivesNothing) {
  Rig rig;
  rig.detector.on_invoke(kR1);
  rig.line(prefixed(kR1, "Hello world"));
  rig.runtime_done(kR1, "success");
  rig.report(kR1, "success", "", false);
  EXPECT_THAT(rig.hits, IsEmpty());
}

TEST(OomOnDemand, Row02LogLineAlone) {
  Rig rig;
  rig.detector.on_invoke(kR1);
  rig.line("FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
           "function", kT0 + 5);
  rig.runtime_done(kR1, "error", "Runtime.ExitError");
  rig.report(kR1, "error", "Runtime.ExitError", false);
  ASSERT_THAT(rig.ids(), ElementsAre(kR1));
  EXPECT_EQ(rig.hits[0].time_ms, kT0 + 5);  // the record's own time
  EXPECT_EQ(rig.hits[0].path, OomPath::kLogLine);
  EXPECT_FALSE(rig.hits[0].cold_start);
}

TEST(OomOnDemand, Row03ErrorTypeAlone) {
  Rig rig;
  rig.detector.on_invoke(kR1);
  rig.runtime_done(kR1, "error", kOom, kT0 + 7);
  rig.report(kR1, "error", kOom, false, kT0 + 9);
  ASSERT_THAT(rig.ids(), ElementsAre(kR1));
  EXPECT_EQ(rig.hits[0].time_ms, kT0 + 7);
  EXPECT_EQ(rig.hits[0].path, OomPath::kErrorType);
}

TEST(OomOnDemand, Row04MemoryAloneWithStatusSuccess) {
  Rig rig;
  rig.detector.on_invoke(kR1);
  rig.runtime_done(kR1, "success");
  rig.report(kR1, "success", "", true, kT0 + 11);
  ASSERT_THAT(rig.ids(), ElementsAre(kR1));
  EXPECT_EQ(rig.hits[0].time_ms, kT0 + 11);
  EXPECT_EQ(rig.hits[0].path, OomPath::kMemory);
}

TEST(OomOnDemand, Row05MemoryAloneWithStatusTimeoutIssue1237) {
  Rig rig;
  rig.detector.on_invoke(kR1);
  rig.runtime_done(kR1, "timeout");
  // Max Memory Used 192 MB / Memory Size 192 MB, reported as a timeout.
  rig.detector.on_report(kR1, "timeout", "Sandbox.Timeout", 192, 192, kT0);
  EXPECT_THAT(rig.ids(), ElementsAre(kR1));
}

TEST(OomOnDemand, Row05MemoryAboveTheSizeCountsToo) {
  Rig rig;
  rig.detector.on_invoke(kR1);
  rig.detector.on_report(kR1, "timeout", "", 193, 192, kT0);
  EXPECT_THAT(rig.ids(), ElementsAre(kR1));
}

TEST(OomOnDemand, MemoryBelowTheSizeOrFieldsMissingIsNoP3) {
  Rig rig;
  rig.detector.on_invoke(kR1);
  rig.detector.on_report(kR1, "success", "", 191, 192, kT0);
  rig.detector.on_report(kR1, "success", "", std::nullopt, 192, kT0);
  rig.detector.on_report(kR1, "success", "", 192, std::nullopt, kT0);
  rig.detector.on_report(kR1, "success", "", 0, 0, kT0);  // a broken record, not an OOM
  EXPECT_THAT(rig.hits, IsEmpty());
}

TEST(OomOnDemand, Row06PythonRubyTypical) {
  for (const std::string_view line :
       {"[ERROR] MemoryError", "failed to allocate memory (NoMemoryError)"}) {
    Rig rig;
    rig.detector.on_invoke(kR1);
    rig.line(line);
    rig.runtime_done(kR1, "error", kOom);
    rig.report(kR1, "error", kOom, false);
    EXPECT_THAT(rig.ids(), ElementsAre(kR1)) << line;
  }
}

TEST(OomOnDemand, Row07GoTypical) {
  Rig rig;
  rig.detector.on_invoke(kR1);
  rig.line("fatal error: runtime: out of memory");
  rig.runtime_done(kR1, "error", "Runtime.ExitError");
  rig.report(kR1, "error", "Runtime.ExitError", true);
  EXPECT_THAT(rig.ids(), ElementsAre(kR1));
}

TEST(OomOnDemand, Row08ErrorTypeAndMemory) {
  Rig rig;
  rig.detector.on_invoke(kR1);
  rig.runtime_done(kR1, "error", kOom);
  rig.report(kR1, "error", kOom, true);
  EXPECT_THAT(rig.ids(), ElementsAre(kR1));
}

TEST(OomOnDemand, Row09AllThree) {
  Rig rig;
  rig.detector.on_invoke(kR1);
  rig.line("FATAL ERROR: JavaScript heap out of memory");
  rig.runtime_done(kR1, "error", kOom);
  rig.report(kR1, "error", kOom, true);
  EXPECT_THAT(rig.ids(), ElementsAre(kR1));
}

TEST(OomOnDemand, Row10ThreeLogLines) {
  Rig rig;
  rig.detector.on_invoke(kR1);
  rig.line("FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory");
  rig.line(" 1: 0xb7b3e0 node::Abort() JavaScript heap out of memory");
  rig.record(boost::json::object{{"level", "ERROR"}, {"message", "JavaScript heap out of memory"}});
  rig.runtime_done(kR1, "error", "Runtime.ExitError");
  rig.report(kR1, "error", "Runtime.ExitError", false);
  EXPECT_THAT(rig.ids(), ElementsAre(kR1));
}

TEST(OomOnDemand, Row11LogLineAfterTheReport) {
  Rig rig;
  rig.detector.on_invoke(kR1);
  rig.runtime_done(kR1, "error", "Runtime.ExitError");
  rig.report(kR1, "error", "Runtime.ExitError", true);  // P3; the caller releases r1's context
  rig.line("fatal error: runtime: out of memory");      // the last-invoked id is still r1
  EXPECT_THAT(rig.ids(), ElementsAre(kR1));
}

TEST(OomOnDemand, Row12TwoInvocationsTwoOoms) {
  Rig rig;
  rig.detector.on_invoke(kR1);
  rig.runtime_done(kR1, "error", "Runtime.ExitError");
  rig.detector.on_invoke(kR2);
  // r1's JSON line arrives after INVOKE r2: its own id wins over the last-invoked one.
  rig.record(boost::json::object{{"level", "ERROR"},
                                 {"requestId", kR1},
                                 {"message", "Runtime exited with error: signal: killed"}});
  rig.report(kR1, "error", "Runtime.ExitError", false);
  rig.runtime_done(kR2, "timeout");
  rig.report(kR2, "timeout", "", true);
  EXPECT_THAT(rig.ids(), ElementsAre(kR1, kR2));
}

TEST(OomOnDemand, Row13JsonLineForAnEvictedRequestIsEmittedOnce) {
  // The detector has no contexts: r1's was evicted long ago; the hit names r1 and the caller,
  // finding no context, emits it with base tags and counts oom_late.
  Rig rig;
  rig.detector.on_invoke(kR1);
  for (int i = 0; i < 600; ++i) rig.detector.on_invoke(fmt::format("other-{}", i));
  const boost::json::object rec{
      {"level", "ERROR"}, {"requestId", kR1}, {"message", "java.lang.OutOfMemoryError: x"}};
  rig.record(rec);
  rig.record(rec);
  EXPECT_THAT(rig.ids(), ElementsAre(kR1));
}

TEST(OomOnDemand, Row14DuringInitIsOneSandboxLevelPointPerProcess) {
  Rig rig;
  rig.line("fatal error: runtime: out of memory", "function", kT0 + 3);
  rig.line("fatal error: runtime: out of memory", "function", kT0 + 4);
  rig.detector.on_report("", "error", kOom, 1024, 1024,
                         kT0 + 5);  // an id-less report during init too
  ASSERT_EQ(rig.hits.size(), 1U);
  EXPECT_EQ(rig.hits[0].request_id, "");
  EXPECT_TRUE(rig.hits[0].cold_start);
  EXPECT_EQ(rig.hits[0].time_ms, kT0 + 3);
  // A later invocation that runs out of memory still gets its own point.
  rig.detector.on_invoke(kR1);
  rig.line("fatal error: runtime: out of memory");
  ASSERT_THAT(rig.ids(), ElementsAre("", kR1));
  EXPECT_FALSE(rig.hits[1].cold_start);
}

TEST(OomOnDemand, Row14JsonIdDuringInitIsAttributed) {
  Rig rig;
  rig.record(boost::json::object{{"requestId", kR1}, {"message", "MemoryError"}});
  ASSERT_THAT(rig.ids(), ElementsAre(kR1));
  EXPECT_FALSE(rig.hits[0].cold_start);
}

TEST(OomOnDemand, Row15OwnExtensionLinesAreNeverScanned) {
  Rig rig;
  rig.line("DD_EXTENSION | DEBUG | detected JavaScript heap out of memory", "extension");
  rig.record(
      boost::json::object{{"message", "DD_EXTENSION | DEBUG | MemoryError"}, {"requestId", kR1}},
      "extension");
  rig.detector.on_invoke(kR1);
  rig.line("DD_EXTENSION | INFO | fatal error: runtime: out of memory", "extension");
  EXPECT_THAT(rig.hits, IsEmpty());
  // Another extension's line is scanned like a function's.
  rig.line("[otel] OutOfMemoryException", "extension");
  EXPECT_THAT(rig.ids(), ElementsAre(kR1));
}

TEST(OomOnDemand, PlatformAndUnknownEventsAreNotScanned) {
  Rig rig;
  rig.detector.on_invoke(kR1);
  rig.batch_bytes(fmt::format(
      R"([{{"time":"2025-10-12T00:03:50.000Z","type":"platform.logsDropped","record":{{"reason":"MemoryError"}}}},
          {{"time":"2025-10-12T00:03:50.000Z","type":"platform.extension","record":{{"name":"OutOfMemoryException","state":"Ready"}}}},
          {{"time":"2025-10-12T00:03:50.000Z","type":"mystery","record":"MemoryError"}},
          {{"time":"2025-10-12T00:03:50.000Z","type":"function","record":42}},
          {{"time":"2025-10-12T00:03:50.000Z","type":"function"}}])"));
  EXPECT_THAT(rig.hits, IsEmpty());
}

TEST(OomOnDemand, IdLessLinesFollowTheLastInvoke) {
  Rig rig;
  rig.detector.on_invoke(kR1);
  rig.line("fatal error: runtime: out of memory");
  rig.detector.on_invoke(kR2);
  rig.line("fatal error: runtime: out of memory");
  EXPECT_THAT(rig.ids(), ElementsAre(kR1, kR2));
}

TEST(OomOnDemand, TextPrefixIdWinsOverTheLastInvoke) {
  Rig rig;
  rig.detector.on_invoke(kR1);
  rig.detector.on_invoke(kR2);
  rig.line(prefixed(kR1, "Error: Runtime exited with error: signal: killed"));
  rig.line(prefixed(kR2, "MemoryError"));
  EXPECT_THAT(rig.ids(), ElementsAre(kR1, kR2));
}

TEST(OomOnDemand, EventWithoutTimeIsStampedWithTheWallClock) {
  Rig rig;
  rig.detector.on_invoke(kR1);
  rig.clock.advance(Millis(1234));
  rig.batch_bytes(R"([{"type":"function","record":"MemoryError"}])");
  ASSERT_EQ(rig.hits.size(), 1U);
  EXPECT_EQ(rig.hits[0].time_ms, kT0 + 1234);
}

TEST(OomOnDemand, ReportAfterTheNextInvokeKeepsItsOwnId) {
  Rig rig;
  rig.detector.on_invoke(kR1);
  rig.runtime_done(kR1, "timeout");
  rig.detector.on_invoke(kR2);
  rig.report(kR1, "timeout", "", true);
  EXPECT_THAT(rig.ids(), ElementsAre(kR1));
}

TEST(OomOnDemand, ReportErrorTypeIsIgnoredWhenRuntimeDoneWasSeen) {
  Rig rig;
  rig.detector.on_invoke(kR1);
  rig.runtime_done(kR1, "error", "Runtime.ExitError");
  rig.report(kR1, "error", kOom, false);
  EXPECT_THAT(rig.hits, IsEmpty());
  // Without a runtimeDone the report's error type is P2.
  rig.detector.on_invoke(kR2);
  rig.report(kR2, "error", kOom, false);
  EXPECT_THAT(rig.ids(), ElementsAre(kR2));
}

TEST(OomOnDemand, ErrorTypeNeedsAFailedStatusAndTheExactType) {
  Rig rig;
  rig.detector.on_invoke(kR1);
  rig.runtime_done(kR1, "success", kOom);
  rig.runtime_done(kR1, "error", "Runtime.Unknown");
  rig.runtime_done(kR1, "error", "");
  rig.runtime_done(kR1, "error", "runtime.outofmemory");
  rig.runtime_done(kR1, "error", "Runtime.OutOfMemoryError");
  rig.report(kR2, "success", kOom, false);
  EXPECT_THAT(rig.hits, IsEmpty());
  for (const std::string_view status : {"error", "failure", "timeout"}) {
    Rig r;
    r.runtime_done(kR1, status, kOom);
    EXPECT_THAT(r.ids(), ElementsAre(kR1)) << status;
  }
}

TEST(OomOnDemand, DuplicateDeliveryEmitsNothingTwice) {
  Rig rig;
  rig.detector.on_invoke(kR1);
  for (int i = 0; i < 2; ++i) {
    rig.line(prefixed(kR1, "MemoryError"));
    rig.runtime_done(kR1, "error", kOom);
    rig.report(kR1, "error", kOom, true);
  }
  EXPECT_THAT(rig.ids(), ElementsAre(kR1));
  EXPECT_EQ(rig.unattributed(), 0U);
}

// Every combination of the three paths for one request, in every order of the three events, with
// and without runtimeDone: exactly one hit for r1 when any path fires, none otherwise.
TEST(OomOnDemand, EveryCombinationAndOrderGivesExactlyOne) {
  for (int mask = 0; mask < 8; ++mask) {
    const bool p1 = (mask & 1) != 0, p2 = (mask & 2) != 0, p3 = (mask & 4) != 0;
    for (const bool with_runtime_done : {true, false}) {
      std::array<int, 3> order = {0, 1, 2};  // 0: log line, 1: runtimeDone, 2: report
      do {
        Rig rig;
        rig.detector.on_invoke(kR2);
        rig.detector.on_invoke(kR1);
        const std::string_view status = (p1 || p2 || p3) ? "error" : "success";
        for (const int step : order) {
          if (step == 0) {
            rig.line(p1 ? std::string_view("FATAL ERROR: JavaScript heap out of memory")
                        : std::string_view("a normal line"));
          } else if (step == 1 && with_runtime_done) {
            rig.runtime_done(kR1, status, p2 ? kOom : "Runtime.ExitError");
          } else if (step == 2) {
            // Without runtimeDone P2 rides on the report; with it the report repeats it.
            rig.report(kR1, status, p2 ? kOom : "Runtime.ExitError", p3);
          }
        }
        const auto trace = fmt::format("P1={} P2={} P3={} runtimeDone={} order={}{}{}", p1, p2, p3,
                                       with_runtime_done, order[0], order[1], order[2]);
        if (mask == 0) {
          EXPECT_THAT(rig.hits, IsEmpty()) << trace;
        } else {
          EXPECT_THAT(rig.ids(), ElementsAre(kR1)) << trace;
        }
      } while (std::next_permutation(order.begin(), order.end()));
    }
  }
}

// ---- every runtime, string and object records
// ----------------------------------------------------

TEST(OomRuntimes, EveryPatternInEveryRecordShapeOnDemand) {
  for (const auto& [runtime, line] : kRuntimeLines) {
    SCOPED_TRACE(std::string(runtime));
    {  // raw text: the last-invoked id
      Rig rig;
      rig.detector.on_invoke(kR2);
      rig.line(line);
      EXPECT_THAT(rig.ids(), ElementsAre(kR2));
    }
    {  // managed-runtime text prefix: its id
      Rig rig;
      rig.detector.on_invoke(kR2);
      rig.line(prefixed(kR1, line));
      EXPECT_THAT(rig.ids(), ElementsAre(kR1));
    }
    {  // JSON with requestId, JSON with Java's AWSRequestId, JSON without an id
      Rig rig;
      rig.detector.on_invoke(kR2);
      rig.record(boost::json::object{{"level", "ERROR"}, {"requestId", kR1}, {"message", line}});
      rig.record(boost::json::object{{"level", "ERROR"}, {"AWSRequestId", kA}, {"message", line}});
      rig.record(boost::json::object{{"level", "FATAL"}, {"message", line}});
      EXPECT_THAT(rig.ids(), ElementsAre(kR1, kA, kR2));
    }
    {  // a non-own extension record, text and object
      Rig rig;
      rig.detector.on_invoke(kR1);
      rig.line(line, "extension");
      rig.record(boost::json::object{{"requestId", kA}, {"message", line}}, "extension");
      EXPECT_THAT(rig.ids(), ElementsAre(kR1, kA));
    }
    {  // own records quoting it: nothing
      Rig rig;
      rig.detector.on_invoke(kR1);
      rig.line(std::string("DD_EXTENSION | DEBUG | ") + std::string(line), "extension");
      rig.record(boost::json::object{{"message",
                                      std::string("DD_EXTENSION | WARN | ") + std::string(line)}},
                 "extension");
      EXPECT_THAT(rig.hits, IsEmpty());
    }
  }
}

TEST(OomRuntimes, EveryPatternInLmi) {
  for (const auto& [runtime, line] : kRuntimeLines) {
    SCOPED_TRACE(std::string(runtime));
    Rig rig(true);
    rig.line(prefixed(kA, line));
    rig.record(boost::json::object{{"requestId", kB}, {"message", line}});
    EXPECT_THAT(rig.ids(), ElementsAre(kA, kB));
    EXPECT_EQ(rig.unattributed(), 0U);
    rig.line(line);  // no id: unattributed, parked
    rig.record(boost::json::object{{"message", line}});
    EXPECT_EQ(rig.unattributed(), 2U);
    EXPECT_EQ(rig.hits.size(), 2U);
  }
}

// ---- the dedup set ------------------------------------------------------------------------------

TEST(OomDedup, Fifo2048IdsSurviveAnyContextAndEvictTheOldest) {
  Rig rig;
  for (int i = 0; i < 2048; ++i) rig.runtime_done(fmt::format("id-{}", i), "error", kOom);
  EXPECT_EQ(rig.hits.size(), 2048U);
  EXPECT_EQ(rig.detector.dedup_size(), 2048U);
  // Every id is still remembered.
  for (int i = 0; i < 2048; ++i) {
    rig.record(
        boost::json::object{{"requestId", fmt::format("id-{}", i)}, {"message", "MemoryError"}});
  }
  EXPECT_EQ(rig.hits.size(), 2048U);
  // One more pushes the oldest out: only that one could count again.
  rig.runtime_done("id-2048", "error", kOom);
  EXPECT_EQ(rig.detector.dedup_size(), 2048U);
  rig.runtime_done("id-1", "error", kOom);
  rig.runtime_done("id-2048", "error", kOom);
  EXPECT_EQ(rig.hits.size(), 2049U);
  rig.runtime_done("id-0", "error", kOom);
  EXPECT_EQ(rig.hits.size(), 2050U);
  EXPECT_EQ(rig.hits.back().request_id, "id-0");
  // id-0 went back in, pushing out id-1.
  rig.runtime_done("id-1", "error", kOom);
  EXPECT_EQ(rig.hits.back().request_id, "id-1");
  EXPECT_EQ(rig.hits.size(), 2051U);
}

TEST(OomDedup, ManyRequestsEachOnce) {
  Rig rig;
  std::vector<std::string> expected;
  for (int i = 0; i < 50; ++i) {
    const std::string id = fmt::format("{:08x}-95b1-4643-9700-2807f4e68189", i);
    rig.detector.on_invoke(id);
    if (i % 3 == 0) {
      rig.line("fatal error: runtime: out of memory");
      rig.line(prefixed(id, "fatal error: runtime: out of memory"));
      rig.report(id, "error", "Runtime.ExitError", true);
      expected.push_back(id);
    } else if (i % 3 == 1) {
      rig.runtime_done(id, "success");
      rig.report(id, "success", "", false);
    } else {
      rig.runtime_done(id, "error", kOom);
      expected.push_back(id);
    }
  }
  EXPECT_EQ(rig.ids(), expected);
}

// ---- LMI truth table (§4.4 L1–L7) ---------------------------------------------------------------

TEST(OomLmi, L1JsonIdAndReport) {
  Rig rig(true);
  rig.record(
      boost::json::object{{"level", "ERROR"}, {"requestId", kA}, {"message", "MemoryError"}});
  rig.lmi_report(kA, "error", kOom);
  rig.clock.advance(Millis(10000));
  EXPECT_THAT(rig.ids(), ElementsAre(kA));
  EXPECT_EQ(rig.unattributed(), 0U);
}

TEST(OomLmi, L2TextThenReportWithinFiveSeconds) {
  Rig rig(true);
  rig.line("FATAL ERROR: JavaScript heap out of memory");
  EXPECT_TRUE(rig.detector.has_parked());
  rig.clock.advance(Millis(4999));
  EXPECT_THAT(rig.hits, IsEmpty());
  rig.lmi_report(kA, "error", kOom);
  EXPECT_FALSE(rig.detector.has_parked());
  rig.clock.advance(Millis(20000));
  EXPECT_THAT(rig.ids(), ElementsAre(kA));
  EXPECT_EQ(rig.unattributed(), 1U);
  EXPECT_EQ(rig.clock.pending_timers(), 0U);
}

TEST(OomLmi, L2ReportThenTextWithinFiveSeconds) {
  Rig rig(true);
  rig.lmi_report(kA, "error", kOom);
  rig.clock.advance(Millis(5000));
  rig.line("FATAL ERROR: JavaScript heap out of memory");
  EXPECT_FALSE(rig.detector.has_parked());
  rig.clock.advance(Millis(20000));
  EXPECT_THAT(rig.ids(), ElementsAre(kA));
  EXPECT_EQ(rig.unattributed(), 1U);
}

TEST(OomLmi, L2RuntimeDoneAbsorbsToo) {
  // runtimeDone is not sent by RIE-LMI, but used when it comes (lambda-platform.md §5.1).
  Rig rig(true);
  rig.line("fatal error: runtime: out of memory");
  rig.runtime_done(kA, "error", kOom);
  rig.lmi_report(kA, "error", kOom);
  rig.clock.advance(Millis(10000));
  EXPECT_THAT(rig.ids(), ElementsAre(kA));
}

TEST(OomLmi, L3TextWithOtherErrorTypesIsOneSandboxPointAfterFiveSeconds) {
  Rig rig(true);
  rig.line("Error: Runtime exited with error: signal: killed", "function", kT0 + 20);
  rig.lmi_report(kA, "success");
  rig.lmi_report(kB, "error", "Runtime.ExitError");
  rig.lmi_report(kB, "error", "Runtime.Unknown");
  rig.clock.advance(Millis(4999));
  EXPECT_THAT(rig.hits, IsEmpty());
  rig.clock.advance(Millis(1));
  ASSERT_THAT(rig.ids(), ElementsAre(""));
  EXPECT_FALSE(rig.hits[0].cold_start);  // LMI: no cold_start tag
  EXPECT_EQ(rig.hits[0].time_ms, kT0 + 20);
  EXPECT_EQ(rig.unattributed(), 1U);
  rig.clock.advance(Millis(60000));
  EXPECT_EQ(rig.hits.size(), 1U);
}

TEST(OomLmi, L4FourTextLinesAreOnePoint) {
  Rig rig(true);
  for (int i = 0; i < 4; ++i) {
    rig.line("FATAL ERROR: JavaScript heap out of memory", "function", kT0 + i);
    rig.clock.advance(Millis(1000));
  }
  rig.clock.advance(Millis(1000));
  ASSERT_THAT(rig.ids(), ElementsAre(""));
  EXPECT_EQ(rig.hits[0].time_ms, kT0);
  EXPECT_EQ(rig.unattributed(), 4U);
}

TEST(OomLmi, L5TwoReportsTwoPoints) {
  Rig rig(true);
  rig.lmi_report(kA, "error", kOom);
  rig.lmi_report(kB, "error", kOom);
  EXPECT_THAT(rig.ids(), ElementsAre(kA, kB));
  EXPECT_EQ(rig.unattributed(), 0U);
}

TEST(OomLmi, L6SuccessReportGivesNothing) {
  Rig rig(true);
  rig.lmi_report(kA, "success");
  rig.clock.advance(Millis(10000));
  EXPECT_THAT(rig.hits, IsEmpty());
  EXPECT_EQ(rig.unattributed(), 0U);
}

TEST(OomLmi, L7MemoryOnlyGivesNothing) {
  Rig rig(true);
  rig.lmi_report(kA, "timeout", "Sandbox.Timeout");
  // Even memory fields at the limit are no evidence in LMI: there is no P3.
  rig.detector.on_report(kB, "timeout", "", 1024, 1024, kT0);
  rig.clock.advance(Millis(10000));
  EXPECT_THAT(rig.hits, IsEmpty());
  EXPECT_EQ(rig.unattributed(), 0U);
}

TEST(OomLmi, NeverGuessesTheRequest) {
  // INVOKE does not exist in LMI; even if called, no id-less line is attributed with it.
  Rig rig(true);
  rig.detector.on_invoke(kA);
  rig.line("fatal error: runtime: out of memory");
  rig.clock.advance(Millis(5000));
  EXPECT_THAT(rig.ids(), ElementsAre(""));
}

TEST(OomLmi, ReportErrorTypeCountsEvenAfterRuntimeDone) {
  Rig rig(true);
  rig.runtime_done(kA, "error", "Runtime.ExitError");
  rig.lmi_report(kA, "error", kOom);
  EXPECT_THAT(rig.ids(), ElementsAre(kA));
}

// ---- parking windows
// ------------------------------------------------------------------------------

TEST(OomParking, AttributedBeforeTheHitAbsorbsUpToFiveSeconds) {
  for (const auto& [gap_ms, absorbed] :
       {std::pair{0, true}, {4999, true}, {5000, true}, {5001, false}, {30000, false}}) {
    Rig rig(true);
    rig.lmi_report(kA, "error", kOom);
    rig.clock.advance(Millis(gap_ms));
    rig.line("fatal error: runtime: out of memory");
    rig.clock.advance(Millis(60000));
    if (absorbed) {
      EXPECT_THAT(rig.ids(), ElementsAre(kA)) << gap_ms;
    } else {
      EXPECT_THAT(rig.ids(), ElementsAre(kA, "")) << gap_ms;
    }
    EXPECT_EQ(rig.unattributed(), 1U);
  }
}

TEST(OomParking, AttributedAfterTheHitAbsorbsUntilTheWindowExpires) {
  for (const auto& [gap_ms, absorbed] :
       {std::pair{0, true}, {2500, true}, {4999, true}, {5000, false}, {9000, false}}) {
    Rig rig(true);
    rig.line("fatal error: runtime: out of memory");
    rig.clock.advance(Millis(gap_ms));
    rig.record(
        boost::json::object{{"requestId", kA}, {"message", "fatal error: runtime: out of memory"}});
    rig.clock.advance(Millis(60000));
    if (absorbed) {
      EXPECT_THAT(rig.ids(), ElementsAre(kA)) << gap_ms;
    } else {
      EXPECT_THAT(rig.ids(), ElementsAre("", kA)) << gap_ms;
    }
  }
}

TEST(OomParking, AnAlreadyCountedRequestStillAbsorbs) {
  // r(a) was emitted 10 s ago from its JSON line; its report (deduplicated) comes with the
  // crash's id-less line: the platform attributed that failure, so the line adds nothing.
  Rig rig(true);
  rig.record(boost::json::object{{"requestId", kA}, {"message", "MemoryError"}});
  rig.clock.advance(Millis(10000));
  rig.line("MemoryError");
  rig.lmi_report(kA, "error", kOom);
  rig.clock.advance(Millis(60000));
  EXPECT_THAT(rig.ids(), ElementsAre(kA));
}

TEST(OomParking, HitsInOneWindowCollapseAndTheNextWindowCountsAgain) {
  Rig rig(true);
  rig.line("MemoryError", "function", kT0);
  rig.clock.advance(Millis(4999));
  rig.line("MemoryError", "function", kT0 + 4999);  // same window
  rig.clock.advance(Millis(1));
  ASSERT_THAT(rig.ids(), ElementsAre(""));
  rig.line("MemoryError", "function", kT0 + 5000);  // a new window
  rig.clock.advance(Millis(5000));
  ASSERT_THAT(rig.ids(), ElementsAre("", ""));
  EXPECT_EQ(rig.hits[1].time_ms, kT0 + 5000);
  EXPECT_EQ(rig.unattributed(), 3U);
}

TEST(OomParking, AnAbsorbedWindowSwallowsItsLaterHits) {
  Rig rig(true);
  rig.line("MemoryError");
  rig.lmi_report(kA, "error", kOom);
  rig.clock.advance(Millis(4000));
  rig.line("MemoryError");  // within the absorbed window (and 4 s after a's OOM)
  rig.clock.advance(Millis(2000));
  rig.line("MemoryError");  // 6 s after: a new window, nothing to absorb it
  rig.clock.advance(Millis(5000));
  EXPECT_THAT(rig.ids(), ElementsAre(kA, ""));
  EXPECT_EQ(rig.unattributed(), 3U);
}

TEST(OomParking, ShutdownResolvesAParkedWindowAtOnce) {
  Rig rig(true);
  rig.line("MemoryError", "function", kT0 + 1);
  rig.clock.advance(Millis(1000));
  rig.detector.on_shutdown();
  ASSERT_THAT(rig.ids(), ElementsAre(""));
  EXPECT_EQ(rig.hits[0].time_ms, kT0 + 1);
  EXPECT_FALSE(rig.detector.has_parked());
  EXPECT_EQ(rig.clock.pending_timers(), 0U);
  rig.clock.advance(Millis(10000));
  EXPECT_EQ(rig.hits.size(), 1U);
  rig.detector.on_shutdown();  // twice: nothing more
  EXPECT_EQ(rig.hits.size(), 1U);
}

TEST(OomParking, ShutdownAfterAbsorptionEmitsNothing) {
  Rig rig(true);
  rig.line("MemoryError");
  rig.lmi_report(kA, "error", kOom);
  rig.detector.on_shutdown();
  EXPECT_THAT(rig.ids(), ElementsAre(kA));
}

TEST(OomParking, ShutdownWithNothingParkedEmitsNothing) {
  Rig rig(true);
  rig.detector.on_shutdown();
  Rig on_demand;
  on_demand.detector.on_shutdown();
  EXPECT_THAT(rig.hits, IsEmpty());
  EXPECT_THAT(on_demand.hits, IsEmpty());
}

TEST(OomParking, AfterShutdownHitsAreResolvedWithoutParking) {
  Rig rig(true);
  rig.detector.on_shutdown();
  rig.line("MemoryError", "function", kT0 + 2);
  ASSERT_THAT(rig.ids(), ElementsAre(""));
  EXPECT_EQ(rig.clock.pending_timers(), 0U);
  rig.line("MemoryError");  // same window
  EXPECT_EQ(rig.hits.size(), 1U);
  // Attributed evidence just before still absorbs.
  Rig absorbed(true);
  absorbed.lmi_report(kA, "error", kOom);
  absorbed.detector.on_shutdown();
  absorbed.line("MemoryError");
  EXPECT_THAT(absorbed.ids(), ElementsAre(kA));
}

TEST(OomParking, DestroyingTheDetectorCancelsItsTimer) {
  fakes::FakeClock clock{kT0};
  SelfMetrics self;
  int emitted = 0;
  {
    OomDetector d(true, clock, clock, self, [&](const Hit&) { ++emitted; });
    d.on_runtime_done("", "error", kOom, kT0);  // an id-less P2 in LMI: unattributed too
    EXPECT_EQ(clock.pending_timers(), 1U);
  }
  EXPECT_EQ(clock.pending_timers(), 0U);
  clock.advance(Millis(10000));
  EXPECT_EQ(emitted, 0);
  EXPECT_EQ(self.get("lastcall.lambda.oom_unattributed"), 1U);
}

// ---- the feedback loop (§1.3 rules 2 and 3) -----------------------------------------------------

TEST(OomFeedback, NoLineAboveDebugAndNoLineQuotesAPatternAndOwnLinesComeBackHarmless) {
  std::vector<std::string> lines;  // as written, prefix included
  Logger::instance().configure("DD_EXTENSION", 1, LogLevel::kTrace);
  Logger::instance().set_sink([&](std::string_view l) { lines.emplace_back(l); });
  {
    Rig rig(true);
    Rig on_demand;
    on_demand.line("fatal error: runtime: out of memory");  // before INVOKE
    on_demand.detector.on_invoke(kR1);
    for (const auto& [runtime, line] : kRuntimeLines) {
      on_demand.line(line);
      on_demand.record(boost::json::object{{"AWSRequestId", kR2}, {"message", line}});
      rig.line(line);
      rig.record(boost::json::object{{"requestId", kA}, {"message", line}});
    }
    on_demand.runtime_done(kR1, "error", kOom);
    on_demand.report(kR1, "error", kOom, true);
    rig.clock.advance(Millis(6000));
    rig.line("MemoryError");
    rig.clock.advance(Millis(6000));
    rig.lmi_report(kB, "error", kOom);
    rig.detector.on_shutdown();
  }
  Logger::instance().set_sink(nullptr);
  Logger::instance().configure("lastcall", 2, LogLevel::kInfo);  // the defaults
  ASSERT_FALSE(lines.empty());
  for (const auto& l : lines) {
    EXPECT_TRUE(l.rfind("DD_EXTENSION | DEBUG | ", 0) == 0) << l;
    for (const std::string_view p : kPatterns) {
      EXPECT_EQ(l.find(p), std::string::npos) << l;
    }
  }
  // Every line lastcall wrote, coming back as an extension record, is never scanned.
  Rig back;
  back.detector.on_invoke(kR1);
  for (const auto& l : lines) {
    std::string text = l;
    if (!text.empty() && text.back() == '\n') text.pop_back();
    back.line(text, "extension");
    back.record(boost::json::object{{"message", text}}, "extension");
  }
  back.clock.advance(Millis(10000));
  EXPECT_THAT(back.hits, IsEmpty());
}

}  // namespace
}  // namespace lc::lambda
