// lambda/telemetry.h: the subscription body, the typed view of each batch element (every record
// type of lambda-platform.md §4.5, string and object records, own records, unknown types), the
// counted drops of malformed batches and elements, per-batch type counts, and the listener's
// answers over real HTTP (200 for everything it read, the 8 MiB body limit).
#include "lambda/telemetry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/logger.h"
#include "fakes/fake_clock.h"
#include "unit/net/test_support.h"

namespace lc::lambda {
namespace {

using ::testing::ElementsAre;

// What a test keeps of one event: the view dies with the sink call, so everything is copied.
struct Seen {
  TelemetryType type = TelemetryType::kUnknown;
  std::string type_name;
  std::string time;
  std::optional<std::int64_t> time_ms;
  boost::json::value record;
  bool own_record = false;
};

class Collector {
 public:
  TelemetrySink sink() {
    return [this](const TelemetryEvent& e) {
      seen.push_back(Seen{e.type, std::string(e.type_name), std::string(e.time), e.time_ms,
                          boost::json::value(e.record), e.own_record});
    };
  }
  std::vector<TelemetryType> types() const {
    std::vector<TelemetryType> out;
    for (const auto& s : seen) out.push_back(s.type);
    return out;
  }
  std::vector<Seen> seen;
};

std::uint64_t events_of(const SelfMetrics& self, std::string_view type) {
  return self.get("lastcall.telemetry.events", {"type:" + std::string(type)});
}

// One realistic cold start, an invocation, SnapStart restore and the other platform records: each
// example of lambda-platform.md §4.5, in the order §4.6 says they arrive.
constexpr std::string_view kEveryType = R"([
{"time":"2025-10-12T00:00:15.064Z","type":"platform.initStart","record":{"initializationType":"on-demand","phase":"init","runtimeVersion":"nodejs:20.v30","runtimeVersionArn":"arn:aws:lambda:us-east-1::runtime:0cdcfbdefbc5e7d3343f73c2e2dd3cba17d61dea0686b404502a0c9ce83931b9","functionName":"my-fn","functionVersion":"$LATEST"}},
{"time":"2025-10-19T13:52:16.136Z","type":"platform.extension","record":{"name":"datadog-agent","state":"Ready","events":["INVOKE","SHUTDOWN"]}},
{"time":"2025-10-19T13:52:15.667Z","type":"platform.telemetrySubscription","record":{"name":"datadog-agent","state":"Subscribed","types":["platform","function","extension"]}},
{"time":"2025-10-12T00:00:15.500Z","type":"platform.initRuntimeDone","record":{"initializationType":"on-demand","status":"success"}},
{"time":"2025-10-12T00:00:15.501Z","type":"platform.initReport","record":{"initializationType":"on-demand","phase":"init","status":"success","metrics":{"durationMs":436.9}}},
{"time":"2025-10-21T14:05:03.165Z","type":"platform.start","record":{"requestId":"459921b5-681c-4a96-beb0-81e0aa586026","version":"$LATEST","tracing":{"spanId":"24cd7d670fa455f0","type":"X-Amzn-Trace-Id","value":"Root=1-6352a70e-1e2c502e358361800241fd45;Parent=35465b3a9e2f7c6a;Sampled=1"}}},
{"time":"2025-10-12T00:03:50.000Z","type":"function","record":"2025-10-12T00:03:50.000Z\t79b4f56e-95b1-4643-9700-2807f4e68189\tINFO\tHello world"},
{"time":"2025-10-12T00:03:50.001Z","type":"function","record":{"timestamp":"2025-10-12T00:03:50.001Z","level":"ERROR","AWSRequestId":"79b4f56e-95b1-4643-9700-2807f4e68189","message":"boom","logger":"com.example.Handler"}},
{"time":"2025-10-12T00:03:50.003Z","type":"extension","record":"[otel-collector] exporter started"},
{"time":"2025-10-21T14:05:05.764Z","type":"platform.runtimeDone","record":{"requestId":"459921b5-681c-4a96-beb0-81e0aa586026","status":"success","metrics":{"durationMs":2599.0,"producedBytes":8},"spans":[{"name":"responseLatency","start":"2025-10-21T14:05:03.165Z","durationMs":2598.0},{"name":"responseDuration","start":"2025-10-21T14:05:05.763Z","durationMs":0.0}]}},
{"time":"2025-10-21T14:05:05.766Z","type":"platform.report","record":{"requestId":"459921b5-681c-4a96-beb0-81e0aa586026","status":"success","metrics":{"durationMs":2599.4,"billedDurationMs":2600,"memorySizeMB":128.0,"maxMemoryUsedMB":94,"initDurationMs":549.04}}},
{"time":"2025-10-19T13:52:15.636Z","type":"platform.restoreStart","record":{}},
{"time":"2025-10-19T13:52:15.900Z","type":"platform.restoreRuntimeDone","record":{"status":"success"}},
{"time":"2025-10-19T13:52:16.136Z","type":"platform.restoreReport","record":{"status":"success","metrics":{"durationMs":150.5}}},
{"time":"2025-10-19T13:52:15.667Z","type":"platform.logsDropped","record":{"droppedBytes":12345,"droppedRecords":123,"reason":"Consumer seems to have fallen behind as it has not acknowledged receipt of logs."}}
])";

