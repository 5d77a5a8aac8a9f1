// Request validation of lastcall-sandbox: every documented status and errorType (§2.4, §4.1).
#include "tools/sandbox/requests.h"

#include <gtest/gtest.h>

namespace lc::sandbox {
namespace {

void expect_rejected(const Rejection& r, int status, std::string_view type) {
  EXPECT_EQ(r.status, status);
  EXPECT_EQ(r.error_type, type);
  EXPECT_FALSE(r.message.empty());
}

TEST(RegisterRequest, AcceptsEventsAndTheAccountIdFeature) {
  auto r = parse_register("datadog-agent", " foo , accountId ",
                          R"({"events":["INVOKE","shutdown"]})", false);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r.value().name, "datadog-agent");
  EXPECT_TRUE(r.value().invoke);
  EXPECT_TRUE(r.value().shutdown);
  EXPECT_TRUE(r.value().want_account_id);
  EXPECT_EQ(r.value().events, (std::vector<std::string>{"INVOKE", "SHUTDOWN"}));
}

TEST(RegisterRequest, EmptyEventListAndNoFeature) {
  auto r = parse_register("x", std::nullopt, R"({"events":[]})", false);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r.value().invoke);
  EXPECT_FALSE(r.value().shutdown);
  EXPECT_FALSE(r.value().want_account_id);
}

TEST(RegisterRequest, Rejections) {
  expect_rejected(parse_register(std::nullopt, {}, R"({"events":[]})", false).error(), 403,
                  "Extension.InvalidExtensionName");
  expect_rejected(parse_register("  ", {}, R"({"events":[]})", false).error(), 403,
                  "Extension.InvalidExtensionName");
  expect_rejected(
      parse_register("x", {}, R"({"events":["INVOKE"],"configurationKeys":["a"]})", false).error(),
      403, "InvalidRequestFormat");
  expect_rejected(parse_register("x", {}, "not json", false).error(), 403, "InvalidRequestFormat");
  expect_rejected(parse_register("x", {}, "", false).error(), 403, "InvalidRequestFormat");
  expect_rejected(parse_register("x", {}, "[1]", false).error(), 403, "InvalidRequestFormat");
  expect_rejected(parse_register("x", {}, R"({"events":"INVOKE"})", false).error(), 403,
                  "InvalidRequestFormat");
  expect_rejected(parse_register("x", {}, R"({"events":[1]})", false).error(), 403,
                  "InvalidRequestFormat");
  expect_rejected(parse_register("x", {}, R"({"events":["RESTORE"]})", false).error(), 403,
                  "Extension.InvalidEventType");
}

TEST(RegisterRequest, LmiAcceptsShutdownOnly) {
  EXPECT_TRUE(parse_register("x", {}, R"({"events":["SHUTDOWN"]})", true).has_value());
  expect_rejected(parse_register("x", {}, R"({"events":["INVOKE","SHUTDOWN"]})", true).error(), 403,
                  "Extension.InvalidEventType");
}

TEST(IdentifierHeader, MissingAndMalformed) {
  expect_rejected(*check_identifier_header(std::nullopt), 403,
                  "Extension.MissingExtensionIdentifier");
  expect_rejected(*check_identifier_header(""), 403, "Extension.MissingExtensionIdentifier");
  expect_rejected(*check_identifier_header("not-a-uuid"), 403,
                  "Extension.InvalidExtensionIdentifier");
  EXPECT_FALSE(check_identifier_header("8476a536-e9f4-11e8-9739-2dfe598c3fcd").has_value());
}

constexpr const char* kGoodSubscribe =
    R"({"schemaVersion":"2022-12-13","types":["platform","function","platform"],
        "buffering":{"maxItems":1000,"maxBytes":262144,"timeoutMs":25},
        "destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:8999/lambda/telemetry"}})";

TEST(SubscribeRequest, ParsesEveryMember) {
  auto r = parse_subscribe(kGoodSubscribe, false);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  const auto& s = r.value();
  EXPECT_EQ(s.schema_version, "2022-12-13");
  EXPECT_EQ(s.types, (std::vector<std::string>{"platform", "function"}));
  EXPECT_EQ(s.max_items, 1000);
  EXPECT_EQ(s.max_bytes, 262144);
  EXPECT_EQ(s.timeout_ms, 25);
  EXPECT_EQ(s.port, 8999);
  EXPECT_EQ(s.path, "/lambda/telemetry");
  EXPECT_TRUE(s.wants("function"));
  EXPECT_FALSE(s.wants("extension"));
}

TEST(SubscribeRequest, DefaultsAndTheShortHostName) {
  auto r = parse_subscribe(
      R"({"schemaVersion":"2025-01-29","types":["platform"],
          "destination":{"protocol":"HTTP","URI":"http://sandbox:8999"}})",
      true);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r.value().max_items, kDefaultMaxItems);
  EXPECT_EQ(r.value().max_bytes, kDefaultMaxBytes);
  EXPECT_EQ(r.value().timeout_ms, kDefaultTimeoutMs);
  EXPECT_EQ(r.value().path, "/");
}

