#include "lambda/extension_events.h"

#include <gtest/gtest.h>

#include "lambda/extensions_client.h"
#include "lambda/telemetry.h"

namespace lc::lambda {
namespace {

constexpr std::int64_t kNow = 1739387000000;

TEST(ExtensionEvents, Invoke) {
  auto e = parse_extension_event(
      R"({"eventType":"INVOKE","deadlineMs":1739387000123,"requestId":"3da1f2dc",
          "invokedFunctionArn":"arn:aws:lambda:us-east-1:123456789012:function:my-fn:prod",
          "tracing":{"type":"X-Amzn-Trace-Id","value":"Root=1-5f35ae12;Sampled=1"},"future":1})",
      kNow);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, ExtensionEvent::Type::kInvoke);
  EXPECT_EQ(e->deadline_ms, 1739387000123);
  EXPECT_EQ(e->request_id, "3da1f2dc");
  EXPECT_EQ(e->invoked_function_arn, "arn:aws:lambda:us-east-1:123456789012:function:my-fn:prod");
  EXPECT_EQ(e->tracing_value, "Root=1-5f35ae12;Sampled=1");
}

TEST(ExtensionEvents, ShutdownReasonCaseInsensitive) {
  for (const char* body :
       {R"({"eventType":"SHUTDOWN","shutdownReason":"SPINDOWN","deadlineMs":1739387002123})",
        R"({"eventType":"shutdown","shutdownReason":"spindown","deadlineMs":1739387002123})"}) {
    auto e = parse_extension_event(body, kNow);
    ASSERT_TRUE(e) << body;
    EXPECT_EQ(e->type, ExtensionEvent::Type::kShutdown);
    EXPECT_EQ(e->shutdown_reason, "spindown");
    EXPECT_EQ(e->deadline_ms, 1739387002123);
  }
  auto odd = parse_extension_event(R"({"eventType":"SHUTDOWN","shutdownReason":"Eviction"})", kNow);
  ASSERT_TRUE(odd);
  EXPECT_EQ(odd->shutdown_reason, "eviction");  // unknown reasons kept verbatim (lower-cased)
}

TEST(ExtensionEvents, RelativeDeadlineIsMadeAbsolute) {
  auto e = parse_extension_event(R"({"eventType":"SHUTDOWN","deadlineMs":2000})", kNow);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->deadline_ms, kNow + 2000);
}

TEST(ExtensionEvents, UnknownTypeAndBadBodies) {
  auto e = parse_extension_event(R"({"eventType":"RESTORE"})", kNow);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, ExtensionEvent::Type::kUnknown);
  EXPECT_FALSE(parse_extension_event("not json", kNow));
  EXPECT_FALSE(parse_extension_event("[1,2]", kNow));
  auto wrong_types = parse_extension_event(R"({"eventType":7,"deadlineMs":"x","tracing":3})", kNow);
  ASSERT_TRUE(wrong_types);
  EXPECT_EQ(wrong_types->type, ExtensionEvent::Type::kUnknown);
  EXPECT_EQ(wrong_types->deadline_ms, 0);
}

TEST(RegisterReply, IdentifierIsMandatoryBodyOptional) {
  auto r = parse_register_reply(
      "8476a536-e9f4",
      R"({"functionName":"my-fn","functionVersion":"$LATEST","handler":"index.handler","accountId":"123456789012"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->extension_id, "8476a536-e9f4");
  EXPECT_EQ(r->account_id, "123456789012");
  EXPECT_EQ(r->function_name, "my-fn");
  auto no_body = parse_register_reply("id-1", "");
  ASSERT_TRUE(no_body);
  EXPECT_TRUE(no_body->account_id.empty());
  EXPECT_FALSE(parse_register_reply("", "{}"));
}

TEST(ApiError, ParsesErrorTypeAndMessage) {
  auto e = parse_api_error(
      403, R"({"errorType":"Extension.InvalidExtensionName","errorMessage":"empty"})");
  EXPECT_EQ(e.status, 403);
  EXPECT_EQ(e.error_type, "Extension.InvalidExtensionName");
  EXPECT_EQ(e.message, "empty");
  auto raw = parse_api_error(500, "boom");
  EXPECT_TRUE(raw.error_type.empty());
  EXPECT_EQ(raw.message, "boom");
}

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

TEST(Telemetry, BatchParsingCountsMalformedAndRecognisesOwnLines) {
  SelfMetrics self;
  std::vector<TelemetryEvent> seen;
  auto sink = [&](const TelemetryEvent& e) { seen.push_back(e); };
  const std::size_t n = process_telemetry_batch(
      R"([{"time":"2025-10-12T00:00:15.064Z","type":"platform.start","record":{"requestId":"r1"}},
          {"type":"extension","record":"DD_EXTENSION | INFO | hello"},
          {"type":"extension","record":{"message":"DD_EXTENSION | WARN | x"}},
          {"type":"function","record":"user line"},
          {"time":"x"}, 42])",
      self, sink);
  EXPECT_EQ(n, 4u);
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].type, "platform.start");
  EXPECT_EQ(seen[0].record, R"({"requestId":"r1"})");
  EXPECT_TRUE(seen[1].own_record);
  EXPECT_TRUE(seen[2].own_record);
  EXPECT_FALSE(seen[3].own_record);
  EXPECT_EQ(self.dropped_count("telemetry", "malformed"), 2u);
  EXPECT_EQ(process_telemetry_batch("{not an array", self, sink), 0u);
  EXPECT_EQ(self.dropped_count("telemetry", "malformed"), 3u);
}

}  // namespace
}  // namespace lc::lambda
