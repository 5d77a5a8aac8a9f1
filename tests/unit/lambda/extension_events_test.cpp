#include "lambda/extension_events.h"

#include <gtest/gtest.h>

#include "lambda/extensions_client.h"

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

TEST(ExtensionEvents, DeadlineAsAnIntegralDoubleIsAccepted) {
  auto e = parse_extension_event(R"({"eventType":"INVOKE","deadlineMs":1739387000123.0})", kNow);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->deadline_ms, 1739387000123);
  auto fraction = parse_extension_event(R"({"eventType":"INVOKE","deadlineMs":1.5})", kNow);
  ASSERT_TRUE(fraction);
  EXPECT_EQ(fraction->deadline_ms, 0);  // not an integer: absent
  auto bad = parse_extension_event("{\"eventType\":\"INVOKE\",\n \"deadlineMs\": }", kNow);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kProtocol);
  EXPECT_NE(bad.error().message.find("line 2"), std::string::npos) << bad.error().message;
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

}  // namespace
}  // namespace lc::lambda