TEST(Telemetry, SubscriptionBody) {
  SubscriptionOptions o;
  o.port = 8999;
  EXPECT_EQ(telemetry_subscription_body(o),
            R"({"schemaVersion":"2022-12-13","types":["platform","function","extension"],)"
            R"("buffering":{"maxItems":1000,"maxBytes":262144,"timeoutMs":25},)"
            R"("destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:8999/"}})");
  o.lmi = true;
  o.logs_enabled = false;
  EXPECT_NE(telemetry_subscription_body(o).find(
                R"("schemaVersion":"2025-01-29","types":["platform","function"])"),
            std::string::npos);
  o.enhanced_metrics = false;
  o.alternate_schema = true;
  EXPECT_NE(
      telemetry_subscription_body(o).find(R"("schemaVersion":"2022-12-13","types":["platform"])"),
      std::string::npos);
}

TEST(Telemetry, TypeNamesRoundTripAndMatchExactly) {
  for (std::size_t i = 0; i + 1 < kTelemetryTypeCount; ++i) {
    const auto t = static_cast<TelemetryType>(i);
    EXPECT_EQ(telemetry_type_of(telemetry_type_name(t)), t) << telemetry_type_name(t);
  }
  EXPECT_EQ(telemetry_type_name(TelemetryType::kUnknown), "unknown");
  EXPECT_EQ(telemetry_type_of("unknown"), TelemetryType::kUnknown);
  EXPECT_EQ(telemetry_type_of("platform.Start"), TelemetryType::kUnknown);
  EXPECT_EQ(telemetry_type_of("platform.start "), TelemetryType::kUnknown);
  EXPECT_EQ(telemetry_type_of("platform."), TelemetryType::kUnknown);
  EXPECT_EQ(telemetry_type_of(""), TelemetryType::kUnknown);
}

TEST(Telemetry, EveryRecordTypeOfThePlatformIsTyped) {
  SelfMetrics self;
  const TelemetryCounters counters(self);
  Collector c;
  EXPECT_EQ(process_telemetry_batch(kEveryType, counters, c.sink()), 15u);
  using T = TelemetryType;
  EXPECT_THAT(c.types(), ElementsAre(T::kInitStart, T::kPlatformExtension,
                                     T::kTelemetrySubscription, T::kInitRuntimeDone, T::kInitReport,
                                     T::kStart, T::kFunction, T::kFunction, T::kExtension,
                                     T::kRuntimeDone, T::kReport, T::kRestoreStart,
                                     T::kRestoreRuntimeDone, T::kRestoreReport, T::kLogsDropped));
  for (const auto& s : c.seen) {
    EXPECT_EQ(s.type_name, telemetry_type_name(s.type));
    EXPECT_TRUE(s.time_ms.has_value()) << s.time;
    EXPECT_FALSE(s.own_record);
  }
  // The fields a consumer reads, straight from the parsed record.
  const auto& start = c.seen[5].record.as_object();
  EXPECT_EQ(json::string_member(start, "requestId"), "459921b5-681c-4a96-beb0-81e0aa586026");
  EXPECT_EQ(c.seen[5].time, "2025-10-21T14:05:03.165Z");
  EXPECT_EQ(c.seen[5].time_ms, 1761055503165);  // lambda-agent.md §5.2's log timestamp
  const auto* metrics = json::object_member(c.seen[10].record.as_object(), "metrics");
  ASSERT_NE(metrics, nullptr);
  EXPECT_EQ(json::int64_member(*metrics, "memorySizeMB"), 128);  // sent as 128.0
  EXPECT_EQ(json::double_member(*metrics, "initDurationMs"), 549.04);
  EXPECT_TRUE(c.seen[11].record.as_object().empty());  // restoreStart may be {}
  EXPECT_EQ(json::int64_member(c.seen[14].record.as_object(), "droppedRecords"), 123);
  // One count per type.
  EXPECT_EQ(events_of(self, "function"), 2u);
  EXPECT_EQ(events_of(self, "platform.report"), 1u);
  EXPECT_EQ(events_of(self, "platform.logsDropped"), 1u);
  EXPECT_EQ(events_of(self, "unknown"), 0u);
  EXPECT_EQ(self.dropped_total(), 0u);
}