TEST(SubscribeRequest, EveryValidationError) {
  const char* bad[] = {
      "",
      "[]",
      R"({"types":["platform"],"destination":{"protocol":"HTTP","URI":"http://sandbox:1/"}})",
      R"({"schemaVersion":"2021-01-01","types":["platform"],"destination":{"protocol":"HTTP","URI":"http://sandbox:1/"}})",
      R"({"schemaVersion":"2022-12-13","types":[],"destination":{"protocol":"HTTP","URI":"http://sandbox:1/"}})",
      R"({"schemaVersion":"2022-12-13","types":["logs"],"destination":{"protocol":"HTTP","URI":"http://sandbox:1/"}})",
      R"({"schemaVersion":"2022-12-13","types":"platform","destination":{"protocol":"HTTP","URI":"http://sandbox:1/"}})",
      R"({"schemaVersion":"2022-12-13","types":["platform"],"buffering":{"maxItems":999},"destination":{"protocol":"HTTP","URI":"http://sandbox:1/"}})",
      R"({"schemaVersion":"2022-12-13","types":["platform"],"buffering":{"maxItems":10001},"destination":{"protocol":"HTTP","URI":"http://sandbox:1/"}})",
      R"({"schemaVersion":"2022-12-13","types":["platform"],"buffering":{"maxBytes":262143},"destination":{"protocol":"HTTP","URI":"http://sandbox:1/"}})",
      R"({"schemaVersion":"2022-12-13","types":["platform"],"buffering":{"maxBytes":1048577},"destination":{"protocol":"HTTP","URI":"http://sandbox:1/"}})",
      R"({"schemaVersion":"2022-12-13","types":["platform"],"buffering":{"timeoutMs":24},"destination":{"protocol":"HTTP","URI":"http://sandbox:1/"}})",
      R"({"schemaVersion":"2022-12-13","types":["platform"],"buffering":{"timeoutMs":30001},"destination":{"protocol":"HTTP","URI":"http://sandbox:1/"}})",
      R"({"schemaVersion":"2022-12-13","types":["platform"],"buffering":{"timeoutMs":"25"},"destination":{"protocol":"HTTP","URI":"http://sandbox:1/"}})",
      R"({"schemaVersion":"2022-12-13","types":["platform"],"buffering":[],"destination":{"protocol":"HTTP","URI":"http://sandbox:1/"}})",
      R"({"schemaVersion":"2022-12-13","types":["platform"]})",
      R"({"schemaVersion":"2022-12-13","types":["platform"],"destination":{"protocol":"TCP","port":8999}})",
      R"({"schemaVersion":"2022-12-13","types":["platform"],"destination":{"protocol":"HTTP","URI":"https://sandbox:1/"}})",
      R"({"schemaVersion":"2022-12-13","types":["platform"],"destination":{"protocol":"HTTP","URI":"http://127.0.0.1:1/"}})",
      R"({"schemaVersion":"2022-12-13","types":["platform"],"destination":{"protocol":"HTTP"}})",
  };
  for (const char* body : bad) {
    auto r = parse_subscribe(body, false);
    ASSERT_FALSE(r.has_value()) << body;
    expect_rejected(r.error(), 400, "ValidationError");
  }
}

TEST(SubscribeRequest, HugeAndFractionalNumbersAreValidationErrors) {
  // Found by fuzz_sandbox_requests (corpus file subscribe_bad): 1e308 must not reach an int cast.
  for (const char* v : {"1e308", "-1e308", "1000.5", "1e3"}) {
    const std::string body =
        std::string(
            R"({"schemaVersion":"2022-12-13","types":["platform"],"buffering":{"maxItems":)") +
        v + R"(},"destination":{"protocol":"HTTP","URI":"http://sandbox:1/"}})";
    auto r = parse_subscribe(body, false);
    if (std::string_view(v) == "1e3") {
      ASSERT_TRUE(r.has_value()) << v;
      EXPECT_EQ(r.value().max_items, 1000);
    } else {
      ASSERT_FALSE(r.has_value()) << v;
      EXPECT_EQ(r.error().error_type, "ValidationError");
    }
  }
}

TEST(SubscribeRequest, LmiTakesOnlyTheLatestSchema) {
  const char* body =
      R"({"schemaVersion":"2022-12-13","types":["platform"],"destination":{"protocol":"HTTP","URI":"http://sandbox:1/"}})";
  EXPECT_TRUE(parse_subscribe(body, false).has_value());
  auto r = parse_subscribe(body, true);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("2025-01-29"), std::string::npos);
}

TEST(WaitQuery, ParsesEventCountTimeoutAndFilters) {
  auto q = parse_wait_query("event=exit&count=2&timeout_ms=500&name=ext%201");
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q.value().event, "exit");
  EXPECT_EQ(q.value().count, 2u);
  EXPECT_EQ(q.value().timeout_ms, 500);
  EXPECT_EQ(q.value().filters.at("name"), "ext 1");
  EXPECT_FALSE(parse_wait_query("count=2").has_value());
  EXPECT_FALSE(parse_wait_query("event=x&count=-1").has_value());
  EXPECT_FALSE(parse_wait_query("event=x&timeout_ms=abc").has_value());
}

TEST(ShutdownReason, DefaultsAndValidation) {
  EXPECT_EQ(parse_shutdown_reason(std::nullopt).value(), "spindown");
  EXPECT_EQ(parse_shutdown_reason("TIMEOUT").value(), "timeout");
  EXPECT_EQ(parse_shutdown_reason("failure").value(), "failure");
  EXPECT_FALSE(parse_shutdown_reason("reboot").has_value());
}

}  // namespace
}  // namespace lc::sandbox