TEST(Telemetry, StringAndObjectRecordsAreHandedAsParsed) {
  SelfMetrics self;
  const TelemetryCounters counters(self);
  std::vector<std::string> texts;
  std::vector<std::string> messages;
  auto sink = [&](const TelemetryEvent& e) {
    if (const auto* t = e.record_text()) {
      EXPECT_EQ(e.record_object(), nullptr);
      texts.emplace_back(t->data(), t->size());
    } else if (const auto* o = e.record_object()) {
      // A nested message object stays an object: nothing was serialized on the way.
      const auto* m = o->if_contains("message");
      ASSERT_NE(m, nullptr);
      messages.push_back(m->is_object() ? "object:" + boost::json::serialize(*m)
                                        : std::string(m->as_string()));
    }
  };
  process_telemetry_batch(
      R"([{"time":"2025-10-12T00:03:50.002Z","type":"function","record":"plain print without prefix\n"},
          {"time":"2025-10-12T00:03:50.000Z","type":"function","record":{"level":"INFO","requestId":"r1","message":"Hello world"}},
          {"time":"2025-10-12T00:03:50.000Z","type":"function","record":{"level":"INFO","message":{"message":"inner","ddtags":"a:b"}}},
          {"time":"2025-10-12T00:03:50.000Z","type":"function","record":"{\"level\":\"WARN\",\"message\":\"json as text\"}"},
          {"time":"2025-10-12T00:03:50.000Z","type":"function","record":"caf\u00e9 \u2603 tab\there"}])",
      counters, sink);
  EXPECT_THAT(texts, ElementsAre("plain print without prefix\n",
                                 R"({"level":"WARN","message":"json as text"})",
                                 "caf\xc3\xa9 \xe2\x98\x83 tab\there"));
  EXPECT_THAT(messages, ElementsAre("Hello world", R"(object:{"message":"inner","ddtags":"a:b"})"));
}

TEST(Telemetry, OwnRecordsAreExtensionLinesWithOurPrefix) {
  SelfMetrics self;
  const TelemetryCounters counters(self);
  Collector c;
  process_telemetry_batch(
      R"([{"type":"extension","record":"DD_EXTENSION | INFO | listening: telemetry=8999"},
          {"type":"extension","record":{"message":"DD_EXTENSION | WARN | dropped since the last flush"}},
          {"type":"extension","record":{"level":"INFO","message":"DD_EXTENSION | DEBUG | x","extra":1}},
          {"type":"function","record":"DD_EXTENSION | INFO | a function printing our prefix"},
          {"type":"function","record":{"message":"DD_EXTENSION | INFO | also the function's"}},
          {"type":"extension","record":"[otel] DD_EXTENSION | INFO | not at the start"},
          {"type":"extension","record":"DD_EXTENSION |INFO| no spaces"},
          {"type":"extension","record":{"message":{"message":"DD_EXTENSION | INFO | nested"}}},
          {"type":"extension","record":{"msg":"DD_EXTENSION | INFO | other key"}},
          {"type":"extension","record":["DD_EXTENSION | INFO | array"]},
          {"type":"extension"}])",
      counters, c.sink());
  ASSERT_EQ(c.seen.size(), 11u);
  std::vector<bool> own;
  for (const auto& s : c.seen) own.push_back(s.own_record);
  EXPECT_THAT(
      own, ElementsAre(true, true, true, false, false, false, false, false, false, false, false));
  EXPECT_TRUE(c.seen[10].record.is_null());  // no record: handed with a null one
}

TEST(Telemetry, UnknownTypesAreHandedCountedAsUnknownAndBounded) {
  SelfMetrics self;
  const TelemetryCounters counters(self);
  Collector c;
  EXPECT_EQ(process_telemetry_batch(
                R"([{"time":"2025-10-12T00:00:15.064Z","type":"platform.future","record":{"x":1}},
                    {"type":"Function","record":"case matters"},
                    {"type":"","record":""}])",
                counters, c.sink()),
            3u);
  EXPECT_THAT(c.types(), ElementsAre(TelemetryType::kUnknown, TelemetryType::kUnknown,
                                     TelemetryType::kUnknown));
  EXPECT_EQ(c.seen[0].type_name, "platform.future");
  EXPECT_EQ(c.seen[1].type_name, "Function");
  EXPECT_EQ(c.seen[2].type_name, "");
  EXPECT_EQ(events_of(self, "unknown"), 3u);
  EXPECT_EQ(events_of(self, "platform.future"), 0u);
  EXPECT_EQ(self.dropped_total(), 0u);  // ignored, not malformed
  // Whoever sends us events cannot grow the self-metric keys.
  const std::size_t keys = self.key_count();
  std::string batch = "[";
  for (int i = 0; i < 2000; ++i) {
    batch += R"({"type":"platform.x)" + std::to_string(i) + R"(","record":{}},)";
  }
  batch.back() = ']';
  EXPECT_EQ(process_telemetry_batch(batch, counters, nullptr), 2000u);
  EXPECT_EQ(self.key_count(), keys);
  EXPECT_EQ(self.get(SelfMetrics::kFolded), 0u);
  EXPECT_EQ(events_of(self, "unknown"), 2003u);
}

TEST(Telemetry, MalformedBatchesAreCountedOnceAndHandNothing) {
  SelfMetrics self;
  const TelemetryCounters counters(self);
  Collector c;
  std::uint64_t expected = 0;
  for (const std::string_view body :
       {std::string_view("{not an array"), std::string_view(""), std::string_view("   "),
        std::string_view(R"({"type":"platform.start","record":{}})"),
        std::string_view(R"("a string")"), std::string_view("null"),
        std::string_view(R"([{"type":"function","record":"x"})"),
        std::string_view(R"([{"type":"function","record":"x"}] trailing)"),
        std::string_view(R"([{"type":"function","record":"x"},])"), std::string_view("[1,2,3")}) {
    EXPECT_EQ(process_telemetry_batch(body, counters, c.sink()), 0u) << body;
    EXPECT_EQ(self.dropped_count("telemetry", "malformed"), ++expected) << body;
  }
  EXPECT_TRUE(c.seen.empty());
  EXPECT_EQ(events_of(self, "function"), 0u);
  // An empty array is a well-formed batch with nothing in it.
  EXPECT_EQ(process_telemetry_batch("[]", counters, c.sink()), 0u);
  EXPECT_EQ(self.dropped_count("telemetry", "malformed"), expected);
}

TEST(Telemetry, MalformedElementsAreSkippedAndTheRestProcessed) {
  SelfMetrics self;
  const TelemetryCounters counters(self);
  Collector c;
  const std::size_t n = process_telemetry_batch(
      R"([42, "text", null, [], {}, {"time":"x"}, {"type":5,"record":{}}, {"type":null},
          {"type":["platform.start"]},
          {"time":"2025-10-21T14:05:03.165Z","type":"platform.start","record":{"requestId":"r1"}},
          {"type":"platform.report","time":7,"record":{"requestId":"r1"}},
          {"type":"platform.runtimeDone","time":"yesterday","record":"not an object"}])",
      counters, c.sink());
  EXPECT_EQ(n, 3u);
  EXPECT_EQ(self.dropped_count("telemetry", "malformed"), 9u);
  ASSERT_EQ(c.seen.size(), 3u);
  EXPECT_EQ(c.seen[0].time_ms, 1761055503165);
  EXPECT_EQ(c.seen[1].time, "");  // a time that is not a string is absent
  EXPECT_EQ(c.seen[1].time_ms, std::nullopt);
  EXPECT_EQ(c.seen[2].time, "yesterday");  // kept raw, not parsed
  EXPECT_EQ(c.seen[2].time_ms, std::nullopt);
  EXPECT_TRUE(c.seen[2].record.is_string());  // a platform record of the wrong shape is the
                                              // consumer's to refuse
}

TEST(Telemetry, TypesAreCountedPerBatch) {
  SelfMetrics self;
  const TelemetryCounters counters(self);
  const std::string one = R"({"type":"platform.start","record":{"requestId":"r"}})";
  const std::string fn = R"({"type":"function","record":"line"})";
  process_telemetry_batch("[" + one + "," + fn + "," + one + "," + one + "," + fn + "]", counters,
                          nullptr);
  EXPECT_EQ(events_of(self, "platform.start"), 3u);
  EXPECT_EQ(events_of(self, "function"), 2u);
  process_telemetry_batch("[" + fn + ",7]", counters, nullptr);
  EXPECT_EQ(events_of(self, "platform.start"), 3u);
  EXPECT_EQ(events_of(self, "function"), 3u);
  EXPECT_EQ(self.dropped_count("telemetry", "malformed"), 1u);
  // The counters are registered once, up front: counting adds no key.
  const std::size_t keys = self.key_count();
  process_telemetry_batch(kEveryType, counters, nullptr);
  EXPECT_EQ(self.key_count(), keys);
  // Two TelemetryCounters on one SelfMetrics count into the same keys.
  const TelemetryCounters again(self);
  process_telemetry_batch("[" + fn + "]", again, nullptr);
  EXPECT_EQ(events_of(self, "function"), 6u);
}

TEST(Telemetry, DeepLogObjectsAndOddBytesDoNotCostTheBatch) {
  SelfMetrics self;
  const TelemetryCounters counters(self);
  Collector c;
  // A function's JSON log line nested 50 deep: the batch still parses.
  std::string deep;
  for (int i = 0; i < 50; ++i) deep += R"({"m":)";
  deep += "1" + std::string(50, '}');
  EXPECT_EQ(process_telemetry_batch(R"([{"type":"function","record":)" + deep +
                                        R"(},{"type":"function","record":"next"}])",
                                    counters, c.sink()),
            2u);
  // A byte that is not UTF-8 in one line: kept verbatim, the batch goes on.
  EXPECT_EQ(process_telemetry_batch("[{\"type\":\"function\",\"record\":\"bad \xff byte\"}]",
                                    counters, c.sink()),
            1u);
  EXPECT_EQ(c.seen.back().record.as_string(), "bad \xff byte");
  // Far too deep is a malformed batch, not a crash.
  const std::string abyss = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(process_telemetry_batch(abyss, counters, c.sink()), 0u);
  EXPECT_EQ(self.dropped_count("telemetry", "malformed"), 1u);
}

TEST(Telemetry, EventTimes) {
  EXPECT_EQ(parse_event_time_ms("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_event_time_ms("2025-10-12T00:00:15.064Z"), 1760227215064);
  EXPECT_EQ(parse_event_time_ms("2025-10-12T00:00:15Z"), 1760227215000);
  EXPECT_EQ(parse_event_time_ms("2025-10-12T00:00:15.0Z"), 1760227215000);
  EXPECT_EQ(parse_event_time_ms("2025-10-12T00:00:15.5Z"), 1760227215500);
  EXPECT_EQ(parse_event_time_ms("2025-10-12T00:00:15.064999999Z"), 1760227215064);  // cut
  EXPECT_EQ(parse_event_time_ms("2025-10-12T02:00:15.064+02:00"), 1760227215064);
  EXPECT_EQ(parse_event_time_ms("2025-10-11T19:30:15.064-0430"), 1760227215064);
  EXPECT_EQ(parse_event_time_ms("2025-10-12T01:00:15.064+01"), 1760227215064);
  EXPECT_EQ(parse_event_time_ms("2025-10-12t00:00:15.064z"), 1760227215064);
  EXPECT_EQ(parse_event_time_ms("2025-10-12 00:00:15.064"), 1760227215064);  // no zone: UTC
  EXPECT_EQ(parse_event_time_ms("2024-02-29T23:59:60Z"), 1709251200000);     // leap second
  EXPECT_EQ(parse_event_time_ms("1969-12-31T23:59:59.999Z"), -1);
  for (const char* bad : {"",
                          "2025",
                          "2025-10-12",
                          "2025-10-12T00:00",
                          "2025-13-01T00:00:00Z",
                          "2025-02-29T00:00:00Z",
                          "2025-10-32T00:00:00Z",
                          "2025-10-00T00:00:00Z",
                          "2025-10-12T24:00:00Z",
                          "2025-10-12T00:60:00Z",
                          "2025-10-12T00:00:61Z",
                          "2025-10-12T00:00:15.Z",
                          "2025-10-12T00:00:15.064ZZ",
                          "2025-10-12T00:00:15.064+2",
                          "2025-10-12T00:00:15.064+24:00",
                          "2025-10-12T00:00:15.064+02:60",
                          "+2025-10-12T00:00:15Z",
                          "2025-1-12T00:00:15Z",
                          "2025-10-12X00:00:15Z",
                          "1761055503165"}) {
    EXPECT_EQ(parse_event_time_ms(bad), std::nullopt) << bad;
  }
}

// The listener over real HTTP: a loop thread serves, the test posts.
class TelemetryListenerTest : public ::testing::Test {
 protected:
  TelemetryListenerTest() {
    clock_.run_timers_on(loop_.io());
    net::HttpServerOptions o;
    o.name = "telemetry";
    o.self_metrics = &self_;
    auto created = net::HttpServer::create(loop_.io(), clock_, clock_, o);
    EXPECT_TRUE(created) << created.error().message;
    server_ = std::move(created).value();
    listener_ = std::make_unique<TelemetryListener>(*server_, self_, collector_.sink());
    server_->start();
    loop_.start();
  }
  ~TelemetryListenerTest() override {
    loop_.call([&] { server_->stop(); });
    loop_.stop();
  }
  Expected<sandbox::BlockingResponse> post(std::string_view target, std::string_view body) {
    return test::raw_exchange(server_->port(), test::request_with_body("POST", target, body));
  }

  fakes::FakeClock clock_;
  test::LoopThread loop_;
  SelfMetrics self_;
  Collector collector_;
  std::unique_ptr<net::HttpServer> server_;
  std::unique_ptr<TelemetryListener> listener_;
};

TEST_F(TelemetryListenerTest, AnswersTwoHundredOnAnyPathAndHandsTheEvents) {
  for (const char* path : {"/", "/telemetry", "/any/path?x=1"}) {
    auto r = post(path, R"([{"time":"2025-10-21T14:05:03.165Z","type":"platform.start",)"
                        R"("record":{"requestId":"r1"}}])");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 200) << path;
    EXPECT_EQ(r->body, "");
  }
  ASSERT_TRUE(loop_.wait_until([&] { return collector_.seen.size() == 3; }));
  loop_.call([&] {
    EXPECT_EQ(listener_->batches(), 3u);
    EXPECT_EQ(collector_.seen[2].type, TelemetryType::kStart);
    EXPECT_EQ(json::string_member(collector_.seen[2].record.as_object(), "requestId"), "r1");
  });
  EXPECT_EQ(events_of(self_, "platform.start"), 3u);
}

TEST_F(TelemetryListenerTest, MalformedBatchIsAnsweredTwoHundredAndCounted) {
  auto r = post("/", "this is not JSON");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  ASSERT_TRUE(loop_.wait_until([&] { return listener_->batches() == 1; }));
  EXPECT_EQ(self_.dropped_count("telemetry", "malformed"), 1u);
  EXPECT_TRUE(loop_.call([&] { return collector_.seen.empty(); }));
}

TEST_F(TelemetryListenerTest, BodyOverEightMiBIsAnsweredTwoHundredCountedAndNotParsed) {
  // A well-formed batch just over the limit: refused whole, never parsed.
  std::string body = R"([{"type":"function","record":")";
  body.append(kTelemetryMaxBody - body.size() - 2, 'x');
  body += "\"}]";
  ASSERT_EQ(body.size(), kTelemetryMaxBody + 1);
  auto r = post("/", body);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(self_.dropped_count("telemetry", "too_large"), 1u);
  // At the limit exactly it is read and parsed.
  body.erase(body.size() - 4, 1);
  ASSERT_EQ(body.size(), kTelemetryMaxBody);
  auto at_limit = post("/", body);
  ASSERT_TRUE(at_limit);
  EXPECT_EQ(at_limit->status, 200);
  ASSERT_TRUE(loop_.wait_until([&] { return collector_.seen.size() == 1; }));
  EXPECT_EQ(loop_.call([&] { return listener_->batches(); }), 1u);
  EXPECT_EQ(self_.dropped_count("telemetry", "too_large"), 1u);
  EXPECT_EQ(events_of(self_, "function"), 1u);
}

}  // namespace
}  // namespace lc::lambda
